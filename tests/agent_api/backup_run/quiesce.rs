//! The quiesce step and its window: a failed or too-long quiesce starts no backup; the window
//! thaws early.

use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_agentapi::{BackupRunFailure, Stopped};
use felhom_devagent::DevAgent;

use super::{Calls, FOREVER, POLL, agent_with_jobs_of, paths};
use crate::client;

#[test]
fn a_failed_quiesce_is_thawed_and_starts_no_backup() {
    let agent = DevAgent::start().unwrap();
    let client = client(&agent);
    let calls = Calls::default();
    let err = client
        .backup_run()
        .quiesce(|| {
            calls.push("quiesce".into());
            Err("FLUSH TABLES WITH READ LOCK timed out")
        })
        .thaw(|thaw| calls.thawed(thaw.cause))
        .run()
        .unwrap_err();
    match err.failure() {
        BackupRunFailure::Quiesce(e) => {
            assert_eq!(e.to_string(), "FLUSH TABLES WITH READ LOCK timed out")
        }
        other => panic!("expected a quiesce failure, got {other:?}"),
    }
    assert_eq!(err.report().stopped, Stopped::QuiesceFailed);
    assert_eq!(calls.entries(), ["quiesce", "thaw error"]);
    assert_eq!(paths(&agent), ["GET /backup/status"], "no POST /backup");
    assert!(err.to_string().contains("no backup was started"), "{err}");
}

/// A quiesce that used up the whole window would be thawed the moment the job began: that
/// backup would not be consistent, so it is never started.
#[test]
fn a_quiesce_that_outlasts_the_window_is_thawed_and_starts_no_backup() {
    let agent = DevAgent::start().unwrap();
    let client = client(&agent);
    let calls = Calls::default();
    let err = client
        .backup_run()
        .thaw_after(Duration::from_millis(50))
        .quiesce(|| {
            calls.push("quiesce".into());
            std::thread::sleep(Duration::from_millis(120));
            Ok::<(), std::io::Error>(())
        })
        .thaw(|thaw| calls.thawed(thaw.cause))
        .run()
        .unwrap_err();
    assert!(
        matches!(err.failure(), BackupRunFailure::Quiesce(_)),
        "{err:?}"
    );
    assert_eq!(err.report().stopped, Stopped::QuiesceFailed);
    assert_eq!(calls.entries(), ["quiesce", "thaw error"]);
    assert_eq!(paths(&agent), ["GET /backup/status"], "no POST /backup");
    let message = err.to_string();
    assert!(message.contains("the whole quiesce window"), "{message}");
    assert!(message.contains("no backup was started"), "{message}");
}

/// With no quiesce step there is nothing to keep consistent: even an empty window starts the
/// backup.
#[test]
fn without_a_quiesce_step_an_empty_window_still_backs_up() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    let report = client(&agent)
        .backup_run()
        .poll_every(Duration::from_millis(10))
        .thaw_after(Duration::ZERO)
        .run()
        .unwrap();
    assert_eq!(report.stopped, Stopped::Done);
    assert!(paths(&agent).contains(&"POST /backup".to_string()));
}

#[test]
fn the_quiesce_window_thaws_early_while_the_wait_goes_on() {
    let agent = agent_with_jobs_of(FOREVER);
    let client = client(&agent);
    let calls = Calls::default();
    let report = client
        .backup_run()
        .poll_every(POLL)
        .give_up_after(Duration::from_secs(60))
        .thaw_after(Duration::from_millis(50))
        .quiesce(|| {
            calls.push("quiesce".into());
            Ok::<(), std::io::Error>(())
        })
        .thaw(|thaw| {
            calls.push(format!("thaw {}", thaw.cause));
            // The job is still running; let it end now, so the wait can see it end.
            assert_eq!(client.backup_status().unwrap().phase, BackupPhase::Running);
            agent.finish_backup();
            Ok::<(), std::io::Error>(())
        })
        .run()
        .unwrap();
    assert_eq!(
        report.stopped,
        Stopped::Done,
        "the wait went on after the thaw"
    );
    assert_eq!(report.status.unwrap().phase, BackupPhase::Done);
    let thaw = report.thaw.unwrap();
    assert!(thaw.early());
    assert!(thaw.quiesced_for >= Duration::from_millis(50));
    assert_eq!(calls.entries(), ["quiesce", "thaw running"], "thawed once");
}
