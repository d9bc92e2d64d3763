//! The quiesce step and its window: a failed or too-long quiesce starts no backup; the window
//! thaws early.

use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_agentapi::{BackupRunError, BackupRunFailure, HookError, Stopped};
use felhom_devagent::DevAgent;

use super::{Calls, FOREVER, POLL, agent_with_jobs_of, paths};
use crate::client;

/// Runs a backup on a fresh agent whose quiesce step fails as `quiesce` does, with the quiesce
/// `window` if one is given; checks what every failed quiesce leaves (thawed once for the
/// error, no backup started) and returns the error for the test's own checks.
fn failed_quiesce<E: Into<HookError>>(
    window: Option<Duration>,
    quiesce: impl FnOnce() -> Result<(), E>,
) -> BackupRunError {
    let agent = DevAgent::start().unwrap();
    let client = client(&agent);
    let calls = Calls::default();
    let mut run = client.backup_run();
    if let Some(window) = window {
        run = run.thaw_after(window);
    }
    let err = run
        .quiesce(|| {
            calls.push("quiesce".into());
            quiesce()
        })
        .thaw(|thaw| calls.thawed(thaw.cause))
        .run()
        .unwrap_err();
    assert_eq!(err.report().stopped, Stopped::QuiesceFailed);
    assert_eq!(calls.entries(), ["quiesce", "thaw error"]);
    assert_eq!(paths(&agent), ["GET /backup/status"], "no POST /backup");
    assert!(err.to_string().contains("no backup was started"), "{err}");
    err
}

#[test]
fn a_failed_quiesce_is_thawed_and_starts_no_backup() {
    let err = failed_quiesce(None, || Err("FLUSH TABLES WITH READ LOCK timed out"));
    match err.failure() {
        BackupRunFailure::Quiesce(e) => {
            assert_eq!(e.to_string(), "FLUSH TABLES WITH READ LOCK timed out")
        }
        other => panic!("expected a quiesce failure, got {other:?}"),
    }
}

/// A quiesce that used up the whole window would be thawed the moment the job began: that
/// backup would not be consistent, so it is never started.
#[test]
fn a_quiesce_that_outlasts_the_window_is_thawed_and_starts_no_backup() {
    let err = failed_quiesce(Some(Duration::from_millis(50)), || {
        std::thread::sleep(Duration::from_millis(120));
        Ok::<(), std::io::Error>(())
    });
    assert!(
        matches!(err.failure(), BackupRunFailure::Quiesce(_)),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the whole quiesce window"),
        "{err}"
    );
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
