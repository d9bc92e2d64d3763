//! A stand-in Felhom host agent: a real HTTPS server on the loopback interface, for tests and
//! demos.
//!
//! [`DevAgent`] serves the agent's per-guest API (`/storage`, `/backup/due`, `/backup`,
//! `/backup/status`, `/disks`, `/disks/assign`, `/disks/eject`, `/disks/format`,
//! `/host/metrics`) the way the real agent does: over TLS with a self-signed certificate that the
//! client must pin by the SHA-256 of its DER ([`DevAgent::fingerprint`]), for requests carrying
//! `Authorization: Bearer <token>` ([`DevAgent::token`]), with answers in the agent's
//! `{"ok":…,"data":…,"error":…}` envelope and the Go reference client's JSON field names. The
//! fake guest is vmid 101.
//!
//! On demand it misbehaves ([`Fault`]): error statuses, bodies that are not JSON or have the
//! wrong shape, oversized, truncated or stalled bodies, bodies cut without a `close_notify`,
//! dropped connections, kept-alive connections closed only when reused (as lighttpd does),
//! redirects, and handshakes that present another certificate or sign with the wrong key. [`DevAgent::stats`]
//! and [`DevAgent::requests`] show what the client really did: connections, handshakes,
//! requests, headers and bodies.
//!
//! It binds nothing but loopback addresses, stops when dropped, and stops by itself after
//! [`DevAgentBuilder::max_lifetime`], so a leaked server cannot outlive a test run for long.
//!
//! ```
//! use std::net::TcpStream;
//! use std::time::{Duration, Instant};
//!
//! use felhom_devagent::{DevAgent, Fault};
//!
//! let agent = DevAgent::start()?;
//! println!("FELHOM_AGENT_ENDPOINT={}", agent.endpoint());
//! println!("FELHOM_AGENT_FINGERPRINT={}", agent.fingerprint());
//! assert_eq!(agent.fingerprint(), agent.identity().fingerprint());
//!
//! // Every request the client sends from now on is answered with HTTP 503.
//! agent.set_fault(Fault::Status(503));
//!
//! // Connections are counted as they are accepted, on the server's own thread.
//! let _tcp = TcpStream::connect(agent.addr())?;
//! let started = Instant::now();
//! while agent.stats().connections == 0 && started.elapsed() < Duration::from_secs(5) {
//!     std::thread::sleep(Duration::from_millis(5));
//! }
//! assert_eq!(agent.stats().connections, 1);
//!
//! agent.shutdown(); // dropping it does the same
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Layers, lowest first. Each module uses only modules listed above it, so imports run one way;
// lib.rs is the top: it defines `DevAgent` and its builder and re-exports the public types, and
// no module uses it. The `layering` test checks this list against the code.
//
//   control      -                                          (threads: lock, POLL, stop, phases)
//   http         -                                          (HTTP/1.1 parsing and framing)
//   inventory    -                                          (the fake host's fixed data)
//   metrics      -                                          (GET /host/metrics, in profiles)
//   pin          -                                          (CertFingerprint: the pin to give a client)
//   envelope     http                                       (the agent's JSON envelope)
//   record       http                                       (Stats, RecordedRequest)
//   fault        control envelope http                      (Fault, and what it does)
//   backup       envelope http inventory                    (backup jobs: time, outcome, due)
//   routes       backup envelope http inventory metrics     (the endpoints and their state)
//   tls          fault pin                                  (Identity, KeyKind, rustls)
//   shared       control fault metrics record routes        (what all threads share)
//   connection   control envelope fault http record shared  (one connection's thread)
//   server       connection control fault routes shared     (listener, accept loop, shutdown)
//   lib.rs       backup fault metrics pin record routes server tls (DevAgent, builder, re-exports)

mod backup;
mod connection;
mod control;
mod envelope;
mod fault;
mod http;
mod inventory;
mod metrics;
mod pin;
mod record;
mod routes;
mod server;
mod shared;
mod tls;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use backup::BackupOutcome;
pub use fault::Fault;
pub use metrics::MetricsProfile;
pub use pin::CertFingerprint;
pub use record::{RecordedRequest, Stats};
pub use tls::{Identity, KeyKind, TlsVersions};

/// A running stand-in agent: an HTTPS server on `127.0.0.1` that plays the Felhom host agent.
///
/// Dropping it (or calling [`DevAgent::shutdown`]) stops the server: the listener closes, open
/// connections are closed and the server's threads are joined, in well under two seconds even
/// with requests in flight.
///
/// `Debug` shows the address and the pin but never the token.
///
/// ```
/// use felhom_devagent::DevAgent;
///
/// let agent = DevAgent::builder().token("s3cret").start()?;
/// assert_eq!(agent.token(), "s3cret");
/// assert!(agent.endpoint().starts_with("127.0.0.1:"));
/// assert!(!format!("{agent:?}").contains("s3cret"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DevAgent {
    token: String,
    identity: Identity,
    fingerprint: CertFingerprint,
    server: server::Server,
}

