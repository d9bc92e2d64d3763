//! Library calls against the agent process: kept-alive (1 and N threads sharing one `Client`)
//! and on a fresh connection each.

use std::error::Error;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::Instant;

use felhom_agentapi::Client;

use crate::agent::Settings;
use crate::placement::{Pinned, Placement};
use crate::stats::{Figures, median, process_cpu_ns, quantile, thread_cpu_ns};
use crate::suite::{
    FRESH_BATCH_CALLS, FRESH_BATCHES, KEPT_BATCH_CALLS, KEPT_BATCHES, PINNED_BATCHES,
    THREAD_BATCH_CALLS, THREAD_BATCHES, THREADS, TIMED_CALLS,
};

/// Calls made on a new client before anything is measured (connection, page faults, caches).
const WARMUP_CALLS: usize = 300;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn client(s: &Settings) -> Result<Client> {
    Ok(Client::new(&s.endpoint, &s.token, &s.fingerprint)?)
}

/// One `GET /storage`, its answer decoded and dropped.
fn call(client: &Client) -> std::result::Result<(), String> {
    let answer = client.storage().map_err(|e| e.to_string())?;
    black_box(answer);
    Ok(())
}

fn micros(ns: u64, calls: usize) -> f64 {
    ns as f64 / 1000.0 / calls as f64
}

/// Medians over `batches` batches of `calls` kept-alive calls: wall, client CPU and agent CPU
/// per call, in µs.
fn batches(client: &Client, agent_pid: u32, batches: usize, calls: usize) -> Result<[f64; 3]> {
    let (mut wall, mut cpu, mut agent) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..batches {
        let a0 = process_cpu_ns(agent_pid).ok();
        let c0 = thread_cpu_ns()?;
        let t0 = Instant::now();
        for _ in 0..calls {
            call(client)?;
        }
        let elapsed = t0.elapsed();
        let c1 = thread_cpu_ns()?;
        let a1 = process_cpu_ns(agent_pid).ok();
        wall.push(micros(elapsed.as_nanos() as u64, calls));
        cpu.push(micros(c1 - c0, calls));
        if let (Some(a0), Some(a1)) = (a0, a1) {
            agent.push(micros(a1.saturating_sub(a0), calls));
        }
    }
    Ok([median(&wall), median(&cpu), median(&agent)])
}

/// Kept-alive calls from one thread, placed by the scheduler. Records `ka1.*`.
pub fn kept_alive_one(s: &Settings, agent_pid: u32, out: &mut Figures) -> Result<()> {
    let client = client(s)?;
    let first = client.storage()?;
    if first.mounts.is_empty() {
        return Err("the agent answered /storage with no mounts".into());
    }
    for _ in 0..WARMUP_CALLS {
        call(&client)?;
    }
    let [wall, cpu, agent] = batches(&client, agent_pid, KEPT_BATCHES, KEPT_BATCH_CALLS)?;
    let mut each = Vec::with_capacity(TIMED_CALLS);
    for _ in 0..TIMED_CALLS {
        let t0 = Instant::now();
        call(&client)?;
        each.push(t0.elapsed().as_nanos() as f64 / 1000.0);
    }
    out.push("ka1.wall_us", wall);
    out.push("ka1.cpu_us", cpu);
    out.push("ka1.agent_cpu_us", agent);
    out.push("ka1.p50_us", quantile(&each, 0.5));
    out.push("ka1.p99_us", quantile(&each, 0.99));
    Ok(())
}

/// Kept-alive calls from one thread, with this thread and the agent pinned as `placement`
/// says. Records `same.*` or `cross.*`.
pub fn kept_alive_pinned(
    s: &Settings,
    agent_pid: u32,
    placement: Placement,
    out: &mut Figures,
) -> Result<()> {
    let client = client(s)?;
    let pinned = Pinned::new(agent_pid, placement)?;
    for _ in 0..WARMUP_CALLS {
        call(&client)?;
    }
    let [wall, cpu, agent] = batches(&client, agent_pid, PINNED_BATCHES, KEPT_BATCH_CALLS)?;
    drop(pinned);
    let (w, c, a) = match placement {
        Placement::SameCpu => ("same.wall_us", "same.cpu_us", "same.agent_cpu_us"),
        Placement::OtherCpus => ("cross.wall_us", "cross.cpu_us", "cross.agent_cpu_us"),
    };
    out.push(w, wall);
    out.push(c, cpu);
    out.push(a, agent);
    Ok(())
}

