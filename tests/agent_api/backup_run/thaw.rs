//! The thaw step: a failed thaw is the failure, and panics anywhere still thaw exactly once.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use felhom_agentapi::{BackupRunFailure, ProgressEvent, Stopped, ThawCause};
use felhom_devagent::DevAgent;

use super::{Calls, FOREVER, POLL, agent_with_jobs_of, paths, recorded};
use crate::client;

#[test]
fn a_failed_thaw_after_done_is_the_failure_and_says_the_backup_succeeded() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    let client = client(&agent);
    let err = client
        .backup_run()
        .poll_every(POLL)
        .thaw(|_| Err("fsfreeze --unfreeze /srv: Invalid argument"))
        .run()
        .unwrap_err();
    assert!(
        matches!(err.failure(), BackupRunFailure::Thaw(_)),
        "{err:?}"
    );
    assert_eq!(err.report().stopped, Stopped::Done);
    let thaw = err.report().thaw.as_ref().unwrap();
    assert_eq!(
        thaw.error.as_deref(),
        Some("fsfreeze --unfreeze /srv: Invalid argument")
    );
    let message = err.to_string();
    assert!(message.contains("the backup itself succeeded"), "{message}");
    assert!(message.contains("may still be quiesced"), "{message}");
}

#[test]
fn a_panicking_progress_callback_still_thaws_exactly_once() {
    let agent = agent_with_jobs_of(FOREVER);
    let client = client(&agent);
    let calls = Calls::default();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        recorded(&client, &calls)
            .on_progress(|p| {
                if let ProgressEvent::Started = p.event {
                    panic!("the progress callback broke");
                }
            })
            .run()
    }));
    let payload = outcome.expect_err("the panic goes on after the thaw");
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the progress callback broke")
    );
    assert_eq!(calls.entries(), ["quiesce", "thaw error job-1"]);
}

#[test]
fn a_panicking_quiesce_step_still_thaws_exactly_once() {
    let agent = DevAgent::start().unwrap();
    let client = client(&agent);
    let thaws = RefCell::new(Vec::new());
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        client
            .backup_run()
            .quiesce(|| -> Result<(), std::io::Error> { panic!("quiesce broke") })
            .thaw(|thaw| {
                thaws.borrow_mut().push(thaw.cause);
                Ok::<(), std::io::Error>(())
            })
            .run()
    }));
    assert!(outcome.is_err());
    assert_eq!(thaws.into_inner(), [ThawCause::Error]);
    assert_eq!(paths(&agent), ["GET /backup/status"], "no POST /backup");
}

#[test]
fn a_panicking_thaw_step_is_not_called_again() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    let client = client(&agent);
    let calls = RefCell::new(0);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        client
            .backup_run()
            .poll_every(POLL)
            .thaw(|_| -> Result<(), std::io::Error> {
                *calls.borrow_mut() += 1;
                panic!("thaw broke")
            })
            .run()
    }));
    assert!(outcome.is_err());
    assert_eq!(calls.into_inner(), 1);
}
