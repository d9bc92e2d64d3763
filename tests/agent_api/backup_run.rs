//! `BackupRun`: check, quiesce, start, wait, and thaw exactly once on every path; `wait_backup`.
//!
//! Here, how a run ends; in the modules below, each step's own failures.

use std::cell::RefCell;
use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_agentapi::{
    BackupRun, Call, Client, Error, ProgressEvent, Stopped, ThawCause, TimeoutStage,
};
use felhom_devagent::{DevAgent, Fault};

use crate::client;
use crate::common::{agent_with_failing_jobs, agent_with_jobs_of, paths};

mod cancel;
mod polling;
mod quiesce;
mod thaw;
mod wait;

const POLL: Duration = Duration::from_millis(10);
/// Longer than any test: a job that only a test's own action ends.
const FOREVER: Duration = Duration::from_secs(600);

/// What the quiesce and thaw steps were called with, in order.
#[derive(Default)]
struct Calls {
    log: RefCell<Vec<String>>,
}

impl Calls {
    fn push(&self, entry: String) {
        self.log.borrow_mut().push(entry);
    }

    fn entries(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    /// A thaw step that notes why it was called.
    fn thawed(&self, cause: ThawCause) -> Result<(), std::io::Error> {
        self.push(format!("thaw {cause}"));
        Ok(())
    }
}

/// A run of `client` whose quiesce and thaw steps write to `calls`, polling fast.
fn recorded<'a>(client: &'a Client, calls: &'a Calls) -> BackupRun<'a> {
    client
        .backup_run()
        .poll_every(POLL)
        .give_up_after(Duration::from_secs(60))
        .quiesce(move || {
            calls.push("quiesce".into());
            Ok::<(), std::io::Error>(())
        })
        .thaw(move |thaw| {
            calls.push(format!(
                "thaw {} {}",
                thaw.cause,
                thaw.job_id.unwrap_or("-")
            ));
            Ok::<(), std::io::Error>(())
        })
}

#[test]
fn done_reads_the_status_first_then_thaws_once_with_done() {
    let agent = agent_with_jobs_of(Duration::from_millis(200));
    let client = client(&agent);
    let calls = Calls::default();
    let report = recorded(&client, &calls).run().unwrap();
    assert_eq!(report.stopped, Stopped::Done);
    assert_eq!(report.job_id.as_deref(), Some("job-1"));
    let status = report.status.as_ref().unwrap();
    assert_eq!(status.phase, BackupPhase::Done);
    let thaw = report.thaw.as_ref().unwrap();
    assert_eq!(thaw.cause, ThawCause::Done);
    assert!(!thaw.early());
    assert!(report.quiesced_at.unwrap() <= thaw.at);
    assert_eq!(calls.entries(), ["quiesce", "thaw done job-1"]);
    let paths = paths(&agent);
    assert_eq!(
        paths[..2],
        ["GET /backup/status", "POST /backup"],
        "{paths:?}"
    );
}

#[test]
fn progress_reports_each_phase_in_order_with_elapsed_time() {
    let agent = agent_with_jobs_of(Duration::from_millis(200));
    let client = client(&agent);
    let calls = Calls::default();
    let events = RefCell::new(Vec::new());
    let elapsed = RefCell::new(Vec::new());
    recorded(&client, &calls)
        .on_progress(|p| {
            elapsed.borrow_mut().push(p.elapsed);
            let name = match p.event {
                ProgressEvent::Checking => "checking".to_string(),
                ProgressEvent::Quiescing => "quiescing".into(),
                ProgressEvent::Starting => "starting".into(),
                ProgressEvent::Started => format!("started {}", p.job_id.unwrap()),
                ProgressEvent::Phase(phase) => format!("phase {phase}"),
                ProgressEvent::Thawing(cause) => format!("thawing {cause}"),
                ProgressEvent::Thawed { cause, ok } => format!("thawed {cause} {ok}"),
                ProgressEvent::Stopped(stopped) => format!("stopped {stopped}"),
                other => format!("{other:?}"),
            };
            events.borrow_mut().push(name);
        })
        .run()
        .unwrap();
    assert_eq!(
        events.into_inner(),
        [
            "checking",
            "quiescing",
            "starting",
            "started job-1",
            "phase done",
            "thawing done",
            "thawed done true",
            "stopped done",
        ]
    );
    let elapsed = elapsed.into_inner();
    assert!(elapsed.windows(2).all(|w| w[0] <= w[1]), "{elapsed:?}");
}

#[test]
fn a_running_job_is_busy_and_nothing_is_quiesced() {
    let agent = agent_with_jobs_of(FOREVER);
    let client = client(&agent);
    let running = client.start_backup().unwrap();
    let calls = Calls::default();
    let err = recorded(&client, &calls).run().unwrap_err();
    match err.agent_error() {
        Some(Error::BackupRunning { job_id, call }) => {
            assert_eq!(job_id.as_deref(), Some(running.job_id.as_str()));
            assert_eq!(*call, Call::request("GET", "/backup/status"));
        }
        other => panic!("expected BackupRunning, got {other:?}"),
    }
    assert_eq!(
        err.agent_error().and_then(Error::http_status),
        None,
        "found in a status the agent answered with 200"
    );
    assert_eq!(err.report().stopped, Stopped::Busy);
    assert_eq!(err.job_id(), Some("job-1"), "the running job is named");
    assert_eq!(
        calls.entries(),
        Vec::<String>::new(),
        "nothing was quiesced"
    );
    assert_eq!(err.report().thaw, None);
    assert_eq!(paths(&agent), ["POST /backup", "GET /backup/status"]);
}

#[test]
fn a_409_is_backup_running_from_start_backup_and_from_a_run() {
    let agent = agent_with_jobs_of(FOREVER);
    let client = client(&agent);
    client.start_backup().unwrap();
    let err = client.start_backup().unwrap_err();
    assert!(
        matches!(err, Error::BackupRunning { job_id: None, .. }),
        "{err:?}"
    );
    assert_eq!(err.call(), Some(&Call::request("POST", "/backup")));
    assert!(err.to_string().contains("already running"), "{err}");

    // The status check passes, and the start is refused: thawed once, busy.
    let agent = DevAgent::start().unwrap();
    agent.set_fault_on("/backup", Fault::Status(409));
    let client = crate::client(&agent);
    let calls = Calls::default();
    let err = recorded(&client, &calls).run().unwrap_err();
    assert!(
        matches!(err.agent_error(), Some(Error::BackupRunning { .. })),
        "{err:?}"
    );
    assert_eq!(err.report().stopped, Stopped::Busy);
    assert_eq!(calls.entries(), ["quiesce", "thaw error -"]);
}

#[test]
fn a_failed_job_thaws_once_with_failed_and_names_the_job() {
    let agent = agent_with_failing_jobs(Duration::from_millis(200), "vzdump exited with status 2");
    let client = client(&agent);
    let calls = Calls::default();
    let err = recorded(&client, &calls).run().unwrap_err();
    match err.agent_error() {
        Some(Error::BackupFailed { job_id, status }) => {
            assert_eq!(job_id, "job-1");
            assert_eq!(status.error, "vzdump exited with status 2");
        }
        other => panic!("expected BackupFailed, got {other:?}"),
    }
    assert_eq!(err.report().stopped, Stopped::Failed);
    assert_eq!(err.job_id(), Some("job-1"));
    assert_eq!(calls.entries(), ["quiesce", "thaw failed job-1"]);
}

#[test]
fn giving_up_thaws_once_and_says_the_job_may_still_finish() {
    let agent = agent_with_jobs_of(FOREVER);
    let client = client(&agent);
    let calls = Calls::default();
    let err = recorded(&client, &calls)
        .give_up_after(Duration::from_millis(100))
        .run()
        .unwrap_err();
    match err.agent_error() {
        Some(Error::Timeout {
            stage: TimeoutStage::BackupWait { job_id, last_phase },
            ..
        }) => {
            assert_eq!(job_id, "job-1");
            assert_eq!(*last_phase, BackupPhase::Running);
        }
        other => panic!("expected a BackupWait timeout, got {other:?}"),
    }
    assert_eq!(err.report().stopped, Stopped::GaveUp);
    assert_eq!(calls.entries(), ["quiesce", "thaw gave-up job-1"]);
    assert!(err.to_string().contains("may still finish"), "{err}");
}
