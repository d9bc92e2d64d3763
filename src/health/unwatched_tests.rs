//! What was unwatched before: an unmeasured thin pool, and the age of the last backup.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use crate::backup_record::BackupRecord;
use crate::health::{Limits, Measure, Observation, State, Thresholds, backup_age, duration};
use crate::wire::HostMetricsResponse;

fn lvmthin(thin_pool: serde_json::Value, reachable: bool) -> HostMetricsResponse {
    serde_json::from_value(json!({"storage_targets": [{
        "name": "local-lvm", "type": "lvmthin", "reachable": reachable,
        "total_bytes": 100, "used_fraction": 0.5, "thin_pool": thin_pool
    }]}))
    .unwrap()
}

#[test]
fn an_lvmthin_target_without_thin_pool_figures_warns_by_default_and_is_settable() {
    let m = lvmthin(json!(null), true);
    let health = m.assess(&Thresholds::default());
    assert_eq!(health.state(), State::Warning);
    let finding = &health.findings()[0];
    assert_eq!(
        finding.observation,
        Observation::NotMeasured { what: "thin pool" }
    );
    assert_eq!(
        finding.to_string(),
        "storage local-lvm: thin pool not measured"
    );
    for state in [State::Ok, State::Critical] {
        let mut t = Thresholds::default();
        t.set_unmeasured(state);
        assert_eq!(m.assess(&t).state(), state);
    }
    // Measured, or unreachable (critical for that already), or not lvmthin: no such finding.
    let measured = lvmthin(json!({"data_used_fraction": 0.1}), true);
    let unreachable = lvmthin(json!(null), false);
    for m in [measured, unreachable] {
        let h = m.assess(&Thresholds::default());
        assert!(
            !h.findings()
                .iter()
                .any(|f| matches!(f.observation, Observation::NotMeasured { .. }))
        );
    }
}

fn record(success: Option<u64>, outcome: &str) -> BackupRecord {
    serde_json::from_value(json!({
        "endpoint": "e", "last_attempt_at": 1000, "last_outcome": outcome,
        "last_job_id": "job-2", "last_success_at": success, "last_success_job_id": "job-1"
    }))
    .unwrap()
}

#[test]
fn backup_age_is_judged_against_its_thresholds_and_no_success_warns() {
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    let mut t = Thresholds::default();
    t.set(Measure::BackupAge, Limits::new(100.0, 200.0).unwrap());
    let ok = record(Some(1000), "done");
    for (now, state) in [
        (1099, State::Ok),
        (1100, State::Warning),
        (1200, State::Critical),
        // A success from the future (the clock went back) is fresh, not negative.
        (10, State::Ok),
    ] {
        let finding = backup_age(Some(&ok), 101, at(now), &t);
        assert_eq!(finding.state, state, "{now}: {finding}");
    }
    assert_eq!(
        backup_age(Some(&ok), 101, at(1150), &t).to_string(),
        "backup of guest 101: last successful backup 2m 30s ago (warning at 1m 40s)"
    );
    let never = backup_age(Some(&record(None, "failed")), 101, at(1000), &t);
    assert_eq!(never.state, State::Warning);
    assert_eq!(
        never.to_string(),
        "backup of guest 101: no successful backup recorded on this guest (last attempt: failed)"
    );
    let defaults = Thresholds::default().get(Measure::BackupAge);
    assert_eq!(
        (defaults.warning(), defaults.critical()),
        (26.0 * 3600.0, 50.0 * 3600.0)
    );
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(duration(0.0), "0s");
    assert_eq!(duration(45.0), "45s");
    assert_eq!(duration(3600.0), "1h");
    assert_eq!(duration(93600.0), "1d 2h");
    assert_eq!(duration(3661.0), "1h 1m");
    assert_eq!(duration(-5.0), "0s");
}
