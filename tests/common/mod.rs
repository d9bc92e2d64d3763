//! Helpers shared by the test binaries that talk to the stand-in agent.
//!
//! A module, not a test target: Cargo builds only `tests/*.rs` and `tests/*/main.rs` as test
//! binaries. A binary at the top of `tests/` includes it with `mod common;`, one in a folder
//! with `#[path = "../common/mod.rs"] mod common;`.
#![allow(dead_code, reason = "each test binary uses only some of these")]

pub mod shell;

use std::fmt::Display;
use std::time::Duration;

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
