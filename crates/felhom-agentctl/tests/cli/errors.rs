//! Errors a script can act on: one exit status per situation, `--error-format json`, prefixed
//! and shortened messages, `--human` everywhere, and a trust-on-first-use that fails closed.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use felhom_devagent::{DevAgent, Fault};
use serde_json::json;

use crate::backup_run::agent_with_jobs_of;
use crate::common::{agent, failing_agent};
use crate::harness::{Invocation, Outcome, TempDir, calls, dead_endpoint, readme};

/// The tool pointed at a port where nothing listens, with some pin and some token.
fn nowhere() -> Invocation {
    Invocation::bare()
        .args(["--endpoint", &dead_endpoint()])
        .args(["--fingerprint", &"ab".repeat(32)])
        .env("FELHOM_AGENT_TOKEN", "t")
}

/// The `--error-format json` line of `storage` against `agent` with the variable `var` set,
/// which exits with `code`.
fn storage_error_with(agent: &DevAgent, var: (&str, &str), code: i32) -> serde_json::Value {
    Invocation::to(agent)
        .env(var.0, var.1)
        .args(["--error-format", "json", "storage"])
        .run()
        .status(code)
        .error_json()
}

/// The rows of the README's exit-status table: status and meaning.
fn readme_exit_table() -> Vec<(i32, String)> {
    let text = readme();
    let start = text
        .find("<!-- exit-status-table -->")
        .expect("the README marks its exit-status table");
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the rule under it
        .flat_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let meaning = cells.get(1).expect("a meaning").to_string();
            // A row may list several statuses: "129, 130, 143".
            cells[0]
                .split(',')
                .map(|c| c.trim().parse().unwrap_or_else(|_| panic!("a status: {l}")))
                .map(|code| (code, meaning.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether the long `--help` lists `code` at the start of a line of its exit-status table:
/// `    7  'backup run': busy…`, `    10 'backup run'…`, or one of `    129, 130, 143`.
fn help_lists(help: &str, code: i32) -> bool {
    let table = &help[help.find("EXIT STATUS:").expect("--help has EXIT STATUS")..];
    table.lines().any(|line| {
        let Some(rest) = line.strip_prefix("    ") else {
            return false;
        };
        let head: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == ' ')
            .collect();
        head.split(',').any(|c| c.trim().parse::<i32>() == Ok(code))
    })
}

/// `backup run` with its lock in `dir`, so that runs of parallel tests never meet.
fn backup_run(agent: &DevAgent, dir: &TempDir) -> Invocation {
    Invocation::to(agent)
        .args(["backup", "run", "--lock"])
        .arg_path(&dir.path().join("backup.lock"))
}

/// `backup run` whose freeze hook sends `signal` to the tool: interrupted, deterministically,
/// after the watch for signals is up and before any backup was started.
fn interrupted_by(signal: &str) -> Outcome {
    let dir = TempDir::new();
    backup_run(&agent(), &dir)
        .args(["--pre", &format!("kill -{signal} $PPID")])
        .run()
}

/// Makes the situation of one exit status happen, and returns what the tool did.
fn scenario(code: i32) -> Outcome {
    match code {
        0 => Invocation::to(&agent()).arg("storage").run(),
        1 => {
            let agent = agent();
            agent.set_fault(Fault::Status(500));
            Invocation::to(&agent).arg("storage").run()
        }
        2 => Invocation::to(&agent())
            .args(["storage", "--timeout", "soon"])
            .run(),
        3 => Invocation::to(&agent())
            .args(["disk", "format", "--device", "/dev/sdb"])
            .run(),
        4 => {
            let agent = agent();
            agent.set_fault(Fault::OtherCert);
            Invocation::to(&agent).arg("storage").run()
        }
        5 => nowhere().arg("storage").run(),
        6 => {
            let agent = failing_agent(Duration::ZERO, "vzdump exited with status 2");
            backup_run(&agent, &TempDir::new())
                .args(["--poll", "10ms"])
                .run()
        }
        7 => {
            let agent = agent_with_jobs_of(Duration::from_secs(600));
            Invocation::to(&agent)
                .args(["backup", "start"])
                .run()
                .status(0);
            Invocation::to(&agent).args(["backup", "start"]).run()
        }
        8 => Invocation::to(&agent())
            .env("FELHOM_AGENT_TOKEN", "wrong-token")
            .arg("storage")
            .run(),
        9 => {
            let agent = agent_with_jobs_of(Duration::from_secs(600));
            backup_run(&agent, &TempDir::new())
                .args(["--poll", "20ms", "--give-up-after", "200ms"])
                .run()
        }
        10 => backup_run(&agent(), &TempDir::new())
            .args(["--pre", "false"])
            .run(),
        129 => interrupted_by("HUP"),
        130 => interrupted_by("INT"),
        143 => interrupted_by("TERM"),
        other => panic!(
            "the README lists exit status {other}, for which this test has no scenario: add one"
        ),
    }
}

#[test]
fn every_row_of_the_readme_exit_table_is_what_the_tool_does() {
    let rows = readme_exit_table();
    let codes: BTreeSet<i32> = rows.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        codes.len(),
        rows.len(),
        "a status is listed twice: {rows:?}"
    );
    for code in (0..=10).chain([129, 130, 143]) {
        assert!(codes.contains(&code), "the README does not list {code}");
    }
    let help = Invocation::bare().arg("--help").run().status(0).stdout;
    for (code, meaning) in &rows {
        let out = scenario(*code).status(*code);
        if *code == 0 {
            assert_eq!(out.stderr, "", "{meaning}: {out:#?}");
        }
        assert!(
            help_lists(&help, *code),
            "--help does not list exit status {code}"
        );
    }
}

#[test]
fn busy_token_rejected_and_gave_up_say_what_happened() {
    let busy = scenario(7);
    assert!(busy.stderr.contains("HTTP 409"), "{busy:#?}");
    let rejected = scenario(8);
    assert!(rejected.stderr.contains("HTTP 401"), "{rejected:#?}");
    assert!(rejected.stderr.contains("token"), "{rejected:#?}");
    assert!(
        rejected
            .stderr
            .contains("-v shows where the token was read from"),
        "{rejected:#?}"
    );
    // The job id goes to stdout as JSON, not only into the message.
    let gave_up = scenario(9).failure(9);
    let status = gave_up.json();
    assert_eq!(status["job_id"], "job-1", "{gave_up:#?}");
    assert_eq!(status["phase"], "running", "{gave_up:#?}");
    assert_eq!(status["stopped"], "gave-up", "{gave_up:#?}");
    assert!(gave_up.stderr.contains("may still finish"), "{gave_up:#?}");
    assert!(gave_up.stderr.contains("backup wait"), "{gave_up:#?}");
}

#[test]
fn error_format_json_is_one_line_with_every_key() {
    let agent = agent();
    let rejected = storage_error_with(&agent, ("FELHOM_AGENT_TOKEN", "wrong-token"), 8);
    assert_eq!(rejected["kind"], "http");
    assert_eq!(rejected["call"], "GET /storage");
    assert_eq!(rejected["http_status"], 401);
    assert_eq!(rejected["may_have_reached_agent"], true);
    assert_eq!(rejected["exit"], 8);
    assert!(rejected["message"].as_str().unwrap().contains("HTTP 401"));

    let unreachable = nowhere()
        .args(["disks", "--error-format=json"])
        .run()
        .status(5)
        .error_json();
    assert_eq!(unreachable["kind"], "connect");
    assert_eq!(unreachable["call"], "GET /disks");
    assert_eq!(unreachable["http_status"], json!(null));
    assert_eq!(unreachable["may_have_reached_agent"], false);

    // A second start: the agent's 409 is typed (kind backup_running) and keeps its status.
    let long = agent_with_jobs_of(Duration::from_secs(600));
    crate::common::client(&long).start_backup().unwrap();
    let busy = Invocation::to(&long)
        .args(["--error-format", "json", "backup", "start"])
        .run()
        .status(7)
        .error_json();
    assert_eq!(busy["kind"], "backup_running");
    assert_eq!(busy["http_status"], 409, "{busy}");

    let usage = Invocation::bare()
        .args(["--error-format", "json", "no-such-command"])
        .run()
        .status(2)
        .error_json();
    assert_eq!(usage["kind"], "usage");
    assert_eq!(usage["call"], json!(null));
    assert_eq!(usage["exit"], 2);

    let config = storage_error_with(&agent, ("FELHOM_AGENT_TIMEOUT", "soon"), 2);
    assert_eq!(config["kind"], "config");
    assert_eq!(config["call"], json!(null));
    assert!(
        config["message"]
            .as_str()
            .unwrap()
            .contains("FELHOM_AGENT_TIMEOUT")
    );

    let refused = Invocation::to(&agent)
        .args([
            "--error-format",
            "json",
            "disk",
            "format",
            "--device",
            "/dev/sdb",
        ])
        .run()
        .status(3);
    // The refusal's document is on stdout as always; stderr has only the one line.
    assert!(refused.json()["opsign_command"].is_string());
    let line = refused.error_json();
    assert_eq!(line["kind"], "format_refused");
    assert_eq!(line["call"], "POST /disks/format");
    assert_eq!(line["http_status"], 403);

    let dead = dead_endpoint();
    let handshake = Invocation::bare()
        .args(["--endpoint", &dead, "--error-format", "json"])
        .arg("fingerprint")
        .run()
        .status(5)
        .error_json();
    assert_eq!(handshake["call"], format!("TLS handshake with {dead}"));
}

#[test]
fn usage_errors_are_prefixed_and_name_the_variable_at_fault() {
    let agent = agent();
    for args in [
        &["no-such-command"][..],
        &["storage", "--no-such-flag"],
        &["disk", "eject"],
        &["storage", "--timeout", "0"],
    ] {
        let out = Invocation::to(&agent).args(args).run().failure(2);
        assert!(!out.stderr.contains("error:"), "{args:?}: {out:#?}");
    }
    // An empty variable is named as itself, not as the flag it stands for.
    let out = Invocation::bare()
        .args(["--endpoint", &agent.endpoint(), "storage"])
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .env("FELHOM_AGENT_FINGERPRINT", "")
        .run()
        .failure(2);
    assert!(
        out.stderr
            .contains("FELHOM_AGENT_FINGERPRINT is set but empty"),
        "{out:#?}"
    );
    assert!(!out.stderr.contains("--fingerprint"), "{out:#?}");
    assert!(agent.requests().is_empty());
}

#[test]
fn fingerprint_errors_name_the_handshake() {
    let out = Invocation::bare()
        .args(["--endpoint", &dead_endpoint(), "fingerprint"])
        .run()
        .failure(5);
    assert!(out.stderr.contains("TLS handshake with"), "{out:#?}");
    assert!(!out.stderr.contains("GET /storage"), "{out:#?}");
}

#[test]
fn echoed_input_is_shortened() {
    let agent = agent();
    let long = format!("https://{}:1", "a".repeat(5000));
    let out = refused_briefly(&agent, "--endpoint", &long, 600);
    assert!(out.stderr.contains("characters)"), "{out:#?}");
    let typo = "9".repeat(5000) + "x";
    refused_briefly(&agent, "--timeout", &typo, 800);
    assert!(agent.requests().is_empty());
}

/// `storage` with `flag` set to `value`: a usage error (2) in fewer than `limit` bytes.
fn refused_briefly(agent: &DevAgent, flag: &str, value: &str, limit: usize) -> Outcome {
    let out = Invocation::to(agent)
        .args(["storage", flag, value])
        .run()
        .failure(2);
    assert!(
        out.stderr.len() < limit,
        "{} bytes: {out:#?}",
        out.stderr.len()
    );
    out
}

#[test]
fn human_applies_to_refusals_and_failed_backups() {
    let agent = failing_agent(Duration::ZERO, "vzdump exited with status 2");
    let refused = Invocation::to(&agent)
        .args(["--human", "disk", "format", "--device", "/dev/sdb"])
        .run()
        .failure(3);
    assert!(
        !refused.stdout.trim_start().starts_with('{'),
        "{refused:#?}"
    );
    assert!(
        refused
            .stdout
            .contains("an operator must run: felhom-opsign -op storage_wipe")
    );
    let failed = backup_run(&agent, &TempDir::new())
        .args(["--human", "--poll", "10ms"])
        .run()
        .failure(6);
    assert_eq!(
        failed.stdout,
        "vmid 101: backup job job-1 is failed: vzdump exited with status 2\n"
    );
    let both = Invocation::to(&agent)
        .args(["--human", "--pretty", "storage"])
        .run()
        .failure(2);
    assert!(both.stderr.contains("--pretty"), "{both:#?}");
}

/// The last line of standard error as JSON: `backup run` prints the started job's id before it
/// even then (as with `-q`).
fn last_error_json(out: &Outcome) -> serde_json::Value {
    let line = out.stderr.lines().last().expect("a line on standard error");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {out:#?}"))
}

#[test]
fn backup_run_ends_with_the_json_error_line_too() {
    let hook = backup_run(&agent(), &TempDir::new())
        .args(["--error-format", "json", "--pre", "false"])
        .run()
        .status(10);
    // No job was started, so nothing but the line is printed.
    let line = hook.error_json();
    assert_eq!(line["kind"], "hook_failed");
    assert_eq!(line["exit"], 10);
    assert_eq!(line["call"], serde_json::Value::Null);
    assert_eq!(line["may_have_reached_agent"], false);

    let agent = failing_agent(Duration::ZERO, "vzdump exited with status 2");
    let failed = backup_run(&agent, &TempDir::new())
        .args(["--error-format", "json", "--poll", "10ms"])
        .run()
        .status(6);
    let line = last_error_json(&failed);
    assert_eq!(line["kind"], "backup_failed");
    assert_eq!(line["exit"], 6);
    assert_eq!(line["call"], "GET /backup/status");
    assert_eq!(line["may_have_reached_agent"], true);
    assert!(
        line["message"]
            .as_str()
            .unwrap()
            .contains("vzdump exited with status 2"),
        "{failed:#?}"
    );
    assert_eq!(failed.json()["phase"], "failed");
}

/// The README's trust-on-first-use snippet, pointed at a test agent and directory.
fn tofu_script(endpoint: &str, dir: &TempDir) -> String {
    let text = readme();
    let start = text
        .find("<!-- trust-on-first-use -->")
        .expect("the README marks its trust-on-first-use snippet");
    let block = &text[start..];
    let body = block
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(body, _)| body)
        .expect("a sh block after the marker");
    let dir = dir.path().display().to_string();
    let script = body
        .replace("10.0.0.1:8443", endpoint)
        .replace("/etc/felhom", &dir)
        .replace("/dev/sdb", "/dev/sdc")
        .replace("format.json", &format!("{dir}/format.json"));
    // Never any address but the test's.
    assert!(!script.contains("10.0.0."), "{script}");
    script
}

fn run_sh(script: &str) -> Outcome {
    let bin_dir = std::path::Path::new(crate::harness::BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sh = Command::new("sh");
    sh.args(["-c", script]).env("PATH", path);
    Invocation::of(sh).run()
}

#[test]
fn the_readme_trust_on_first_use_snippet_fails_closed() {
    let down = TempDir::new();
    let out = run_sh(&tofu_script(&dead_endpoint(), &down));
    assert_ne!(out.code, Some(0), "{out:#?}");
    assert!(!out.stdout.contains("formatted"), "it carried on: {out:#?}");
    assert!(!down.path().join("agent.pins").exists());

    // With the agent up, the same lines pin it and go on.
    let agent = agent();
    let up = TempDir::new();
    std::fs::write(up.path().join("agent.token"), agent.token()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        up.path().join("agent.token"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = run_sh(&tofu_script(&agent.endpoint(), &up));
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stdout.contains("formatted"), "{out:#?}");
    assert_eq!(calls(&agent), ["POST /disks/format"]);
}
