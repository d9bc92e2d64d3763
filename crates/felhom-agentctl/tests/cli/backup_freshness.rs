//! Issue 18: the guest's own backup record, as `backup run` writes it and `metrics` and
//! `check --backup` read it. Every run gets a state directory of its own (`STATE_DIRECTORY`),
//! so nothing here touches /var/lib.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use felhom_agentapi::backup_record;
use felhom_devagent::{BackupOutcome, DevAgent, Fault, MetricsProfile};

use crate::backup_run::agent_with_jobs_of;
use crate::exposition::{self, Family};
use crate::harness::{Invocation, Outcome, TempDir, capable};
use crate::plugin_output::{Plugin, plugin};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn agent() -> DevAgent {
    DevAgent::builder()
        .metrics_profile(MetricsProfile::Healthy)
        .backup_duration(Duration::from_millis(50))
        .start()
        .unwrap()
}

/// The tool pointed at `agent`, keeping its backup record in `state`.
fn tool(agent: &DevAgent, state: &Path) -> Invocation {
    Invocation::to(agent).env("STATE_DIRECTORY", state)
}

fn backup_run(agent: &DevAgent, state: &Path) -> Outcome {
    // The lock in a directory of its own: the state directory may be one the test spoils.
    let locks = TempDir::new();
    tool(agent, state)
        .args(["-q", "backup", "run", "--poll", "10ms", "--lock"])
        .arg_path(&locks.path().join("run.lock"))
        .run()
}

fn check(agent: &DevAgent, state: &Path, extra: &[&str]) -> Plugin {
    plugin(
        &tool(agent, state)
            .args(["check", "--backup"])
            .args(extra)
            .run(),
    )
}

/// `check --backup` with the backup-age thresholds `warn` and `crit`.
fn check_age(agent: &DevAgent, state: &Path, warn: &str, crit: &str) -> Plugin {
    let [warn, crit] = [warn, crit].map(|limit| format!("backup-age={limit}"));
    check(agent, state, &["--warn", &warn, "--crit", &crit])
}

fn metrics(agent: &DevAgent, state: &Path) -> Vec<Family> {
    let out = tool(agent, state)
        .args(["metrics", "--format", "prometheus"])
        .run()
        .status(0);
    exposition::validate(&out.stdout)
}

/// The one value of a family that carries only the `agent` label.
fn value(families: &[Family], name: &str) -> Option<f64> {
    let family = families.iter().find(|f| f.name == name)?;
    assert_eq!(family.samples.len(), 1, "{name}");
    let (labels, value) = &family.samples[0];
    let names: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["agent"], "{name}");
    Some(*value)
}

#[test]
fn a_successful_run_shows_in_metrics_and_check_backup_is_ok() {
    let agent = agent();
    let state = TempDir::new();
    let before = now();
    backup_run(&agent, state.path()).exit_status(0);
    let after = now();

    let families = metrics(&agent, state.path());
    let success = value(&families, "felhom_backup_last_success_timestamp_seconds").unwrap();
    assert!(
        (before as f64..=after as f64).contains(&success),
        "{before} <= {success} <= {after}"
    );
    assert_eq!(
        value(&families, "felhom_backup_last_attempt_timestamp_seconds"),
        Some(success)
    );
    assert_eq!(
        value(&families, "felhom_backup_last_attempt_success"),
        Some(1.0)
    );
    assert_eq!(value(&families, "felhom_backup_running"), Some(0.0));
    // The stand-in agent's policy: a job that ended done makes the next one not due.
    assert_eq!(value(&families, "felhom_backup_due"), Some(0.0));

    let p = check(&agent, state.path(), &[]);
    assert_eq!((p.code, p.state.as_str()), (0, "OK"), "{p:#?}");
    assert!(
        p.long
            .iter()
            .any(|l| l.starts_with("[OK] backup of guest 101: last successful backup ")),
        "{p:#?}"
    );
    assert!(
        p.long
            .iter()
            .any(|l| l.starts_with("[NOTE] backup due: no (policy daily-0200")),
        "the agent's reason is in the output: {p:#?}"
    );
    let age = p.perf("backup-age").expect("backup-age perfdata");
    assert_eq!(
        (age.uom.as_str(), age.warn, age.crit),
        ("s", Some(26.0 * 3600.0), Some(50.0 * 3600.0))
    );
}

