use serde_json::json;

use super::*;
use crate::wire::{HostMetricsResponse, StatusResponse};

/// A host where everything is measured and well within the default thresholds.
fn healthy() -> serde_json::Value {
    json!({
        "vmid": 101,
        "host": {
            "node": "pve-1",
            "memory_total_bytes": 1000, "memory_percent": 40.0,
            "disk_total_bytes": 1000, "disk_percent": 30.0,
            "cpu_temp_c": 45
        },
        "storage_targets": [{
            "name": "local-lvm", "type": "lvmthin", "state": "active", "reachable": true,
            "total_bytes": 1000, "used_bytes": 500, "used_fraction": 0.5,
            "thin_pool": {"data_used_fraction": 0.5, "metadata_used_fraction": 0.2},
            "smart": {"health": "PASSED", "temperature_c": 40, "percentage_used": 3}
        }]
    })
}

fn assess(value: serde_json::Value) -> Health {
    let metrics: HostMetricsResponse = serde_json::from_value(value).unwrap();
    metrics.assess(&Thresholds::default())
}

/// The one finding about `measure`, if any.
fn about(health: &Health, measure: Measure) -> Option<&Finding> {
    let mut found = health
        .findings()
        .iter()
        .filter(|f| f.measure() == Some(measure));
    let first = found.next();
    assert!(found.next().is_none(), "two findings about {measure}");
    first
}

/// Where each measure sits in the JSON, and how a value in the measure's unit is written
/// there (fractions for percentages).
fn set(doc: &mut serde_json::Value, measure: Measure, value: f64) {
    let target = &mut doc["storage_targets"][0];
    match measure {
        Measure::ThinPoolData => target["thin_pool"]["data_used_fraction"] = json!(value / 100.0),
        Measure::ThinPoolMetadata => {
            target["thin_pool"]["metadata_used_fraction"] = json!(value / 100.0)
        }
        Measure::StorageUsed => target["used_fraction"] = json!(value / 100.0),
        Measure::NvmeWear => target["smart"]["percentage_used"] = json!(value as i64),
        Measure::DiskTemperature => target["smart"]["temperature_c"] = json!(value as i64),
        Measure::Memory => doc["host"]["memory_percent"] = json!(value),
        Measure::RootDisk => doc["host"]["disk_percent"] = json!(value),
        Measure::CpuTemperature => doc["host"]["cpu_temp_c"] = json!(value as i64),
        other => panic!("{other} is not in GET /host/metrics"),
    }
}

#[test]
fn healthy_host_is_ok_with_a_finding_for_every_measure() {
    let health = assess(healthy());
    assert_eq!(health.state(), State::Ok);
    assert_eq!(health.problems().count(), 0);
    for measure in Measure::HOST_METRICS {
        let finding = about(&health, measure).unwrap_or_else(|| panic!("no {measure}"));
        assert_eq!(finding.state, State::Ok, "{finding}");
    }
}

#[test]
fn every_measure_warns_and_goes_critical_at_its_default_thresholds() {
    let defaults = Thresholds::default();
    for measure in Measure::HOST_METRICS {
        let limits = defaults.get(measure);
        // Temperatures and NVMe wear are whole numbers on the wire.
        let below = if matches!(measure.unit(), Unit::Celsius) || measure == Measure::NvmeWear {
            limits.warning() - 1.0
        } else {
            limits.warning() - 0.1
        };
        for (value, expected) in [
            (below, State::Ok),
            (limits.warning(), State::Warning),
            (limits.critical() - 1.0, State::Warning),
            (limits.critical(), State::Critical),
            (limits.critical() + 5.0, State::Critical),
        ] {
            let mut doc = healthy();
            set(&mut doc, measure, value);
            let health = assess(doc);
            let finding = about(&health, measure).unwrap();
            assert_eq!(finding.state, expected, "{measure} at {value}: {finding}");
            assert_eq!(health.state(), expected, "{measure} at {value}");
            assert_eq!(finding.value(), Some(value), "{measure}");
            assert_eq!(finding.limits(), Some(limits));
        }
    }
}

