//! Running `backup run` and its kin as a script would, and watching it: standard error read
//! line by line as it comes, every child killed if it has not ended within [`CHILD_LIMIT`], and
//! the token checked absent from every output.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use felhom_devagent::DevAgent;
use serde_json::Value;

use super::Sandbox;
use crate::harness::calls;

pub(crate) use crate::harness::BIN;
use crate::harness::at_default_signals;

/// How long any child, line or file is waited for before the test fails.
pub(crate) const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// A job that ends on its own, quickly.
pub(crate) const SHORT_JOB: Duration = Duration::from_millis(200);
/// A job that only the test ends.
pub(crate) const ENDLESS_JOB: Duration = Duration::from_secs(600);

/// The tool kept from the caller's environment ([`crate::harness::isolate`]), with its output
/// piped: no agent, no token.
pub(crate) fn bare_tool() -> Command {
    let mut command = Command::new(BIN);
    crate::harness::isolate(&mut command);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// The tool pointed at `agent`, with its token in the environment.
pub(crate) fn tool(agent: &DevAgent) -> Command {
    let mut command = bare_tool();
    command
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .args(["--endpoint", &agent.endpoint()])
        .args(["--fingerprint", &agent.fingerprint().to_string()]);
    command
}

/// `backup run`, polling fast, with the sandbox's lock.
pub(crate) fn backup_run(agent: &DevAgent, sandbox: &Sandbox) -> Command {
    let mut command = tool(agent);
    command
        .args(["backup", "run", "--poll", "20ms", "--lock"])
        .arg(sandbox.lock());
    command
}

/// `backup thaw` with the sandbox's lock; no agent is needed.
pub(crate) fn backup_thaw(sandbox: &Sandbox) -> Command {
    let mut command = bare_tool();
    command
        .args(["backup", "thaw", "--lock"])
        .arg(sandbox.lock());
    command
}

/// What a finished run left behind.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ran {
    pub(crate) fn json(&self) -> Value {
        let text = self.stdout.trim_end();
        assert!(!text.contains('\n'), "JSON is not on one line: {self:#?}");
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// Asserts that standard error contains `needle`.
    #[track_caller]
    pub(crate) fn stderr_has(&self, needle: &str) -> &Ran {
        assert!(self.stderr.contains(needle), "{self:#?}");
        self
    }

    pub(crate) fn status(self, code: i32) -> Ran {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        assert!(
            !self.stderr.contains("panicked"),
            "the tool panicked: {self:#?}"
        );
        self
    }
}

/// A child being watched: standard error is read line by line as it comes.
pub(crate) struct Running {
    pub(crate) child: Child,
    /// The token in play: it must appear in no output.
    token: Option<String>,
    pub(crate) stdout: thread::JoinHandle<String>,
    stderr_lines: mpsc::Receiver<String>,
    pub(crate) stderr: Vec<String>,
}

impl Running {
    pub(crate) fn spawn(command: Command) -> Running {
        let mut command = {
            let mut started = at_default_signals(command.get_program());
            started.args(command.get_args());
            crate::frozen::like(&command, started.get_program(), started.get_args())
        };
        let token = command
            .get_envs()
            .find(|(k, _)| *k == "FELHOM_AGENT_TOKEN")
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned());
        let mut child = command.spawn().expect("start felhom-agentctl");
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let err = child.stderr.take().unwrap();
        let (tx, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            token,
            stdout,
            stderr_lines,
            stderr: Vec::new(),
        }
    }

    /// Registers `token` as the token in play: it must appear in no output.
    pub(crate) fn secret(mut self, token: &str) -> Running {
        self.token = Some(token.to_string());
        self
    }

    /// Waits until standard error has a line containing `needle`.
    pub(crate) fn wait_for_stderr(&mut self, needle: &str) {
        let deadline = Instant::now() + CHILD_LIMIT;
        while !self.stderr.iter().any(|l| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(_) => panic!("no {needle:?} on stderr: {:?}", self.stderr),
            }
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the exit (killing the child past the limit) and collects the output.
    pub(crate) fn finish(mut self) -> Ran {
        let deadline = Instant::now() + CHILD_LIMIT;
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("felhom-agentctl did not end: {:?}", self.stderr);
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.stderr.extend(self.stderr_lines.iter());
        let ran = Ran {
            code,
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr.join("\n"),
        };
        println!("{ran:#?}");
        if let Some(token) = &self.token {
            assert!(!ran.stdout.contains(token.as_str()), "token on stdout");
            assert!(!ran.stderr.contains(token.as_str()), "token on stderr");
        }
        ran
    }
}

pub(crate) fn run(command: Command) -> Ran {
    Running::spawn(command).finish()
}

pub(crate) fn agent_with_jobs_of(duration: Duration) -> DevAgent {
    DevAgent::builder()
        .backup_duration(duration)
        .start()
        .unwrap()
}

pub(crate) fn posts(agent: &DevAgent) -> usize {
    calls(agent).iter().filter(|c| *c == "POST /backup").count()
}
