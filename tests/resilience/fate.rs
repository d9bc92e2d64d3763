//! Calls whose fate is unknown: the agent got the request, then the answer never came whole.
//! The client reports that the request may have reached the agent, and never sends a POST
//! again. A GET whose kept-alive connection ended before any byte of the answer is sent once
//! more, on a fresh connection (the agent cannot tell that from an idle close).

use std::time::Duration;

use felhom_agentapi::{Client, Error, TimeoutStage};
use felhom_devagent::{DevAgent, Fault};

use crate::{agent, builder, client, drop_pooled_connections, recorded, shared};

type Call = fn(&Client) -> Result<(), Error>;

/// The calls under test: non-idempotent POSTs, and a GET.
const CALLS: [(&str, &str, Call); 3] = [
    ("POST", "/backup", |c| c.start_backup().map(drop)),
    ("POST", "/disks/format", |c| {
        c.format_disk("/dev/sdc", "ext4").map(drop)
    }),
    ("GET", "/storage", |c| c.storage().map(drop)),
];

/// Puts the client in one of two states: a kept-alive connection ready in its pool (`pooled`),
/// or only a dead one, so that the call opens a fresh connection.
fn prepare(agent: &DevAgent, client: &Client, pooled: bool) {
    agent.clear_fault();
    client.host_metrics().expect("a normal call");
    if !pooled {
        drop_pooled_connections(agent);
    }
}

/// Makes every call of [`CALLS`], over a pooled and over a fresh connection, with `fault` set;
/// hands each error to `check` with the call's method, path and a context for messages, and
/// asserts that it may have reached the agent and was sent once (twice for a GET whose
/// kept-alive connection was dropped unanswered). Afterwards the same client must work again.
fn each_call_with(
    agent: &DevAgent,
    client: &Client,
    fault: Fault,
    check: impl Fn(&Error, &str, &str, &str),
) {
    for pooled in [true, false] {
        for (method, path, call) in CALLS {
            prepare(agent, client, pooled);
            let before = recorded(agent, method, path);
            agent.set_fault(fault.clone());
            let err = call(client).unwrap_err();
            let context = format!("{method} {path} (pooled: {pooled})");
            check(&err, method, path, &context);
            assert!(err.may_have_reached_agent(), "{context}: {err}");
            // The request is logged before the agent hangs up, and the call has returned: any
            // retry would already be in the log. Only a GET whose kept-alive connection was
            // dropped before any answer goes out again; POSTs always get a fresh connection.
            let resent = pooled && method == "GET" && fault == Fault::Drop;
            let sent = if resent { 2 } else { 1 };
            assert_eq!(
                recorded(agent, method, path),
                before + sent,
                "{context}: sent {sent} times"
            );
        }
    }
    agent.clear_fault();
    client.start_backup().expect("the same client works again");
}

#[test]
fn a_dropped_request_is_io_that_may_have_reached_the_agent_and_is_sent_once() {
    let _serial = shared();
    let agent = agent();
    let client = client(&agent);
    each_call_with(
        &agent,
        &client,
        Fault::Drop,
        |err, method, path, context| {
            assert!(
                matches!(err, Error::Io { call: c, .. } if c.method() == Some(method) && c.path() == Some(path)),
                "{context}: {err:?}"
            );
        },
    );
}

#[test]
fn a_request_answered_too_slowly_is_an_exchange_timeout_and_is_sent_once() {
    const LIMIT: Duration = Duration::from_millis(600);
    let _serial = shared();
    let agent = agent();
    let client = builder(&agent).timeout(LIMIT).build().unwrap();
    // Short, so that the agent soon finishes with the abandoned connection (`prepare` waits).
    let slow = Fault::Slow(Duration::from_millis(1500));
    each_call_with(&agent, &client, slow, |err, _, _, context| match err {
        Error::Timeout {
            stage: TimeoutStage::Exchange,
            limit,
            ..
        } => assert_eq!(*limit, LIMIT, "{context}"),
        other => panic!("{context}: {other:?}"),
    });
}

#[test]
fn a_truncated_answer_hides_a_request_the_agent_acted_on() {
    // Why `may_have_reached_agent()` must say true: the agent started the job, yet the caller
    // only saw a broken answer.
    let _serial = shared();
    let agent = agent();
    let client = client(&agent);
    assert_eq!(client.backup_status().unwrap().job_id, "");
    agent.set_fault(Fault::Truncate);
    let err = client.start_backup().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.may_have_reached_agent());
    agent.clear_fault();
    assert_eq!(
        client.backup_status().unwrap().job_id,
        "job-1",
        "the agent did start a job"
    );
    assert_eq!(recorded(&agent, "POST", "/backup"), 1);
}
