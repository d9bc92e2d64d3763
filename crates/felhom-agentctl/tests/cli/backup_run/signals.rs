//! A run signalled mid-job thaws once, exits 128 + the signal, and leaves the job running.

use felhom_agentapi::wire::BackupPhase;

use super::{BackupTest, ENDLESS_JOB};
use crate::common::client;

/// Sends `signal` once the job runs; the post hook must have run exactly once when it exits.
fn interrupted_by(signal: &str, code: i32) {
    let t = BackupTest::new(ENDLESS_JOB);
    let mut running = t.backup_run().pre_post().spawn();
    running.wait_for_stderr("backup job job-1 started");
    running.signal(signal);
    let ran = running.finish().status(code);
    assert_eq!(t.logged(), ["pre freeze none", "post interrupted job-1"]);
    assert!(ran.stderr.contains("goes on at the agent"), "{ran:#?}");
    assert!(ran.stderr.contains("backup wait"), "{ran:#?}");
    assert_eq!(ran.json()["stopped"], "interrupted");
    assert_eq!(ran.json()["thaw"]["phase"], "interrupted");
    assert_eq!(
        client(&t.agent).backup_status().unwrap().phase,
        BackupPhase::Running,
        "the job goes on"
    );
}

#[test]
fn sigterm_mid_run_thaws_once_and_exits_143() {
    interrupted_by("TERM", 143);
}

#[test]
fn sigint_mid_run_thaws_once_and_exits_130() {
    interrupted_by("INT", 130);
}

#[test]
fn sighup_mid_run_thaws_once_and_exits_129() {
    interrupted_by("HUP", 129);
}
