//! `backup due`, `backup start` and `backup status`; `backup run` and `backup wait` are in
//! `backup_run`.

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
