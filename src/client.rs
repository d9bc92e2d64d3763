//! The client: configuration, and one plain method per endpoint.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use ureq::http::HeaderValue;

use crate::Fingerprint;
use crate::answer::Judge;
use crate::call::{Call, FORMAT_DISK};
use crate::endpoint;
use crate::error::Error;
use crate::fingerprint::IntoPin;
use crate::fingerprint::sealed::PinSource;
use crate::observe::{Hook, Observer};
use crate::redact::REDACTED;
use crate::request::{Sender, Settings};
use crate::wire::{
    BackupResponse, DisksResponse, DueResponse, EjectResult, FormatResult, HostMetricsResponse,
    StatusResponse, StorageResponse,
};

/// A blocking client for one agent endpoint, pinned to the agent's certificate.
///
/// `Client` is cheap to clone, and `Send + Sync`: clones share one pool of kept-alive
/// connections, so threads can share a client and sequential calls reuse one TLS connection.
/// Every method blocks until the answer arrives or a time limit runs out (15 s for the whole
/// call and 5 s for connect plus handshake by default; see [`ClientBuilder`]).
///
/// ```
/// # let agent = felhom_devagent::DevAgent::start()?;
/// # let (endpoint, token, pin) = (agent.endpoint(), agent.token().to_string(), agent.fingerprint().to_string());
/// use felhom_agentapi::Client;
///
/// let client = Client::new(&endpoint, &token, &pin)?;
/// for mount in client.storage()?.mounts {
///     println!("{} at {}", mount.storage, mount.mount_point);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    sender: Sender,
    token: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sender = &self.inner.sender;
        let (timeout, connect_timeout) = sender.timeouts();
        f.debug_struct("Client")
            .field("endpoint", &sender.endpoint())
            .field("token", &REDACTED)
            .field("pins", &sender.pins())
            .field("timeout", &timeout)
            .field("connect_timeout", &connect_timeout)
            .finish()
    }
}

/// Configures a [`Client`]. Made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use felhom_agentapi::Client;
///
/// let old = "1f".repeat(32);
/// let new = "2e".repeat(32);
/// let client = Client::builder("10.0.0.1:8443", "per-guest-token", &old)
///     .also_pin(&new) // accept the next certificate too, during a rotation
///     .timeout(Duration::from_secs(30))
///     .connect_timeout(Duration::from_secs(3))
///     .build()?;
/// assert_eq!(client.pins().len(), 2);
/// # Ok::<(), felhom_agentapi::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    endpoint: String,
    token: String,
    pins: Vec<PinSource>,
    timeout: Duration,
    connect_timeout: Duration,
    max_idle_connections: usize,
    idle_timeout: Duration,
    hook: Hook,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("token", &REDACTED)
            .field("pins", &self.pins)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_idle_connections", &self.max_idle_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("observer", &self.hook)
            .finish()
    }
}

/// What is wrong with a non-empty `token` for a bearer header, as "holds ...: fix"; `None`
/// when it is visible ASCII, as issued tokens are.
pub(crate) fn token_flaw(token: &str) -> Option<String> {
    let bad = token.chars().find(|c| !c.is_ascii_graphic())?;
    let what = match bad {
        '\n' | '\r' => "a line break (a trailing newline from a file?)",
        ' ' | '\t' => "white space",
        c if c.is_control() => "a control character",
        _ => "a character outside ASCII",
    };
    Some(format!(
        "holds {what}, and a bearer token can only be visible ASCII characters: pass the \
         token exactly as issued"
    ))
}

impl ClientBuilder {
    /// The whole-call time limit unless set otherwise: 15 s, as the Go client.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
    /// The TCP connect plus TLS handshake time limit unless set otherwise: 5 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// How many idle connections a client keeps for reuse unless set otherwise.
    pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 16;
    /// How long an idle connection is kept for reuse unless set otherwise: 15 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

    /// Also trusts a certificate with this fingerprint. Pin the next certificate alongside the
    /// current one while the agent's certificate is rotated, then drop the old pin.
    pub fn also_pin(mut self, fingerprint: impl IntoPin) -> ClientBuilder {
        self.pins.push(fingerprint.into_pin());
        self
    }

    /// The time limit for a whole call, from connecting to the last byte of the answer.
    /// Default 15 s.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// The time limit for the TCP connect plus the TLS handshake. Default 5 s. A call that
    /// times out here certainly did not reach the agent.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// How many idle connections to keep for reuse: about the number of threads that share the
    /// client. Default 16.
    pub fn max_idle_connections(mut self, n: usize) -> ClientBuilder {
        self.max_idle_connections = n;
        self
    }

