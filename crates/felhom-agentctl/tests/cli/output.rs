//! Output modes (`--human`, `--pretty`) and a reader that goes away.

use felhom_devagent::DevAgent;
use serde_json::Value;

use crate::common::{agent, failed_backup_agent};
use crate::harness::{Invocation, Outcome};

/// Runs `args` against `agent`, asserting that it succeeded quietly.
fn succeeds(agent: &DevAgent, args: &[&str]) -> Outcome {
    Invocation::to(agent).args(args).run().status(0)
}

#[test]
fn human_output_has_tables_and_sizes() {
    let agent = agent();
    let storage = succeeds(&agent, &["storage", "--human"]);
    let header = storage
        .stdout
        .lines()
        .find(|l| l.starts_with("KEY"))
        .expect("a table header");
    assert!(header.contains("MOUNT POINT"), "{storage:#?}");
    assert!(storage.stdout.contains("/mnt/archive"), "{storage:#?}");
    assert!(
        serde_json::from_str::<Value>(&storage.stdout).is_err(),
        "--human printed JSON"
    );

    let metrics = succeeds(&agent, &["--human", "metrics"]);
    assert!(metrics.stdout.contains("STORAGE"), "{metrics:#?}");
    assert!(metrics.stdout.contains("400.0 GiB"), "{metrics:#?}"); // local-lvm's size
    assert!(
        metrics.stdout.contains("24.0 GiB of 64.0 GiB (37.5%)"),
        "{metrics:#?}"
    );
    assert!(metrics.stdout.contains("61.0%"), "{metrics:#?}"); // its thin pool

    let disks = succeeds(&agent, &["disks", "--human"]);
    assert!(disks.stdout.contains("DURABLE ID"), "{disks:#?}");
    assert!(disks.stdout.contains("/dev/sdc"), "{disks:#?}");
}

#[test]
fn pretty_output_is_indented_and_the_same_json() {
    let agent = agent();
    let compact = succeeds(&agent, &["disks"]);
    let pretty = succeeds(&agent, &["disks", "--pretty"]);
    assert!(pretty.stdout.lines().count() > 10, "{pretty:#?}");
    assert!(pretty.stdout.contains("\n  \"disks\": ["), "{pretty:#?}");
    let parsed: Value = serde_json::from_str(&pretty.stdout).unwrap();
    assert_eq!(parsed, compact.json());
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let agent = agent();
    let mut running = Invocation::to(&agent).args(["metrics", "--human"]).spawn();
    // Close the read end before the answer can arrive, as `| head -0` would.
    drop(running.child.stdout.take());
    running.finish().status(0);
}

/// Agent text in JSON output is exact but cannot drive a terminal: the characters that could
/// rewrite one are `\uXXXX` escapes, which decode to the same string.
#[test]
fn json_output_cannot_rewrite_a_terminal_and_keeps_the_agents_text() {
    let message = "vzdump \u{202e}gol.exe\u{202c} \u{9b}2J failed";
    let agent = failed_backup_agent(message);
    let status = succeeds(&agent, &["backup", "status"]);
    assert!(
        !status
            .stdout
            .chars()
            .any(|c| c != '\n' && felhom_agentapi::terminal::could_rewrite(c)),
        "{status:#?}"
    );
    assert!(status.stdout.contains(r"\u202e"), "{status:#?}");
    let v: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["error"], message, "{status:#?}");
}