impl DevAgent {
    /// Starts an agent with every default: a random token, a fresh ECDSA P-256 certificate,
    /// TLS 1.2 and 1.3, and a free port on `127.0.0.1`.
    pub fn start() -> io::Result<DevAgent> {
        DevAgent::builder().start()
    }

    /// A builder for an agent with a chosen token, certificate, port, TLS versions or behaviour.
    pub fn builder() -> DevAgentBuilder {
        DevAgentBuilder::default()
    }

    /// The `host:port` the agent listens on, e.g. `127.0.0.1:40123`: what the client dials.
    pub fn endpoint(&self) -> String {
        self.server.addr().to_string()
    }

    /// The socket address the agent listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The bearer token it accepts; any other `Authorization` gets HTTP 401.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The SHA-256 of the certificate it serves (unless a handshake fault says otherwise): the
    /// pin a client must be configured with.
    pub fn fingerprint(&self) -> CertFingerprint {
        self.fingerprint
    }

    /// Its certificate and private key, to start another agent with the same pin, for instance
    /// a "restarted" agent on the same port ([`DevAgentBuilder::identity`],
    /// [`DevAgentBuilder::bind`]).
    pub fn identity(&self) -> Identity {
        self.identity.clone()
    }

    /// Injects `fault` into every following request (or handshake, for [`Fault::WrongKey`] and
    /// [`Fault::OtherCert`]) until [`DevAgent::clear_fault`], including requests on connections
    /// that are already open. Setting a fault restarts a [`Fault::Cycle`] at its first entry.
    pub fn set_fault(&self, fault: Fault) {
        self.server.shared().faults.set(Some(fault));
    }

    /// Switches what `GET /host/metrics` reports, for every following request.
    pub fn set_metrics_profile(&self, profile: MetricsProfile) {
        self.server.shared().set_metrics_profile(profile);
    }

    /// Injects `fault` into every following request for `path` alone (compared without any
    /// `?query`), until [`DevAgent::clear_fault`]: for instance only `GET /backup/status`, so
    /// that a test breaks the polls of a backup but not its start. It takes precedence over a
    /// fault set with [`DevAgent::set_fault`] for that path. A [`Fault::Cycle`] counts only the
    /// requests for `path`. Handshakes come before any path is known, so handshake faults
    /// ([`Fault::WrongKey`], [`Fault::OtherCert`]) have no effect here.
    ///
    /// ```
    /// use felhom_devagent::{DevAgent, Fault};
    ///
    /// let agent = DevAgent::start()?;
    /// // The first status poll is answered, every later one is dropped; other paths answer.
    /// agent.set_fault_on("/backup/status", Fault::Cycle(vec![None, Some(Fault::Drop)]));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_fault_on(&self, path: &str, fault: Fault) {
        self.server.shared().faults.set_on(path, fault);
    }

    /// Goes back to answering normally, on every path.
    pub fn clear_fault(&self) {
        self.server.shared().faults.set(None);
        self.server.shared().faults.clear_paths();
    }

    /// How backup jobs started from now on end.
    ///
    /// ```
    /// use felhom_devagent::{BackupOutcome, DevAgent};
    ///
    /// let agent = DevAgent::start()?;
    /// agent.set_backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_backup_outcome(&self, outcome: BackupOutcome) {
        self.server.shared().agent().backups().set_outcome(outcome);
    }

    /// Ends the backup job that is running now, at once, as its outcome says (no effect when
    /// none runs): for tests that must not depend on how long a job takes.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use felhom_devagent::DevAgent;
    /// use felhom_agentapi::Client;
    /// use felhom_agentapi::wire::BackupPhase;
    ///
    /// let agent = DevAgent::builder().backup_duration(Duration::from_secs(3600)).start()?;
    /// let client = Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
    /// client.start_backup()?;
    /// assert_eq!(client.backup_status()?.phase, BackupPhase::Running);
    /// agent.finish_backup();
    /// assert_eq!(client.backup_status()?.phase, BackupPhase::Done);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish_backup(&self) {
        self.server.shared().agent().backups().finish();
    }

    /// Resets the backup schedule: `GET /backup/due` says `due` from now on, until a job ends
    /// `done` (or says not due, with `false`).
    pub fn set_backup_due(&self, due: bool) {
        self.server.shared().agent().backups().set_due(due);
    }

    /// Counters of connections, handshakes and requests so far.
    pub fn stats(&self) -> Stats {
        self.server.shared().stats()
    }

    /// Every request received so far, oldest first. The log keeps the last 10 000 requests (and
    /// drops the oldest ones earlier if their bodies add up to more than 64 MiB).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.shared().requests()
    }

    /// Closes every kept-alive connection that is waiting for its next request, as the real agent
    /// does when its idle timeout fires or it restarts: each gets a TLS `close_notify`, then a
    /// TCP FIN. A connection counts as waiting once its handshake is complete and no byte of its
    /// next request has arrived. Returns once those connections are closed (at most about two
    /// seconds); connections busy with a request are left alone.
    pub fn close_idle_connections(&self) {
        self.server.close_idle_connections();
    }

    /// Stops the server now; dropping the agent does the same.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl fmt::Debug for DevAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevAgent")
            .field("addr", &self.server.addr())
            .field("fingerprint", &self.fingerprint)
            .field("key_kind", &self.identity.key_kind())
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// How long a backup job of a [`DevAgent`] runs unless set otherwise: 200 ms.
pub const DEFAULT_BACKUP_DURATION: Duration = Duration::from_millis(200);

