//! The stand-in agent as a dev server (`crates/felhom-devagent`), spawned as a shell user would:
//! in the background with no standard input, stopped by a signal or its time limit.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bounded::{CHILD_LIMIT, KillOnDrop, Pipe, wait_within};
use crate::harness::{BIN, Invocation};

/// The dev server's binary (`crates/felhom-devagent`), built next to the tool. Another
/// package's binary has no `CARGO_BIN_EXE_` variable here, so it is built on demand; cargo
/// makes that a no-op when it is up to date.
fn devagent_bin() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "felhom-devagent",
            "--bin",
            "felhom-devagent",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo build -p felhom-devagent");
    assert!(status.success(), "cargo build -p felhom-devagent failed");
    Path::new(BIN).parent().unwrap().join("felhom-devagent")
}

/// A running example process, killed on drop if it is still running.
struct Server {
    child: KillOnDrop,
    env: HashMap<String, String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = KillOnDrop(
            Command::new(devagent_bin())
                .args(["--seconds", "60"])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the devagent example"),
        );
        let mut env = HashMap::new();
        let mut stdout = Pipe::new(child.stdout.take());
        let deadline = Instant::now() + CHILD_LIMIT;
        for _ in 0..3 {
            let line = stdout.next_line(deadline).unwrap_or_else(|| {
                panic!("fewer than 3 export lines in time: {:?}", stdout.text())
            });
            let assignment = line.strip_prefix("export ").unwrap_or_else(|| {
                panic!("not an export line: {line:?}");
            });
            let (key, value) = assignment.split_once('=').unwrap();
            env.insert(key.to_string(), value.trim_matches('\'').to_string());
        }
        Server { child, env }
    }

    fn tool(&self) -> Invocation {
        let mut inv = Invocation::bare();
        for (k, v) in &self.env {
            inv = inv.env(k, v);
        }
        inv
    }

    fn token_file(&self) -> PathBuf {
        PathBuf::from(&self.env["FELHOM_AGENT_TOKEN_FILE"])
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits (at most 10 s) for the process to end; returns whether it succeeded and its
    /// standard error.
    fn wait(mut self) -> (bool, String) {
        let mut stderr = Pipe::new(self.child.stderr.take());
        let status = wait_within(&mut self.child, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("devagent did not stop: {:?}", stderr.text()));
        assert!(
            stderr.read_to_end(Instant::now() + CHILD_LIMIT),
            "devagent ended, but its stderr stayed open: {:?}",
            stderr.text()
        );
        (status.success(), stderr.text())
    }
}

#[test]
fn it_serves_with_no_stdin_until_sigterm_and_removes_its_token_directory() {
    let server = Server::start(&[]);
    assert_eq!(server.env.len(), 3, "{:?}", server.env);
    let token_file = server.token_file();
    let dir = token_file.parent().unwrap().to_path_buf();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the token's directory is not private");
    assert!(!dir.starts_with(crate::harness::repo_root().canonicalize().unwrap()));
    // Sourcing the lines is all the tool needs; stdin being /dev/null did not stop it.
    let token = std::fs::read_to_string(&token_file).unwrap();
    server.tool().secret(&token).arg("storage").run().status(0);
    server.tool().secret(&token).arg("disks").run().status(0);
    server.signal("TERM");
    let (ok, stderr) = server.wait();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("stopped (a signal)"), "{stderr}");
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn it_stops_on_sigint_and_after_its_time_limit() {
    let server = Server::start(&[]);
    let dir = server.token_file().parent().unwrap().to_path_buf();
    server.signal("INT");
    let (ok, _) = server.wait();
    assert!(ok);
    assert!(!dir.exists());

    let mut child = KillOnDrop(
        Command::new(devagent_bin())
            .args(["--seconds", "1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = Pipe::new(child.stderr.take());
    wait_within(&mut child, Duration::from_secs(15)).expect("--seconds 1 did not stop it");
    assert!(
        stderr.read_to_end(Instant::now() + CHILD_LIMIT),
        "stderr stayed open"
    );
    assert!(
        stderr.text().contains("--seconds elapsed"),
        "{:?}",
        stderr.text()
    );
}

#[test]
fn its_flags_make_the_tool_exit_with_each_status() {
    for (args, tool_args, code) in [
        (&["--fault", "status:500"][..], &["storage"][..], 1),
        (&["--fault", "other-cert"], &["storage"], 4),
        (&["--fault", "drop"], &["storage"], 5),
        (
            &["--backup-fails", "vzdump failed"],
            &["backup", "run", "--poll", "10ms"],
            6,
        ),
        (&["--fault", "status:409"], &["backup", "start"], 7),
        (&["--fault", "status:401"], &["storage"], 8),
        (
            &["--backup-seconds", "600"],
            &[
                "backup",
                "run",
                "--poll",
                "20ms",
                "--give-up-after",
                "100ms",
            ],
            9,
        ),
        (
            &["--no-fs-uuid"],
            &["disk", "init", "--device", "/dev/sdc", "--where", "/mnt/x"],
            1,
        ),
    ] {
        let server = Server::start(args);
        // Its own lock file, not the shared default in /run/lock (which an older build may
        // have left there with a mode this one refuses).
        let lock =
            std::env::temp_dir().join(format!("felhom-devserver-test-{}.lock", std::process::id()));
        let mut tool = server.tool().args(tool_args);
        if tool_args.first() == Some(&"backup") && tool_args.get(1) == Some(&"run") {
            tool = tool.arg("--lock").arg(&lock);
        }
        let out = tool.run();
        let _ = std::fs::remove_file(&lock);
        assert_eq!(out.code, Some(code), "{args:?} {tool_args:?}: {out:#?}");
        server.signal("TERM");
        assert!(server.wait().0);
    }
}

/// The README's dev-server lines write the export lines where git ignores them, under a name
/// that is not the settings file's (which `--config` would refuse as shell syntax).
#[test]
fn the_readme_writes_the_export_lines_outside_the_tree_git_shows() {
    let readme = crate::harness::readme();
    let line = readme
        .lines()
        .find(|l| l.contains("-p felhom-devagent") && l.contains(" > "))
        .expect("the README's dev-server line");
    let target = line
        .split(" > ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a redirection target");
    assert!(!target.ends_with(".env"), "{line}");
    assert!(target.starts_with("target/"), "{line}");
    let header = std::fs::read_to_string(
        crate::harness::repo_root().join("crates/felhom-devagent/src/bin/felhom-devagent.rs"),
    )
    .unwrap();
    assert!(
        header.contains(&format!("> {target} &")),
        "the dev server's header differs"
    );
    match Command::new("git")
        .args(["check-ignore", "-q", target])
        .current_dir(crate::harness::repo_root())
        .status()
    {
        Ok(status) if status.code() != Some(128) => {
            assert!(status.success(), "git would show {target}");
        }
        _ => eprintln!("NOTE: not in a git checkout; only the name of {target} was checked"),
    }
}
