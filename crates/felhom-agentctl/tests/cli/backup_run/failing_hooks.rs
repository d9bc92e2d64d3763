//! Hooks that fail, overrun, ignore SIGTERM or are suspended: thawed once, exit 10.

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{BackupTest, CHILD_LIMIT, ENDLESS_JOB, SHORT_JOB};

#[test]
fn a_failed_pre_hook_starts_no_backup_and_the_post_hook_still_runs() {
    let t = BackupTest::new(SHORT_JOB);
    let log = t.log();
    let failing = format!("echo pre >> '{log}'; exit 3");
    let logs_phase_and_job =
        format!(r#"echo "post $FELHOM_BACKUP_PHASE ${{FELHOM_BACKUP_JOB_ID:-none}}" >> '{log}'"#);
    let ran = t
        .backup_run()
        .pre(&failing)
        .post(&logs_phase_and_job)
        .exits(10);
    assert_eq!(t.logged(), ["pre", "post error none"]);
    assert_eq!(t.posts(), 0, "no POST /backup reached the agent");
    assert_eq!(ran.stdout, "", "no job, no status");
    ran.stderr_has("exited with status 3");
    ran.stderr_has("no backup was started");
}

#[test]
fn a_failed_post_hook_after_a_good_backup_exits_10_and_says_so() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t.backup_run().post("exit 4").exits(10);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("done"), &json!("done"))
    );
    assert_eq!(v["thaw"]["ok"], false);
    ran.stderr_has("the backup itself succeeded");
}

#[test]
fn a_freeze_that_outlasts_the_thaw_after_window_starts_no_backup_and_exits_10() {
    let t = BackupTest::new(SHORT_JOB);
    let log = t.log();
    let ran = t
        .backup_run()
        .thaw_after("100ms")
        .pre(&format!("sleep 0.3; echo pre >> '{log}'"))
        .post_logs_phase()
        .exits(10);
    assert_eq!(t.logged(), ["pre", "post error"]);
    assert_eq!(t.posts(), 0, "no backup was started");
    ran.stderr_has("the whole quiesce window");
}

/// Whether process `pid` is gone (a zombie waiting for init to reap it counts as gone).
fn is_gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_freeze_hook_that_overruns_is_stopped_with_what_it_started_and_thawed() {
    let t = BackupTest::new(SHORT_JOB);
    let pid_file = t.sandbox.path("sleeper.pid");
    let ran = t
        .backup_run()
        .hook_timeout("300ms")
        .pre(&format!(
            "sleep 60 & echo $! > '{}'; wait",
            pid_file.display()
        ))
        .post_logs_phase()
        .exits(10);
    assert_eq!(
        t.logged(),
        ["post error"],
        "thawed once, as after a failure"
    );
    assert_eq!(t.posts(), 0, "no backup was started");
    ran.stderr_has("did not finish within --hook-timeout 0.3s: its process group was sent SIGTERM");
    let sleeper = fs::read_to_string(&pid_file).unwrap();
    assert!(
        is_gone(sleeper.trim()),
        "the hook's own child {sleeper} still runs"
    );
}

#[test]
fn a_hook_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t
        .backup_run()
        .hook_timeout("200ms")
        .post("trap '' TERM; sleep 60")
        .exits(10);
    assert_eq!(ran.json()["phase"], "done", "the backup itself succeeded");
    assert_eq!(ran.json()["thaw"]["ok"], false);
    ran.stderr_has("was sent SIGTERM, then SIGKILL 5 s later");
    ran.stderr_has("may still be quiesced");
}

/// A limit too large for the clock is no limit, not a panic that thaws while the freeze runs.
#[test]
fn a_huge_hook_timeout_waits_for_the_hook() {
    let t = BackupTest::new(SHORT_JOB);
    let log = t.log();
    t.backup_run()
        .hook_timeout("10000000000000000000")
        .pre(&format!(
            "echo pre-start >> '{log}'; sleep 0.2; echo pre-end >> '{log}'"
        ))
        .post_logs_phase()
        .exits(0);
    assert_eq!(t.logged(), ["pre-start", "pre-end", "post done"]);
}

/// A member of the hook's group that ignores SIGTERM outlives its leader: it is killed too, so
/// it cannot go on freezing after the thaw.
#[test]
fn what_a_stopped_hook_started_cannot_outlive_the_thaw() {
    let t = BackupTest::new(SHORT_JOB);
    let pid_file = t.sandbox.path("straggler.pid");
    let straggler = format!(
        "(trap '' TERM; sleep 1; echo froze-late >> '{}') & echo $! > '{}'; wait",
        t.log(),
        pid_file.display()
    );
    t.backup_run()
        .hook_timeout("200ms")
        .pre(&straggler)
        .post_logs_phase()
        .exits(10);
    // Once the straggler has ended, killed or not, the log says whether it froze late.
    let straggler = fs::read_to_string(&pid_file).expect("the hook wrote its straggler's pid");
    wait_until_gone(straggler.trim());
    assert_eq!(t.logged(), ["post error"]);
}

/// Waits until process `pid` is gone ([`is_gone`]), at most [`CHILD_LIMIT`].
fn wait_until_gone(pid: &str) {
    let deadline = Instant::now() + CHILD_LIMIT;
    while !is_gone(pid) {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A hook that is suspended (SIGTSTP here; SIGTTOU or SIGTTIN when it touches a terminal) can
/// never finish: it fails at once, and is woken so that it sees its SIGTERM.
#[test]
fn a_suspended_hook_fails_at_once_and_sees_its_sigterm() {
    let t = BackupTest::new(SHORT_JOB);
    let log = t.log();
    let suspends_itself =
        format!("trap 'echo got-term >> {log}; exit 1' TERM; kill -TSTP $$; sleep 30");
    let ran = t
        .backup_run()
        .pre(&suspends_itself)
        .post_logs_phase()
        .exits(10);
    ran.stderr_has("was suspended by SIGTSTP");
    assert_eq!(t.logged(), ["got-term", "post error"]);
    assert_eq!(t.posts(), 0);
}

/// A thaw hook that fails leaves the application possibly quiesced: that needs a person before
/// anything else, so 10 wins over the status the run would otherwise end with.
#[test]
fn a_failed_thaw_after_a_failed_backup_exits_10_not_6() {
    let t = BackupTest::failing("vzdump exited with status 2");
    let ran = t.backup_run().post("exit 4").exits(10);
    assert_eq!(ran.json()["phase"], "failed");
    assert_eq!(ran.json()["thaw"]["ok"], false);
    ran.stderr_has("may still be quiesced");
}

#[test]
fn a_failed_thaw_after_a_signal_exits_10_not_143() {
    let t = BackupTest::new(ENDLESS_JOB);
    let log = t.log();
    let mut running = t
        .backup_run()
        .post(&format!("echo post >> '{log}'; exit 4"))
        .spawn();
    running.wait_for_stderr("backup job job-1 started");
    running.signal("TERM");
    let ran = running.finish().status(10);
    assert_eq!(t.logged(), ["post"], "the thaw hook ran once");
    assert_eq!(ran.json()["stopped"], "interrupted");
    assert_eq!(ran.json()["thaw"]["ok"], false);
    ran.stderr_has("may still be quiesced");
    ran.stderr_has("goes on at the agent");
}
