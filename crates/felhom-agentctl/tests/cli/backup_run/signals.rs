//! A run signalled mid-job thaws once, exits 128 + the signal, and leaves the job running.

use felhom_agentapi::BackupPhase;

use super::{ENDLESS_JOB, Running, Sandbox, agent_with_jobs_of, backup_run};
use crate::common::client;

/// Sends `signal` once the job runs; the post hook must have run exactly once when it exits.
fn interrupted_by(signal: &str, code: i32) {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let mut running = Running::spawn(command);
    running.wait_for_stderr("backup job job-1 started");
    running.signal(signal);
    let ran = running.finish().status(code);
    assert_eq!(
        sandbox.logged(),
        ["pre freeze none", "post interrupted job-1"]
    );
    assert!(ran.stderr.contains("goes on at the agent"), "{ran:#?}");
    assert!(ran.stderr.contains("backup wait"), "{ran:#?}");
    assert_eq!(ran.json()["stopped"], "interrupted");
    assert_eq!(ran.json()["thaw"]["phase"], "interrupted");
    assert_eq!(
        client(&agent).backup_status().unwrap().phase,
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
