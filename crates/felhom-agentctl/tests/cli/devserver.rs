//! The stand-in agent as a dev server (`crates/felhom-devagent`), spawned as a shell user would:
//! in the background with no standard input, stopped by a signal or its time limit.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    child: Child,
    env: HashMap<String, String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(devagent_bin())
            .args(["--seconds", "60"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the devagent example");
        let mut env = HashMap::new();
        let stdout = child.stdout.take().unwrap();
        for line in BufReader::new(stdout).lines().take(3) {
            let line = line.unwrap();
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
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "devagent did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (status.success(), stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

    let mut child = Command::new(devagent_bin())
        .args(["--seconds", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("--seconds 1 did not stop it");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seconds elapsed"));
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