#[test]
fn backup_age_thresholds_of_a_second_warn_then_go_critical() {
    let agent = agent();
    let state = TempDir::new();
    backup_run(&agent, state.path()).exit_status(0);
    // The backup, recorded as begun 30 s ago: past 1s and past 2s, with no wait.
    let endpoint = agent.endpoint();
    let record = backup_record::read(state.path(), &endpoint)
        .unwrap()
        .expect("the backup was recorded");
    let job = record.last_success_job_id.as_deref();
    assert!(job.is_some(), "{record:?}");
    backup_record::record_outcome(
        state.path(),
        &endpoint,
        now() - 30,
        backup_record::SUCCESS,
        job,
    )
    .unwrap();
    for (warn, crit, code, shown, ends) in [
        ("1s", "1h", 1, "WARNING", " ago (warning at 1s)"),
        ("1", "2s", 2, "CRITICAL", " ago (critical at 2s)"),
    ] {
        let p = check_age(&agent, state.path(), warn, crit);
        assert_eq!((p.code, p.state.as_str()), (code, shown), "{p:#?}");
        assert!(
            p.summary
                .starts_with("backup of guest 101: last successful backup ")
                && p.summary.ends_with(ends),
            "{}",
            p.summary
        );
    }
}

#[test]
fn a_fresh_state_directory_is_warning_no_successful_backup_recorded() {
    let agent = agent();
    let state = TempDir::new();
    let p = check(&agent, state.path(), &[]);
    assert_eq!((p.code, p.state.as_str()), (1, "WARNING"), "{p:#?}");
    assert_eq!(
        p.summary,
        "backup of guest 101: no successful backup recorded on this guest (no attempt recorded \
         either)"
    );
    assert!(p.perf("backup-age").is_none(), "unknown is no number");
    // Nor any backup series but the agent's own.
    let families = metrics(&agent, state.path());
    assert!(value(&families, "felhom_backup_last_success_timestamp_seconds").is_none());
    assert!(value(&families, "felhom_backup_last_attempt_timestamp_seconds").is_none());
    assert_eq!(value(&families, "felhom_backup_due"), Some(1.0));
}

#[test]
fn a_failed_run_updates_the_attempt_but_not_the_success() {
    let agent = agent();
    let state = TempDir::new();
    backup_run(&agent, state.path()).exit_status(0);
    let first = backup_record::read(state.path(), &agent.endpoint())
        .unwrap()
        .unwrap();
    agent.set_backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()));
    agent.set_backup_due(true);
    backup_run(&agent, state.path()).exit_status(6);

    let record = backup_record::read(state.path(), &agent.endpoint())
        .unwrap()
        .unwrap();
    assert_eq!(record.last_outcome, "failed");
    assert_eq!(record.last_job_id.as_deref(), Some("job-2"));
    assert!(record.last_attempt_at >= first.last_attempt_at);
    assert_eq!(record.last_success_at, first.last_success_at);
    assert_eq!(record.last_success_job_id.as_deref(), Some("job-1"));

    let families = metrics(&agent, state.path());
    assert_eq!(
        value(&families, "felhom_backup_last_attempt_success"),
        Some(0.0)
    );
    assert_eq!(
        value(&families, "felhom_backup_last_success_timestamp_seconds"),
        first.last_success_at.map(|t| t as f64)
    );
    // The success is recent: OK on age, WARNING for the failed job.
    let p = check(&agent, state.path(), &[]);
    assert_eq!(p.code, 1, "{p:#?}");
    assert_eq!(
        p.summary,
        "backup of guest 101: job job-2 failed: vzdump exited with status 2"
    );
}

