//! A walk through every call of the client, end to end, against the stand-in agent.
//!
//! ```text
//! cargo run --example tour
//! ```
//!
//! It starts a stand-in agent on 127.0.0.1 with a fresh self-signed certificate, pins that
//! certificate, and makes each call a guest makes: storage, the backup cycle, the disks (including
//! a format the agent refuses, and the command an operator would run to authorize it) and host
//! metrics. Then it shows what a wrong pin looks like. It exits non-zero if any step does not
//! behave as the real agent would.

use std::process::ExitCode;
use std::time::Duration;

use felhom_agentapi::{Client, Error, Fingerprint};
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

    step("POST /backup, then GET /backup/status until done (run_backup)");
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

fn step(title: &str) {
    println!("\n{title}");
}
