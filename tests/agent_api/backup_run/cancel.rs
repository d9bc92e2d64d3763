//! Cancelling a run: it thaws once and leaves the job to the agent.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_agentapi::{BackupRunFailure, CancelToken, ProgressEvent, Stopped};
use felhom_devagent::DevAgent;

use super::{Calls, FOREVER, agent_with_jobs_of, paths, recorded};
use crate::client;

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
