//! `wait_backup` and `BackupRun::wait`: re-attaching to a job, starting none.

use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_agentapi::{Error, Stopped};
use felhom_devagent::DevAgent;

use super::{POLL, agent_with_jobs_of, paths};
use crate::client;
use crate::common::agent_with_failing_jobs;

#[test]
fn wait_backup_reattaches_without_starting_a_job() {
    let agent = agent_with_jobs_of(Duration::from_millis(200));
    let client = client(&agent);
    let job = client.start_backup().unwrap();
    let status = client.wait_backup(POLL, Duration::from_secs(60)).unwrap();
    assert_eq!(status.phase, BackupPhase::Done);
    assert_eq!(status.job_id, job.job_id);
    let posts = paths(&agent)
        .iter()
        .filter(|p| *p == "POST /backup")
        .count();
    assert_eq!(posts, 1, "wait started no job");
    // An ended job is answered at once, and the builder form reports it.
    let report = client.backup_run().wait().unwrap();
    assert_eq!(report.stopped, Stopped::Done);
    assert_eq!(report.job_id.as_deref(), Some("job-1"));
    assert_eq!(report.thaw, None, "waiting quiesces nothing");
}

#[test]
fn wait_backup_says_when_there_is_no_job() {
    let agent = DevAgent::start().unwrap();
    let err = client(&agent)
        .wait_backup(POLL, Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(err, Error::NoBackupJob { .. }), "{err:?}");
    assert!(err.to_string().contains("no backup job"), "{err}");
}

#[test]
fn wait_backup_reports_a_failed_job_as_backup_failed() {
    let agent = agent_with_failing_jobs(Duration::ZERO, "disk full");
    let client = client(&agent);
    client.start_backup().unwrap();
    let err = client
        .wait_backup(POLL, Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(err, Error::BackupFailed { .. }), "{err:?}");
}
