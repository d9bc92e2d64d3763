//! What people type out of habit: `-vv`, `completions bash`, `man`, `10d`, `-5s`, and
//! `check --human`.

use crate::common::agent;
use crate::harness::{Invocation, TempDir};

#[test]
fn repeated_verbose_flags_are_accepted() {
    let agent = agent();
    for args in [&["-vv", "storage"][..], &["-v", "storage", "--verbose"]] {
        let out = Invocation::to(&agent).args(args).run().exit_status(0);
        assert!(out.stderr.contains("TLS 1."), "{args:?}: {out:#?}");
    }
}

#[test]
fn completions_and_man_are_what_generate_prints() {
    for shell in ["bash", "zsh", "fish"] {
        let short = Invocation::bare()
            .args(["completions", shell])
            .run()
            .status(0);
        let long = Invocation::bare().args(["generate", shell]).run().status(0);
        assert_eq!(short.stdout, long.stdout, "{shell}");
    }
    let short = Invocation::bare().arg("man").run().status(0);
    let long = Invocation::bare().args(["generate", "man"]).run().status(0);
    assert_eq!(short.stdout, long.stdout);
    let dir = TempDir::new();
    Invocation::bare()
        .args(["man", "--dir"])
        .arg(dir.path())
        .run()
        .status(0);
    assert!(dir.path().join("felhom-agentctl-backup-run.1").is_file());
    // A near miss is pointed at the right word.
    let out = Invocation::bare().args(["completion", "bash"]).run();
    assert_eq!(out.code, Some(2), "{out:#?}");
    out.stderr_has("'completions'");
    // A token option is refused as for generate.
    let out = Invocation::bare()
        .args(["completions", "bash", "--token-stdin"])
        .run()
        .failure(2);
    out.stderr_has("reads no token");
}

#[test]
fn a_completion_script_into_a_closed_pipe_is_not_a_panic() {
    let mut running = Invocation::bare().args(["generate", "bash"]).spawn();
    drop(running.child.stdout.take());
    running.finish().status(0);
}

#[test]
fn days_are_durations_and_negative_ones_are_named() {
    let agent = agent();
    Invocation::to(&agent)
        .args(["--timeout", "10d", "storage"])
        .run()
        .status(0);
    for args in [
        &["backup", "wait", "--poll", "-5s"][..],
        &["--timeout", "-5s", "storage"],
        &["backup", "run", "--thaw-after", "-1m"],
    ] {
        let out = Invocation::to(&agent).args(args).run();
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        out.stderr_has("a duration cannot be negative");
    }
}

#[test]
fn check_refuses_human_and_pretty_as_an_unknown() {
    let agent = agent();
    for flag in ["--human", "--json", "--pretty"] {
        let out = Invocation::to(&agent).args(["check", flag]).run();
        assert_eq!(out.code, Some(3), "{flag}: {out:#?}");
        assert!(out.stdout.starts_with("FELHOM UNKNOWN - "), "{out:#?}");
        assert!(
            out.stdout.contains("drop --human, --json and --pretty"),
            "{out:#?}"
        );
    }
}
