//! Invisible characters from the agent (zero-width space, line separator, tag characters,
//! Hangul fillers, byte order mark) reach no person unescaped: not in errors, not in `--human`,
//! not in the `felhom-opsign` command, not in plugin output. JSON keeps the exact text.

use felhom_devagent::{DevAgent, Fault};
use serde_json::Value;

use crate::common::failed_backup_agent;
use crate::harness::{Invocation, Outcome};

/// One of each kind the terminal check must escape (not all of them: the unit test has those).
const INVISIBLE: [char; 6] = [
    '\u{200b}',
    '\u{2028}',
    '\u{e0041}',
    '\u{3164}',
    '\u{feff}',
    '\u{e000}',
];

fn hidden(text: &str) -> String {
    let mut s = String::from(text);
    s.extend(INVISIBLE);
    s.push('x');
    s
}

/// [`hidden`]`(text)` as the tool prints it for people: each invisible character as `\u{..}`.
fn escaped(text: &str) -> String {
    let mut s = String::from(text);
    for c in INVISIBLE {
        s.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    }
    s.push('x');
    s
}

#[track_caller]
fn assert_visible(out: &Outcome) {
    for c in INVISIBLE {
        assert!(
            !out.stdout.contains(c) && !out.stderr.contains(c),
            "{c:?} printed raw: {out:#?}"
        );
    }
}

#[test]
fn an_opsign_command_with_an_invisible_character_is_not_printed_raw() {
    let scope = hidden("pve-7");
    let agent = DevAgent::builder().host_scope(&scope).start().unwrap();
    for human in [false, true] {
        let mut invocation =
            Invocation::to(&agent).args(["disk", "format", "--device", "/dev/sdb"]);
        if human {
            invocation = invocation.arg("--human");
        }
        let out = invocation.run().failure(3);
        assert_visible(&out);
        if !human {
            out.stderr_has("invisible");
            // The JSON keeps the exact value, escaped.
            let v: Value = serde_json::from_str(&out.stdout).unwrap();
            assert_eq!(v["pending_op"]["host_scope"], scope.as_str());
        }
    }
}

#[test]
fn agent_text_in_errors_human_tables_and_plugin_output_is_escaped() {
    let message = hidden("vzdump failed");
    let agent = failed_backup_agent(&message);
    let json = Invocation::to(&agent)
        .args(["backup", "status"])
        .run()
        .status(0);
    assert_visible(&json);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["error"],
        message.as_str(),
        "the escapes decode to the same text"
    );
    let human = Invocation::to(&agent)
        .args(["backup", "status", "--human"])
        .run()
        .status(0);
    assert_visible(&human);
    assert!(human.stdout.contains("\\u{200b}"), "{human:#?}");
    // A failed backup is a warning, and the plugin's lines carry the agent's text escaped.
    let plugin = Invocation::to(&agent)
        .args(["check", "--backup"])
        .run()
        .exit_status(1);
    assert_visible(&plugin);
    assert!(
        plugin
            .stdout
            .starts_with("FELHOM WARNING - backup of guest 101: job job-1 failed: "),
        "{plugin:#?}"
    );
    assert!(
        plugin.stdout.contains(&escaped("vzdump failed")),
        "{plugin:#?}"
    );

    agent.set_fault(Fault::Answer {
        status: 500,
        body: serde_json::json!({ "ok": false, "error": message }).to_string(),
    });
    let error = Invocation::to(&agent).args(["storage"]).run().failure(1);
    assert_visible(&error);
    error.stderr_has("\\u{2028}");
}
