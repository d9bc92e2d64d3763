//! `check`: the monitoring-plugin output, each state, each measure, each reason for UNKNOWN.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use felhom_agentapi::backup_record;

use felhom_agentapi::health::{Measure, Thresholds};
use felhom_devagent::{DevAgent, Fault, MetricsProfile};
use serde_json::{Value, json};

use crate::common::failing_agent;
use crate::harness::{Invocation, Outcome, TempDir, agent_with as agent, dead_endpoint};
use crate::plugin_output::{Plugin, plugin};

fn run<I, S>(agent: &DevAgent, args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Invocation::to(agent).args(args).run()
}

/// The tool with `token` in its environment, pointed at `endpoint` with `pin` if given.
fn tool(token: &str, endpoint: Option<(&str, &str)>) -> Invocation {
    let tool = Invocation::bare()
        .env("FELHOM_AGENT_TOKEN", token)
        .secret(token);
    match endpoint {
        Some((endpoint, pin)) => tool.args(["--endpoint", endpoint, "--fingerprint", pin]),
        None => tool,
    }
}

fn check(agent: &DevAgent, extra: &[&str]) -> Plugin {
    let outcome = run(agent, ["check"].iter().chain(extra));
    plugin(&outcome)
}

/// `check`, without arguments, of a host that reports `profile`.
fn check_profile(profile: MetricsProfile) -> Plugin {
    check(&agent(profile), &[])
}

// ---- one test per metric profile ------------------------------------------------------------

#[test]
fn healthy_host_is_ok_with_perfdata_for_what_was_measured() {
    let p = check_profile(MetricsProfile::Healthy);
    p.assert_says(
        0,
        "host pve-dev-1: 3 storage targets, every measure within its thresholds",
    );
    assert!(
        p.long
            .contains(&"[OK] storage local-lvm: thin pool data 61%".to_string())
    );
    let thin = p.perf("local-lvm:thin-pool-data").unwrap();
    assert_eq!(
        (
            thin.value,
            thin.uom.as_str(),
            thin.warn,
            thin.crit,
            thin.min,
            thin.max
        ),
        (61.0, "%", Some(80.0), Some(90.0), Some(0.0), Some(100.0))
    );
    let temp = p.perf("local-lvm:disk-temperature").unwrap();
    assert_eq!((temp.value, temp.uom.as_str()), (41.0, ""));
    let wear = p.perf("local-lvm:nvme-wear").unwrap();
    assert_eq!(
        (wear.value, wear.warn, wear.crit, wear.max),
        (3.0, Some(80.0), Some(100.0), None)
    );
    let used = p.perf("local-lvm:storage-used-bytes").unwrap();
    assert_eq!(
        (used.value, used.uom.as_str(), used.max),
        ((244u64 << 30) as f64, "B", Some((400u64 << 30) as f64))
    );
    assert_eq!(p.perf("memory").unwrap().value, 37.5);
    assert_eq!(p.perf("root-disk").unwrap().value, 30.0);
    // null in this profile: no finding, no performance data.
    for absent in [
        "cpu-temperature",
        "local-lvm:thin-pool-metadata",
        "usb-archive:disk-temperature",
    ] {
        assert!(p.perf(absent).is_none(), "{absent}: {:?}", p.labels());
    }
    assert!(!p.long.iter().any(|l| l.contains("CPU temperature")));
}

#[test]
fn a_filling_thin_pool_warns() {
    let p = check_profile(MetricsProfile::ThinPoolWarning);
    assert_eq!((p.code, p.state.as_str()), (1, "WARNING"));
    assert_eq!(
        p.summary,
        "storage local-lvm: thin pool data 84% (warning at 80%), storage local-lvm: used 84% \
         (warning at 80%)"
    );
    assert_eq!(
        p.long[0],
        "[WARNING] storage local-lvm: thin pool data 84% (warning at 80%)"
    );
    assert_eq!(p.perf("local-lvm:thin-pool-metadata").unwrap().value, 46.0);
    let cpu = p.perf("cpu-temperature").unwrap();
    assert_eq!(
        (cpu.value, cpu.warn, cpu.crit),
        (52.0, Some(80.0), Some(90.0))
    );
}

