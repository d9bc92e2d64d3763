//! Standard error as the journal: where `$JOURNAL_STREAM` names the stream standard error is,
//! every line carries an sd-daemon priority and no program name (journald adds it).

use std::process::Command;

use crate::common::agent;
use crate::harness::{BIN, Invocation, Outcome};

/// The tool run by a shell that sets `JOURNAL_STREAM` to `stream`, or to the device and inode
/// of standard error itself (as systemd does) when `stream` is `None`.
fn through_journal(stream: Option<&str>, args: &[&str]) -> Invocation {
    let set = match stream {
        Some(value) => format!("JOURNAL_STREAM='{value}'"),
        None => "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)".to_string(),
    };
    let mut shell = Command::new("/bin/sh");
    shell
        .arg("-c")
        .arg(format!("{set} exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args);
    Invocation::of(shell)
}

fn lines(outcome: &Outcome) -> Vec<&str> {
    outcome.stderr.lines().collect()
}

#[test]
fn errors_in_the_journal_carry_priority_3_and_no_program_name() {
    let out = through_journal(None, &["storage"]).run().exit_status(2);
    assert!(!lines(&out).is_empty());
    for line in lines(&out) {
        let text = line.strip_prefix("<3>");
        assert!(text.is_some(), "{line:?} in {:?}", out.stderr);
        assert!(!text.unwrap().starts_with("felhom-agentctl"), "{line:?}");
    }
}

#[test]
fn json_errors_in_the_journal_are_the_json_after_the_priority() {
    let out = through_journal(None, &["--error-format", "json", "storage"])
        .run()
        .exit_status(2);
    let line = out.stderr.trim_end();
    let json = line.strip_prefix("<3>").expect("a priority in front");
    let value: serde_json::Value = serde_json::from_str(json).expect("the rest is JSON");
    assert_eq!(value["exit"], 2);
}

#[test]
fn progress_in_the_journal_is_priority_6_and_a_failure_priority_3() {
    let agent = agent();
    let env = |inv: Invocation| {
        inv.env("FELHOM_AGENT_ENDPOINT", agent.endpoint())
            .env("FELHOM_AGENT_FINGERPRINT", agent.fingerprint().to_string())
            .env("FELHOM_AGENT_TOKEN", agent.token())
            .secret(agent.token())
    };
    let lock = crate::harness::TempDir::new();
    let lock = lock.path().join("backup.lock");
    let lock = lock.to_str().unwrap();
    // `backup run` with `flags` and the lock, exiting with `code`.
    let backup_run = |flags: &[&str], code: i32| {
        let args = [&["backup", "run"][..], flags, &["--lock", lock]].concat();
        env(through_journal(None, &args)).run().exit_status(code)
    };
    let ran = backup_run(&["--poll", "50ms"], 0);
    let progress = lines(&ran);
    assert!(progress.iter().any(|l| l.contains("starting the backup")));
    for line in &progress {
        assert!(line.starts_with("<6>"), "{line:?} in {:?}", ran.stderr);
    }

    let failed = backup_run(&["--pre", "false"], 10);
    let failed = lines(&failed);
    assert!(
        failed.iter().any(|l| l.starts_with("<3>")),
        "no error line in {failed:?}"
    );
    assert!(failed.iter().all(|l| l.starts_with('<')), "{failed:?}");
}

#[test]
fn a_journal_stream_that_is_not_standard_error_changes_nothing() {
    // A child whose standard error was redirected still inherits the variable.
    let out = through_journal(Some("1:1"), &["storage"]).run().failure(2);
    assert!(
        out.stderr.starts_with("felhom-agentctl: "),
        "{:?}",
        out.stderr
    );
    assert!(!out.stderr.contains("<3>"));
}

/// Each line of an error is one write(2), in text and in JSON: journald (and a reader of a
/// pipe) takes what one write gives it, so a line written in parts could be split apart or
/// have a hook's output come in between.
#[test]
fn each_error_line_is_one_write() {
    if Command::new("strace").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI needs strace");
        println!("NOTE: no strace here, not checked");
        return;
    }
    let dir = crate::harness::TempDir::new();
    for format in ["text", "json"] {
        let trace = dir.path().join(format!("{format}.trace"));
        let mut strace = Command::new("strace");
        strace
            .args(["-f", "-qq", "-s", "4096", "-e", "trace=write", "-o"])
            .arg(&trace)
            .args([BIN, "--error-format", format, "--endpoint"])
            .arg(crate::harness::dead_endpoint())
            .args([
                "--fingerprint",
                &agent().fingerprint().to_string(),
                "storage",
            ]);
        let out = Invocation::of(strace)
            .env("FELHOM_AGENT_TOKEN", "t0ken")
            .secret("t0ken")
            .run()
            .exit_status(5);
        let writes: Vec<String> = std::fs::read_to_string(&trace)
            .unwrap()
            .lines()
            .filter(|l| l.contains("write(2, "))
            .map(str::to_string)
            .collect();
        assert_eq!(writes.len(), lines(&out).len(), "{format}: {writes:#?}");
        for write in &writes {
            assert!(
                write.contains("\\n\", "),
                "{format}: a part of a line: {write}"
            );
        }
    }
}
