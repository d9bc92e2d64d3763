//! Kept-alive connections a server closed lazily (lighttpd answers the next request on an idle
//! connection with a `close_notify` alone): a GET is sent once more on a fresh connection, and a
//! POST never goes out on a reused connection at all.

use felhom_agentapi::{Client, Error};
use felhom_devagent::{DevAgent, Fault};

use crate::common::client_with_timeout;
use crate::{agent, client};

/// `(method, path, connection)` of every request the agent received.
fn log(agent: &DevAgent) -> Vec<(String, String, u64)> {
    agent
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.connection))
        .collect()
}

fn entry(method: &str, path: &str, connection: u64) -> (String, String, u64) {
    (method.to_string(), path.to_string(), connection)
}

/// An agent and a client whose first call left a kept-alive connection, and `fault` for what
/// comes next.
fn after_one_call(fault: Fault) -> (DevAgent, Client) {
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap();
    agent.set_fault(fault);
    (agent, client)
}

#[test]
fn a_get_on_a_connection_the_server_closed_as_idle_is_sent_again_on_a_fresh_one() {
    let (agent, client) = after_one_call(Fault::CloseReused);
    let storage = client
        .storage()
        .expect("the GET goes out again on a fresh connection");
    assert_eq!(storage.vmid, 101);
    assert_eq!(
        log(&agent),
        [
            entry("GET", "/storage", 1),
            entry("GET", "/storage", 1), // closed unanswered
            entry("GET", "/storage", 2),
        ]
    );
}

#[test]
fn a_post_never_goes_out_on_a_connection_the_server_may_have_closed_as_idle() {
    let (agent, client) = after_one_call(Fault::CloseReused);
    let job = client
        .start_backup()
        .expect("the POST takes a fresh connection");
    client
        .format_disk("/dev/sdc", "ext4")
        .expect("the blank disk is formatted");
    assert_eq!(
        log(&agent),
        [
            entry("GET", "/storage", 1),
            entry("POST", "/backup", 2),
            entry("POST", "/disks/format", 3),
        ]
    );
    agent.clear_fault();
    assert_eq!(client.backup_status().unwrap().job_id, job.job_id);
}

#[test]
fn a_get_is_sent_at_most_twice_and_only_after_a_reused_connection_failed() {
    // Every request is dropped unanswered: the reused connection, then the fresh one.
    let (agent, client) = after_one_call(Fault::Drop);
    let err = client.disks().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.may_have_reached_agent());
    // A fresh connection that fails is not tried again.
    let err = client.disks().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(
        log(&agent),
        [
            entry("GET", "/storage", 1),
            entry("GET", "/disks", 1),
            entry("GET", "/disks", 2),
            entry("GET", "/disks", 3),
        ]
    );
}

#[test]
fn a_slow_get_on_a_reused_connection_is_not_sent_again() {
    // Only a connection that ended before any answer byte is a stale one; a time limit that
    // runs out says nothing of the sort.
    let agent = agent();
    let client = client_with_timeout(&agent, std::time::Duration::from_millis(300));
    client.storage().unwrap();
    agent.set_fault(Fault::Slow(std::time::Duration::from_secs(2)));
    let err = client.storage().unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(log(&agent).len(), 2, "{:?}", log(&agent));
}
