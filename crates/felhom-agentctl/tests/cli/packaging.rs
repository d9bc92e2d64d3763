//! Shell completions and the man page generate from the clap definitions; subcommand help is
//! compact; the README says how to install them.

use std::process::Command;

use crate::harness::{Invocation, TempDir, readme};

#[test]
fn completions_and_the_man_page_generate() {
    let dir = TempDir::new();
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef felhom-agentctl"),
        ("fish", "complete -c felhom-agentctl"),
    ] {
        let out = Invocation::bare().args(["generate", shell]).run().status(0);
        assert!(out.stdout.contains(needle), "{shell}: {}", out.stdout);
        for word in ["fingerprint", "fingerprint-file", "init"] {
            assert!(out.stdout.contains(word), "{shell} completion lacks {word}");
        }
        // The refused `--token VALUE` is never offered: only its safe relatives.
        let offered = out
            .stdout
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .any(|w| w == "--token")
            || out.stdout.contains("-l token ");
        assert!(!offered, "{shell} completion offers --token");
        let path = dir.file(&format!("completion.{shell}"), &out.stdout, 0o644);
        // The shell itself must accept the script, where the shell is installed.
        if shell == "bash" || Command::new(shell).arg("-c").arg("true").status().is_ok() {
            let checked = Command::new(shell).arg("-n").arg(&path).output().unwrap();
            assert!(
                checked.status.success(),
                "{shell} -n refuses the completion: {}",
                String::from_utf8_lossy(&checked.stderr)
            );
        }
    }
    let man = Invocation::bare().args(["generate", "man"]).run().status(0);
    assert!(
        man.stdout.contains(".TH felhom-agentctl 1"),
        "{}",
        man.stdout
    );
    for word in ["fingerprint", "EXIT STATUS", "FELHOM_AGENT_CONFIG"] {
        assert!(man.stdout.contains(word), "the man page lacks {word}");
    }
    // Every page the main one names under SUBCOMMANDS exists, with its own options.
    let pages = dir.path().join("man1");
    std::fs::create_dir(&pages).unwrap();
    Invocation::bare()
        .args(["generate", "man", "--dir"])
        .arg(&pages)
        .run()
        .status(0);
    let main = std::fs::read_to_string(pages.join("felhom-agentctl.1")).unwrap();
    for named in [
        "felhom\\-agentctl\\-storage(1)",
        "felhom\\-agentctl\\-backup(1)",
    ] {
        assert!(main.contains(named), "the main page does not name {named}");
    }
    let run = std::fs::read_to_string(pages.join("felhom-agentctl-backup-run.1")).unwrap();
    for option in ["hooks\\-dir", "give\\-up\\-after", "hook\\-timeout"] {
        assert!(run.contains(option), "backup run's page lacks {option}");
    }
    assert!(pages.join("felhom-agentctl-disk-init.1").is_file());
    let text = readme();
    for generated in ["bash", "zsh", "fish", "man"] {
        let line = format!("generate {generated}");
        assert!(text.contains(&line), "the README does not show {line:?}");
    }
}

#[test]
fn subcommand_help_shows_its_own_options_first_and_global_ones_once() {
    let help = Invocation::bare()
        .args(["disk", "init", "--help"])
        .run()
        .status(0)
        .stdout;
    let own = help.find("--device").expect("its own options");
    let global = help.find("--endpoint").expect("the global options");
    assert!(own < global, "{help}");
    for flag in [
        "--endpoint",
        "--fingerprint-file",
        "--token-file",
        "--error-format",
    ] {
        assert_eq!(
            help.matches(&format!("{flag} ")).count(),
            1,
            "{flag} is not listed exactly once: {help}"
        );
    }
    // Compact: one line of help per global option (its variable included), no paragraphs;
    // the details are in the top-level --help only.
    let lines: Vec<&str> = help.lines().collect();
    let at = lines.iter().position(|l| l.contains("--endpoint")).unwrap();
    assert!(lines[at + 1].contains("FELHOM_AGENT_ENDPOINT"), "{help}");
    assert!(lines[at + 2].trim().is_empty(), "{help}");
    assert!(!help.contains("TOKEN:"), "{help}");
    let short = Invocation::bare()
        .args(["disk", "init", "-h"])
        .run()
        .status(0)
        .stdout;
    let endpoint = short.lines().find(|l| l.contains("--endpoint")).unwrap();
    assert!(endpoint.contains("FELHOM_AGENT_ENDPOINT"), "{short}");

    for args in [&["fingerprint", "--help"][..], &["fingerprint", "-h"]] {
        let help = Invocation::bare().args(args).run().status(0).stdout;
        assert!(!help.contains("--token"), "{args:?}: {help}");
        assert!(help.contains("--save"), "{help}");
    }
    let out = Invocation::bare()
        .args(["fingerprint", "--token-stdin", "--endpoint", "127.0.0.1:1"])
        .run()
        .failure(2);
    assert!(out.stderr.contains("reads no token"), "{out:#?}");
}
