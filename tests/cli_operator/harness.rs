//! Running the tool as a script would, and checking what it left behind.

use std::ffi::OsStr;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use felhom_agentapi::devagent::DevAgent;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_felhom-agentctl");

/// Every variable the tool (or the library's settings) reads, removed from each child so the
/// caller's environment cannot leak into a test.
pub const TOOL_ENV: [&str; 10] = [
    "FELHOM_AGENT_ENDPOINT",
    "FELHOM_AGENT_FINGERPRINT",
    "FELHOM_AGENT_FINGERPRINT_FILE",
    "FELHOM_AGENT_TIMEOUT",
    "FELHOM_AGENT_CONNECT_TIMEOUT",
    "FELHOM_AGENT_TOKEN_FILE",
    "FELHOM_AGENT_TOKEN",
    "FELHOM_AGENT_CONFIG",
    "CREDENTIALS_DIRECTORY",
    "RUST_BACKTRACE",
];

/// One run of the tool, being set up.
pub struct Invocation {
    pub command: Command,
    secrets: Vec<String>,
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Invocation {
    /// No settings and no token.
    pub fn bare() -> Invocation {
        Invocation::of(Command::new(BIN))
    }

    /// `command` with the tool's environment cleared and no standard input.
    pub fn of(mut command: Command) -> Invocation {
        for var in TOOL_ENV {
            command.env_remove(var);
        }
        command.stdin(Stdio::null());
        Invocation {
            command,
            secrets: Vec::new(),
        }
    }

    /// Pointed at `agent` by flags, with its token in the environment.
    pub fn to(agent: &DevAgent) -> Invocation {
        Invocation::bare()
            .env("FELHOM_AGENT_TOKEN", agent.token())
            .secret(agent.token())
            .args(["--endpoint", &agent.endpoint()])
            .args(["--fingerprint", &agent.fingerprint().to_string()])
    }

    pub fn args<I, S>(mut self, args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Invocation {
        self.command.arg(arg);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Invocation {
        self.command.env(key, value);
        self
    }

    pub fn secret(mut self, s: &str) -> Invocation {
        self.secrets.push(s.to_string());
        self
    }

    pub fn run(mut self) -> Outcome {
        for arg in self.command.get_args() {
            for secret in &self.secrets {
                assert!(
                    !arg.to_string_lossy().contains(secret.as_str()),
                    "a token was passed in argv: {arg:?}"
                );
            }
        }
        let child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the command");
        let output = child.wait_with_output().expect("wait for the command");
        let outcome = Outcome {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        };
        for secret in &self.secrets {
            assert!(
                !outcome.stdout.contains(secret.as_str())
                    && !outcome.stderr.contains(secret.as_str()),
                "a token was printed: {outcome:#?}"
            );
        }
        assert!(!outcome.stderr.contains("panicked"), "{outcome:#?}");
        outcome
    }
}

impl Outcome {
    /// Asserts the exit status; a failure must say something on standard error, with the tool's
    /// prefix on its first line.
    pub fn status(self, code: i32) -> Outcome {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        // With --error-format json, standard error is the one JSON line instead.
        if code != 0 && !self.stderr.starts_with('{') {
            assert!(
                self.stderr.starts_with("felhom-agentctl: "),
                "no prefixed message for status {code}: {self:#?}"
            );
            assert!(!self.stderr.contains("error:"), "clap's prefix: {self:#?}");
        }
        self
    }

    /// Standard output as one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// Standard error as the one line of `--error-format json`.
    pub fn error_json(&self) -> Value {
        let line = self
            .stderr
            .strip_suffix('\n')
            .expect("a newline at the end");
        assert!(!line.contains('\n'), "more than one line: {self:#?}");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }
}

/// A fresh private directory, removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new() -> TempDir {
        TempDir(tempfile::tempdir().expect("a temporary directory"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `contents` to a file with `mode`, and returns its path.
    pub fn file(&self, name: &str, contents: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join(name);
        fs::write(&path, contents).expect("write a file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }
}

pub fn agent() -> DevAgent {
    DevAgent::start().expect("start the stand-in agent")
}

/// The requests the agent received, as `METHOD path`.
pub fn calls(agent: &DevAgent) -> Vec<String> {
    agent
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
pub fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr.to_string()
}

/// The README, for the tests that check it against the tool.
pub fn readme() -> String {
    fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}
