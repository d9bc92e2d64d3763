//! The outcomes of `backup run`, each thawed exactly once, and the quiesce window.

use std::time::Duration;

use felhom_agentapi::BackupPhase;
use felhom_devagent::{BackupOutcome, DevAgent, Fault};
use serde_json::json;

use super::{ENDLESS_JOB, Running, SHORT_JOB, Sandbox, agent_with_jobs_of, backup_run, run};
use crate::common::client;
use crate::harness::calls;

#[test]
fn done_freezes_then_thaws_once_and_prints_the_final_status() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post done job-1"]);
    let v = ran.json();
    assert_eq!(
        (
            &v["vmid"],
            &v["phase"],
            &v["job_id"],
            &v["error"],
            &v["stopped"]
        ),
        (
            &json!(101),
            &json!("done"),
            &json!("job-1"),
            &json!(""),
            &json!("done")
        )
    );
    assert_eq!(v["thaw"]["phase"], "done");
    assert_eq!(v["thaw"]["early"], false);
    assert_eq!(v["thaw"]["ok"], true);
    assert!(ran.stderr.contains("backup job job-1 started"), "{ran:#?}");
    let calls = calls(&agent);
    assert_eq!(
        calls[..2],
        ["GET /backup/status", "POST /backup"],
        "{calls:?}"
    );
}

#[test]
fn quiet_keeps_only_the_job_id_on_stderr() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.arg("-q").args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert_eq!(ran.stderr, "felhom-agentctl: backup job job-1 started");
    assert_eq!(ran.json()["phase"], "done");
}

#[test]
fn a_failed_backup_thaws_once_and_exits_6_with_its_last_status() {
    let agent = DevAgent::builder()
        .backup_duration(SHORT_JOB)
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(6);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post failed job-1"]);
    let v = ran.json();
    assert_eq!(v["phase"], "failed");
    assert_eq!(v["error"], "vzdump exited with status 2");
    assert_eq!(v["stopped"], "failed");
    assert!(
        ran.stderr.contains("vzdump exited with status 2"),
        "{ran:#?}"
    );
}

#[test]
fn giving_up_thaws_once_and_exits_9_saying_how_to_follow_the_job() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--give-up-after", "300ms"])
        .args(sandbox.pre_post());
    let ran = run(command).status(9);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post gave-up job-1"]);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("running"), &json!("gave-up"))
    );
    assert!(ran.stderr.contains("backup wait"), "{ran:#?}");
}

#[test]
fn a_poll_cut_short_is_tried_again_with_a_note() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    // The status check is answered; the first poll's answer is cut off mid-body (a connection
    // that broke), later ones are answered.
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Truncate), None, None]),
    );
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.arg("-q").args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert!(
        ran.stderr.contains("trying again at the next poll"),
        "{ran:#?}"
    );
    assert_eq!(sandbox.logged(), ["pre freeze none", "post done job-1"]);
}

#[test]
fn dropped_connections_while_polling_thaw_then_exit_5() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    // After the status check, every poll's connection is dropped. The client sends a GET that
    // met a dropped reused connection once more on a fresh one, so one failed poll may take two
    // drops: three failed polls take at most six.
    let mut cycle = vec![None];
    cycle.extend((0..7).map(|_| Some(Fault::Drop)));
    agent.set_fault_on("/backup/status", Fault::Cycle(cycle));
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(5);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post error job-1"]);
    let notes = ran.stderr.matches("trying again at the next poll").count();
    assert_eq!(notes, 2, "{ran:#?}");
    assert_eq!(ran.json()["stopped"], "error");
}

#[test]
fn a_permanent_poll_error_ends_the_wait_at_once() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Status(401))]),
    );
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    // 401: the agent rejected the token (exit status 8, issue 10).
    let ran = run(command).status(8);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post error job-1"]);
    assert!(!ran.stderr.contains("trying again"), "{ran:#?}");
    assert!(ran.stderr.contains("401"), "{ran:#?}");
}

// ---- the quiesce window -------------------------------------------------------------------------

#[test]
fn thaw_after_thaws_early_and_the_wait_goes_on_to_the_end() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--thaw-after", "100ms"])
        .args(sandbox.pre_post());
    let running = Running::spawn(command);
    sandbox.wait_for_logged("post running job-1");
    // Thawed while the job runs; now let it end: the wait must see it end.
    assert_eq!(
        client(&agent).backup_status().unwrap().phase,
        BackupPhase::Running
    );
    agent.finish_backup();
    let ran = running.finish().status(0);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("done"), &json!("done"))
    );
    assert_eq!(v["thaw"]["early"], true);
    assert_eq!(v["thaw"]["phase"], "running");
    assert_eq!(
        sandbox.logged(),
        ["pre freeze none", "post running job-1"],
        "thawed once, early"
    );
}
