//! The stand-in agent and a library client of it, for tests that set a scene before running
//! the tool (a job already running, a pin to compare with).

use std::time::Duration;

use felhom_agentapi::{Client, Fingerprint};
use felhom_devagent::{BackupOutcome, DevAgent};

/// The stand-in agent's pin as the library's `Fingerprint` (the stand-in agent has a type of
/// its own, since it does not depend on the library).
pub trait Pinned {
    /// The SHA-256 of the served certificate.
    fn pin(&self) -> Fingerprint;
}

impl Pinned for DevAgent {
    fn pin(&self) -> Fingerprint {
        Fingerprint::from_bytes(*self.fingerprint().as_bytes())
    }
}

/// A stand-in agent with default settings.
pub fn agent() -> DevAgent {
    DevAgent::start().expect("the stand-in agent starts")
}

/// A stand-in agent whose one backup job has already failed with `error`.
pub fn failed_backup_agent(error: &str) -> DevAgent {
    let agent = DevAgent::builder()
        .backup_outcome(BackupOutcome::Failed(error.into()))
        .start()
        .expect("the stand-in agent starts");
    client(&agent).start_backup().expect("the backup starts");
    agent.finish_backup();
    agent
}

/// A stand-in agent whose backup jobs take `jobs`, then fail with `error`.
pub fn failing_agent(jobs: Duration, error: &str) -> DevAgent {
    DevAgent::builder()
        .backup_duration(jobs)
        .backup_outcome(BackupOutcome::Failed(error.into()))
        .start()
        .expect("the stand-in agent starts")
}

/// A library client of `agent`, pinned to its certificate.
pub fn client(agent: &DevAgent) -> Client {
    Client::new(&agent.endpoint(), agent.token(), agent.pin()).expect("a valid client")
}
