//! `backup due`, `backup start`, `backup status` and `backup run`, including a failed job (exit
//! status 6).

use felhom_agentapi::devagent::{BackupOutcome, DevAgent};
use serde_json::json;

use crate::common::agent;
use crate::harness::{Invocation, calls};

#[test]
fn backup_due_start_and_status() {
    let agent = agent();
    let due = Invocation::to(&agent).args(["backup", "due"]).ok_json();
    assert_eq!(
        due,
        json!({"vmid": 101, "due": true, "reason": "policy daily-0200: last backup 26h ago"})
    );

    let started = Invocation::to(&agent).args(["backup", "start"]).ok_json();
    assert_eq!(
        started,
        json!({"vmid": 101, "job_id": "job-1", "phase": "running"})
    );

    let status = Invocation::to(&agent).args(["backup", "status"]).ok_json();
    assert_eq!(
        status,
        json!({"vmid": 101, "phase": "running", "job_id": "job-1", "error": ""})
    );

    assert_eq!(
        calls(&agent),
        ["GET /backup/due", "POST /backup", "GET /backup/status"]
    );
}

#[test]
fn backup_run_waits_for_the_job() {
    let agent = DevAgent::builder()
        .backup_duration(std::time::Duration::from_millis(200))
        .start()
        .unwrap();
    let v = Invocation::to(&agent)
        .args(["backup", "run", "--poll", "10ms"])
        .ok_json();
    assert_eq!(
        v,
        json!({"vmid": 101, "phase": "done", "job_id": "job-1", "error": ""})
    );
    let calls = calls(&agent);
    assert_eq!(calls[0], "POST /backup", "{calls:?}");
    assert!(
        calls.len() > 1 && calls[1..].iter().all(|c| c == "GET /backup/status"),
        "{calls:?}"
    );
}

#[test]
fn a_failed_backup_exits_6_with_its_last_status() {
    let agent = DevAgent::builder()
        .backup_duration(std::time::Duration::from_millis(200))
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
    let out = Invocation::to(&agent)
        .args(["backup", "run", "--poll", "10ms"])
        .run()
        .failure(6);
    assert_eq!(
        out.json(),
        json!({
            "vmid": 101, "phase": "failed", "job_id": "job-1",
            "error": "vzdump exited with status 2",
        })
    );
    out.stderr_has("vzdump exited with status 2");
}
