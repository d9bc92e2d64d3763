//! Issue 18: what was unwatched (a thin pool without figures), what monitoring systems mangle
//! (`;`, long status lines, a stray newline), perfdata that says what it measures, and series
//! that keep two agents and two storage names apart. `plugin_output::plugin` checks the format
//! rules on every parse.

use felhom_devagent::{DevAgent, Fault, MetricsProfile};
use serde_json::json;

use crate::exposition::{self, Family};
use crate::harness::{Invocation, agent_with as agent, dead_endpoint};
use crate::plugin_output::{Plugin, STATUS_MAX, plugin};

fn check(agent: &DevAgent, extra: &[&str]) -> Plugin {
    plugin(&Invocation::to(agent).arg("check").args(extra).run())
}

fn prometheus(agent: &DevAgent) -> Vec<Family> {
    let out = Invocation::to(agent)
        .args(["metrics", "--format", "prometheus"])
        .run()
        .status(0);
    exposition::validate(&out.stdout)
}

#[test]
fn an_unmeasured_thin_pool_is_a_warning_by_default_and_settable() {
    let agent = agent(MetricsProfile::AllOptionalNull);
    let p = check(&agent, &[]);
    assert_eq!((p.code, p.state.as_str()), (1, "WARNING"), "{p:#?}");
    assert_eq!(p.summary, "storage local-lvm: thin pool not measured");
    assert!(
        p.long
            .contains(&"[WARNING] storage local-lvm: thin pool not measured".to_string())
    );
    // Only the lvmthin target: the others have no thin pool to measure.
    assert_eq!(
        p.long.iter().filter(|l| l.contains("not measured")).count(),
        1
    );
    let critical = check(&agent, &["--unmeasured", "critical"]);
    assert_eq!(critical.code, 2, "{critical:#?}");
    let ok = check(&agent, &["--unmeasured", "ok"]);
    assert_eq!(ok.code, 0, "{ok:#?}");
    assert!(
        ok.long
            .contains(&"[OK] storage local-lvm: thin pool not measured".to_string())
    );

    // Prometheus: the series a rule can catch, at 0, for the lvmthin target alone.
    let families = prometheus(&agent);
    let measured = families
        .iter()
        .find(|f| f.name == "felhom_storage_thin_pool_measured")
        .expect("felhom_storage_thin_pool_measured");
    let parts: Vec<(String, String, f64)> = measured
        .samples
        .iter()
        .map(|(labels, value)| {
            let get = |k: &str| labels.iter().find(|(n, _)| n == k).unwrap().1.clone();
            (get("storage"), get("part"), *value)
        })
        .collect();
    assert_eq!(
        parts,
        [
            ("local-lvm".into(), "data".into(), 0.0),
            ("local-lvm".into(), "metadata".into(), 0.0)
        ]
    );
    // Measured in the healthy profile: 1 for data (metadata is null there).
    let healthy = prometheus(&crate::harness::agent_with(MetricsProfile::Healthy));
    let measured = healthy
        .iter()
        .find(|f| f.name == "felhom_storage_thin_pool_measured")
        .unwrap();
    let values: Vec<f64> = measured.samples.iter().map(|s| s.1).collect();
    assert_eq!(values, [1.0, 0.0]);
}

#[test]
fn no_status_line_holds_a_semicolon_and_details_go_to_the_long_output() {
    let agent = agent(MetricsProfile::Healthy);
    // Could not connect: the message has "; check that the agent runs".
    let dead = Invocation::authed(&agent)
        .args(["--endpoint", &dead_endpoint()])
        .args(["--fingerprint", &agent.fingerprint().to_string()])
        .arg("check")
        .run();
    let p = plugin(&dead);
    assert_eq!(p.code, 3);
    assert!(p.summary.contains("could not connect"), "{p:#?}");
    assert!(
        p.long
            .iter()
            .any(|l| l == "check that the agent runs and that the endpoint is right"),
        "{p:#?}"
    );
    // A pin mismatch: a short status line, the fingerprints below it.
    let other = felhom_agentapi::Fingerprint::from_bytes([7; 32]).to_string();
    let mismatch = Invocation::authed(&agent)
        .args(["--endpoint", &agent.endpoint(), "--fingerprint", &other])
        .arg("check")
        .run();
    let p = plugin(&mismatch);
    assert_eq!(p.code, 3);
    assert_eq!(
        p.summary,
        "GET /host/metrics: the agent's certificate matches no pinned fingerprint"
    );
    let presented = agent.fingerprint().to_string();
    assert!(!p.summary.contains(&presented));
    assert!(
        p.long
            .iter()
            .any(|l| l.contains(&presented) && l.contains(&other)),
        "{p:#?}"
    );
    // A refusal whose fix is a command: cut before the command's lead-in, not after it.
    let dir = crate::harness::TempDir::new();
    let token = dir.file("agent.token", agent.token(), 0o644);
    let p = plugin(
        &Invocation::bare()
            .args(["--endpoint", &agent.endpoint()])
            .args(["--fingerprint", &agent.fingerprint().to_string()])
            .arg("--token-file")
            .arg_path(&token)
            .arg("check")
            .run(),
    );
    assert_eq!(p.code, 3);
    assert!(p.summary.ends_with("may read or change it"), "{p:#?}");
    assert!(p.long.iter().any(|l| l.contains("chmod 600")), "{p:#?}");
    // An agent's own text with ';' in a finding: ',' on every line.
    agent.set_fault(Fault::Answer {
        status: 200,
        body: json!({"ok": true, "data": {
            "host": {"node": "pve;1", "memory_total_bytes": 10, "memory_percent": 99.0},
            "storage_targets": []
        }})
        .to_string(),
    });
    let p = check(&agent, &[]);
    assert_eq!(p.code, 2);
    assert_eq!(p.summary, "host pve,1: memory 99% (critical at 95%)");
    // And in an OK summary, which names the host.
    agent.set_fault(Fault::Answer {
        status: 200,
        body: json!({"ok": true, "data": {"host": {"node": "pve;1"}, "storage_targets": []}})
            .to_string(),
    });
    let p = check(&agent, &[]);
    assert_eq!(p.code, 0);
    assert_eq!(
        p.summary,
        "host pve,1: 0 storage targets, every measure within its thresholds"
    );
}

