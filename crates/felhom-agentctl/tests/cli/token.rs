//! Where the token comes from (stdin, a private file, the environment, never a flag), and a
//! wrong one: it is never printed.

use crate::common::agent;
use crate::harness::{Invocation, TempDir, assert_every_request_authed, assert_nothing_sent};

#[test]
fn a_wrong_token_exits_8_without_showing_either_token() {
    let agent = agent();
    let wrong = "wrong-token-0123456789";
    let out = Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", wrong)
        .secret(wrong)
        .args(["storage"])
        .run()
        .failure(8);
    out.stderr_has("HTTP 401");
}

#[test]
fn a_token_flag_is_refused_without_echoing_it() {
    let agent = agent();
    // Deliberately in argv here, so not registered as a secret for the argv check; it must still
    // not be printed.
    let typed = "typed-on-the-command-line-42";
    let out = Invocation::to(&agent)
        .args(["storage", "--token", typed])
        .run()
        .failure(2);
    out.stderr_has("--token is not accepted");
    assert!(!out.stderr.contains(typed), "{out:#?}");
    assert_nothing_sent(&agent);
}

#[test]
fn a_private_token_file_is_read_and_its_newline_trimmed() {
    let agent = agent();
    let dir = TempDir::new();
    // A Unix and a Windows line end.
    let [unix, windows] = [("token", "\n", 0o600), ("token-crlf", "\r\n", 0o400)]
        .map(|(name, end, mode)| dir.file(name, &format!("{}{end}", agent.token()), mode));
    for path in [&unix, &windows] {
        Invocation::to(&agent)
            .env("FELHOM_AGENT_TOKEN", "wrong-token-from-env")
            .args(["storage", "--token-file"])
            .arg_path(path)
            .run()
            .status(0);
    }
    // The same through the environment variable.
    Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", "wrong-token-from-env")
        .env("FELHOM_AGENT_TOKEN_FILE", &unix)
        .args(["storage"])
        .run()
        .status(0);
    assert_every_request_authed(&agent);
    assert_eq!(agent.requests().len(), 3);
}

#[test]
fn a_token_file_others_can_read_is_refused() {
    let agent = agent();
    let dir = TempDir::new();
    for (mode, shown) in [(0o644, "0644"), (0o620, "0620"), (0o602, "0602")] {
        let path = dir.file(&format!("token-{shown}"), agent.token(), mode);
        let out = Invocation::to(&agent)
            .args(["storage", "--token-file"])
            .arg_path(&path)
            .run()
            .failure(2);
        out.stderr_has(shown);
        out.stderr_has("chmod 600");
        out.stderr_has(&path.display().to_string());
    }
    let missing = Invocation::to(&agent)
        .args(["storage", "--token-file"])
        .arg_path(&dir.path().join("absent"))
        .run()
        .failure(2);
    missing.stderr_has("could not open token file");
    let empty = dir.file("empty", "\n", 0o600);
    let out = Invocation::to(&agent)
        .args(["storage", "--token-file"])
        .arg_path(&empty)
        .run();
    assert!(out.failure(2).stderr.contains("empty"));
    assert_nothing_sent(&agent);
}

#[test]
fn the_token_can_come_from_stdin_and_wins() {
    let agent = agent();
    let dir = TempDir::new();
    let wrong_file = dir.file("wrong", "wrong-token-from-file\n", 0o600);
    let out = Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", "wrong-token-from-env")
        .args(["storage", "--token-stdin", "--token-file"])
        .arg_path(&wrong_file)
        .stdin(&format!("{}\nsecond line is ignored\n", agent.token()))
        .run()
        .status(0);
    assert_eq!(out.json()["vmid"], 101);

    let out = Invocation::to(&agent)
        .args(["storage", "--token-stdin"])
        .stdin("")
        .run()
        .failure(2);
    out.stderr_has("standard input is empty");
}

#[test]
fn a_token_that_is_not_visible_ascii_exits_2_and_nothing_is_sent() {
    let agent = agent();
    for token in ["tökén", "two words"] {
        let out = Invocation::to(&agent)
            .env("FELHOM_AGENT_TOKEN", token)
            .secret(token)
            .args(["storage"])
            .run()
            .failure(2);
        out.stderr_has("visible ASCII");
    }
    assert_nothing_sent(&agent);
}