/// Configures and starts a [`DevAgent`].
///
/// ```
/// use std::time::Duration;
///
/// use felhom_devagent::{BackupOutcome, DevAgent, KeyKind, TlsVersions};
///
/// let agent = DevAgent::builder()
///     .token("t0ken")
///     .key_kind(KeyKind::EcdsaP384)
///     .tls_versions(TlsVersions::Tls13Only)
///     .backup_duration(Duration::from_millis(500))
///     .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
///     .backup_due(false)
///     .host_scope("pve-test-7")
///     .idle_timeout(Duration::from_secs(5))
///     .max_lifetime(Duration::from_secs(60))
///     .start()?;
/// assert_eq!(agent.identity().key_kind(), KeyKind::EcdsaP384);
///
/// // Anything but a loopback address is refused.
/// let err = DevAgent::builder().bind("0.0.0.0:0".parse().unwrap()).start().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct DevAgentBuilder {
    token: Option<RedactedToken>,
    key_kind: KeyKind,
    identity: Option<Identity>,
    tls_versions: TlsVersions,
    bind: SocketAddr,
    backup_duration: Duration,
    backup_outcome: BackupOutcome,
    backup_due: bool,
    host_scope: String,
    metrics_profile: MetricsProfile,
    formatted_fs_uuid: Option<String>,
    idle_timeout: Duration,
    max_lifetime: Duration,
}

/// A token set on the builder: its `Debug` shows `"[redacted]"`, never the token.
struct RedactedToken(String);

impl fmt::Debug for RedactedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt("[redacted]", f)
    }
}

/// The filesystem UUID that formatting the blank fixture disk `/dev/sdc` gives it, unless
/// [`DevAgentBuilder::formatted_fs_uuid`] says otherwise.
pub const FORMATTED_FS_UUID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";

impl Default for DevAgentBuilder {
    fn default() -> Self {
        DevAgentBuilder {
            token: None,
            key_kind: KeyKind::EcdsaP256,
            identity: None,
            tls_versions: TlsVersions::Both,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            backup_duration: DEFAULT_BACKUP_DURATION,
            backup_outcome: BackupOutcome::Done,
            backup_due: true,
            host_scope: "pve-dev-1".to_owned(),
            metrics_profile: MetricsProfile::default(),
            formatted_fs_uuid: Some(FORMATTED_FS_UUID.to_owned()),
            idle_timeout: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(600),
        }
    }
}

impl DevAgentBuilder {
    /// The builder with one setting changed by `set`: the body of every setter below.
    fn with(mut self, set: impl FnOnce(&mut Self)) -> Self {
        set(&mut self);
        self
    }

    /// The bearer token to accept. Default: a random `devagent-<32 hex digits>`. It must be
    /// something a client can send: not empty, no surrounding white space, no control
    /// characters.
    pub fn token(self, t: impl Into<String>) -> Self {
        self.with(|b| b.token = Some(RedactedToken(t.into())))
    }

    /// The type of key for a freshly generated certificate. Default: [`KeyKind::EcdsaP256`].
    pub fn key_kind(self, k: KeyKind) -> Self {
        self.with(|b| b.key_kind = k)
    }

    /// Serves this certificate and key instead of generating them; overrides
    /// [`DevAgentBuilder::key_kind`].
    pub fn identity(self, id: Identity) -> Self {
        self.with(|b| b.identity = Some(id))
    }

    /// Which TLS versions to accept. Default: [`TlsVersions::Both`].
    pub fn tls_versions(self, v: TlsVersions) -> Self {
        self.with(|b| b.tls_versions = v)
    }

