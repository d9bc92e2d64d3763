//! Running the built tool as a script would, and checking what every run must get right: the
//! token(s) in play appear in no argument and no output, and the tool never panics. Every wait
//! is bounded ([`crate::bounded`]): a run that hangs, or whose output something it left running
//! holds open, is killed and fails its test with what it printed so far.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use felhom_devagent::{DevAgent, MetricsProfile};
use serde_json::Value;

use crate::bounded::{CHILD_LIMIT, KillOnDrop, Pipe, command_line, wait_within};

pub const BIN: &str = env!("CARGO_BIN_EXE_felhom-agentctl");

/// Every variable the tool reads, and those it gives its hooks, removed from each child so the
/// caller's environment cannot leak into a test.
const TOOL_ENV: [&str; 12] = [
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
    "FELHOM_BACKUP_PHASE",
    "FELHOM_BACKUP_JOB_ID",
];

/// The filesystem uuid of the stand-in agent's USB drive.
pub const USB_UUID: &str = "3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c";

/// One run of the tool, being set up.
pub struct Invocation {
    command: Command,
    /// Strings that must appear in no argument and no output: the token(s) in play.
    secrets: Vec<String>,
    stdin: Option<String>,
}

/// A run of the tool that has started and not yet been waited for. Dropped unfinished (a test
/// that panicked), the tool is killed.
pub struct Running {
    /// The tool's process: its standard output and error are pipes.
    pub child: KillOnDrop,
    secrets: Vec<String>,
    /// The command line, to name what hung.
    what: String,
}

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Invocation {
    /// No connection settings and no token: a bare tool.
    pub fn bare() -> Invocation {
        Invocation::of(at_default_signals(BIN))
    }

    /// `command` (the tool, or a shell that runs it) with the tool's variables removed from its
    /// environment and an empty standard input.
    pub fn of(mut command: Command) -> Invocation {
        isolate(&mut command);
        Invocation {
            command,
            secrets: Vec::new(),
            stdin: None,
        }
    }

    /// With `agent`'s token in the environment, but no connection settings.
    pub fn authed(agent: &DevAgent) -> Invocation {
        Invocation::bare()
            .env("FELHOM_AGENT_TOKEN", agent.token())
            .secret(agent.token())
    }

    /// Pointed at `agent` with flags before the subcommand, and its token in the environment.
    pub fn to(agent: &DevAgent) -> Invocation {
        Invocation::authed(agent).at(agent)
    }

    /// Adds the flags that point at `agent`: its endpoint and its pin.
    pub fn at(self, agent: &DevAgent) -> Invocation {
        self.args(["--endpoint", &agent.endpoint()])
            .args(["--fingerprint", &agent.fingerprint().to_string()])
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Invocation {
        self.command.arg(arg);
        self
    }

    pub fn arg_path(mut self, path: &Path) -> Invocation {
        self.command.arg(path);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Invocation {
        self.command.env(key, value);
        self
    }

    /// Registers `s` as a token: it must appear in no argument and no output.
    pub fn secret(mut self, s: &str) -> Invocation {
        self.secrets.push(s.to_string());
        self
    }

    /// Feeds `s` to the tool's standard input, which is otherwise empty.
    pub fn stdin(mut self, s: &str) -> Invocation {
        self.stdin = Some(s.to_string());
        self
    }

    /// Runs the tool to its end.
    pub fn run(self) -> Outcome {
        self.spawn().finish()
    }

    /// Runs the tool, asserts that it succeeded, and returns its one line of JSON.
    #[track_caller]
    pub fn ok_json(self) -> Value {
        self.run().status(0).json()
    }

    /// Starts the tool and writes its standard input, for a test that acts on the running
    /// process before [`Running::finish`].
    pub fn spawn(mut self) -> Running {
        for arg in self.command.get_args() {
            let arg = arg.to_string_lossy();
            for secret in &self.secrets {
                assert!(
                    !arg.contains(secret.as_str()),
                    "a token was passed in argv: {arg:?}"
                );
            }
        }
        if self.stdin.is_some() {
            self.command.stdin(Stdio::piped());
        }
        let what = command_line(&self.command);
        let mut child = KillOnDrop(
            self.command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start felhom-agentctl"),
        );
        if let Some(input) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        Running {
            child,
            secrets: self.secrets,
            what,
        }
    }
}

impl Running {
    /// Waits for the tool to end, and checks that it printed no token and did not panic. A tool
    /// that has not ended within [`CHILD_LIMIT`] is killed, and so is a test whose tool ended
    /// while something it started still holds its output open past that limit.
    pub fn finish(mut self) -> Outcome {
        let mut stdout = Pipe::new(self.child.stdout.take());
        let mut stderr = Pipe::new(self.child.stderr.take());
        let Some(status) = wait_within(&mut self.child, CHILD_LIMIT) else {
            stdout.drain();
            stderr.drain();
            panic!(
                "{} did not end within {CHILD_LIMIT:?} and was killed; stdout so far: {:?}; \
                 stderr so far: {:?}",
                self.what,
                stdout.text(),
                stderr.text()
            );
        };
        let deadline = Instant::now() + CHILD_LIMIT;
        let stdout_closed = stdout.read_to_end(deadline);
        let stderr_closed = stderr.read_to_end(deadline);
        assert!(
            stdout_closed && stderr_closed,
            "{} ended ({status}), but its output stayed open {CHILD_LIMIT:?} longer (held by a \
             process it left running?): stdout {}: {:?}; stderr {}: {:?}",
            self.what,
            if stdout_closed { "closed" } else { "open" },
            stdout.text(),
            if stderr_closed { "closed" } else { "open" },
            stderr.text()
        );
        let outcome = Outcome {
            code: status.code(),
            stdout: String::from_utf8(stdout.into_bytes()).expect("stdout is UTF-8"),
            stderr: String::from_utf8(stderr.into_bytes()).expect("stderr is UTF-8"),
        };
        for secret in &self.secrets {
            assert!(
                !outcome.stdout.contains(secret.as_str()),
                "token on stdout: {outcome:?}"
            );
            assert!(
                !outcome.stderr.contains(secret.as_str()),
                "token on stderr: {outcome:?}"
            );
        }
        assert!(
            !outcome.stderr.contains("panicked"),
            "the tool panicked: {outcome:?}"
        );
        outcome
    }
}

impl Outcome {
    /// Asserts the exit status; on success also that stderr is empty, on failure that stderr
    /// carries the tool's message.
    pub fn status(self, code: i32) -> Outcome {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        if code == 0 {
            assert_eq!(self.stderr, "", "stderr on success: {self:#?}");
        } else {
            assert!(
                !self.stderr.is_empty(),
                "no message for status {code}: {self:#?}"
            );
        }
        self
    }

    /// Asserts a failure of the tool itself (not clap's): the message has the tool's prefix.
    pub fn failure(self, code: i32) -> Outcome {
        let outcome = self.status(code);
        assert!(
            outcome.stderr.starts_with("felhom-agentctl: "),
            "stderr lacks the prefix: {outcome:#?}"
        );
        outcome
    }

    /// Asserts only the exit status: for a success that prints notes or `-v` lines on stderr.
    #[track_caller]
    pub fn exit_status(self, code: i32) -> Outcome {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        self
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

    /// Asserts that standard error contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Outcome {
        assert!(self.stderr.contains(needle), "{self:#?}");
        self
    }

    /// Standard output as one line of JSON.
    pub fn json(&self) -> Value {
        let text = self
            .stdout
            .strip_suffix('\n')
            .expect("output ends with a newline");
        assert!(
            !text.contains('\n'),
            "JSON is not on one line: {:?}",
            self.stdout
        );
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

// ---- capabilities ---------------------------------------------------------------------------------

/// Whether a test can do what needs something of the machine: `ok` when the machine has it.
/// Without it the test notes `why` (what is missing, and what goes unchecked) and skips that
/// part; under CI (the `CI` variable set, as `.ci/run` provides everything) it fails instead,
/// so that a missing capability never passes for green.
#[track_caller]
pub fn capable(ok: bool, why: &str) -> bool {
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}; with CI set, every test must run"
        );
        println!("NOTE: {why}");
    }
    ok
}

/// `program`, started with every signal at its default action, as a terminal or
/// systemd starts the tool. A test run under `nohup`, or from a shell's `&`, inherits SIGHUP or
/// SIGINT ignored, and the tool rightly keeps ignored what it was started with
/// (`thaw_signals::a_sighup_ignored_at_start_stays_ignored_as_under_nohup`): the tests that stop
/// it with a signal would fail for the runner's sake, not the tool's.
pub fn at_default_signals(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new("env");
    command.arg("--default-signal").arg(program);
    command
}

/// Keeps `command` (the tool, or a shell that runs it) from the caller's environment: the
/// tool's variables removed, backup records in this test run's directory (never /var/lib; a
/// test that looks at them gives its own with `.env("STATE_DIRECTORY", ..)`), and an empty
/// standard input.
pub fn isolate(command: &mut Command) {
    for var in TOOL_ENV {
        command.env_remove(var);
    }
    command.env("STATE_DIRECTORY", shared_state_dir());
    command.stdin(Stdio::null());
}

/// The state directory every run gets unless its test sets one: one directory under Cargo's
/// scratch space for integration tests (`target/tmp`), kept between runs so nothing piles up
/// in /tmp. No test looks at the records there; those that do give their own directory.
pub fn shared_state_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("felhom-agentctl-state");
        fs::create_dir_all(&path).expect("create the shared state directory");
        // Whatever the umask: a directory others may write is refused as a record's home.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod 755");
        path
    })
    .clone()
}

