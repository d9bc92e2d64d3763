//! The soak: eight threads share one `Client` for thousands of calls while the agent injects a
//! mix of faults. Every call ends, in success or in the typed error its fault calls for; no
//! POST is sent twice, and a GET only when its kept-alive connection ended unanswered; file
//! descriptors and memory do not grow.

use std::collections::{BTreeMap, HashMap};
use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use felhom_agentapi::Client;
use felhom_devagent::Fault;

use crate::{
    Outcome, agent, builder, drop_pooled_connections, exclusive, open_fds, rss_kib, wait_all_closed,
};

const THREADS: usize = 8;
const CALLS_PER_THREAD: usize = 750;
const WARMUP_PER_THREAD: usize = 40;
/// The client's whole-call limit: every call ends within it, whatever the agent does.
const CALL_LIMIT: Duration = Duration::from_secs(2);
/// A loose bound on one call, far above `CALL_LIMIT`: a call over it did not respect its limit.
const CALL_BOUND: Duration = Duration::from_secs(10);
/// The whole soak gives up after this long: something hangs.
const WATCHDOG: Duration = Duration::from_secs(120);
/// Idle connections the client may keep: what its pool may hold at either measurement.
const POOL_SLACK: usize = felhom_agentapi::ClientBuilder::DEFAULT_MAX_IDLE_CONNECTIONS;
const RSS_GROWTH_BOUND_KIB: u64 = 64 * 1024;

/// The injected mix, one entry per request (and, for `OtherCert`, per handshake).
fn mix() -> Vec<Option<Fault>> {
    vec![
        None,
        None,
        None,
        Some(Fault::Status(500)),
        Some(Fault::Drop),
        Some(Fault::Truncate),
        Some(Fault::Garbage),
        None,
        Some(Fault::NotOk("injected refusal".into())),
        Some(Fault::WrongType),
        Some(Fault::Slow(Duration::from_millis(5))),
        Some(Fault::OtherCert),
        None,
    ]
}

/// What a request that gets `entry` of the mix ends in, on every endpoint the soak calls.
fn expected_outcome(entry: &Option<Fault>) -> Outcome {
    match entry {
        None | Some(Fault::Slow(_)) => Outcome::Ok,
        // A handshake fault leaves requests on established connections alone.
        Some(Fault::OtherCert) => Outcome::Ok,
        Some(Fault::Status(status)) => Outcome::Http(*status),
        Some(Fault::Drop | Fault::Truncate) => Outcome::Io,
        Some(Fault::Garbage | Fault::WrongType) => Outcome::Decode,
        Some(Fault::NotOk(_)) => Outcome::Agent,
        Some(other) => panic!("no expectation for {other:?}"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Storage,
    BackupDue,
    BackupStatus,
    Disks,
    HostMetrics,
    StartBackup,
    /// `POST /disks/format` of the blank disk, tagged through its file-system type (which the
    /// agent ignores for that disk) so that every request body is unique.
    Format,
    Eject,
}

const OPS: [Op; 8] = [
    Op::Storage,
    Op::BackupDue,
    Op::BackupStatus,
    Op::Disks,
    Op::HostMetrics,
    Op::StartBackup,
    Op::Format,
    Op::Eject,
];

struct Call {
    op: Op,
    tag: String,
    outcome: Outcome,
    took: Duration,
}

/// xorshift64*: a reproducible mix of endpoints per thread, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn calls(client: &Client, phase: &str, thread: usize, n: usize) -> Vec<Call> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((thread as u64 + 1) * 0x1000_0001));
    (0..n)
        .map(|i| {
            let op = OPS[(rng.next() % OPS.len() as u64) as usize];
            let tag = format!("{phase}-{thread}-{i}");
            let started = Instant::now();
            let outcome = match op {
                Op::Storage => Outcome::of(&client.storage()),
                Op::BackupDue => Outcome::of(&client.backup_due()),
                Op::BackupStatus => Outcome::of(&client.backup_status()),
                Op::Disks => Outcome::of(&client.disks()),
                Op::HostMetrics => Outcome::of(&client.host_metrics()),
                Op::StartBackup => Outcome::of(&client.start_backup()),
                Op::Format => Outcome::of(&client.format_disk("/dev/sdc", &tag)),
                Op::Eject => Outcome::of(&client.eject_disk("/mnt/usb-archive")),
            };
            Call {
                op,
                tag,
                outcome,
                took: started.elapsed(),
            }
        })
        .collect()
}

/// Runs `per_thread` calls on each of [`THREADS`] threads sharing `client`, and fails the test
/// if they have not all ended within [`WATCHDOG`]. A panic in a thread fails the test too.
fn run(client: &Client, phase: &'static str, per_thread: usize) -> (Vec<Call>, Duration) {
    let client = client.clone();
    let (done, finished) = mpsc::channel();
    // The scope runs in a thread of its own, so that this one can watch the clock.
    let runner = thread::spawn(move || {
        let started = Instant::now();
        let all: Vec<Call> = thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let client = &client;
                    scope.spawn(move || calls(client, phase, t, per_thread))
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|p| panic::resume_unwind(p)))
                .collect()
        });
        let _ = done.send((all, started.elapsed()));
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(result) => {
            runner.join().unwrap();
            result
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match runner.join() {
            Err(p) => panic::resume_unwind(p),
            Ok(()) => unreachable!("the runner sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{phase}: the calls have not ended after {WATCHDOG:?}: something hangs")
        }
    }
}

