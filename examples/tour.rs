//! A walk through every call of the client, end to end, against the stand-in agent.
//!
//! ```text
//! cargo run --example tour
//! ```
//!
//! It starts a stand-in agent on 127.0.0.1 with a fresh self-signed certificate, pins that
//! certificate, and makes each call a guest makes: storage, the main job (an app-consistent
//! backup: quiesce, back up, thaw, and a run cancelled midway that thaws all the same), the
//! disks (including a format the agent refuses, and the command an operator would run to
//! authorize it) and host metrics. Then it shows what a wrong pin looks like. It exits non-zero
//! if any step does not behave as the real agent would.

use std::cell::Cell;
use std::process::ExitCode;
use std::time::Duration;

use felhom_agentapi::{
    BackupRunFailure, CancelToken, Client, Error, Fingerprint, ProgressEvent, ThawCause,
};
use felhom_devagent::DevAgent;

fn main() -> ExitCode {
    match tour() {
        Ok(()) => {
            println!("\ntour complete: every call behaved as expected");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("\ntour failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn tour() -> Result<(), String> {
    let agent = DevAgent::start().map_err(|e| format!("starting the stand-in agent: {e}"))?;
    println!("stand-in agent at {}", agent.endpoint());
    println!("  pinned leaf sha256 {}", agent.fingerprint());
    println!("  (colon form: {:#})", agent.fingerprint());

    let client = Client::new(
        &agent.endpoint(),
        agent.token(),
        agent.fingerprint().to_string(),
    )
    .map_err(|e| e.to_string())?;

    step("GET /storage");
    let storage = client.storage().map_err(|e| e.to_string())?;
    for m in &storage.mounts {
        let class = if m.class.is_empty() { "-" } else { &m.class };
        println!(
            "  {:<4} {:<10} {:<14} class {class:<5} backup {}",
            m.key, m.storage, m.mount_point, m.backup
        );
    }

    step("GET /backup/due");
    let due = client.backup_due().map_err(|e| e.to_string())?;
    println!("  due: {} ({})", due.due, due.reason);

    backup_with_the_application_quiesced(&client)?;
    cancelled_backup_still_thaws(&client)?;

    step("POST /backup, then GET /backup/status until done (run_backup, no quiesce)");
    let status = client
        .run_backup(Duration::from_millis(50), Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    println!("  job {} is {}", status.job_id, status.phase);

    step("GET /backup/status");
    let status = client.backup_status().map_err(|e| e.to_string())?;
    println!("  last job {} is {}", status.job_id, status.phase);

    step("GET /disks");
    let disks = client.disks().map_err(|e| e.to_string())?;
    for d in &disks.disks {
        let data = if d.data_bearing {
            "holds data"
        } else {
            "blank"
        };
        println!(
            "  {:<12} {:<5} {:<10} {:<26} {data}",
            d.name, d.kind, d.state, d.backing_device
        );
    }
    let assignable = disks
        .disks
        .iter()
        .find_map(|d| d.fs_uuid())
        .ok_or("no disk with a filesystem uuid to assign")?;

    step("POST /disks/assign");
    client
        .assign_disk(assignable, "/mnt/archive2", "ext4", "noatime")
        .map_err(|e| e.to_string())?;
    println!("  assigned uuid {assignable} at /mnt/archive2");

    step("POST /disks/eject");
    let ejected = client
        .eject_disk("/mnt/usb-archive")
        .map_err(|e| e.to_string())?;
    println!(
        "  ejected {}; dependent guests {:?}",
        ejected.ejected, ejected.dependent_guests
    );

    step("POST /disks/format on the blank /dev/sdc");
    let formatted = client
        .format_disk("/dev/sdc", "ext4")
        .map_err(|e| e.to_string())?;
    println!("  formatted {}: {}", formatted.device, formatted.formatted);

    step("POST /disks/format on the data-bearing /dev/sdb");
    match client.format_disk("/dev/sdb", "ext4") {
        Err(Error::FormatRefused(refusal)) => {
            println!("  refused, as it must be: {}", refusal.result().reason);
            let command = refusal
                .opsign_command()
                .ok_or("the refusal carries no pending op")?;
            println!("  an operator authorizes the wipe with:\n    {command}");
        }
        Ok(result) => return Err(format!("a data-bearing device was formatted: {result:?}")),
        Err(other) => return Err(format!("expected a refusal, got: {other}")),
    }

    step("GET /host/metrics");
    let metrics = client.host_metrics().map_err(|e| e.to_string())?;
    let h = &metrics.host;
    let temp = h
        .cpu_temp_c
        .map_or("n/a".to_string(), |t| format!("{t} °C"));
    println!(
        "  {}: cpu {:.1}%, memory {:.1}%, root disk {:.1}%, load {}, cpu temp {temp}",
        h.node,
        h.cpu_percent,
        h.memory_percent,
        h.disk_percent,
        h.loadavg.join(" ")
    );
    for t in &metrics.storage_targets {
        println!(
            "  {:<12} {:<8} {:>5.1}% used, SMART {}",
            t.name,
            t.kind,
            t.used_fraction * 100.0,
            t.smart.health
        );
    }

    step("the same agent, pinned to the wrong fingerprint");
    let wrong = Fingerprint::of_der(b"not the agent's certificate").to_string();
    let impostor_check =
        Client::new(&agent.endpoint(), agent.token(), &wrong).map_err(|e| e.to_string())?;
    match impostor_check.storage() {
        Err(e @ Error::PinMismatch { .. }) => {
            println!("  refused before anything was sent:\n    {e}");
        }
        other => return Err(format!("a wrong pin must be refused, got {other:?}")),
    }

    let stats = agent.stats();
    println!(
        "\nthe agent saw {} requests over {} TLS connection(s) from the pinned client",
        stats.requests, stats.handshakes
    );
    Ok(())
}

/// The main job: quiesce the application, let the agent back the guest up, thaw.
fn backup_with_the_application_quiesced(client: &Client) -> Result<(), String> {
    step("backup_run(): quiesce, POST /backup, poll GET /backup/status, thaw");
    let thawed = Cell::new(None);
    let report = client
        .backup_run()
        .poll_every(Duration::from_millis(50))
        .give_up_after(Duration::from_secs(30))
        .quiesce(|| {
            println!("  quiesce: flush the database and hold its writes");
            Ok::<(), std::io::Error>(())
        })
        .thaw(|thaw| {
            // Called exactly once on every path, told why: here the job is done.
            println!("  thaw ({}): let the writes go again", thaw.cause.as_str());
            thawed.set(Some(thaw.cause));
            Ok::<(), std::io::Error>(())
        })
        .on_progress(|p| match p.event {
            ProgressEvent::Started => println!("  job {} started", p.job_id.unwrap_or("?")),
            ProgressEvent::Phase(phase) => println!("  job is {phase}"),
            _ => {}
        })
        .run()
        .map_err(|e| e.to_string())?;
    let thaw = report.thaw.as_ref().ok_or("the report has no thaw")?;
    println!(
        "  stopped: {}; quiesced for {} ms",
        report.stopped.as_str(),
        thaw.quiesced_for.as_millis()
    );
    if thawed.get() != Some(ThawCause::Done) {
        return Err(format!(
            "expected one thaw after the job, got {:?}",
            thawed.get()
        ));
    }
    Ok(())
}

/// A run cancelled once its job started (a shutdown handler would call `cancel()` from another
/// thread): it thaws at once, and the job goes on at the agent until `wait_backup` sees it end.
fn cancelled_backup_still_thaws(client: &Client) -> Result<(), String> {
    step("backup_run() cancelled midway: it thaws, the job goes on");
    let shutdown = CancelToken::new();
    let thawed = Cell::new(None);
    let run = client
        .backup_run()
        .poll_every(Duration::from_millis(50))
        .quiesce(|| Ok::<(), std::io::Error>(()))
        .thaw(|thaw| {
            println!("  thaw ({})", thaw.cause.as_str());
            thawed.set(Some(thaw.cause));
            Ok::<(), std::io::Error>(())
        })
        .on_progress(|p| {
            if let ProgressEvent::Started = p.event {
                println!("  job {} started; cancelling", p.job_id.unwrap_or("?"));
                shutdown.cancel();
            }
        })
        .cancel_token(shutdown.clone())
        .run();
    match run {
        Err(e) if matches!(e.failure(), BackupRunFailure::Cancelled) => {
            println!("  {e}");
        }
        other => return Err(format!("expected a cancelled run, got {other:?}")),
    }
    if thawed.get() != Some(ThawCause::Cancelled) {
        return Err(format!("a cancelled run must thaw, got {:?}", thawed.get()));
    }
    let status = client
        .wait_backup(Duration::from_millis(50), Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    println!("  wait_backup: job {} is {}", status.job_id, status.phase);
    Ok(())
}

fn step(title: &str) {
    println!("\n{title}");
}