#[test]
fn a_nearly_full_thin_pool_is_critical_worst_first() {
    let p = check_profile(MetricsProfile::ThinPoolCritical);
    assert_eq!((p.code, p.state.as_str()), (2, "CRITICAL"));
    assert!(
        p.summary
            .starts_with("storage local-lvm: thin pool data 95% (critical at 90%), "),
        "{}",
        p.summary
    );
    // The third problem does not fit the short status line: counted there, listed below.
    assert!(p.summary.ends_with(", and 1 more"), "{}", p.summary);
    assert!(
        p.long.contains(
            &"[WARNING] storage local-lvm: thin pool metadata 83% (warning at 80%)".into()
        ),
        "{p:#?}"
    );
    let states: Vec<&str> = p
        .long
        .iter()
        .map(|l| l.split(']').next().unwrap())
        .collect();
    assert_eq!(states[..3], ["[CRITICAL", "[CRITICAL", "[WARNING"]);
    assert!(states[3..].iter().all(|s| *s == "[OK"), "{states:?}");
}

#[test]
fn a_failing_disk_is_critical() {
    let p = check_profile(MetricsProfile::FailingDisk);
    p.assert_says(2, "storage usb-archive: SMART health FAILING");
    // UNKNOWN (the NFS share) is no failure by itself.
    assert!(
        p.long
            .contains(&"[OK] storage nfs-backup: SMART health UNKNOWN".to_string())
    );
    assert_eq!(p.perf("usb-archive:disk-temperature").unwrap().value, 47.0);
}

#[test]
fn an_unreachable_storage_is_critical_and_its_capacity_is_left_out() {
    let p = check_profile(MetricsProfile::UnreachableStorage);
    p.assert_says(2, "storage nfs-backup: not reachable (state unavailable)");
    assert!(
        p.perf("nfs-backup:storage-used").is_none(),
        "{:?}",
        p.labels()
    );
    assert!(p.perf("nfs-backup:storage-used-bytes").is_none());
    assert!(p.perf("usb-archive:storage-used").is_some());
}

#[test]
fn every_optional_measure_null_gives_no_finding_and_no_perfdata() {
    let agent = agent(MetricsProfile::AllOptionalNull);
    let p = check(&agent, &[]);
    // WARNING: the thin pool is not measured (backup_freshness has that test).
    assert_eq!(p.code, 1);
    let labels = p.labels();
    for measure in [
        Measure::ThinPoolData,
        Measure::ThinPoolMetadata,
        Measure::NvmeWear,
        Measure::DiskTemperature,
        Measure::CpuTemperature,
    ] {
        assert!(
            !labels.iter().any(|l| l.ends_with(measure.name())),
            "{measure} is null but has perfdata: {labels:?}"
        );
        assert!(
            !p.long.iter().any(|l| l.contains(measure.describe())),
            "{measure}"
        );
    }
    // What is not optional is still there.
    for present in ["memory", "root-disk", "local-lvm:storage-used"] {
        assert!(p.perf(present).is_some(), "{present}: {labels:?}");
    }
}

// ---- each measure, each state, thresholds from the command line -----------------------------

/// A host where every measure is there, each with its own value, all within the defaults.
fn every_measure() -> Value {
    json!({"ok": true, "data": {
        "vmid": 101,
        "host": {"node": "pve-9", "memory_total_bytes": 1000, "memory_used_bytes": 410,
                 "memory_percent": 41.0, "disk_total_bytes": 1000, "disk_used_bytes": 320,
                 "disk_percent": 32.0, "cpu_temp_c": 53},
        "storage_targets": [{
            "name": "local-lvm", "type": "lvmthin", "state": "active", "reachable": true,
            "total_bytes": 1000, "used_bytes": 440, "avail_bytes": 560, "used_fraction": 0.44,
            "thin_pool": {"data_used_fraction": 0.51, "metadata_used_fraction": 0.22},
            "smart": {"health": "PASSED", "temperature_c": 43, "percentage_used": 7}
        }]
    }})
}

