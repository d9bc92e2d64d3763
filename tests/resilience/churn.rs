//! Threads hammer one client while the agent keeps closing its idle connections under them.
//!
//! A call can race with such a close (the client checks its pooled connection, the agent closes
//! it, the request goes out on it): that call fails with `Io`, honestly saying the request may
//! have arrived. What must never happen is a request sent twice, or any other failure.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use felhom_agentapi::Client;

use crate::{Outcome, agent, builder, recorded, shared};

const WORKERS: usize = 4;
const CALLS_PER_WORKER: usize = 120;
/// The closer stops after this many rounds even if the workers are not done.
const MAX_CLOSE_ROUNDS: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Storage,
    StartBackup,
    /// `POST /disks/format` of the blank disk, with a unique file-system type as a tag: the
    /// agent ignores it for that disk, and it makes every request body unique.
    Format,
}

struct CallRecord {
    op: Op,
    tag: String,
    outcome: Outcome,
}

fn worker(client: &Client, id: usize) -> Vec<CallRecord> {
    (0..CALLS_PER_WORKER)
        .map(|i| {
            let op = [Op::Storage, Op::Format, Op::StartBackup][i % 3];
            let tag = format!("churn-{id}-{i}");
            let outcome = match op {
                Op::Storage => Outcome::of(&client.storage()),
                Op::StartBackup => Outcome::of(&client.start_backup()),
                Op::Format => Outcome::of(&client.format_disk("/dev/sdc", &tag)),
            };
            CallRecord { op, tag, outcome }
        })
        .collect()
}

#[test]
fn closing_idle_connections_under_busy_threads_never_duplicates_a_request() {
    let _serial = shared();
    let agent = agent();
    let client = builder(&agent)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let done = AtomicBool::new(false);

    let (records, close_rounds) = thread::scope(|scope| {
        let closer = scope.spawn(|| {
            let mut rounds = 0;
            while !done.load(Ordering::SeqCst) && rounds < MAX_CLOSE_ROUNDS {
                agent.close_idle_connections();
                rounds += 1;
                thread::sleep(Duration::from_millis(1));
            }
            rounds
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|id| {
                let client = &client;
                scope.spawn(move || worker(client, id))
            })
            .collect();
        let records: Vec<CallRecord> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("no worker panics"))
            .collect();
        done.store(true, Ordering::SeqCst);
        (records, closer.join().unwrap())
    });

    let mut outcomes: HashMap<(Op, Outcome), usize> = HashMap::new();
    for r in &records {
        *outcomes.entry((r.op, r.outcome.clone())).or_default() += 1;
    }
    let count = |op: Op, outcome: Outcome| outcomes.get(&(op, outcome)).copied().unwrap_or(0);
    let stats = agent.stats();
    eprintln!(
        "churn: {} calls, {close_rounds} close rounds, {} connections, outcomes {outcomes:?}",
        records.len(),
        stats.connections
    );

    // Only success, or the honest "may have arrived" of the race.
    let others: Vec<_> = records
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Ok | Outcome::Io))
        .map(|r| (r.op, &r.outcome))
        .collect();
    assert!(others.is_empty(), "unexpected outcomes: {others:?}");
    assert!(
        stats.connections > 1,
        "the agent must have closed connections under the client: {stats:?}"
    );

    // Every format request body is unique: none may be logged twice, a success exactly once.
    let mut logged: HashMap<String, usize> = HashMap::new();
    for request in agent.requests() {
        if request.path == "/disks/format" {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            *logged
                .entry(body["fstype"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    for r in records.iter().filter(|r| r.op == Op::Format) {
        let times = logged.get(&r.tag).copied().unwrap_or(0);
        match r.outcome {
            Outcome::Ok => assert_eq!(times, 1, "{}: succeeded, so logged once", r.tag),
            _ => assert!(times <= 1, "{}: logged {times} times", r.tag),
        }
    }
    assert!(
        logged.values().all(|&n| n == 1),
        "a format request was sent twice"
    );
    let unknown_but_arrived = records
        .iter()
        .filter(|r| r.op == Op::Format && r.outcome == Outcome::Io)
        .filter(|r| logged.contains_key(&r.tag))
        .count();
    eprintln!("churn: {unknown_but_arrived} format calls failed with Io yet reached the agent");

    // The bodyless calls can only be counted: between the successes and the successes plus the
    // calls whose fate is unknown.
    for (op, method, path) in [
        (Op::Storage, "GET", "/storage"),
        (Op::StartBackup, "POST", "/backup"),
    ] {
        let ok = count(op, Outcome::Ok);
        let unknown = count(op, Outcome::Io);
        let seen = recorded(&agent, method, path);
        assert!(
            (ok..=ok + unknown).contains(&seen),
            "{method} {path}: {seen} logged for {ok} successes and {unknown} unknown fates"
        );
    }

    client.storage().expect("the client still works");
    client.start_backup().expect("the client still works");
}
