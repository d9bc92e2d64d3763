//! Polling a started job: a permanent error ends the wait, a transient one is retried.

use std::cell::RefCell;
use std::time::Duration;

use felhom_agentapi::{Error, ProgressEvent, Stopped};
use felhom_devagent::{DevAgent, Fault};

use super::{Calls, FOREVER, agent_with_jobs_of, recorded};
use crate::client;

/// Answers the run's status check, then meets the polls after it with `polls` in turn (the
/// whole cycle, check included, starts over when it runs out).
fn after_the_check(agent: &DevAgent, polls: impl IntoIterator<Item = Option<Fault>>) {
    let cycle = std::iter::once(None).chain(polls).collect();
    agent.set_fault_on("/backup/status", Fault::Cycle(cycle));
}

#[test]
fn a_permanent_poll_error_ends_the_wait_thawed_and_carries_the_job_id() {
    let agent = agent_with_jobs_of(FOREVER);
    // The status check is answered; every poll after it is not an envelope.
    after_the_check(&agent, [Some(Fault::Garbage)]);
    let client = client(&agent);
    let calls = Calls::default();
    let retries = RefCell::new(Vec::new());
    let err = recorded(&client, &calls)
        .on_progress(|p| {
            if let ProgressEvent::PollFailed { retrying, .. } = p.event {
                retries.borrow_mut().push(retrying);
            }
        })
        .run()
        .unwrap_err();
    assert!(
        matches!(err.agent_error(), Some(Error::Decode { .. })),
        "{err:?}"
    );
    assert_eq!(
        retries.into_inner(),
        [false],
        "not retried: it will not go away"
    );
    assert_eq!(err.job_id(), Some("job-1"));
    assert_eq!(err.report().stopped, Stopped::Error);
    assert!(err.to_string().contains("\"job-1\""), "{err}");
    assert_eq!(calls.entries(), ["quiesce", "thaw error job-1"]);
}

#[test]
fn transient_poll_failures_are_retried_at_the_next_poll() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    // Check answered, two polls cut off mid-answer (a broken connection), then answered. (A
    // plain drop would not do: the client sends a GET whose reused connection closed before
    // any answer once more itself.)
    after_the_check(&agent, [Some(Fault::Truncate), Some(Fault::Truncate), None]);
    let client = client(&agent);
    let calls = Calls::default();
    let failures = RefCell::new(Vec::new());
    let report = recorded(&client, &calls)
        .on_progress(|p| {
            if let ProgressEvent::PollFailed {
                error,
                in_a_row,
                retrying,
            } = p.event
            {
                assert!(matches!(error, Error::Io { .. }), "{error:?}");
                failures.borrow_mut().push((in_a_row, retrying));
            }
        })
        .run()
        .unwrap();
    assert_eq!(report.stopped, Stopped::Done);
    assert_eq!(failures.into_inner(), [(1, true), (2, true)]);
    assert_eq!(calls.entries(), ["quiesce", "thaw done job-1"]);
}

#[test]
fn three_transient_failures_in_a_row_end_the_wait_thawed() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    after_the_check(&agent, vec![Some(Fault::Truncate); 3]);
    let client = client(&agent);
    let calls = Calls::default();
    let err = recorded(&client, &calls).run().unwrap_err();
    assert!(
        matches!(err.agent_error(), Some(Error::Io { .. })),
        "{err:?}"
    );
    assert_eq!(err.job_id(), Some("job-1"));
    assert_eq!(calls.entries(), ["quiesce", "thaw error job-1"]);
}
