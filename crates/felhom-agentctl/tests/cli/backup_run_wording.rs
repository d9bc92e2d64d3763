//! Issue 20, item 8: what `backup run` says as it goes, for a person reading a terminal or a
//! journal: it counts the hooks that freeze, says "failed" of a failed job, names its own flag
//! (`--thaw-after`) and command (`backup wait`), and a timer that finds nothing due writes one
//! line, not five.

use felhom_devagent::{BackupOutcome, DevAgent, Fault};

use crate::backup_run::{BackupTest, SHORT_JOB};

#[test]
fn a_post_hook_alone_is_not_counted_as_a_hook_that_quiesces() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t.backup_run().post("true").exits(0);
    assert!(ran.stderr.contains("no hooks to quiesce with"), "{ran:#?}");
    assert!(!ran.stderr.contains("hook(s)"), "{ran:#?}");
    let ran = t.backup_run().pre_post().exits(0);
    assert!(
        ran.stderr.contains("quiescing: 1 freeze hook(s)"),
        "{ran:#?}"
    );
}

#[test]
fn a_failed_job_reads_failed() {
    let failing = DevAgent::builder().backup_outcome(BackupOutcome::Failed("vzdump".into()));
    let t = BackupTest::of(failing.start().unwrap());
    let ran = t.backup_run().exits(6);
    assert!(ran.stderr.contains("backup job job-1 failed"), "{ran:#?}");
    assert!(!ran.stderr.contains("is failed"), "{ran:#?}");
}

#[test]
fn a_freeze_that_takes_the_whole_window_names_the_flag() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t
        .backup_run()
        .args(["--thaw-after", "100ms", "--pre", "sleep 0.3"])
        .exits(10);
    assert!(ran.stderr.contains("(--thaw-after 0.1 s)"), "{ran:#?}");
    assert!(!ran.stderr.contains("thaw_after"), "{ran:#?}");
}

#[test]
fn a_409_says_to_wait_with_backup_wait_not_with_an_http_call() {
    let t = BackupTest::of(DevAgent::start().unwrap());
    t.agent.set_fault_on("/backup", Fault::Status(409));
    let ran = t.backup_run().exits(7);
    let last = ran.stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.contains("felhom-agentctl backup wait"), "{ran:#?}");
    assert!(!last.contains("GET /backup/status"), "{ran:#?}");
}

#[test]
fn nothing_due_is_one_line_for_a_timer_and_more_with_v() {
    let t = BackupTest::of(DevAgent::builder().backup_due(false).start().unwrap());
    let ran = t.backup_run().arg("--if-due").exits(0);
    assert_eq!(ran.stderr, "", "{ran:#?}");
    assert_eq!(ran.stdout.lines().count(), 1, "{ran:#?}");
    assert_eq!(ran.json()["due"], false);
    let ran = t.backup_run().args(["--if-due", "-v"]).exits(0);
    assert!(ran.stderr.contains("no backup is due"), "{ran:#?}");
}