/// The measure's value in [`every_measure`], and its performance-data label.
fn measured(measure: Measure) -> (f64, &'static str) {
    match measure {
        Measure::ThinPoolData => (51.0, "local-lvm:thin-pool-data"),
        Measure::ThinPoolMetadata => (22.0, "local-lvm:thin-pool-metadata"),
        Measure::StorageUsed => (44.0, "local-lvm:storage-used"),
        Measure::Memory => (41.0, "memory"),
        Measure::RootDisk => (32.0, "root-disk"),
        Measure::NvmeWear => (7.0, "local-lvm:nvme-wear"),
        Measure::DiskTemperature => (43.0, "local-lvm:disk-temperature"),
        Measure::CpuTemperature => (53.0, "cpu-temperature"),
        other => panic!("no value for {other}"),
    }
}

#[test]
fn every_measure_is_ok_warning_and_critical_at_its_thresholds() {
    let agent = agent(MetricsProfile::Healthy);
    agent.set_fault(Fault::Answer {
        status: 200,
        body: every_measure().to_string(),
    });
    let baseline = check(&agent, &[]);
    assert_eq!(baseline.code, 0, "{baseline:#?}");
    let defaults = Thresholds::default();
    for measure in Measure::HOST_METRICS {
        let (value, label) = measured(measure);
        let perf = baseline.perf(label).unwrap_or_else(|| panic!("no {label}"));
        assert_eq!(perf.value, value, "{label}");
        assert_eq!(
            (perf.warn, perf.crit),
            (
                Some(defaults.get(measure).warning()),
                Some(defaults.get(measure).critical())
            ),
            "{label}"
        );
        let name = measure.name();
        let (at, above) = (format!("{name}={value}"), format!("{name}={}", value + 0.5));
        let (one, high) = (format!("{name}=1"), format!("{name}=1000"));
        // Just above the value: still OK. At the value: triggered.
        for (args, code, state) in [
            (vec!["--warn", above.as_str()], 0, "OK"),
            (
                vec!["--warn", at.as_str(), "--crit", high.as_str()],
                1,
                "WARNING",
            ),
            (
                vec!["--warn", one.as_str(), "--crit", at.as_str()],
                2,
                "CRITICAL",
            ),
        ] {
            let p = check(&agent, &args);
            assert_eq!(
                (p.code, p.state.as_str()),
                (code, state),
                "{args:?}: {p:#?}"
            );
            if code > 0 {
                assert!(
                    p.summary.contains(measure.describe()),
                    "{args:?}: the summary names the measure: {}",
                    p.summary
                );
            }
            let perf = p.perf(label).unwrap();
            assert_eq!(perf.value, value);
        }
    }
}

#[test]
fn a_warning_threshold_above_the_critical_one_is_unknown() {
    let agent = agent(MetricsProfile::Healthy);
    for args in [
        &["--warn", "memory=96"][..],
        &["--warn", "thin-pool-data=50", "--crit", "thin-pool-data=40"][..],
    ] {
        let p = check(&agent, args);
        assert_eq!(p.code, 3);
        assert!(
            p.summary.starts_with("bad arguments: --warn/--crit "),
            "{}",
            p.summary
        );
        assert!(
            p.summary.contains("is above the critical threshold"),
            "{}",
            p.summary
        );
        // The whole message, hint included, is in the long output.
        assert!(
            std::iter::once(&p.summary)
                .chain(&p.long)
                .any(|l| l.contains("give a critical threshold")),
            "{p:#?}"
        );
    }
    // A warning raised above the default critical threshold names that default.
    let p = check(&agent, &["--warn", "thin-pool-data=95"]);
    assert_eq!(p.code, 3);
    assert!(
        p.long
            .iter()
            .any(|l| l.contains("(90 is the default critical threshold: --crit thin-pool-data=N)")),
        "{p:#?}"
    );
    // Nothing was asked: the arguments are checked first.
    assert!(agent.requests().is_empty());
}

