//! Help, version, and arguments the tool cannot use (exit status 2).

use crate::common::agent;
use crate::harness::{Invocation, USB_UUID, assert_nothing_sent};

#[test]
fn bad_usage_exits_2() {
    let agent = agent();
    for args in [
        &["no-such-command"][..],
        &[][..],
        &["disk", "eject"][..],
        &["disk", "assign", "--uuid", USB_UUID][..],
        &["storage", "--timeout", "soon"][..],
        &["storage", "--timeout", "0"][..],
        &["backup", "run", "--poll", "5 parsecs"][..],
        &["backup", "run", "--poll", "10s", "--give-up-after", "10s"][..],
    ] {
        let out = Invocation::to(&agent).args(args).run().status(2);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert_nothing_sent(&agent);
}

#[test]
fn usage_errors_say_what_is_missing_in_text_and_json() {
    let agent = agent();
    let out = Invocation::to(&agent).arg("backup").run().status(2);
    assert!(
        out.stderr.starts_with(
            "felhom-agentctl: 'felhom-agentctl backup' needs a subcommand: due, start, status"
        ),
        "{out:#?}"
    );
    let json = Invocation::to(&agent)
        .args(["--error-format", "json", "disk", "assign", "--where", "/x"])
        .run()
        .status(2);
    let line: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(
        line["message"], "the following required arguments were not provided: --uuid <UUID>",
        "{json:#?}"
    );
    assert_nothing_sent(&agent);
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &[][..],
        &["storage"],
        &["disks"],
        &["metrics"],
        &["backup"],
        &["backup", "due"],
        &["backup", "start"],
        &["backup", "status"],
        &["backup", "run"],
        &["disk"],
        &["disk", "assign"],
        &["disk", "eject"],
        &["disk", "format"],
        &["fingerprint"],
    ] {
        let out = Invocation::bare()
            .args(args)
            .args(["--help"])
            .run()
            .status(0);
        assert!(
            out.stdout.contains("Usage: felhom-agentctl"),
            "{args:?}: {out:#?}"
        );
    }
    let top = Invocation::bare().args(["--help"]).run().status(0).stdout;
    for needle in [
        "EXIT STATUS",
        "FELHOM_AGENT_TOKEN",
        "--token-stdin",
        "chmod 600",
        "3)",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}");
    }
    let format = Invocation::bare()
        .args(["disk", "format", "--help"])
        .run()
        .status(0)
        .stdout;
    assert!(format.contains("jq -r .opsign_command"), "{format}");

    let version = Invocation::bare().args(["--version"]).run().status(0);
    assert_eq!(
        version.stdout.trim(),
        format!("felhom-agentctl {}", env!("CARGO_PKG_VERSION"))
    );
}
