//! Output on a terminal, through a pseudo-terminal (`script` from util-linux): a summary for
//! people by default, JSON with `--json`, and a refusal said once. (Piped output stays JSON:
//! every other test reads it from a pipe.)

use std::process::Command;

use felhom_devagent::DevAgent;

use crate::common::agent;
use crate::harness::{BIN, Invocation, Outcome, capable};

/// Runs the tool with `args` on a pseudo-terminal, pointed at `agent`; its standard output
/// and error both arrive, merged, as the run's stdout.
fn on_a_terminal(agent: &DevAgent, args: &[&str]) -> Option<Outcome> {
    let found = Command::new("script")
        .args(["-qc", "true", "/dev/null"])
        .status()
        .is_ok_and(|s| s.success());
    if !capable(
        found,
        "`script` (util-linux) is missing; the terminal test checked nothing",
    ) {
        return None;
    }
    let mut line = format!(
        "'{BIN}' --endpoint {} --fingerprint {}",
        agent.endpoint(),
        agent.fingerprint()
    );
    for arg in args {
        line.push_str(&format!(" '{arg}'"));
    }
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    let mut out = Invocation::of(script)
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .secret(agent.token())
        .run();
    out.stdout = out.stdout.replace("\r\n", "\n");
    Some(out)
}

#[test]
fn a_terminal_gets_a_summary_and_json_on_request() {
    let agent = agent();
    let Some(human) = on_a_terminal(&agent, &["storage"]) else {
        return;
    };
    assert_eq!(human.code, Some(0), "{human:#?}");
    assert!(!human.stdout.trim_start().starts_with('{'), "{human:#?}");
    let json = on_a_terminal(&agent, &["--json", "storage"]).unwrap();
    assert_eq!(json.code, Some(0), "{json:#?}");
    let v: serde_json::Value = serde_json::from_str(json.stdout.trim()).expect("JSON");
    assert!(v["mounts"].is_array(), "{json:#?}");
    // --pretty is JSON too.
    let pretty = on_a_terminal(&agent, &["--pretty", "storage"]).unwrap();
    assert!(pretty.stdout.trim_start().starts_with('{'), "{pretty:#?}");
    // The same summary --human prints into a pipe.
    let piped = Invocation::to(&agent)
        .args(["--human", "storage"])
        .run()
        .status(0);
    assert_eq!(human.stdout, piped.stdout);
    // Asking for both is a mistake, said as one.
    let both = Invocation::to(&agent)
        .args(["--human", "--json", "storage"])
        .run();
    assert_eq!(both.code, Some(2), "{both:#?}");
}

#[test]
fn a_refusal_on_a_terminal_is_said_once() {
    let agent = agent();
    for args in [
        &["disk", "format", "--device", "/dev/sdb"][..],
        &["disk", "format", "--device", "/dev/sdb", "--human"],
    ] {
        let Some(out) = on_a_terminal(&agent, args) else {
            return;
        };
        assert_eq!(out.code, Some(3), "{out:#?}");
        assert_eq!(
            out.stdout.matches("felhom-opsign -op storage_wipe").count(),
            1,
            "{out:#?}"
        );
    }
}
