//! Connection reuse, sharing between threads, and connections the agent closed.

use std::thread;

use felhom_agentapi::Client;
use felhom_devagent::DevAgent;

use crate::{agent, client};

#[test]
fn client_is_clone_send_sync_and_errors_cross_threads() {
    fn clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    clone_send_sync::<Client>();
    error::<felhom_agentapi::Error>();
}

#[test]
fn sequential_gets_reuse_one_kept_alive_connection_and_each_post_gets_a_fresh_one() {
    let agent = agent();
    let client = client(&agent);
    for _ in 0..5 {
        client.storage().unwrap();
        client.start_backup().ok();
        client.host_metrics().unwrap();
    }
    let stats = agent.stats();
    assert_eq!(stats.connections, 6, "{stats:?}");
    assert_eq!(stats.handshakes, 6, "{stats:?}");
    assert_eq!(stats.requests, 15);
    let requests = agent.requests();
    let (gets, posts): (Vec<_>, Vec<_>) = requests.iter().partition(|r| r.method == "GET");
    assert!(gets.iter().all(|r| r.connection == 1), "{gets:?}");
    let mut post_connections: Vec<u64> = posts.iter().map(|r| r.connection).collect();
    post_connections.dedup();
    assert_eq!(post_connections.len(), 5, "one connection per POST");
    assert!(!post_connections.contains(&1));
}

#[test]
fn clones_share_the_pool() {
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap();
    let clone = client.clone();
    clone.storage().unwrap();
    drop(client);
    clone.disks().unwrap();
    assert_eq!(agent.stats().connections, 1);
}

#[test]
fn threads_share_one_client() {
    const THREADS: usize = 8;
    const CALLS: usize = 25;
    let agent = agent();
    let client = client(&agent);
    thread::scope(|scope| {
        for _ in 0..THREADS {
            let client = client.clone();
            scope.spawn(move || {
                for _ in 0..CALLS {
                    assert_eq!(client.storage().unwrap().vmid, 101);
                }
            });
        }
    });
    let stats = agent.stats();
    assert_eq!(stats.requests, (THREADS * CALLS) as u64);
    // At most one connection per thread in flight, and the idle pool keeps them all.
    assert!(stats.connections <= THREADS as u64, "{stats:?}");
}

#[test]
fn a_connection_the_agent_closed_while_idle_is_never_reused() {
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap();
    agent.close_idle_connections();
    // Both a GET and a POST go out on a fresh connection, once each.
    client.storage().unwrap();
    agent.close_idle_connections();
    client.start_backup().unwrap();
    let requests = agent.requests();
    let connections: Vec<u64> = requests.iter().map(|r| r.connection).collect();
    assert_eq!(
        connections,
        vec![1, 2, 3],
        "one request per connection, none sent twice"
    );
    assert_eq!(requests.iter().filter(|r| r.path == "/backup").count(), 1);
}

#[test]
fn a_restarted_agent_is_reached_on_a_fresh_connection() {
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap();
    let (identity, addr, token) = (agent.identity(), agent.addr(), agent.token().to_string());
    drop(agent);
    let agent = DevAgent::builder()
        .identity(identity)
        .bind(addr)
        .token(token)
        .start()
        .unwrap();
    client.storage().unwrap();
    client.start_backup().unwrap();
    assert_eq!(
        agent.stats().connections,
        2,
        "a POST never takes the GET's connection"
    );
    assert_eq!(agent.requests().len(), 2);
}

#[test]
fn an_idle_connection_older_than_the_idle_timeout_is_not_reused() {
    let agent = agent();
    let client = crate::builder(&agent)
        .idle_timeout(std::time::Duration::from_millis(1))
        .build()
        .unwrap();
    client.storage().unwrap();
    // The property under test is an age: waiting longer than the limit is the point. A slower
    // machine only makes the wait longer, which cannot change the outcome.
    thread::sleep(std::time::Duration::from_millis(50));
    client.storage().unwrap();
    assert_eq!(agent.stats().connections, 2);
}
