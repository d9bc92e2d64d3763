//! `metrics --format prometheus [--output FILE]`, validated by a real exposition parser.

use std::fs;
use std::path::Path;
use std::process::Command;

use felhom_devagent::{Fault, MetricsProfile};
use serde_json::json;

use felhom_devagent::DevAgent;

use crate::exposition::{self, Family};
use crate::harness::{BIN, Invocation, Outcome, TempDir, agent_with as agent};

fn run<I, S>(agent: &DevAgent, args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Invocation::to(agent).args(args).run()
}

fn family<'a>(families: &'a [Family], name: &str) -> Option<&'a Family> {
    families.iter().find(|f| f.name == name)
}

#[test]
fn every_profile_is_valid_exposition_with_up_1() {
    for profile in MetricsProfile::ALL {
        let agent = agent(profile);
        let outcome = run(&agent, ["metrics", "--format", "prometheus"]);
        assert_eq!(outcome.code, Some(0), "{profile}: {outcome:#?}");
        assert_eq!(outcome.stderr, "");
        let families = exposition::validate(&outcome.stdout);
        let up = family(&families, "felhom_agent_up").unwrap();
        let agent_label = vec![("agent".to_string(), agent.endpoint())];
        assert_eq!(up.samples, [(agent_label, 1.0)], "{profile}");
        assert!(family(&families, "felhom_agent_scrape_duration_seconds").is_some());
        for f in &families {
            let unit_ok = [
                "_bytes",
                "_ratio",
                "_celsius",
                "_seconds",
                "_reachable",
                "_up",
            ]
            .iter()
            .any(|u| f.name.ends_with(u))
                || f.name.starts_with("felhom_host_load")
                || f.name == "felhom_storage_smart_health"
                // 0 or 1, and the build information.
                || ["_measured", "_running", "_due", "_success", "_build_info"]
                    .iter()
                    .any(|u| f.name.ends_with(u));
            assert!(unit_ok, "{profile}: {} has no base unit", f.name);
        }
        let reachable = family(&families, "felhom_storage_reachable").unwrap();
        let labels: Vec<&str> = reachable.samples[0]
            .0
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(labels, ["agent", "node", "storage", "type"], "{profile}");
    }
}

#[test]
fn values_are_in_base_units_and_null_measures_are_left_out() {
    let agent = agent(MetricsProfile::ThinPoolWarning);
    let out = run(&agent, ["metrics", "--format", "prometheus"]);
    let families = exposition::validate(&out.stdout);
    let value = |name: &str, storage: Option<&str>| -> Option<f64> {
        family(&families, name)?
            .samples
            .iter()
            .find(|(labels, _)| {
                storage.is_none_or(|s| labels.iter().any(|(k, v)| k == "storage" && v == s))
            })
            .map(|(_, v)| *v)
    };
    assert_eq!(
        value(
            "felhom_storage_thin_pool_data_used_ratio",
            Some("local-lvm")
        ),
        Some(0.84)
    );
    assert_eq!(
        value(
            "felhom_storage_thin_pool_metadata_used_ratio",
            Some("local-lvm")
        ),
        Some(0.46)
    );
    assert_eq!(
        value("felhom_storage_nvme_wear_ratio", Some("local-lvm")),
        Some(0.03)
    );
    assert_eq!(
        value("felhom_storage_temperature_celsius", Some("local-lvm")),
        Some(41.0)
    );
    assert_eq!(
        value("felhom_host_cpu_temperature_celsius", None),
        Some(52.0)
    );
    assert_eq!(value("felhom_host_memory_used_ratio", None), Some(0.375));
    assert_eq!(
        value("felhom_host_memory_size_bytes", None),
        Some((64u64 << 30) as f64)
    );
    assert_eq!(value("felhom_host_uptime_seconds", None), Some(864_000.0));
    // The USB and NFS targets report no temperature: they have no sample, not a 0.
    let temps = family(&families, "felhom_storage_temperature_celsius").unwrap();
    assert_eq!(temps.samples.len(), 1);

    agent.set_metrics_profile(MetricsProfile::AllOptionalNull);
    let out = run(&agent, ["metrics", "--format", "prometheus"]);
    let families = exposition::validate(&out.stdout);
    for gone in [
        "felhom_host_cpu_temperature_celsius",
        "felhom_storage_thin_pool_data_used_ratio",
        "felhom_storage_thin_pool_metadata_used_ratio",
        "felhom_storage_temperature_celsius",
        "felhom_storage_nvme_wear_ratio",
    ] {
        assert!(
            family(&families, gone).is_none(),
            "{gone} is null but present"
        );
    }

    agent.set_metrics_profile(MetricsProfile::UnreachableStorage);
    let out = run(&agent, ["metrics", "--format", "prometheus"]);
    let families = exposition::validate(&out.stdout);
    let size = family(&families, "felhom_storage_size_bytes").unwrap();
    assert!(
        !size
            .samples
            .iter()
            .any(|(l, _)| l.iter().any(|(_, v)| v == "nfs-backup")),
        "an unreachable target's zeros are no measurement"
    );
    let reachable = family(&families, "felhom_storage_reachable").unwrap();
    assert!(
        reachable
            .samples
            .iter()
            .any(|(l, v)| *v == 0.0 && l.iter().any(|(_, value)| value == "nfs-backup"))
    );
}