fn tally(calls: &[Call]) -> BTreeMap<Outcome, usize> {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts.entry(call.outcome.clone()).or_default() += 1;
    }
    counts
}

#[test]
fn soak_shared_client_under_mixed_faults() {
    let _alone = exclusive();
    let agent = agent();
    let client = builder(&agent).timeout(CALL_LIMIT).build().unwrap();
    let fds_start = open_fds();
    let mix = mix();

    // Warm-up: the same calls and faults, so that whatever is allocated once (thread arenas,
    // session caches, the agent's log) is there before the first measurement.
    agent.set_fault(Fault::Cycle(mix.clone()));
    let (warmup, _) = run(&client, "warmup", WARMUP_PER_THREAD);
    let warmup_tally = tally(&warmup);
    assert!(
        !warmup_tally
            .keys()
            .any(|o| matches!(o, Outcome::Unexpected(_))),
        "warm-up: {warmup_tally:?}"
    );
    // The agent's side of every socket is gone; the client's pool holds at most its idle limit
    // of dead connections.
    drop_pooled_connections(&agent);
    let (fds_warm, rss_warm) = (open_fds(), rss_kib());

    // Setting the fault restarts the cycle's counters: request k gets entry k % len.
    agent.set_fault(Fault::Cycle(mix.clone()));
    let before = agent.stats();
    let (soak, wall) = run(&client, "soak", CALLS_PER_THREAD);
    let after = agent.stats();
    drop_pooled_connections(&agent);
    let (fds_soak, rss_soak) = (open_fds(), rss_kib());

    let counts = tally(&soak);
    let slowest = soak.iter().map(|c| c.took).max().unwrap();
    eprintln!(
        "soak: {} calls on {THREADS} threads in {wall:?} (slowest call {slowest:?}); \
         agent: {} requests, {} connections; outcomes {counts:?}",
        soak.len(),
        after.requests - before.requests,
        after.connections - before.connections,
    );
    eprintln!(
        "soak: fds {fds_start} at start, {fds_warm} after warm-up, {fds_soak} after the soak; \
         RSS {rss_warm} KiB after warm-up, {rss_soak} KiB after the soak"
    );

    // Every call ended, within a loose bound of its limit.
    assert_eq!(soak.len(), THREADS * CALLS_PER_THREAD);
    assert!(slowest < CALL_BOUND, "a call took {slowest:?}");

    // Each call ends in what its fault calls for. Requests and handshakes take the mix's entries
    // in the agent's order, so the totals per outcome are known exactly. Only a machine too
    // loaded to answer within the limit could make timeouts, each spoiling one expectation.
    let timeouts = counts.get(&Outcome::TimeoutConnect).unwrap_or(&0)
        + counts.get(&Outcome::TimeoutExchange).unwrap_or(&0);
    assert!(
        timeouts * 100 <= soak.len(),
        "{timeouts} timeouts: the machine is too loaded for this soak to mean anything"
    );
    let requests = after.requests - before.requests;
    let handshakes = after.connections - before.connections;
    let mut expected: BTreeMap<Outcome, usize> = BTreeMap::new();
    for k in 0..requests {
        *expected
            .entry(expected_outcome(&mix[(k % mix.len() as u64) as usize]))
            .or_default() += 1;
    }
    // Every call sent one request, except those refused in the handshake or before it, and the
    // GETs sent once more because their kept-alive connection was dropped unanswered: such a
    // drop ends in no outcome of its own, so it takes one `Io` off the expectation.
    let pins = counts.get(&Outcome::PinMismatch).copied().unwrap_or(0);
    let connect_timeouts = counts.get(&Outcome::TimeoutConnect).copied().unwrap_or(0);
    let resent = (requests as usize + pins + connect_timeouts).saturating_sub(soak.len());
    let drops = (0..requests)
        .filter(|k| mix[(k % mix.len() as u64) as usize] == Some(Fault::Drop))
        .count();
    assert!(
        resent <= drops,
        "{resent} requests more than calls, but only {drops} were dropped"
    );
    let io = expected.entry(Outcome::Io).or_default();
    *io = io.saturating_sub(resent);
    let pin_slot = mix
        .iter()
        .position(|e| *e == Some(Fault::OtherCert))
        .unwrap() as u64;
    expected.insert(
        Outcome::PinMismatch,
        (0..handshakes)
            .filter(|h| h % mix.len() as u64 == pin_slot)
            .count(),
    );
    for (outcome, &count) in &counts {
        match outcome {
            Outcome::TimeoutConnect | Outcome::TimeoutExchange => {}
            other => assert!(
                expected.contains_key(other),
                "no fault causes {other:?} ({count} calls)"
            ),
        }
    }
    for (outcome, &want) in &expected {
        let got = counts.get(outcome).copied().unwrap_or(0);
        assert!(
            got <= want && got + timeouts >= want,
            "{outcome:?}: {got} calls, but the agent's counters call for {want}"
        );
        assert!(got > 0, "the mix must have produced {outcome:?}");
    }

    // Every format request body is unique. A call that got an answer, or lost it to Drop or
    // Truncate (which log the request before hanging up; the agent closes nothing else here),
    // was logged exactly once; one refused in the handshake, never.
    let log = agent.requests();
    assert!(log.len() < 10_000, "the agent's log must be complete");
    let mut logged: HashMap<String, usize> = HashMap::new();
    for request in log.iter().filter(|r| r.path == "/disks/format") {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        *logged
            .entry(body["fstype"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for call in soak.iter().filter(|c| matches!(c.op, Op::Format)) {
        let times = logged.get(&call.tag).copied().unwrap_or(0);
        let want = match call.outcome {
            Outcome::PinMismatch | Outcome::TimeoutConnect => 0..=0,
            Outcome::TimeoutExchange => 0..=1,
            _ => 1..=1,
        };
        assert!(
            want.contains(&times),
            "{} ({:?}) was logged {times} times",
            call.tag,
            call.outcome
        );
    }

    // Resources: the client's pool may hold up to its idle limit of connections at either
    // measurement; beyond that, nothing may pile up.
    assert!(
        fds_soak <= fds_warm + POOL_SLACK,
        "file descriptors grew from {fds_warm} to {fds_soak}"
    );
    assert!(
        rss_soak < rss_warm + RSS_GROWTH_BOUND_KIB,
        "RSS grew from {rss_warm} KiB to {rss_soak} KiB"
    );

    // The same client works normally once the agent does.
    agent.clear_fault();
    client.storage().expect("GET after the soak");
    client.start_backup().expect("POST after the soak");
    client
        .format_disk("/dev/sdc", "ext4")
        .expect("POST after the soak");

    // With the client gone and the agent's connections closed, every socket of the soak is
    // closed: the count is back where it started.
    drop(client);
    wait_all_closed(&agent);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut fds_end = open_fds();
    while fds_end > fds_start && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
        fds_end = open_fds();
    }
    eprintln!("soak: fds {fds_end} after dropping the client");
    assert!(
        fds_end <= fds_start,
        "{} file descriptors leaked ({fds_start} before the client's first call, {fds_end} \
         after it was dropped)",
        fds_end - fds_start
    );
}