#[test]
fn default_thresholds_are_the_documented_ones() {
    let t = Thresholds::default();
    let got: Vec<(Measure, f64, f64)> = Measure::HOST_METRICS
        .iter()
        .map(|&m| (m, t.get(m).warning(), t.get(m).critical()))
        .collect();
    assert_eq!(
        got,
        [
            (Measure::ThinPoolData, 80.0, 90.0),
            (Measure::ThinPoolMetadata, 80.0, 90.0),
            (Measure::StorageUsed, 80.0, 90.0),
            (Measure::Memory, 90.0, 95.0),
            (Measure::RootDisk, 80.0, 90.0),
            (Measure::NvmeWear, 80.0, 100.0),
            (Measure::DiskTemperature, 60.0, 70.0),
            (Measure::CpuTemperature, 80.0, 90.0),
        ]
    );
}

#[test]
fn every_threshold_can_be_changed() {
    for measure in Measure::HOST_METRICS {
        let mut thresholds = Thresholds::default();
        thresholds.set(measure, Limits::new(1.0, 2.0).unwrap());
        let metrics: HostMetricsResponse = serde_json::from_value(healthy()).unwrap();
        let health = metrics.assess(&thresholds);
        assert_eq!(about(&health, measure).unwrap().state, State::Critical);
        // The other measures kept their defaults.
        assert_eq!(health.problems().count(), 1, "{measure}");
    }
}

#[test]
fn a_fraction_exactly_at_a_threshold_triggers_it_despite_rounding() {
    // 0.29 * 100.0 is 28.999999999999996 in floating point.
    let mut thresholds = Thresholds::default();
    thresholds.set(Measure::StorageUsed, Limits::new(29.0, 57.0).unwrap());
    let mut doc = healthy();
    doc["storage_targets"][0]["used_fraction"] = json!(0.57);
    doc["storage_targets"][0]["thin_pool"]["data_used_fraction"] = json!(0.29);
    let metrics: HostMetricsResponse = serde_json::from_value(doc).unwrap();
    let health = metrics.assess(&thresholds);
    assert_eq!(
        about(&health, Measure::StorageUsed).unwrap().state,
        State::Critical
    );
    assert_eq!(
        about(&health, Measure::ThinPoolData).unwrap().value(),
        Some(29.0)
    );
}

#[test]
fn warning_above_critical_is_an_error_and_equal_is_allowed() {
    assert_eq!(
        Limits::new(91.0, 90.0),
        Err(ThresholdError::WarningAboveCritical {
            warning: 91.0,
            critical: 90.0
        })
    );
    assert_eq!(
        Limits::new(91.0, 90.0).unwrap_err().to_string(),
        "the warning threshold 91 is above the critical threshold 90: give a critical \
         threshold at least as high with it"
    );
    assert!(matches!(
        Limits::new(f64::NAN, 90.0),
        Err(ThresholdError::NotANumber { .. })
    ));
    assert!(Limits::new(1.0, f64::INFINITY).is_err());
    let equal = Limits::new(90.0, 90.0).unwrap();
    assert_eq!(equal.state(89.9), State::Ok);
    assert_eq!(equal.state(90.0), State::Critical);
}

#[test]
fn null_measures_give_no_finding() {
    let mut doc = healthy();
    doc["host"]["cpu_temp_c"] = json!(null);
    let target = &mut doc["storage_targets"][0];
    target["thin_pool"]["metadata_used_fraction"] = json!(null);
    target["smart"]["temperature_c"] = json!(null);
    target["smart"]["percentage_used"] = json!(null);
    let health = assess(doc.clone());
    for gone in [
        Measure::CpuTemperature,
        Measure::ThinPoolMetadata,
        Measure::DiskTemperature,
        Measure::NvmeWear,
    ] {
        assert!(about(&health, gone).is_none(), "{gone} was not measured");
    }
    assert!(about(&health, Measure::ThinPoolData).is_some());

    // No thin pool at all (`null`, as for every storage that is not lvmthin): no level, and
    // for an lvmthin target the "not measured" warning (unwatched_tests).
    doc["storage_targets"][0]["thin_pool"] = json!(null);
    doc["storage_targets"][0]["type"] = json!("dir");
    let health = assess(doc);
    assert!(about(&health, Measure::ThinPoolData).is_none());
    assert_eq!(health.state(), State::Ok);
}

