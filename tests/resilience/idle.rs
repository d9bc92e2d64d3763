//! Kept-alive connections the agent closed while they sat idle in the client's pool: by its idle
//! timeout, by a restart, or by going away. None is ever used for a call.

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use felhom_agentapi::{Client, Error};
use felhom_devagent::{DevAgent, Fault};

use crate::{
    Outcome, agent, agent_builder, client, recorded, restart, shared, start_at, wait_all_closed,
};

type Call = fn(&Client) -> Result<(), Error>;

/// Makes `n` calls at once from `n` threads, each held up by the agent, so that the pool ends up
/// with `n` kept-alive connections.
fn fill_pool(agent: &DevAgent, client: &Client, n: usize) {
    agent.set_fault(Fault::Slow(Duration::from_millis(200)));
    let barrier = Barrier::new(n);
    thread::scope(|scope| {
        for _ in 0..n {
            scope.spawn(|| {
                barrier.wait();
                client
                    .storage()
                    .expect("a slow answer within the default 15 s");
            });
        }
    });
    agent.clear_fault();
    let connections = agent.stats().connections;
    assert!(
        connections >= 2,
        "overlapping calls must have opened several connections, got {connections}"
    );
}

#[test]
fn connections_closed_by_the_agents_idle_timeout_are_never_reused() {
    let _serial = shared();
    let agent = agent_builder()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .unwrap();
    let client = client(&agent);
    fill_pool(&agent, &client, 4);
    let old_connections = agent.stats().connections;
    let logged = agent.requests().len();

    // Each call waits for the agent to have timed out every connection first, so none can race
    // with an idle close: each must go out on a fresh connection, exactly once.
    let calls: [(&str, &str, Call); 4] = [
        ("GET", "/storage", |c| c.storage().map(drop)),
        ("POST", "/backup", |c| c.start_backup().map(drop)),
        ("GET", "/disks", |c| c.disks().map(drop)),
        ("POST", "/disks/format", |c| {
            c.format_disk("/dev/sdc", "ext4").map(drop)
        }),
    ];
    for (method, path, call) in &calls {
        wait_all_closed(&agent);
        if let Err(e) = call(&client) {
            panic!("{method} {path} after the idle timeout failed: {e:?}");
        }
    }

    let seen: Vec<(String, String, u64)> = agent.requests()[logged..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.connection))
        .collect();
    let expected: Vec<(String, String, u64)> = calls
        .iter()
        .zip(old_connections + 1..)
        .map(|((method, path, _), connection)| (method.to_string(), path.to_string(), connection))
        .collect();
    assert_eq!(seen, expected, "each call once, each on a new connection");
}

#[test]
fn a_restarted_agent_gets_every_call_once_on_fresh_connections() {
    let _serial = shared();
    let agent = agent();
    let client = client(&agent);
    fill_pool(&agent, &client, 4);

    let agent = restart(agent);
    client
        .storage()
        .expect("a GET after the restart succeeds on a fresh connection");
    client
        .start_backup()
        .expect("a POST after the restart succeeds");
    let requests = agent.requests();
    let seen: Vec<(&str, &str, u64)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.connection))
        .collect();
    // The GET opened connection 1 of the new agent; a POST always opens one of its own.
    assert_eq!(seen, [("GET", "/storage", 1), ("POST", "/backup", 2)]);
}

#[test]
fn many_threads_survive_a_restart_together() {
    const THREADS: usize = 6;
    let _serial = shared();
    let agent = agent();
    let client = client(&agent);
    fill_pool(&agent, &client, THREADS);

    let agent = restart(agent);
    let barrier = Barrier::new(THREADS);
    let outcomes: Vec<(Outcome, Outcome)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let get = Outcome::of(&client.backup_due());
                    let post = Outcome::of(&client.eject_disk("/mnt/usb-archive"));
                    (get, post)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        outcomes.iter().all(|o| *o == (Outcome::Ok, Outcome::Ok)),
        "{outcomes:?}"
    );
    assert_eq!(recorded(&agent, "GET", "/backup/due"), THREADS);
    assert_eq!(recorded(&agent, "POST", "/disks/eject"), THREADS);
    assert_eq!(agent.requests().len(), 2 * THREADS);
}

#[test]
fn while_the_agent_is_down_calls_are_connect_errors_that_sent_nothing() {
    let _serial = shared();
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap();
    client.start_backup().unwrap();
    let (identity, addr, token) = (agent.identity(), agent.addr(), agent.token().to_string());
    drop(agent);

    // Reusing the dead pooled connection would make these Io errors, which claim the request may
    // have been received: a POST could then never be retried safely.
    for result in [
        client.start_backup().map(drop),
        client.storage().map(drop),
        client.format_disk("/dev/sdc", "ext4").map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");
        assert!(!err.may_have_reached_agent(), "{err}");
    }

    let agent = start_at(&identity, addr, &token);
    client.start_backup().expect("the agent is back");
    client.storage().expect("the agent is back");
    assert_eq!(recorded(&agent, "POST", "/backup"), 1);
    assert_eq!(recorded(&agent, "GET", "/storage"), 1);
    assert_eq!(agent.requests().len(), 2);
}