    /// Where to listen. Default: `127.0.0.1:0` (a free port). [`DevAgentBuilder::start`] refuses
    /// any address that is not a loopback one with [`io::ErrorKind::InvalidInput`].
    pub fn bind(self, addr: SocketAddr) -> Self {
        self.with(|b| b.bind = addr)
    }

    /// How long a backup job runs: `GET /backup/status` says `running` for this long after
    /// `POST /backup`, however often it is asked, and `POST /backup` is refused with HTTP 409
    /// meanwhile. [`Duration::ZERO`] makes jobs that have ended by the first poll. Default:
    /// [`DEFAULT_BACKUP_DURATION`].
    pub fn backup_duration(self, d: Duration) -> Self {
        self.with(|b| b.backup_duration = d)
    }

    /// How backup jobs end. Default: [`BackupOutcome::Done`]. [`DevAgent::set_backup_outcome`]
    /// changes it later.
    pub fn backup_outcome(self, o: BackupOutcome) -> Self {
        self.with(|b| b.backup_outcome = o)
    }

    /// Whether `GET /backup/due` says a backup is due at the start. Default: true. A job that
    /// ends `done` makes it false, until [`DevAgent::set_backup_due`].
    pub fn backup_due(self, due: bool) -> Self {
        self.with(|b| b.backup_due = due)
    }

    /// The `host_scope` of the `pending_op` in a refused `POST /disks/format`. Default:
    /// `pve-dev-1`. Sent verbatim (JSON-escaped), so tests can pass hostile strings.
    pub fn host_scope(self, s: impl Into<String>) -> Self {
        self.with(|b| b.host_scope = s.into())
    }

    /// What `GET /host/metrics` reports. Default: [`MetricsProfile::Healthy`].
    pub fn metrics_profile(self, p: MetricsProfile) -> Self {
        self.with(|b| b.metrics_profile = p)
    }

    /// The filesystem UUID that `GET /disks` shows for the blank disk `/dev/sdc` once
    /// `POST /disks/format` formatted it (its `durable_id` becomes `uuid:<this>`, and
    /// `POST /disks/assign` accepts it). `None` keeps showing its by-id name, as an agent that
    /// has not seen the new filesystem yet would. Default: [`FORMATTED_FS_UUID`].
    pub fn formatted_fs_uuid(self, uuid: Option<String>) -> Self {
        self.with(|b| b.formatted_fs_uuid = uuid)
    }

    /// How long a connection may wait for its next request (or stall inside one, or in its
    /// handshake) before the agent closes it. Default: 30 s.
    pub fn idle_timeout(self, d: Duration) -> Self {
        self.with(|b| b.idle_timeout = d)
    }

    /// The agent stops by itself this long after it started, even if it is never dropped, so
    /// that a leaked test server does not live forever. Default: 10 minutes.
    pub fn max_lifetime(self, d: Duration) -> Self {
        self.with(|b| b.max_lifetime = d)
    }

    /// Generates what is missing (token, certificate), binds the listener and starts serving.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] if the bind address is not a loopback one, or the token
    /// could never arrive intact in an HTTP header (empty, surrounded by white space, or holding
    /// control characters); otherwise whatever binding the socket or starting a thread returns.
    pub fn start(self) -> io::Result<DevAgent> {
        if !self.bind.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "devagent binds only loopback addresses, not {}",
                    self.bind.ip()
                ),
            ));
        }
        let identity = self
            .identity
            .unwrap_or_else(|| Identity::generate(self.key_kind));
        let token = self.token.map_or_else(tls::random_token, |t| t.0);
        // HTTP trims white space around header values and cannot carry control characters, so
        // such a token could never be presented: refuse it rather than reject every request.
        if token.is_empty() || token.trim() != token || token.chars().any(|c| c.is_control()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "devagent token must be non-empty, without surrounding white space or control characters",
            ));
        }
        let faults = Arc::new(fault::FaultSlot::default());
        let tls_config = tls::server_config(&identity, self.tls_versions, Arc::clone(&faults))?;
        let agent = routes::Agent::new(routes::Settings {
            token: token.clone(),
            host_scope: self.host_scope,
            formatted_fs_uuid: self.formatted_fs_uuid,
            backup_duration: self.backup_duration,
            backup_outcome: self.backup_outcome,
            metrics_profile: self.metrics_profile,
            backup_due: self.backup_due,
        });
        let server = server::Server::start(server::Config {
            bind: self.bind,
            tls: tls_config,
            agent,
            faults,
            idle_timeout: self.idle_timeout,
            max_lifetime: self.max_lifetime,
        })?;
        Ok(DevAgent {
            token,
            fingerprint: identity.fingerprint(),
            identity,
            server,
        })
    }
}

#[cfg(test)]
#[path = "../../../src/layering.rs"] // the library's checker, shared
mod layering;
#[cfg(test)]
mod tests;