#[test]
fn zero_is_a_measurement_not_an_absence() {
    let mut doc = healthy();
    doc["host"]["cpu_temp_c"] = json!(0);
    doc["storage_targets"][0]["smart"]["percentage_used"] = json!(0);
    let health = assess(doc);
    assert_eq!(
        about(&health, Measure::CpuTemperature).unwrap().value(),
        Some(0.0)
    );
    assert_eq!(
        about(&health, Measure::NvmeWear).unwrap().value(),
        Some(0.0)
    );
}

#[test]
fn a_capacity_with_a_zero_total_is_not_measured() {
    let mut doc = healthy();
    doc["host"]["memory_total_bytes"] = json!(0);
    doc["host"]["disk_total_bytes"] = json!(0);
    doc["storage_targets"][0]["total_bytes"] = json!(0);
    let health = assess(doc);
    for gone in [Measure::Memory, Measure::RootDisk, Measure::StorageUsed] {
        assert!(about(&health, gone).is_none(), "{gone}");
    }
}

#[test]
fn an_unreachable_storage_is_critical_and_its_capacity_is_not_judged() {
    let mut doc = healthy();
    let target = &mut doc["storage_targets"][0];
    target["reachable"] = json!(false);
    target["state"] = json!("unavailable");
    // Go's zero values, or stale numbers: neither is a measurement.
    target["used_fraction"] = json!(0.99);
    target["thin_pool"]["data_used_fraction"] = json!(0.99);
    let health = assess(doc);
    assert_eq!(health.state(), State::Critical);
    let worst = &health.findings()[0];
    assert_eq!(worst.state, State::Critical);
    assert_eq!(
        worst.observation,
        Observation::Reachability {
            reachable: false,
            state: "unavailable".into()
        }
    );
    assert_eq!(
        worst.to_string(),
        "storage local-lvm: not reachable (state unavailable)"
    );
    for gone in [
        Measure::StorageUsed,
        Measure::ThinPoolData,
        Measure::ThinPoolMetadata,
    ] {
        assert!(about(&health, gone).is_none(), "{gone}");
    }
    // The drive's own sensors still count.
    assert!(about(&health, Measure::DiskTemperature).is_some());
}

#[test]
fn smart_health_failing_is_critical_unknown_is_no_failure_and_others_are_unknown() {
    for (health_value, expected) in [
        ("PASSED", Some(State::Ok)),
        ("FAILING", Some(State::Critical)),
        ("UNKNOWN", Some(State::Ok)),
        ("", None),
        ("DEGRADED", Some(State::Unknown)),
    ] {
        let mut doc = healthy();
        doc["storage_targets"][0]["smart"]["health"] = json!(health_value);
        let health = assess(doc);
        let smart: Vec<&Finding> = health
            .findings()
            .iter()
            .filter(|f| matches!(f.observation, Observation::Smart { .. }))
            .collect();
        assert_eq!(smart.first().map(|f| f.state), expected, "{health_value:?}");
        assert_eq!(
            health.state(),
            expected.unwrap_or(State::Ok),
            "{health_value:?}"
        );
    }
}

