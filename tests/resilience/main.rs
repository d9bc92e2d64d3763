//! Resilience of the client against an agent that misbehaves, goes away, comes back, or closes
//! connections under it: every call ends in success or the right typed error, no request is
//! ever sent twice, and a client keeps working after any fault.
//!
//! One test binary with a module per concern. The soak measures the process's file descriptors
//! and memory, so it runs alone: every other test holds [`shared`], the soak holds
//! [`exclusive`].

#[path = "../common/mod.rs"]
mod common;

mod churn;
mod connect;
mod fate;
mod idle;
mod recovery;
mod soak;

use std::io;
use std::net::SocketAddr;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use felhom_agentapi::{Error, TimeoutStage};
use felhom_devagent::{DevAgent, DevAgentBuilder, Identity};

pub use common::{Pinned, any_pin, builder, client};

static SERIAL: RwLock<()> = RwLock::new(());

/// Held by every test but the soak, which must not see other tests' sockets and threads.
pub fn shared() -> RwLockReadGuard<'static, ()> {
    SERIAL.read().unwrap_or_else(PoisonError::into_inner)
}

/// Held by the soak: no other test of this binary runs meanwhile.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    SERIAL.write().unwrap_or_else(PoisonError::into_inner)
}

/// An agent builder whose backup jobs end at once, so `start_backup` can be called again and
/// again without a 409 for a job still running.
pub fn agent_builder() -> DevAgentBuilder {
    DevAgent::builder().backup_duration(Duration::ZERO)
}

/// An agent from [`agent_builder`].
pub fn agent() -> DevAgent {
    agent_builder().start().expect("the stand-in agent starts")
}

/// Polls `condition` every 10 ms for up to 5 s; fails the test naming `what` if it never holds.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "still not true after 5 s: {what}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the agent has closed every connection (idle timeout, `close_idle_connections`,
/// or the client hanging up), so that the client's pool holds only dead connections.
pub fn wait_all_closed(agent: &DevAgent) {
    wait_until("the agent has no open connection", || {
        agent.stats().open_connections == 0
    });
}

/// Lets the agent close every idle connection and waits until it has: the client's pool then
/// holds only dead connections, and its next call handshakes.
pub fn drop_pooled_connections(agent: &DevAgent) {
    agent.close_idle_connections();
    wait_all_closed(agent);
}

/// Starts an agent at `addr` with the given identity and token: the same agent, restarted.
///
/// The port was free a moment ago, but another socket of this machine may briefly hold it (as
/// the local port of an outgoing connection): retry binding for a bounded time.
pub fn start_at(identity: &Identity, addr: SocketAddr, token: &str) -> DevAgent {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let started = agent_builder()
            .identity(identity.clone())
            .token(token)
            .bind(addr)
            .start();
        match started {
            Ok(agent) => return agent,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("restarting the agent at {addr} failed: {e}"),
        }
    }
}

/// Stops `agent` and starts it again on the same port, with the same certificate and token.
pub fn restart(agent: DevAgent) -> DevAgent {
    let (identity, addr, token) = (agent.identity(), agent.addr(), agent.token().to_string());
    drop(agent);
    start_at(&identity, addr, &token)
}

/// Requests the agent recorded for `method path`.
pub fn recorded(agent: &DevAgent, method: &str, path: &str) -> usize {
    agent
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

/// The broad class of a call's outcome, for counting.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Ok,
    Http(u16),
    Agent,
    Decode,
    Io,
    PinMismatch,
    Tls,
    Connect,
    TimeoutConnect,
    TimeoutExchange,
    TooLarge,
    /// Anything else, with its `Debug`.
    Unexpected(String),
}

impl Outcome {
    pub fn of<T>(result: &Result<T, Error>) -> Outcome {
        let Err(err) = result else {
            return Outcome::Ok;
        };
        match err {
            Error::Http { status, .. } => Outcome::Http(*status),
            Error::Agent { .. } => Outcome::Agent,
            Error::Decode { .. } => Outcome::Decode,
            Error::Io { .. } => Outcome::Io,
            Error::PinMismatch { .. } => Outcome::PinMismatch,
            Error::Tls { .. } => Outcome::Tls,
            Error::Connect { .. } => Outcome::Connect,
            Error::Timeout {
                stage: TimeoutStage::Connect,
                ..
            } => Outcome::TimeoutConnect,
            Error::Timeout {
                stage: TimeoutStage::Exchange,
                ..
            } => Outcome::TimeoutExchange,
            Error::ResponseTooLarge { .. } => Outcome::TooLarge,
            other => Outcome::Unexpected(format!("{other:?}")),
        }
    }
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable")
        .count()
}

/// Resident memory of this process, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}
