//! `BackupRun`: check, quiesce, start, wait, and thaw exactly once on every path; `wait_backup`.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use felhom_agentapi::{
    BackupPhase, BackupRun, BackupRunFailure, Call, CancelToken, Client, Error, ProgressEvent,
    Stopped, ThawCause, TimeoutStage,
};
use felhom_devagent::{BackupOutcome, DevAgent, Fault};

use crate::client;

const POLL: Duration = Duration::from_millis(10);
/// Longer than any test: a job that only a test's own action ends.
const FOREVER: Duration = Duration::from_secs(600);

fn agent_with_jobs_of(duration: Duration) -> DevAgent {
    DevAgent::builder()
        .backup_duration(duration)
        .start()
        .unwrap()
}

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

fn paths(agent: &DevAgent) -> Vec<String> {
    agent
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
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
    let agent = DevAgent::builder()
        .backup_duration(Duration::from_millis(200))
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
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

#[test]
fn a_permanent_poll_error_ends_the_wait_thawed_and_carries_the_job_id() {
    let agent = agent_with_jobs_of(FOREVER);
    // The status check is answered; every poll after it is not an envelope.
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Garbage)]),
    );
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
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![
            None,
            Some(Fault::Truncate),
            Some(Fault::Truncate),
            None,
        ]),
    );
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
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![
            None,
            Some(Fault::Truncate),
            Some(Fault::Truncate),
            Some(Fault::Truncate),
        ]),
    );
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
        .thaw(|thaw| {
            calls.push(format!("thaw {}", thaw.cause));
            Ok::<(), std::io::Error>(())
        })
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
        .thaw(|thaw| {
            calls.push(format!("thaw {}", thaw.cause));
            Ok::<(), std::io::Error>(())
        })
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

#[test]
fn a_run_cancelled_from_another_thread_thaws_once_and_leaves_the_job() {
    let agent = agent_with_jobs_of(FOREVER);
    let client = client(&agent);
    let calls = Calls::default();
    let token = CancelToken::new();
    let (started_tx, started_rx) = mpsc::channel();
    let canceller = {
        let token = token.clone();
        thread::spawn(move || {
            // Bounded: the run below sends as soon as its job starts.
            if started_rx.recv_timeout(Duration::from_secs(30)).is_ok() {
                token.cancel();
            }
        })
    };
    let err = recorded(&client, &calls)
        .poll_every(Duration::from_secs(30))
        .give_up_after(Duration::from_secs(120))
        .cancel_token(token)
        .on_progress(move |p| {
            if let ProgressEvent::Started = p.event {
                let _ = started_tx.send(());
            }
        })
        .run()
        .unwrap_err();
    canceller.join().unwrap();
    assert!(
        matches!(err.failure(), BackupRunFailure::Cancelled),
        "{err:?}"
    );
    assert_eq!(err.report().stopped, Stopped::Cancelled);
    assert_eq!(err.job_id(), Some("job-1"));
    assert_eq!(calls.entries(), ["quiesce", "thaw cancelled job-1"]);
    assert!(err.to_string().contains("goes on at the agent"), "{err}");
    assert_eq!(
        client.backup_status().unwrap().phase,
        BackupPhase::Running,
        "cancelling the wait does not cancel the job"
    );
}

#[test]
fn a_run_cancelled_before_it_starts_quiesces_nothing() {
    let agent = DevAgent::start().unwrap();
    let client = client(&agent);
    let calls = Calls::default();
    let token = CancelToken::new();
    token.cancel();
    let err = recorded(&client, &calls)
        .cancel_token(token)
        .run()
        .unwrap_err();
    assert!(matches!(err.failure(), BackupRunFailure::Cancelled));
    assert_eq!(calls.entries(), Vec::<String>::new());
    assert!(paths(&agent).iter().all(|p| p != "POST /backup"));
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
    let agent = DevAgent::builder()
        .backup_duration(Duration::ZERO)
        .backup_outcome(BackupOutcome::Failed("disk full".into()))
        .start()
        .unwrap();
    let client = client(&agent);
    client.start_backup().unwrap();
    let err = client
        .wait_backup(POLL, Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(err, Error::BackupFailed { .. }), "{err:?}");
}