    /// How long an idle connection is kept for reuse (by GETs: every POST opens a fresh one).
    /// Default 15 s. Keep it below the agent's own idle timeout: a GET sent on a connection the
    /// agent has just closed is sent again on a fresh one, which costs a handshake.
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.idle_timeout = timeout;
        self
    }

    /// Tells `observer` about every TLS handshake and every call (see [`Observer`]): for
    /// logs, and `felhom-agentctl -v`. None by default.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> ClientBuilder {
        self.hook = Hook(Some(observer));
        self
    }

    /// Checks the configuration and builds the client. Nothing is sent yet.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad endpoint (see [`Client::new`]), an empty token or one with
    /// anything but visible ASCII characters (no spaces, line breaks or non-ASCII letters), a
    /// fingerprint that is not a SHA-256, or a zero timeout.
    pub fn build(self) -> Result<Client, Error> {
        let config_error = |message: String| Error::Config { message };
        let endpoint = endpoint::parse(&self.endpoint).map_err(config_error)?;
        if self.token.is_empty() {
            return Err(config_error(
                "the token is empty: give the per-guest bearer token".into(),
            ));
        }
        // Visible ASCII only: the header type also takes bytes above 0x7f, which ureq then
        // refuses at every call, after the request has started.
        if let Some(what) = token_flaw(&self.token) {
            return Err(config_error(format!("the token {what}")));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| config_error("the token cannot go into an HTTP header".into()))?;
        authorization.set_sensitive(true);

        let mut pins = Vec::with_capacity(self.pins.len());
        for (i, source) in self.pins.iter().enumerate() {
            let fp: Fingerprint = match source {
                PinSource::Parsed(fp) => *fp,
                PinSource::Text(text) => text
                    .parse()
                    .map_err(|e| config_error(format!("pinned fingerprint #{}: {e}", i + 1)))?,
            };
            if !pins.contains(&fp) {
                pins.push(fp);
            }
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(config_error("timeouts must be longer than zero".into()));
        }

        let sender = Sender::new(Settings {
            endpoint,
            authorization,
            pins,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_idle_connections: self.max_idle_connections,
            idle_timeout: self.idle_timeout,
            hook: self.hook,
        })
        .map_err(config_error)?;
        Ok(Client {
            inner: Arc::new(Inner {
                sender,
                token: self.token,
            }),
        })
    }
}

impl Client {
    /// The most an answer's body may hold: 1 MiB. A longer one is
    /// [`Error::ResponseTooLarge`], whatever its framing.
    pub const MAX_RESPONSE_BYTES: u64 = crate::request::MAX_BODY;

    /// A client for the agent at `endpoint`, authenticating with `token`, trusting only the
    /// certificate whose SHA-256 is `fingerprint`, with default time limits.
    ///
    /// `endpoint` is `host:port` or `[ipv6]:port`, optionally after `https://`; anything else
    /// (`http://`, a path, no port) is refused. The fingerprint is a [`Fingerprint`], or text in
    /// any case, with `:` or spaces between digits and an optional `sha256:` prefix (see
    /// [`IntoPin`]).
    ///
    /// # Errors
    ///
    /// [`Error::Config`], the only error this returns; nothing is sent until a call.
    ///
    /// ```
    /// use felhom_agentapi::{Client, Error};
    ///
    /// let pin = "AB:".repeat(31) + "AB";
    /// assert!(Client::new("10.0.0.1:8443", "token", &pin).is_ok());
    /// assert!(matches!(Client::new("http://10.0.0.1:8443", "token", &pin), Err(Error::Config { .. })));
    /// ```
    pub fn new(endpoint: &str, token: &str, fingerprint: impl IntoPin) -> Result<Client, Error> {
        Client::builder(endpoint, token, fingerprint).build()
    }

