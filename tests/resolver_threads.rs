//! A kept-alive call to an IP-literal endpoint starts no thread (ureq's default resolver starts
//! one per call when a timeout is set). A test binary of its own: other tests' threads would
//! be counted.

mod common;

use common::{agent, client};

/// The id the next new thread gets. Thread ids are handed out in order, one per thread ever
/// created in the process, so the difference of two readings counts the threads in between.
fn next_thread_id() -> u64 {
    let id = std::thread::spawn(|| std::thread::current().id())
        .join()
        .unwrap();
    format!("{id:?}")
        .trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap()
}

#[test]
fn kept_alive_calls_to_an_ip_literal_start_no_thread() {
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap(); // connects; the agent starts its thread for the connection
    let before = next_thread_id();
    for _ in 0..20 {
        client.storage().unwrap();
    }
    let after = next_thread_id();
    assert_eq!(agent.stats().connections, 1);
    assert_eq!(
        after - before,
        1,
        "{} threads were started during 20 kept-alive calls",
        after - before - 1
    );
}
