//! Latency, CPU, memory and size of the client, side by side in one run, against the stand-in
//! agent running as a separate process. See BENCHMARKS.md for the results and their reading.
//!
//! ```text
//! cargo bench -p felhom-bench
//! ```
//!
//! The bench first builds what it spawns (`cargo build --release -p felhom-devagent
//! -p felhom-agentctl`, into its own target directory), starts the agent
//! (`crates/felhom-devagent`) with a piped standard input, and then, repeated
//! `AGENTAPI_BENCH_REPEAT` times (default 3):
//!
//! - kept-alive `storage` calls from 1 thread and from 8 threads sharing one `Client`: wall
//!   time and the client's CPU time per call; the 1-thread case also with this thread and the
//!   agent pinned (`taskset`) to one CPU and to two, since on this VM the placement decides the
//!   cost; and, as the floor under it, bare TCP round trips of the same sizes to a trivial
//!   server process (this binary with `--echo-server`), pinned the same ways;
//! - calls on a fresh connection each (TCP + TLS handshake + call);
//! - one-shot `felhom-agentctl storage` against `curl --pinnedpubkey` for the same call, and
//!   one-shot `felhom-agentctl check` (the monitoring plugin) against curl's
//!   `GET /host/metrics`: wall time and peak RSS, alternating;
//!
//! and once: the syscalls of a kept-alive call (1 and 8 threads) under `strace -f -c`, the
//! release CLI's size and the library's dependency count. It prints a Markdown table and writes it into BENCHMARKS.md
//! between two markers (`AGENTAPI_BENCH_WRITE=0` leaves the file alone). No figure is asserted
//! against an absolute time: the machine is shared; targets are checked and reported, not
//! enforced.
//!
//! `AGENTAPI_BENCH_ONLY=oneshot` runs only the one-shot measurements (about a minute for 3
//! repetitions) and prints their table without touching BENCHMARKS.md.
//!
//! `agentapi --strace-child N [--threads T]`, with the `FELHOM_AGENT_*` variables the agent
//! prints, makes one client, then 20 warm-up calls and N kept-alive calls from each of T threads
//! (default 1) sharing it: the unit to run under `strace` or `valgrind --tool=callgrind`.

mod agent;
mod calls;
mod floor;
mod once;
mod oneshot;
mod placement;
mod report;
mod stats;
mod suite;
mod system;

use std::error::Error;
use std::fs;
use std::hint::black_box;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use felhom_agentapi::Client;

use agent::{AgentProcess, Scratch};
use stats::Figures;