#[test]
fn bad_arguments_are_unknown_with_a_status_line_on_stdout() {
    let agent = agent(MetricsProfile::Healthy);
    for (args, says) in [
        (&["--warn", "memory=abc"][..], "is not a number"),
        (&["--warn", "memory"][..], "expected MEASURE=N"),
        (&["--crit", "cpu=90"][..], "unknown measure \"cpu\""),
        (&["--no-such-flag"][..], "unexpected argument"),
        (&["--warn"][..], "a value is required"),
        (&["extra"][..], "unexpected argument"),
    ] {
        let outcome = run(&agent, ["check"].iter().chain(args));
        let p = plugin(&outcome);
        assert_eq!(p.code, 3, "{args:?}");
        assert!(
            p.summary.starts_with("bad arguments: "),
            "{args:?}: {}",
            p.summary
        );
        assert!(p.summary.contains(says), "{args:?}: {}", p.summary);
        assert!(p.perf.is_empty());
    }
    // A global option's bad value, before the subcommand, is a usage error of `check` too.
    let p = plugin(
        &tool(agent.token(), None)
            .args(["--timeout", "soon", "check"])
            .run(),
    );
    assert_eq!(p.code, 3);
    assert!(
        p.summary.starts_with("bad arguments: invalid value 'soon'"),
        "{}",
        p.summary
    );
    // Arguments clap cannot place at all, before the subcommand: still the plugin's UNKNOWN.
    for args in [
        &["--bogus", "check"][..],
        &["--ignore", "local-lvm", "check"],
    ] {
        let p = plugin(&tool(agent.token(), None).args(args).run());
        assert_eq!(p.code, 3, "{args:?}");
        assert!(
            p.summary.starts_with("bad arguments: unexpected argument"),
            "{args:?}: {}",
            p.summary
        );
    }
}

#[test]
fn could_not_ask_is_unknown_never_critical() {
    let agent = agent(MetricsProfile::ThinPoolCritical);
    let pin = agent.fingerprint().to_string();
    let endpoint = agent.endpoint();
    let other_pin = felhom_agentapi::Fingerprint::from_bytes([7; 32]).to_string();
    let dead = dead_endpoint();

    let unknown = |tool: Invocation, says: &str| {
        let p = plugin(&tool.secret(agent.token()).args(["check"]).run());
        assert_eq!((p.code, p.state.as_str()), (3, "UNKNOWN"), "{says}: {p:#?}");
        assert!(p.summary.contains(says), "{says:?} not in {:?}", p.summary);
        assert!(p.perf.is_empty(), "{p:#?}");
    };
    unknown(
        tool(agent.token(), Some((&dead, &pin))),
        "could not connect",
    );
    unknown(
        tool(agent.token(), Some((&endpoint, &other_pin))),
        "matches no pinned",
    );
    unknown(tool("wrong-token", Some((&endpoint, &pin))), "401");
    unknown(tool(agent.token(), None), "bad arguments: no endpoint");
    let no_token = Invocation::bare().args(["--endpoint", &endpoint, "--fingerprint", &pin]);
    unknown(no_token, "bad arguments: no token");

    agent.set_fault(Fault::Garbage);
    unknown(
        tool(agent.token(), Some((&endpoint, &pin))),
        "GET /host/metrics",
    );
    agent.set_fault(Fault::WrongType);
    unknown(
        tool(agent.token(), Some((&endpoint, &pin))),
        "GET /host/metrics",
    );
    agent.set_fault(Fault::Status(500));
    unknown(tool(agent.token(), Some((&endpoint, &pin))), "500");
    agent.set_fault(Fault::Slow(Duration::from_secs(5)));
    let slow = tool(agent.token(), Some((&endpoint, &pin))).args(["--timeout", "200ms"]);
    unknown(slow, "no complete answer from the agent within");
}