#[test]
fn the_status_line_stays_short_however_many_problems() {
    let agent = agent(MetricsProfile::Healthy);
    let targets: Vec<_> = (0..12)
        .map(|i| {
            json!({"name": format!("storage-with-a-long-name-{i}"), "type": "nfs",
                        "reachable": false, "state": "unavailable"})
        })
        .collect();
    agent.set_fault(Fault::Answer {
        status: 200,
        body: json!({"ok": true, "data": {"host": {"node": "pve-1"}, "storage_targets": targets}})
            .to_string(),
    });
    let p = check(&agent, &[]);
    assert_eq!(p.code, 2);
    assert!(p.summary.len() <= STATUS_MAX, "{}", p.summary);
    assert!(p.summary.ends_with(" more"), "{}", p.summary);
    assert_eq!(
        p.long
            .iter()
            .filter(|l| l.starts_with("[CRITICAL]"))
            .count(),
        12
    );
}

#[test]
fn the_long_output_ends_with_the_last_finding_and_the_perfdata_follows_it() {
    let agent = agent(MetricsProfile::Healthy);
    let out = Invocation::to(&agent).arg("check").run();
    let last = out.stdout.trim_end_matches('\n').lines().last().unwrap();
    assert!(last.starts_with("[OK] "), "{last:?}");
    assert!(last.contains(" | 'memory'="), "{last:?}");
    assert!(!out.stdout.contains("\n|"), "{:?}", out.stdout);
    assert!(out.stdout.ends_with("\n") && !out.stdout.ends_with("\n\n"));
}

#[test]
fn perfdata_says_what_it_measures_with_cpu_and_load() {
    let agent = agent(MetricsProfile::Healthy);
    let p = check(&agent, &[]);
    let cpu = p.perf("cpu").expect("cpu");
    assert_eq!(
        (cpu.value, cpu.uom.as_str(), cpu.min, cpu.max),
        (12.5, "%", Some(0.0), Some(100.0))
    );
    for (label, value) in [("load1", 0.42), ("load5", 0.37), ("load15", 0.3)] {
        let load = p.perf(label).unwrap_or_else(|| panic!("{label}"));
        assert_eq!((load.value, load.uom.as_str()), (value, ""), "{label}");
    }
    // Bytes say so; the percentages keep their --warn names.
    let bytes = p.perf("local-lvm:storage-used-bytes").unwrap();
    assert_eq!(bytes.uom, "B");
    assert_eq!(p.perf("local-lvm:storage-used").unwrap().uom, "%");
    assert_eq!(p.perf("memory-used-bytes").unwrap().uom, "B");
    assert_eq!(p.perf("root-disk-used-bytes").unwrap().uom, "B");
    for old in ["local-lvm:used", "memory-used", "root-disk-used"] {
        assert!(p.perf(old).is_none(), "{old}: {:?}", p.labels());
    }
}

#[test]
fn two_agents_have_distinct_series() {
    let (a, b) = (
        agent(MetricsProfile::Healthy),
        agent(MetricsProfile::Healthy),
    );
    let up = |agent: &DevAgent| {
        let families = prometheus(agent);
        let up = families
            .into_iter()
            .find(|f| f.name == "felhom_agent_up")
            .unwrap();
        assert_eq!(up.samples.len(), 1);
        up.samples[0].0.clone()
    };
    let (la, lb) = (up(&a), up(&b));
    assert_eq!(la, [("agent".to_string(), a.endpoint())]);
    assert_ne!(la, lb);
    // Every sample of either file carries its agent label.
    for agent in [&a, &b] {
        for family in prometheus(agent) {
            for (labels, _) in &family.samples {
                assert_eq!(labels[0], ("agent".to_string(), agent.endpoint()));
            }
        }
    }
}

#[test]
fn an_escape_character_and_its_written_form_are_two_series() {
    let agent = agent(MetricsProfile::Healthy);
    agent.set_fault(Fault::Answer {
        status: 200,
        body: json!({"ok": true, "data": {"host": {"node": "pve-1"}, "storage_targets": [
            {"name": "a\u{1b}b", "type": "dir", "reachable": true},
            {"name": "a\\u{1b}b", "type": "dir", "reachable": true}
        ]}})
        .to_string(),
    });
    let out = Invocation::to(&agent)
        .args(["metrics", "--format", "prometheus"])
        .run()
        .status(0);
    assert!(!out.stdout.contains('\u{1b}'));
    assert!(!out.stdout.contains("left out"), "{}", out.stdout);
    let families = exposition::validate(&out.stdout);
    let reachable = families
        .iter()
        .find(|f| f.name == "felhom_storage_reachable")
        .unwrap();
    let names: Vec<&str> = reachable
        .samples
        .iter()
        .map(|(labels, _)| {
            labels
                .iter()
                .find(|(k, _)| k == "storage")
                .unwrap()
                .1
                .as_str()
        })
        .collect();
    assert_eq!(names, ["a\\u{1b}b", "a\\\\u{1b}b"]);
}
