//! Helpers shared by the test binaries that talk to the stand-in agent.
//!
//! A module, not a test target: Cargo builds only `tests/*.rs` and `tests/*/main.rs` as test
//! binaries. A binary at the top of `tests/` includes it with `mod common;`, one in a folder
//! with `#[path = "../common/mod.rs"] mod common;`.
#![allow(dead_code, reason = "each test binary uses only some of these")]

pub mod shell;

use std::fmt::Display;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use felhom_agentapi::{Client, ClientBuilder, Error, Fingerprint, TimeoutStage};
use felhom_devagent::{BackupOutcome, DevAgent, Identity};

/// The pin of a stand-in agent (or of an identity it serves) as the library's `Fingerprint`.
///
/// The stand-in agent does not depend on the library, so it has a fingerprint type of its own;
/// this is the one conversion between the two, from the raw digest bytes.
pub trait Pinned {
    /// The SHA-256 of the served certificate.
    fn pin(&self) -> Fingerprint;
}

impl Pinned for DevAgent {
    fn pin(&self) -> Fingerprint {
        Fingerprint::from_bytes(*self.fingerprint().as_bytes())
    }
}

impl Pinned for Identity {
    fn pin(&self) -> Fingerprint {
        Fingerprint::from_bytes(*self.fingerprint().as_bytes())
    }
}

/// A stand-in agent with default settings.
pub fn agent() -> DevAgent {
    DevAgent::start().expect("the stand-in agent starts")
}

/// A stand-in agent whose backup jobs take `duration` and succeed.
pub fn agent_with_jobs_of(duration: Duration) -> DevAgent {
    DevAgent::builder()
        .backup_duration(duration)
        .start()
        .expect("the stand-in agent starts")
}

/// A stand-in agent whose backup jobs take `duration` and then fail for `reason`.
pub fn agent_with_failing_jobs(duration: Duration, reason: &str) -> DevAgent {
    DevAgent::builder()
        .backup_duration(duration)
        .backup_outcome(BackupOutcome::Failed(reason.into()))
        .start()
        .expect("the stand-in agent starts")
}

/// The requests `agent` received, as `METHOD /path`, in order.
pub fn paths(agent: &DevAgent) -> Vec<String> {
    agent
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A builder for a client of `agent`, pinned to its certificate.
pub fn builder(agent: &DevAgent) -> ClientBuilder {
    Client::builder(&agent.endpoint(), agent.token(), agent.pin())
}

/// A client of `agent` with default settings.
pub fn client(agent: &DevAgent) -> Client {
    builder(agent)
        .build()
        .expect("a valid client configuration")
}

/// A client of `agent` whose calls give up after `limit`: for faults that stall the agent.
pub fn client_with_timeout(agent: &DevAgent, limit: Duration) -> Client {
    builder(agent)
        .timeout(limit)
        .build()
        .expect("a valid client configuration")
}

/// Says that this machine lacks what a check needs (`why`), so the caller returns having
/// checked nothing: a note elsewhere, but a failure under CI (the `CI` environment variable
/// set), where every check must run.
#[track_caller]
pub fn cannot_check(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: under CI this check must run"
    );
    eprintln!("NOTE: {why}; checked nothing here (under CI this fails)");
}

/// A well-formed pin that no server in the tests presents.
pub fn any_pin() -> String {
    Fingerprint::of_der(b"no certificate will ever be presented").to_string()
}

/// Asserts that `shown` (an error, a refusal), as displayed, says `text`.
pub fn assert_says(shown: &impl Display, text: &str) {
    let shown = shown.to_string();
    assert!(shown.contains(text), "{shown:?} does not say {text:?}");
}

/// Asserts that `err` is a timeout while waiting for `stage`, naming the `limit` that fired.
pub fn assert_timeout(err: &Error, stage: TimeoutStage, limit: Duration) {
    match err {
        Error::Timeout {
            stage: s, limit: l, ..
        } => assert_eq!((s, *l), (&stage, limit), "{err:?}"),
        other => panic!("expected a timeout of {stage:?}, got {other:?}"),
    }
}

/// Runs `command` to its end and collects its output, as `Command::output` does, with stdin
/// closed; if it is still running after `limit`, kills it and panics naming `what`.
#[track_caller]
pub fn output_within(command: &mut Command, limit: Duration, what: &str) -> Output {
    let deadline = Instant::now() + limit;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} did not start: {e}"));
    // Both pipes drain on threads of their own, so that a full one cannot stall the child.
    let (sender, drained) = mpsc::channel();
    let drain = |mut pipe: Box<dyn Read + Send>, index: usize| {
        let sender = sender.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = sender.send((index, bytes));
        });
    };
    drain(Box::new(child.stdout.take().unwrap()), 0);
    drain(Box::new(child.stderr.take().unwrap()), 1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} was still running after {limit:?}: killed");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let mut pipes = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        // A process the child left behind may hold a pipe open past its end.
        let left = deadline.saturating_duration_since(Instant::now());
        let (index, bytes) = drained.recv_timeout(left).unwrap_or_else(|_| {
            panic!("{what} ended, but its output was still open after {limit:?}")
        });
        pipes[index] = bytes;
    }
    let [stdout, stderr] = pipes;
    Output {
        status,
        stdout,
        stderr,
    }
}