#[test]
fn ignore_leaves_a_storage_target_out() {
    let agent = agent(MetricsProfile::UnreachableStorage);
    let p = check(&agent, &["--ignore", "nfs-backup", "--ignore", "nosuch"]);
    assert_eq!(p.code, 0, "{p:#?}");
    assert_eq!(
        p.summary,
        "host pve-dev-1: 2 storage targets, every measure within its thresholds"
    );
    assert!(
        !p.long
            .iter()
            .any(|l| l.starts_with('[') && l.contains("nfs-backup:"))
    );
    assert!(
        p.long.contains(&"[IGNORED] storage nfs-backup".to_string()),
        "{p:#?}"
    );
    assert!(
        p.long.contains(
            &"[NOTE] --ignore nosuch: the agent reports no storage target of that name".to_string()
        ),
        "{p:#?}"
    );
    assert!(!p.labels().iter().any(|l| l.starts_with("nfs-backup:")));
}

#[test]
fn backup_running_is_ok_with_a_note_and_failed_warns() {
    let agent = failing_agent(Duration::from_secs(600), "vzdump exited with status 2");
    // A recent success on record, so that the age of the last backup is no problem here.
    let state = TempDir::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    backup_record::record_outcome(state.path(), &agent.endpoint(), now, "done", Some("job-0"))
        .unwrap();
    let dir = state.path().to_str().unwrap();
    let backup = ["--backup", "--state-dir", dir];
    // No job yet: OK, and said in the long output.
    let p = check(&agent, &backup);
    assert_eq!(p.code, 0);
    assert!(
        p.long
            .contains(&"[OK] backup of guest 101: no backup job has run (phase idle)".to_string())
    );

    let client = felhom_agentapi::Client::new(
        &agent.endpoint(),
        agent.token(),
        agent.fingerprint().to_string(),
    )
    .unwrap();
    client.start_backup().unwrap();
    let p = check(&agent, &backup);
    assert_eq!(p.code, 0, "{p:#?}");
    assert!(
        p.summary
            .ends_with(", backup of guest 101: job job-1 is running"),
        "{}",
        p.summary
    );
    agent.finish_backup();
    let p = check(&agent, &backup);
    assert_eq!((p.code, p.state.as_str()), (1, "WARNING"));
    assert_eq!(
        p.summary,
        "backup of guest 101: job job-1 failed: vzdump exited with status 2"
    );
    // Without --backup, the backup is not asked about.
    let before = agent.requests().len();
    assert_eq!(check(&agent, &[]).code, 0);
    let paths: Vec<String> = agent.requests()[before..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/host/metrics"]);
}

#[test]
fn agent_names_are_escaped_to_ascii_everywhere() {
    let agent = agent(MetricsProfile::Healthy);
    let hostile = "evil|'x'=1;\u{1b}[2J\u{202e}ä b";
    agent.set_fault(Fault::Answer {
        status: 200,
        body: json!({"ok": true, "data": {
            "host": {"node": "node|1\n", "memory_total_bytes": 10, "memory_percent": 1.0},
            "storage_targets": [
                {"name": hostile, "type": "dir", "reachable": false, "state": "gone|\r"},
                {"name": hostile, "type": "dir", "reachable": true, "total_bytes": 10,
                 "used_bytes": 9, "used_fraction": 0.9, "smart": {"health": "WEIRD|"}}
            ]
        }})
        .to_string(),
    });
    let outcome = run(&agent, ["check"]);
    // `plugin` checks: ASCII only, no '|' but before the performance data.
    let p = plugin(&outcome);
    assert_eq!(p.code, 2);
    let escaped = "evil\\u{7c}'x'=1,\\u{1b}[2J\\u{202e}\\u{e4} b";
    assert!(
        p.summary.starts_with(&format!(
            "storage {escaped}: not reachable (state gone\\u{{7c}}\\r)"
        )),
        "{}",
        p.summary
    );
    assert!(
        p.long
            .iter()
            .any(|l| l.contains("SMART health WEIRD\\u{7c} is not a known value"))
    );
    assert!(
        p.long
            .iter()
            .any(|l| l.contains("host node\\u{7c}1\\n: memory 1%")),
        "{p:#?}"
    );
    let label = "evil\\u{7c}\\u{27}x\\u{27}\\u{3d}1\\u{3b}\\u{1b}\\u{5b}2J\\u{202e}\\u{e4}\\u{20}b:storage-used";
    assert!(p.perf(label).is_some(), "{:?}", p.labels());
}