/// A fresh directory for token files, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "felhom-agentctl-cli-test-{}-{n}",
            std::process::id()
        ));
        fs::create_dir(&path).expect("create temp dir");
        // 0755 whatever the umask: a backup record's directory must not be writable by others.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        TempDir(path)
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `contents` to a file with `mode`, and returns its path.
    pub fn file(&self, name: &str, contents: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.0.join(name);
        fs::write(&path, contents).expect("write token file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod token file");
        path
    }

    /// Makes a subdirectory with `mode`, and returns its path.
    pub fn dir(&self, name: &str, mode: u32) -> PathBuf {
        let path = self.0.join(name);
        fs::create_dir(&path).expect("create a subdirectory");
        chmod(&path, mode);
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Sets `path`'s permission bits to `mode`.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Makes a FIFO (named pipe) at `path`, as someone planting one would.
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// The requests the agent received, as `METHOD path`.
pub fn calls(agent: &DevAgent) -> Vec<String> {
    agent
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// The JSON body of the last request the agent received for `path`.
pub fn request_body(agent: &DevAgent, path: &str) -> Value {
    let requests = agent.requests();
    let request = requests
        .iter()
        .rev()
        .find(|r| r.path == path)
        .expect("the request was made");
    serde_json::from_slice(&request.body).expect("the request body is JSON")
}

/// Asserts that every request the agent received carried its token.
#[track_caller]
pub fn assert_every_request_authed(agent: &DevAgent) {
    let expected = format!("Bearer {}", agent.token());
    for request in agent.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(expected.as_str()),
            "{} {}",
            request.method,
            request.path
        );
    }
}

/// Asserts that the agent received no request at all.
#[track_caller]
pub fn assert_nothing_sent(agent: &DevAgent) {
    assert!(agent.requests().is_empty(), "sent {:?}", calls(agent));
}

/// A stand-in agent whose `GET /host/metrics` reports `profile`.
pub fn agent_with(profile: MetricsProfile) -> DevAgent {
    DevAgent::builder()
        .metrics_profile(profile)
        .start()
        .expect("the stand-in agent starts")
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
pub fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr.to_string()
}

/// The repository's root: the README and `contrib/` live there, two levels above this crate.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README, for the tests that hold it to the tool.
pub fn readme() -> String {
    fs::read_to_string(repo_root().join("README.md")).expect("README.md")
}