    /// A builder, to set more pins or other time limits than [`Client::new`] does.
    pub fn builder(endpoint: &str, token: &str, fingerprint: impl IntoPin) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.to_string(),
            token: token.to_string(),
            pins: vec![fingerprint.into_pin()],
            timeout: ClientBuilder::DEFAULT_TIMEOUT,
            connect_timeout: ClientBuilder::DEFAULT_CONNECT_TIMEOUT,
            max_idle_connections: ClientBuilder::DEFAULT_MAX_IDLE_CONNECTIONS,
            idle_timeout: ClientBuilder::DEFAULT_IDLE_TIMEOUT,
            hook: Hook::default(),
        }
    }

    /// The endpoint, normalized (`host:port`).
    pub fn endpoint(&self) -> &str {
        self.inner.sender.endpoint()
    }

    /// The fingerprints this client trusts.
    pub fn pins(&self) -> &[Fingerprint] {
        self.inner.sender.pins()
    }

    /// `GET /storage`: this guest's mounts. Also the cheapest way to check connectivity.
    pub fn storage(&self) -> Result<StorageResponse, Error> {
        self.get("/storage")
    }

    /// `GET /backup/due`: whether a scheduled backup is due (the signal to quiesce).
    pub fn backup_due(&self) -> Result<DueResponse, Error> {
        self.get("/backup/due")
    }

    /// `POST /backup`: asks the agent to back this guest up. Returns the job to poll.
    ///
    /// Not idempotent: on an error, retry only if [`Error::may_have_reached_agent`] is false.
    ///
    /// # Errors
    ///
    /// [`Error::BackupRunning`] when the agent refuses because a job is already running (HTTP
    /// 409); otherwise any error of a call.
    pub fn start_backup(&self) -> Result<BackupResponse, Error> {
        self.post("/backup", &serde_json::json!({}))
            .map_err(|e| match e {
                Error::Http {
                    call, status: 409, ..
                } => Error::BackupRunning { call, job_id: None },
                other => other,
            })
    }

    /// `GET /backup/status`: the phase of this guest's current or last backup job.
    pub fn backup_status(&self) -> Result<StatusResponse, Error> {
        self.get("/backup/status")
    }

    /// `GET /disks`: the host drives the agent manages, each with a data-bearing flag.
    pub fn disks(&self) -> Result<DisksResponse, Error> {
        self.get("/disks")
    }

    /// `POST /disks/assign`: mounts the drive whose filesystem UUID is `uuid` (see
    /// [`DiskInfo::fs_uuid`](crate::wire::DiskInfo::fs_uuid)) on the host at `where_`.
    pub fn assign_disk(
        &self,
        uuid: &str,
        where_: &str,
        fstype: &str,
        options: &str,
    ) -> Result<(), Error> {
        let body = serde_json::json!({
            "uuid": uuid, "where": where_, "fstype": fstype, "options": options,
        });
        self.post::<serde::de::IgnoredAny>("/disks/assign", &body)
            .map(|_| ())
    }

    /// `POST /disks/eject`: safely unmounts the host mount at `where_` (the data stays), and
    /// names the guests that depended on it.
    pub fn eject_disk(&self, where_: &str) -> Result<EjectResult, Error> {
        self.post("/disks/eject", &serde_json::json!({ "where": where_ }))
    }

    /// `POST /disks/format`: asks the agent to format `device` with `fstype`.
    ///
    /// The agent, not the caller, decides whether the device holds data. Only a device it reads
    /// as blank is formatted; for any other, the answer is [`Error::FormatRefused`], which
    /// carries the operation an operator must sign, and the command to do it.
    ///
    /// Unlike the Go client, no answer but an explicit "formatted" is a success: a refusal
    /// whose body cannot be read is still a refusal, and any other status is an error.
    ///
    /// ```
    /// # let agent = felhom_devagent::DevAgent::start()?;
    /// # let client = felhom_agentapi::Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
    /// use felhom_agentapi::Error;
    ///
    /// match client.format_disk("/dev/sdb", "ext4") {
    ///     Err(Error::FormatRefused(refusal)) => {
    ///         let command = refusal.opsign_command().expect("the agent bound an operation");
    ///         assert!(command.starts_with("felhom-opsign -op storage_wipe "));
    ///     }
    ///     other => panic!("a data-bearing device must be refused, got {other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn format_disk(&self, device: &str, fstype: &str) -> Result<FormatResult, Error> {
        let body = serde_json::json!({ "device": device, "fstype": fstype });
        let answer = self.inner.sender.send(&FORMAT_DISK, Some(&body))?;
        self.judge().format_outcome(device, &answer)
    }

    /// `GET /host/metrics`: the host's live health and per-storage capacity.
    pub fn host_metrics(&self) -> Result<HostMetricsResponse, Error> {
        self.get("/host/metrics")
    }

    fn get<T: DeserializeOwned + Default>(&self, path: &'static str) -> Result<T, Error> {
        let call = Call::request("GET", path);
        let answer = self.inner.sender.send(&call, None)?;
        self.judge().payload(&call, &answer, &[200])
    }

    fn post<T: DeserializeOwned + Default>(
        &self,
        path: &'static str,
        body: &serde_json::Value,
    ) -> Result<T, Error> {
        let call = Call::request("POST", path);
        let answer = self.inner.sender.send(&call, Some(body))?;
        self.judge().payload(&call, &answer, &[200, 202])
    }

    pub(crate) fn judge(&self) -> Judge<'_> {
        Judge {
            token: &self.inner.token,
        }
    }
}