const COMMAND: &str = "cargo bench -p felhom-bench";
/// Kept-alive calls counted under strace.
const STRACE_CALLS: usize = 500;
/// Warm-up calls in the child mode, before the counted ones.
const CHILD_WARMUP: usize = 20;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--echo-server") {
        return match floor::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("agentapi echo server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let outcome = match args.iter().position(|a| a == "--strace-child") {
        Some(i) => {
            let number = |at: usize| args.get(at).and_then(|n| n.parse::<usize>().ok());
            let threads = match args.iter().position(|a| a == "--threads") {
                Some(j) => number(j + 1),
                None => Some(1),
            };
            match (number(i + 1), threads) {
                (Some(n), Some(t)) if t > 0 => child_calls(n, t),
                _ => Err("usage: agentapi --strace-child CALLS [--threads THREADS]".into()),
            }
        }
        // `cargo bench` passes `--bench`, and maybe a filter: there is only one suite.
        None => bench(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agentapi bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The child mode: one client, warm-up calls, then `n` kept-alive calls from each of `threads`
/// threads sharing the client.
fn child_calls(n: usize, threads: usize) -> Result<()> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let token = fs::read_to_string(var("FELHOM_AGENT_TOKEN_FILE")?)?;
    let client = Client::new(
        &var("FELHOM_AGENT_ENDPOINT")?,
        token.trim_end_matches(['\r', '\n']),
        &var("FELHOM_AGENT_FINGERPRINT")?,
    )?;
    // Per thread: wall and CPU nanoseconds of the `n` measured calls.
    let calls = || -> std::result::Result<(u64, u64), String> {
        for _ in 0..CHILD_WARMUP {
            black_box(client.storage().map_err(|e| e.to_string())?);
        }
        let c0 = stats::thread_cpu_ns().map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        for _ in 0..n {
            black_box(client.storage().map_err(|e| e.to_string())?);
        }
        let wall = t0.elapsed().as_nanos() as u64;
        let c1 = stats::thread_cpu_ns().map_err(|e| e.to_string())?;
        Ok((wall, c1 - c0))
    };
    let measured: Vec<(u64, u64)> = if threads == 1 {
        vec![calls()?]
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads).map(|_| scope.spawn(calls)).collect();
            workers
                .into_iter()
                .map(|w| w.join().map_err(|_| "a thread panicked".to_string())?)
                .collect::<std::result::Result<_, String>>()
        })?
    };
    if n > 0 {
        let all = (n * threads) as f64;
        let wall = measured.iter().map(|m| m.0).max().unwrap_or(0) as f64;
        let cpu = measured.iter().map(|m| m.1).sum::<u64>() as f64;
        // One write, so the summary adds no syscalls worth counting to a traced run.
        let line = format!(
            "agentapi child: {n} calls x {threads} threads: {:.1} µs wall per call per thread, \
             {:.1} µs client CPU per call\n",
            wall / 1000.0 / n as f64,
            cpu / 1000.0 / all
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    Ok(())
}

fn bench() -> Result<()> {
    let repetitions = repetitions()?;
    stats::thread_cpu_ns().map_err(|e| format!("cannot read this thread's CPU time: {e}"))?;

    let target = system::target_dir();
    let built = system::build(&target)?;
    let machine = system::machine();
    let date = system::now_utc();
    let load_before = system::loadavg();

    let scratch = Scratch::new()?;
    let agent = AgentProcess::start(&built.devagent)?;
    let settings = agent.settings.clone();
    eprintln!(
        "agentapi bench: agent pid {} at {}",
        agent.pid(),
        settings.endpoint
    );
    let oneshot =
        oneshot::OneShot::prepare(oneshot::Call::Storage, &built.cli, &settings, &scratch)?;
    eprintln!(
        "agentapi bench: curl enforces its pin {}; CLI and curl return the same payload",
        oneshot.curl_pin
    );
    let check = oneshot::OneShot::prepare(oneshot::Call::Check, &built.cli, &settings, &scratch)?;
    if std::env::var("AGENTAPI_BENCH_ONLY").as_deref() == Ok("oneshot") {
        let mut figures = Figures::default();
        for rep in 1..=repetitions {
            eprintln!("agentapi bench: one-shot only, repetition {rep}/{repetitions}");
            oneshot.measure(&mut figures)?;
            check.measure(&mut figures)?;
        }
        drop(agent);
        println!(
            "{}",
            report::oneshot_only(&figures, repetitions, &date, &load_before)
        );
        return Ok(());
    }

    let echo = floor::EchoProcess::start()?;
    let mut figures = Figures::default();
    for rep in 1..=repetitions {
        eprintln!("agentapi bench: repetition {rep}/{repetitions}");
        repetition(
            &settings,
            agent.pid(),
            &echo,
            [&oneshot, &check],
            &mut figures,
        )?;
    }
    eprintln!("agentapi bench: strace over {STRACE_CALLS} kept-alive calls, 1 thread");
    let syscalls =
        system::syscalls(&settings, &scratch, STRACE_CALLS, 1).map_err(|e| e.to_string());
    eprintln!(
        "agentapi bench: strace over {STRACE_CALLS} kept-alive calls per thread, {} threads",
        suite::THREADS
    );
    let syscalls_threads = system::syscalls(&settings, &scratch, STRACE_CALLS, suite::THREADS)
        .map_err(|e| e.to_string());
    drop(echo);
    let load_after = system::loadavg();
    let agent_last_words = agent.stop();

    let once = once::Once {
        machine,
        date,
        command: COMMAND.to_string(),
        repetitions,
        load_before,
        load_after,
        binary_bytes: fs::metadata(&built.cli)?.len(),
        deps_default: system::dependency_count("felhom-agentapi").ok(),
        deps_cli: system::dependency_count("felhom-agentctl").ok(),
        syscalls,
        syscalls_threads,
        curl_pin_checked: true,
        rss_available: oneshot.rss_available,
        agent_last_words,
    };
    let section = report::render(&figures, &once);
    println!("{section}");
    if std::env::var("AGENTAPI_BENCH_WRITE").as_deref() != Ok("0") {
        let path = system::manifest_dir().join("BENCHMARKS.md");
        report::write(&path, &section)?;
        eprintln!("agentapi bench: wrote {}", path.display());
    }
    Ok(())
}

/// `AGENTAPI_BENCH_REPEAT`, 3 when it is not set.
fn repetitions() -> Result<usize> {
    match std::env::var("AGENTAPI_BENCH_REPEAT") {
        Ok(v) => Ok(v
            .trim()
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or("AGENTAPI_BENCH_REPEAT must be a positive number")?),
        Err(_) => Ok(3),
    }
}

/// One repetition of the suite: every measurement once, then a line of its headline figures.
fn repetition(
    settings: &agent::Settings,
    agent_pid: u32,
    echo: &floor::EchoProcess,
    oneshots: [&oneshot::OneShot; 2],
    figures: &mut Figures,
) -> Result<()> {
    calls::kept_alive_one(settings, agent_pid, figures)?;
    for placement in [
        placement::Placement::SameCpu,
        placement::Placement::OtherCpus,
    ] {
        if let Err(e) = calls::kept_alive_pinned(settings, agent_pid, placement, figures) {
            eprintln!("agentapi bench: kept-alive calls pinned {placement:?} skipped: {e}");
        }
        for like_ureq in [false, true] {
            if let Err(e) = floor::measure(echo, placement, like_ureq, figures) {
                eprintln!("agentapi bench: bare TCP round trips pinned {placement:?} skipped: {e}");
            }
        }
    }
    calls::kept_alive_threads(settings, figures)?;
    calls::fresh(settings, figures)?;
    for call in oneshots {
        call.measure(figures)?;
    }
    eprintln!(
        "agentapi bench:   kept-alive CPU {:.1} µs/call (1 thread; pinned: {:.1} on one CPU, \
         {:.1} on two), {:.1} µs/call ({} threads); CLI/curl wall {:.2}",
        figures.values("ka1.cpu_us").last().unwrap_or(&f64::NAN),
        figures.values("same.cpu_us").last().unwrap_or(&f64::NAN),
        figures.values("cross.cpu_us").last().unwrap_or(&f64::NAN),
        figures.values("kan.cpu_us").last().unwrap_or(&f64::NAN),
        suite::THREADS,
        figures
            .values("ratio.wall_paired")
            .last()
            .unwrap_or(&f64::NAN),
    );
    Ok(())
}
