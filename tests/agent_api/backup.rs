//! `run_backup`: start, poll, and the three ways it ends.

use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_agentapi::{Error, TimeoutStage};
use felhom_devagent::{DevAgent, Fault};

use crate::client;
use crate::common::{agent_with_failing_jobs, agent_with_jobs_of, assert_says};

const POLL: Duration = Duration::from_millis(5);

/// An agent whose jobs outlast any test.
fn long_job_agent() -> DevAgent {
    agent_with_jobs_of(Duration::from_secs(600))
}

#[test]
fn run_backup_polls_until_done() {
    let agent = agent_with_jobs_of(Duration::from_millis(200));
    let status = client(&agent)
        .run_backup(POLL, Duration::from_secs(30))
        .unwrap();
    assert_eq!(status.phase, BackupPhase::Done);
    assert!(status.job_id.starts_with("job-"));
    let paths: Vec<String> = agent.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths[0], "/backup", "{paths:?}");
    assert!(
        paths[1..].iter().all(|p| p == "/backup/status") && paths.len() > 1,
        "{paths:?}"
    );
}

#[test]
fn a_failed_job_is_backup_failed_with_the_agents_reason() {
    let agent = agent_with_failing_jobs(Duration::from_millis(200), "vzdump exited with status 2");
    let err = client(&agent)
        .run_backup(POLL, Duration::from_secs(30))
        .unwrap_err();
    match &err {
        Error::BackupFailed { job_id, status } => {
            assert!(job_id.starts_with("job-"));
            assert_eq!(status.phase, BackupPhase::Failed);
            assert_eq!(status.error, "vzdump exited with status 2");
        }
        other => panic!("got {other:?}"),
    }
    assert_says(&err, "vzdump exited with status 2");
}

#[test]
fn giving_up_is_a_timeout_that_says_the_job_may_still_finish() {
    let agent = long_job_agent();
    let err = client(&agent)
        .run_backup(POLL, Duration::from_millis(60))
        .unwrap_err();
    match &err {
        Error::Timeout {
            stage: TimeoutStage::BackupWait { job_id, last_phase },
            limit,
            ..
        } => {
            assert!(job_id.starts_with("job-"));
            assert_eq!(*last_phase, BackupPhase::Running);
            assert_eq!(*limit, Duration::from_millis(60));
        }
        other => panic!("got {other:?}"),
    }
    assert!(err.may_have_reached_agent());
    assert!(err.to_string().contains("may still finish"), "{err}");
}

#[test]
fn a_refused_start_is_returned_at_once() {
    let agent = long_job_agent();
    let client = client(&agent);
    client.start_backup().unwrap();
    // One job is running: the agent refuses a second with 409, which is typed.
    let err = client
        .run_backup(POLL, Duration::from_secs(30))
        .unwrap_err();
    assert!(
        matches!(err, Error::BackupRunning { job_id: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("POST /backup: "), "{err}");
    assert_eq!(err.http_status(), Some(409), "the agent's answer was a 409");
}

#[test]
fn a_poll_that_fails_ends_the_wait_with_that_error() {
    let agent = long_job_agent();
    agent.set_fault(Fault::Cycle(vec![None, Some(Fault::Status(500))]));
    let err = client(&agent)
        .run_backup(POLL, Duration::from_secs(30))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                status: 500,
                ref call,
                ..
            } if call.path() == Some("/backup/status")
        ),
        "{err:?}"
    );
}