/// Kept-alive calls from `THREADS` threads sharing one client. Records `kan.*`.
pub fn kept_alive_threads(s: &Settings, out: &mut Figures) -> Result<()> {
    let client = client(s)?;
    let barrier = Barrier::new(THREADS);
    let failed = AtomicBool::new(false);
    let first_error = Mutex::new(None::<String>);
    // Per thread: per batch, (wall ns, CPU ns).
    let results: Vec<Vec<(u64, u64)>> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let client = client.clone();
                let (barrier, failed, first_error) = (&barrier, &failed, &first_error);
                scope.spawn(move || {
                    let fail = |e: String| {
                        failed.store(true, Ordering::SeqCst);
                        first_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e);
                    };
                    let mut batches = Vec::with_capacity(THREAD_BATCHES);
                    for _ in 0..WARMUP_CALLS / 4 {
                        if let Err(e) = call(&client) {
                            fail(e);
                            break;
                        }
                    }
                    // Every thread waits at every barrier, failed or not, so none is left
                    // waiting for a thread that gave up.
                    for _ in 0..THREAD_BATCHES {
                        barrier.wait();
                        if failed.load(Ordering::SeqCst) {
                            continue;
                        }
                        let measured = (|| {
                            let c0 = thread_cpu_ns().map_err(|e| e.to_string())?;
                            let t0 = Instant::now();
                            for _ in 0..THREAD_BATCH_CALLS {
                                call(&client)?;
                            }
                            let wall = t0.elapsed().as_nanos() as u64;
                            let c1 = thread_cpu_ns().map_err(|e| e.to_string())?;
                            Ok::<_, String>((wall, c1 - c0))
                        })();
                        match measured {
                            Ok(batch) => batches.push(batch),
                            Err(e) => fail(e),
                        }
                    }
                    batches
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(format!("{THREADS} threads: {e}").into());
    }
    if results.iter().any(|r| r.len() != THREAD_BATCHES) {
        return Err(format!("{THREADS} threads: a worker thread panicked").into());
    }
    let (mut latency, mut cpu, mut throughput) = (Vec::new(), Vec::new(), Vec::new());
    for batch in 0..THREAD_BATCHES {
        let walls: Vec<u64> = results.iter().map(|r| r[batch].0).collect();
        let cpu_sum: u64 = results.iter().map(|r| r[batch].1).sum();
        let calls = THREADS * THREAD_BATCH_CALLS;
        let mean_wall = walls.iter().sum::<u64>() as f64 / THREADS as f64;
        let slowest = walls.iter().copied().max().unwrap_or(1) as f64;
        latency.push(mean_wall / 1000.0 / THREAD_BATCH_CALLS as f64);
        cpu.push(micros(cpu_sum, calls));
        throughput.push(calls as f64 / (slowest / 1e9));
    }
    out.push("kan.wall_us", median(&latency));
    out.push("kan.cpu_us", median(&cpu));
    out.push("kan.calls_per_s", median(&throughput));
    Ok(())
}

/// A new client, so a new TCP connection and a full TLS handshake, for every call. Records
/// `fresh.*`.
pub fn fresh(s: &Settings, out: &mut Figures) -> Result<()> {
    for _ in 0..10 {
        call(&client(s)?)?;
    }
    let (mut cpu, mut each) = (Vec::new(), Vec::new());
    for _ in 0..FRESH_BATCHES {
        let c0 = thread_cpu_ns()?;
        for _ in 0..FRESH_BATCH_CALLS {
            let t0 = Instant::now();
            let client = client(s)?;
            call(&client)?;
            drop(client);
            each.push(t0.elapsed().as_nanos() as f64 / 1000.0);
        }
        let c1 = thread_cpu_ns()?;
        cpu.push(micros(c1 - c0, FRESH_BATCH_CALLS));
    }
    out.push("fresh.wall_us", median(&each));
    out.push("fresh.p99_us", quantile(&each, 0.99));
    out.push("fresh.cpu_us", median(&cpu));
    Ok(())
}