#[test]
fn hostile_names_stay_valid_exposition() {
    let agent = agent(MetricsProfile::Healthy);
    agent.set_fault(Fault::Answer {
        status: 200,
        body: json!({"ok": true, "data": {
            "host": {"node": "pve \"1\"\\\n\u{1b}[2J"},
            "storage_targets": [
                {"name": "a\"b\\c\nd", "type": "t}{,=", "reachable": true,
                 "smart": {"health": "NEW\"VALUE"}},
                {"name": "a\"b\\c\nd", "type": "t}{,=", "reachable": true}
            ]
        }})
        .to_string(),
    });
    let out = run(&agent, ["metrics", "--format", "prometheus"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(!out.stdout.contains('\u{1b}'));
    let families = exposition::validate(&out.stdout);
    let reachable = family(&families, "felhom_storage_reachable").unwrap();
    // The duplicate is left out; the names survive, control characters as visible text.
    assert_eq!(reachable.samples.len(), 1);
    // A backslash is doubled, so that a written-out escape stays apart from a real one.
    let labels = &reachable.samples[0].0;
    assert_eq!(
        labels[1],
        ("node".into(), "pve \"1\"\\\\\\n\\u{1b}[2J".into())
    );
    assert_eq!(labels[2], ("storage".into(), "a\"b\\\\c\\nd".into()));
    assert_eq!(labels[3], ("type".into(), "t}{,=".into()));
}

#[test]
fn output_file_is_written_atomically_mode_0644_and_a_failure_writes_up_0() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new();
    let file = dir.path().join("felhom.prom");
    let agent = agent(MetricsProfile::Healthy);
    let pin = agent.fingerprint().to_string();
    let endpoint = agent.endpoint();
    let token = agent.token().to_string();
    // Through a shell, to run under a umask that would make the file unreadable to others.
    let write = |endpoint: &str| {
        Invocation::of(sh_under_umask_077())
            .arg(BIN)
            .args(["--endpoint", endpoint, "--fingerprint", &pin])
            .args(["metrics", "--format", "prometheus", "--output"])
            .arg_path(&file)
            .env("FELHOM_AGENT_TOKEN", &token)
            .secret(&token)
            .run()
    };
    let out = write(&endpoint);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, "", "the exposition goes to the file only");
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let families = exposition::validate(&fs::read_to_string(&file).unwrap());
    assert!(family(&families, "felhom_storage_used_bytes").is_some());
    assert_eq!(only_files(dir.path()), ["felhom.prom"]);

    // The agent is gone: the file now says so, instead of keeping the last numbers.
    drop(agent);
    let out = write(&endpoint);
    assert_eq!(
        out.code,
        Some(5),
        "unreachable keeps its exit status: {out:#?}"
    );
    assert!(
        out.stderr
            .starts_with("felhom-agentctl: GET /host/metrics: could not connect")
    );
    let text = fs::read_to_string(&file).unwrap();
    let families = exposition::validate(&text);
    assert_eq!(
        family(&families, "felhom_agent_up").unwrap().samples,
        [(vec![("agent".to_string(), endpoint.clone())], 0.0)]
    );
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "felhom_agent_up",
            "felhom_agent_scrape_duration_seconds",
            "felhom_agentctl_build_info"
        ]
    );
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(
        only_files(dir.path()),
        ["felhom.prom"],
        "no temporary file is left"
    );
}

#[test]
fn a_failure_on_stdout_is_up_0_with_the_error_on_stderr() {
    let agent = agent(MetricsProfile::Healthy);
    agent.set_fault(Fault::Status(503));
    let out = run(&agent, ["metrics", "--format", "prometheus"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("503"), "{out:#?}");
    let families = exposition::validate(&out.stdout);
    assert_eq!(
        family(&families, "felhom_agent_up").unwrap().samples,
        [(vec![("agent".to_string(), agent.endpoint())], 0.0)]
    );
}

#[test]
fn an_unwritable_output_fails_and_json_stays_the_default() {
    let agent = agent(MetricsProfile::Healthy);
    let dir = TempDir::new();
    let missing = dir.path().join("no-such-dir").join("felhom.prom");
    let out = run(
        &agent,
        [
            "metrics".as_ref(),
            "--format".as_ref(),
            "prometheus".as_ref(),
            "--output".as_ref(),
            missing.as_os_str(),
        ],
    );
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(
        out.stderr.starts_with("felhom-agentctl: could not write "),
        "{out:#?}"
    );
    // It names the missing directory, not just "No such file or directory".
    let named = format!(
        "the directory {} does not exist",
        missing.parent().unwrap().display()
    );
    assert!(out.stderr.contains(&named), "{out:#?}");

    let out = run(&agent, ["metrics"]);
    assert_eq!(out.code, Some(0));
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON by default");
    assert_eq!(json["host"]["node"], "pve-dev-1");

    let out = run(&agent, ["metrics", "--output", "x.prom"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(out.stderr.contains("add --format prometheus"), "{out:#?}");
    assert!(!Path::new("x.prom").exists());
}

/// `sh` that runs its arguments under umask 077, which would make a file unreadable to others.
fn sh_under_umask_077() -> Command {
    let mut sh = Command::new("sh");
    sh.args(["-c", "umask 077; exec \"$@\"", "sh"]);
    sh
}

fn only_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