#[test]
fn a_record_that_cannot_be_written_warns_and_keeps_the_exit_status() {
    let agent = agent();
    let state = TempDir::new();
    fs::set_permissions(state.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let out = backup_run(&agent, state.path()).exit_status(0);
    assert!(
        out.stderr.contains(
            "warning: how this run ended was not recorded, so check --backup and metrics \
             cannot see it: the backup record's directory "
        ) && out.stderr.contains("mode 0777"),
        "{out:#?}"
    );
    // The backup itself is reported as usual.
    assert!(out.stdout.contains("\"stopped\":\"done\""), "{out:#?}");
}

#[test]
fn a_record_others_may_change_is_refused_not_believed() {
    let agent = agent();
    let state = TempDir::new();
    backup_run(&agent, state.path()).exit_status(0);
    let file = state
        .path()
        .join(backup_record::file_name(&agent.endpoint()));
    fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
    let p = check(&agent, state.path(), &[]);
    assert_eq!((p.code, p.state.as_str()), (3, "UNKNOWN"), "{p:#?}");
    assert!(
        p.long.iter().any(|l| l.contains("chmod go-w")),
        "the fix is named: {p:#?}"
    );
    // metrics leaves the record's series out, and says why on stderr.
    let out = tool(&agent, state.path())
        .args(["metrics", "--format", "prometheus"])
        .run()
        .exit_status(0);
    assert!(
        out.stderr.contains("felhom_backup_last_* left out"),
        "{out:#?}"
    );
    assert!(!out.stdout.contains("felhom_backup_last_"), "{out:#?}");
    assert!(out.stdout.contains("felhom_backup_due{"), "{out:#?}");
    // Owned by another user (who could rewrite it), or a link to such a file: refused, even
    // with a mode no one else may write.
    let record = fs::read(&file).unwrap();
    fs::remove_file(&file).unwrap();
    let elsewhere = state.path().join("elsewhere.json");
    fs::write(&elsewhere, &record).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o644)).unwrap();
    if !capable(
        std::os::unix::fs::chown(&elsewhere, Some(65534), None).is_ok(),
        "not root, so a record owned by another user is not tried",
    ) {
        return;
    }
    let refused = |what: &str| {
        let p = check(&agent, state.path(), &[]);
        assert_eq!(p.code, 3, "{what}: {p:#?}");
        assert!(
            std::iter::once(&p.summary)
                .chain(&p.long)
                .any(|l| l.contains("belongs to uid 65534")),
            "{what}: {p:#?}"
        );
    };
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    refused("a link to the file");
    fs::remove_file(&file).unwrap();
    fs::rename(&elsewhere, &file).unwrap();
    refused("the file itself");
}

#[test]
fn backup_wait_records_the_job_it_waited_for_and_a_wait_without_one_records_nothing() {
    let agent = agent_with_jobs_of(Duration::from_secs(600));
    let state = TempDir::new();
    let wait = || {
        tool(&agent, state.path())
            .args(["-q", "backup", "wait", "--poll", "10ms"])
            .run()
    };
    // No job: nothing attempted, nothing recorded.
    wait().exit_status(1);
    assert_eq!(
        backup_record::read(state.path(), &agent.endpoint()).unwrap(),
        None
    );

    let client = crate::common::client(&agent);
    client.start_backup().unwrap();
    let waiting = tool(&agent, state.path())
        .args(["-q", "backup", "wait", "--poll", "10ms"])
        .spawn();
    // The job ends while the wait polls it (or before it looks: done either way).
    thread::sleep(Duration::from_millis(100));
    agent.finish_backup();
    waiting.finish().exit_status(0);
    let record = backup_record::read(state.path(), &agent.endpoint())
        .unwrap()
        .expect("a record");
    assert_eq!(
        (record.last_outcome.as_str(), record.last_job_id.as_deref()),
        ("done", Some("job-1"))
    );
    assert!(record.last_success_at.is_some());
    // Written for a monitoring user to read, whatever the umask.
    let file = state
        .path()
        .join(backup_record::file_name(&agent.endpoint()));
    assert_eq!(
        fs::metadata(file).unwrap().permissions().mode() & 0o777,
        0o644
    );
}

#[test]
fn a_failed_backup_call_leaves_its_series_out_and_says_so_but_metrics_succeed() {
    let agent = agent();
    let state = TempDir::new();
    agent.set_fault_on("/backup/due", Fault::Status(500));
    let out = tool(&agent, state.path())
        .args(["metrics", "--format", "prometheus"])
        .run()
        .exit_status(0);
    assert!(
        out.stderr
            .starts_with("felhom-agentctl: felhom_backup_due left out: GET /backup/due: "),
        "{out:#?}"
    );
    let families = exposition::validate(&out.stdout);
    assert_eq!(value(&families, "felhom_agent_up"), Some(1.0));
    assert!(value(&families, "felhom_backup_due").is_none());
    assert_eq!(value(&families, "felhom_backup_running"), Some(0.0));
    // With the agent down, no backup series at all: nothing may look current.
    let dead = Invocation::authed(&agent)
        .env("STATE_DIRECTORY", state.path())
        .args(["--endpoint", &crate::harness::dead_endpoint()])
        .args(["--fingerprint", &agent.fingerprint().to_string()])
        .args(["metrics", "--format", "prometheus"])
        .run()
        .exit_status(5);
    assert!(!dead.stdout.contains("felhom_backup_"), "{dead:#?}");
    assert!(dead.stdout.contains("felhom_agent_up{"), "{dead:#?}");
}
