//! Running `backup run` and its kin as a script would, and watching it: standard error read
//! line by line as it comes, every child killed if it has not ended within [`CHILD_LIMIT`], and
//! the token checked absent from every output.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use felhom_devagent::DevAgent;
use serde_json::Value;

use super::Sandbox;
use crate::harness::calls;

pub(crate) use crate::bounded::CHILD_LIMIT;
use crate::bounded::{KillOnDrop, Pipe, wait_within};
pub(crate) use crate::harness::BIN;
use crate::harness::at_default_signals;

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

/// A child being watched: standard error is read line by line as it comes. Dropped unfinished
/// (a test that panicked), the child is killed: no tool is left running with hooks frozen.
pub(crate) struct Running {
    pub(crate) child: KillOnDrop,
    /// The token in play: it must appear in no output.
    token: Option<String>,
    stdout: Pipe,
    stderr_pipe: Pipe,
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
        let mut child = KillOnDrop(command.spawn().expect("start felhom-agentctl"));
        let stdout = Pipe::new(child.stdout.take());
        let stderr_pipe = Pipe::new(child.stderr.take());
        Running {
            child,
            token,
            stdout,
            stderr_pipe,
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
            match self.stderr_pipe.next_line(deadline) {
                Some(line) => self.stderr.push(line),
                None => panic!("no {needle:?} on stderr: {:?}", self.stderr),
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

    /// Waits for the exit (killing the child past the limit) and collects the output, which
    /// must be closed within the limit too (a hook left running that holds it fails the test).
    pub(crate) fn finish(mut self) -> Ran {
        let Some(status) = wait_within(&mut self.child, CHILD_LIMIT) else {
            self.drain_stderr(Instant::now());
            panic!(
                "felhom-agentctl did not end within {CHILD_LIMIT:?} and was killed: {:?}",
                self.stderr
            );
        };
        let deadline = Instant::now() + CHILD_LIMIT;
        self.drain_stderr(deadline);
        assert!(
            self.stderr_pipe.is_closed(),
            "felhom-agentctl ended ({status}), but its stderr stayed open {CHILD_LIMIT:?} \
             longer (held by a hook it left running?): {:?}",
            self.stderr
        );
        assert!(
            self.stdout.read_to_end(deadline),
            "felhom-agentctl ended ({status}), but its stdout stayed open {CHILD_LIMIT:?} \
             longer (held by a hook it left running?): {:?}",
            self.stdout.text()
        );
        let ran = Ran {
            code: status.code(),
            stdout: self.stdout.text(),
            stderr: self.stderr.join("\n"),
        };
        println!("{ran:#?}");
        if let Some(token) = &self.token {
            assert!(!ran.stdout.contains(token.as_str()), "token on stdout");
            assert!(!ran.stderr.contains(token.as_str()), "token on stderr");
        }
        ran
    }

    /// Adds the lines of standard error that arrive until `deadline` or its end.
    fn drain_stderr(&mut self, deadline: Instant) {
        while let Some(line) = self.stderr_pipe.next_line(deadline) {
            self.stderr.push(line);
        }
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
