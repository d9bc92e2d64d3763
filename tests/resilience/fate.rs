//! Calls whose fate is unknown: the agent got the request, then the answer never came whole.
//! The client reports that the request may have reached the agent, and never sends it again.

use std::time::Duration;

use felhom_agentapi::devagent::{DevAgent, Fault};
use felhom_agentapi::{Client, Error, TimeoutStage};

use crate::{agent, builder, client, recorded, shared, wait_all_closed};

type Call = fn(&Client) -> Result<(), Error>;

/// The calls under test: non-idempotent POSTs, and a GET (the client retries nothing at all).
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
        agent.close_idle_connections();
        wait_all_closed(agent);
    }
}

#[test]
fn a_dropped_request_is_io_that_may_have_reached_the_agent_and_is_sent_once() {
    let _serial = shared();
    let agent = agent();
    let client = client(&agent);
    for pooled in [true, false] {
        for (method, path, call) in CALLS {
            prepare(&agent, &client, pooled);
            let before = recorded(&agent, method, path);
            agent.set_fault(Fault::Drop);
            let err = call(&client).unwrap_err();
            let context = format!("{method} {path} (pooled: {pooled})");
            assert!(
                matches!(&err, Error::Io { method: m, path: p, .. } if *m == method && *p == path),
                "{context}: {err:?}"
            );
            assert!(err.may_have_reached_agent(), "{context}: {err}");
            // The request is logged before the agent hangs up, and the call has returned: any
            // retry would already be in the log.
            assert_eq!(
                recorded(&agent, method, path),
                before + 1,
                "{context}: sent exactly once"
            );
        }
    }
    agent.clear_fault();
    client.start_backup().expect("the same client works again");
}

#[test]
fn a_request_answered_too_slowly_is_an_exchange_timeout_and_is_sent_once() {
    const LIMIT: Duration = Duration::from_millis(600);
    let _serial = shared();
    let agent = agent();
    let client = builder(&agent).timeout(LIMIT).build().unwrap();
    for pooled in [true, false] {
        for (method, path, call) in CALLS {
            prepare(&agent, &client, pooled);
            let before = recorded(&agent, method, path);
            // Short, so that the agent soon finishes with the abandoned connection (`prepare` waits).
            agent.set_fault(Fault::Slow(Duration::from_millis(1500)));
            let err = call(&client).unwrap_err();
            let context = format!("{method} {path} (pooled: {pooled})");
            match &err {
                Error::Timeout {
                    stage: TimeoutStage::Exchange,
                    limit,
                    ..
                } => assert_eq!(*limit, LIMIT, "{context}"),
                other => panic!("{context}: {other:?}"),
            }
            assert!(err.may_have_reached_agent(), "{context}: {err}");
            assert_eq!(
                recorded(&agent, method, path),
                before + 1,
                "{context}: sent exactly once"
            );
        }
    }
    agent.clear_fault();
    client.start_backup().expect("the same client works again");
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