#[test]
fn findings_are_worst_first_and_unknown_never_hides_a_warning() {
    let mut doc = healthy();
    doc["host"]["memory_percent"] = json!(92.0);
    doc["storage_targets"][0]["smart"]["health"] = json!("DEGRADED");
    let health = assess(doc.clone());
    assert_eq!(health.state(), State::Warning);
    let states: Vec<State> = health.findings().iter().map(|f| f.state).collect();
    let mut sorted = states.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(states, sorted);
    assert_eq!(states[..2], [State::Warning, State::Unknown]);

    doc["storage_targets"][0]["thin_pool"]["data_used_fraction"] = json!(0.95);
    let health = assess(doc);
    assert_eq!(health.state(), State::Critical);
    assert_eq!(health.findings()[0].measure(), Some(Measure::ThinPoolData));
}

#[test]
fn states_order_by_severity_and_map_to_plugin_exit_codes() {
    let mut all = [State::Critical, State::Ok, State::Warning, State::Unknown];
    all.sort();
    assert_eq!(
        all,
        [State::Ok, State::Unknown, State::Warning, State::Critical]
    );
    let codes: Vec<u8> = [State::Ok, State::Warning, State::Critical, State::Unknown]
        .iter()
        .map(|s| s.exit_code())
        .collect();
    assert_eq!(codes, [0, 1, 2, 3]);
    assert_eq!(Health::default().state(), State::Ok);
}

#[test]
fn backup_failed_warns_running_and_done_are_ok_and_unknown_phases_are_unknown() {
    for (phase, job_id, error, state, text) in [
        (
            "failed",
            "job-3",
            "vzdump exited with status 2",
            State::Warning,
            "backup of guest 101: job job-3 failed: vzdump exited with status 2",
        ),
        (
            "running",
            "job-4",
            "",
            State::Ok,
            "backup of guest 101: job job-4 is running",
        ),
        (
            "done",
            "job-5",
            "",
            State::Ok,
            "backup of guest 101: job job-5 done",
        ),
        (
            "idle",
            "",
            "",
            State::Ok,
            "backup of guest 101: no backup job has run (phase idle)",
        ),
        (
            "paused",
            "job-6",
            "",
            State::Unknown,
            "backup of guest 101: job job-6 is in phase paused",
        ),
    ] {
        let status: StatusResponse = serde_json::from_value(
            json!({"vmid": 101, "phase": phase, "job_id": job_id, "error": error}),
        )
        .unwrap();
        let finding = status.assess();
        assert_eq!(finding.state, state, "{phase}");
        assert_eq!(finding.to_string(), text);
    }
}

#[test]
fn push_keeps_the_worst_first() {
    let mut health = assess(healthy());
    let status = StatusResponse {
        job_id: "job-1".into(),
        phase: crate::wire::BackupPhase::Failed,
        ..Default::default()
    };
    health.push(status.assess());
    assert_eq!(health.state(), State::Warning);
    assert!(matches!(health.findings()[0].target, Target::Backup { .. }));
}

#[test]
fn messages_escape_the_agents_control_characters() {
    let mut doc = healthy();
    doc["storage_targets"][0]["name"] = json!("evil\u{1b}[2J");
    doc["storage_targets"][0]["reachable"] = json!(false);
    let health = assess(doc);
    let text = health.findings()[0].to_string();
    assert_eq!(text, "storage evil\\u{1b}[2J: not reachable (state active)");
}

#[test]
fn measures_parse_by_name_and_unknown_names_list_the_known_ones() {
    for m in Measure::ALL {
        assert_eq!(m.name().parse::<Measure>(), Ok(m));
    }
    let err = "Memory".parse::<Measure>().unwrap_err().to_string();
    assert!(
        err.starts_with("unknown measure \"Memory\": expected one of thin-pool-data,"),
        "{err}"
    );
    assert!(err.ends_with("cpu-temperature, backup-age"), "{err}");
}

#[test]
fn numbers_print_without_needless_decimals() {
    for (value, printed) in [
        (93.0, "93"),
        (61.000000000000014, "61"),
        (61.5, "61.5"),
        (0.004, "0"),
        (-0.001, "0"),
        (100.0, "100"),
        (12.345, "12.35"),
    ] {
        assert_eq!(number(value), printed, "{value}");
    }
}
