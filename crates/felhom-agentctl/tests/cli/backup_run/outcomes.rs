//! The outcomes of `backup run`, each thawed exactly once, and the quiesce window.

use std::time::Duration;

use felhom_agentapi::wire::BackupPhase;
use felhom_devagent::Fault;
use serde_json::json;

use super::{BackupTest, ENDLESS_JOB, SHORT_JOB};
use crate::common::client;
use crate::harness::calls;

#[test]
fn done_freezes_then_thaws_once_and_prints_the_final_status() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t.backup_run().pre_post().exits(0);
    assert_eq!(t.logged(), ["pre freeze none", "post done job-1"]);
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
    ran.stderr_has("backup job job-1 started");
    let calls = calls(&t.agent);
    assert_eq!(
        calls[..2],
        ["GET /backup/status", "POST /backup"],
        "{calls:?}"
    );
}

#[test]
fn quiet_keeps_only_the_job_id_on_stderr() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t.backup_run().arg("-q").pre_post().exits(0);
    assert_eq!(ran.stderr, "felhom-agentctl: backup job job-1 started");
    assert_eq!(ran.json()["phase"], "done");
}

#[test]
fn a_failed_backup_thaws_once_and_exits_6_with_its_last_status() {
    let t = BackupTest::failing("vzdump exited with status 2");
    let ran = t.backup_run().pre_post().exits(6);
    assert_eq!(t.logged(), ["pre freeze none", "post failed job-1"]);
    let v = ran.json();
    assert_eq!(v["phase"], "failed");
    assert_eq!(v["error"], "vzdump exited with status 2");
    assert_eq!(v["stopped"], "failed");
    ran.stderr_has("vzdump exited with status 2");
}

#[test]
fn giving_up_thaws_once_and_exits_9_saying_how_to_follow_the_job() {
    let t = BackupTest::new(ENDLESS_JOB);
    let ran = t.backup_run().give_up_after("300ms").pre_post().exits(9);
    assert_eq!(t.logged(), ["pre freeze none", "post gave-up job-1"]);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("running"), &json!("gave-up"))
    );
    ran.stderr_has("backup wait");
}

#[test]
fn a_poll_cut_short_is_tried_again_with_a_note() {
    let t = BackupTest::new(Duration::ZERO);
    // The status check is answered; the first poll's answer is cut off mid-body (a connection
    // that broke), later ones are answered.
    t.agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Truncate), None, None]),
    );
    let ran = t.backup_run().arg("-q").pre_post().exits(0);
    ran.stderr_has("trying again at the next poll");
    assert_eq!(t.logged(), ["pre freeze none", "post done job-1"]);
}

#[test]
fn dropped_connections_while_polling_thaw_then_exit_5() {
    let t = BackupTest::new(Duration::ZERO);
    // After the status check, every poll's connection is dropped. The client sends a GET that
    // met a dropped reused connection once more on a fresh one, so one failed poll may take two
    // drops: three failed polls take at most six.
    let mut cycle = vec![None];
    cycle.extend((0..7).map(|_| Some(Fault::Drop)));
    t.agent.set_fault_on("/backup/status", Fault::Cycle(cycle));
    let ran = t.backup_run().pre_post().exits(5);
    assert_eq!(t.logged(), ["pre freeze none", "post error job-1"]);
    let notes = ran.stderr.matches("trying again at the next poll").count();
    assert_eq!(notes, 2, "{ran:#?}");
    assert_eq!(ran.json()["stopped"], "error");
}

#[test]
fn a_permanent_poll_error_ends_the_wait_at_once() {
    let t = BackupTest::new(ENDLESS_JOB);
    t.agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Status(401))]),
    );
    // 401: the agent rejected the token (exit status 8, issue 10).
    let ran = t.backup_run().pre_post().exits(8);
    assert_eq!(t.logged(), ["pre freeze none", "post error job-1"]);
    assert!(!ran.stderr.contains("trying again"), "{ran:#?}");
    ran.stderr_has("401");
}

// ---- the quiesce window -------------------------------------------------------------------------

#[test]
fn thaw_after_thaws_early_and_the_wait_goes_on_to_the_end() {
    let t = BackupTest::new(ENDLESS_JOB);
    let running = t.backup_run().thaw_after("100ms").pre_post().spawn();
    t.sandbox.wait_for_logged("post running job-1");
    // Thawed while the job runs; now let it end: the wait must see it end.
    assert_eq!(
        client(&t.agent).backup_status().unwrap().phase,
        BackupPhase::Running
    );
    t.agent.finish_backup();
    let ran = running.finish().status(0);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("done"), &json!("done"))
    );
    assert_eq!(v["thaw"]["early"], true);
    assert_eq!(v["thaw"]["phase"], "running");
    assert_eq!(
        t.logged(),
        ["pre freeze none", "post running job-1"],
        "thawed once, early"
    );
}
