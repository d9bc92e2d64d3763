//! The crate's one error type, and the typed format refusal.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::Fingerprint;
use crate::call::{BACKUP_STATUS, Call, FORMAT_DISK};
use crate::terminal::{could_rewrite, escape};
use crate::wire::{FormatResult, PendingOp, StatusResponse};

mod disk_init_incomplete;

pub use disk_init_incomplete::DiskInitIncomplete;
pub(crate) use disk_init_incomplete::Incomplete;

/// Everything that can go wrong, named precisely enough to act on.
///
/// Every variant but [`Error::Config`] belongs to a [`Call`], which [`Error::call`] returns and
/// with which its message starts (`GET /storage: …`). No message ever contains the bearer
/// token: text that came from the agent is scrubbed of it before it is stored.
///
/// Whether a failed call may be retried depends on whether the agent may have seen it: see
/// [`Error::may_have_reached_agent`]. The client itself retries nothing but a GET whose
/// kept-alive connection turned out to be closed before any byte of the answer.
///
/// ```
/// use felhom_agentapi::{Client, Error};
///
/// let err = Client::new("10.0.0.1", "token", "ab").unwrap_err();
/// assert!(matches!(err, Error::Config { .. }));
/// assert!(!err.may_have_reached_agent());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The client was built with a bad endpoint, an empty token or a bad fingerprint.
    ///
    /// Only [`Client::new`](crate::Client::new) and
    /// [`ClientBuilder::build`](crate::ClientBuilder::build) return it; a built client never does.
    Config {
        /// What is wrong, and how to fix it.
        message: String,
    },
    /// The agent's leaf certificate matched none of the pinned fingerprints. Nothing was sent.
    ///
    /// Either the agent's certificate changed (pin the new one, with
    /// [`ClientBuilder::also_pin`](crate::ClientBuilder::also_pin) during a rotation), or something
    /// other than the agent answers at this address.
    PinMismatch {
        /// The call that failed.
        call: Call,
        /// The fingerprint of the leaf certificate the server presented.
        presented: Fingerprint,
        /// The fingerprints the client would have accepted.
        expected: Vec<Fingerprint>,
    },
    /// The TLS handshake failed for another reason: no shared protocol version or cipher suite,
    /// a server that presents the pinned certificate but cannot sign with its key, one that
    /// does not speak HTTP/1.1, a connection closed during the handshake. The request never
    /// reached the agent: either it was not sent, or (TLS 1.3 lets a server refuse the client
    /// only after the client has finished its part of the handshake) the server refused the
    /// connection before taking it up.
    Tls {
        /// The call that failed.
        call: Call,
        /// What failed, in rustls's words.
        message: String,
    },
    /// The TCP connection could not be made. Nothing was sent.
    Connect {
        /// The call that failed.
        call: Call,
        /// The endpoint the client tried.
        endpoint: String,
        /// The operating system's error.
        error: io::Error,
    },
    /// A time limit ran out. [`TimeoutStage`] says which, and so whether the request was sent.
    Timeout {
        /// The call that failed.
        call: Call,
        /// What the client was waiting for.
        stage: TimeoutStage,
        /// The limit that ran out.
        limit: Duration,
    },
    /// The connection failed after the request started: closed, reset, or an answer cut short.
    /// The agent may have received and acted on the request.
    Io {
        /// The call that failed.
        call: Call,
        /// The underlying error.
        error: io::Error,
    },
    /// The agent answered with an HTTP status the call does not expect (redirects included: they
    /// are never followed).
    Http {
        /// The call that failed.
        call: Call,
        /// The HTTP status code.
        status: u16,
        /// The envelope's `error` text, when the body was an envelope that had one.
        message: Option<String>,
    },
    /// The agent answered 2xx with `ok: false`: it understood the request and declined it.
    Agent {
        /// The call that failed.
        call: Call,
        /// The envelope's `error` text.
        message: String,
    },
    /// The answer was not a valid envelope, or its payload had the wrong shape.
    Decode {
        /// The call that failed.
        call: Call,
        /// What did not parse.
        message: String,
    },
    /// The answer was larger than the client reads (1 MiB).
    ResponseTooLarge {
        /// The call that failed.
        call: Call,
        /// The largest body the client accepts, in bytes.
        limit: u64,
    },
    /// The agent refused to format a data-bearing device. See [`FormatRefused`].
    FormatRefused(FormatRefused),
    /// A backup job that [`Client::run_backup`](crate::Client::run_backup) waited for failed.
    BackupFailed {
        /// The job.
        job_id: String,
        /// The agent's last status, whose `error` says why.
        status: Box<StatusResponse>,
    },
    /// [`Client::init_disk`](crate::Client::init_disk) formatted the device but could not
    /// assign it. See [`DiskInitIncomplete`](crate::DiskInitIncomplete).
    DiskInitIncomplete(Box<DiskInitIncomplete>),
    /// A backup job is already running, so no other was started: the agent answered
    /// `POST /backup` with HTTP 409, or a [`BackupRun`](crate::BackupRun) found the job in
    /// `GET /backup/status` before quiescing anything.
    BackupRunning {
        /// The call that found it: `POST /backup` or `GET /backup/status`.
        call: Call,
        /// The running job, when the answer names it (a status does, a 409 does not).
        job_id: Option<String>,
    },
    /// There is no backup job to wait for: `GET /backup/status` says no job has run
    /// ([`Client::wait_backup`](crate::Client::wait_backup)).
    NoBackupJob {
        /// The call that found none: `GET /backup/status`.
        call: Call,
    },
}

/// What the client was waiting for when an [`Error::Timeout`] struck.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutStage {
    /// The TCP connection or the TLS handshake: the request was not sent.
    Connect,
    /// Sending the request or receiving the answer: the agent may have received the request.
    Exchange,
    /// [`Client::run_backup`](crate::Client::run_backup) gave up waiting for a job that the agent
    /// accepted and that may still finish.
    BackupWait {
        /// The job it waited for.
        job_id: String,
        /// The job's phase at the last poll.
        last_phase: crate::wire::BackupPhase,
    },
}

impl Error {
    /// Whether the agent may have received the request, and so may have acted on it.
    ///
    /// `false` means certainly not: the client was misconfigured, could not connect, did not
    /// trust the server, or timed out before the handshake finished. Such a call can be retried
    /// safely, even a non-idempotent one like [`format_disk`](crate::Client::format_disk) or
    /// [`start_backup`](crate::Client::start_backup). `true` means the request left, or may have:
    /// check the agent's state before repeating a non-idempotent call.
    ///
    /// ```
    /// use felhom_agentapi::{Client, Error};
    ///
    /// // Nothing listens on port 1 of the loopback address: the connection is refused.
    /// let client = Client::new("127.0.0.1:1", "token", &"ab".repeat(32))?;
    /// let err = client.storage().unwrap_err();
    /// assert!(matches!(err, Error::Connect { .. }));
    /// assert!(!err.may_have_reached_agent());
    /// # Ok::<(), Error>(())
    /// ```
    pub fn may_have_reached_agent(&self) -> bool {
        match self {
            Error::Config { .. }
            | Error::PinMismatch { .. }
            | Error::Tls { .. }
            | Error::Connect { .. } => false,
            Error::Timeout { stage, .. } => !matches!(stage, TimeoutStage::Connect),
            Error::Io { .. }
            | Error::Http { .. }
            | Error::Agent { .. }
            | Error::Decode { .. }
            | Error::ResponseTooLarge { .. }
            | Error::FormatRefused(_)
            | Error::BackupFailed { .. }
            | Error::DiskInitIncomplete(_)
            | Error::BackupRunning { .. }
            | Error::NoBackupJob { .. } => true,
        }
    }

    /// The call that failed: `None` only for [`Error::Config`], which no call returns.
    ///
    /// ```
    /// use felhom_agentapi::{Call, Client};
    ///
    /// let client = Client::new("127.0.0.1:1", "token", &"ab".repeat(32))?;
    /// let err = client.disks().unwrap_err();
    /// assert_eq!(err.call(), Some(&Call::request("GET", "/disks")));
    /// assert!(err.to_string().starts_with("GET /disks: "));
    /// # Ok::<(), felhom_agentapi::Error>(())
    /// ```
    pub fn call(&self) -> Option<&Call> {
        match self {
            Error::Config { .. } => None,
            Error::PinMismatch { call, .. }
            | Error::Tls { call, .. }
            | Error::Connect { call, .. }
            | Error::Timeout { call, .. }
            | Error::Io { call, .. }
            | Error::Http { call, .. }
            | Error::Agent { call, .. }
            | Error::Decode { call, .. }
            | Error::ResponseTooLarge { call, .. }
            | Error::BackupRunning { call, .. }
            | Error::NoBackupJob { call } => Some(call),
            Error::FormatRefused(_) => Some(&FORMAT_DISK),
            Error::BackupFailed { .. } => Some(&BACKUP_STATUS),
            Error::DiskInitIncomplete(incomplete) => Some(incomplete.call()),
        }
    }

    /// The HTTP status of an [`Error::Http`] or an [`Error::FormatRefused`], and 409 for an
    /// [`Error::BackupRunning`] that the agent answered `POST /backup` with (not one that a
    /// [`BackupRun`](crate::BackupRun) found in `GET /backup/status`, answered with 200).
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            Error::FormatRefused(refusal) => Some(refusal.http_status),
            Error::BackupRunning { call, .. } if call.method() == Some("POST") => Some(409),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { message } => write!(f, "invalid client configuration: {message}"),
            Error::PinMismatch {
                call,
                presented,
                expected,
            } => {
                write!(
                    f,
                    "{call}: the agent's certificate matches no pinned fingerprint: \
                     it presented sha256 {presented}, the client pins "
                )?;
                for (i, fp) in expected.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{fp}")?;
                }
                f.write_str(
                    "; nothing was sent: if the agent's certificate was replaced on purpose, pin \
                     the new fingerprint; otherwise something else answers at this address",
                )
            }
            // A handshake alone had no request to send.
            Error::Tls { call, message } if call.is_handshake() => {
                write!(f, "{call}: {message}; nothing was sent")
            }
            Error::Tls { call, message } => write!(
                f,
                "{call}: the TLS handshake with the agent failed: {message}; the request never \
                 reached the agent"
            ),
            Error::Connect {
                call,
                endpoint,
                error,
            } => write!(
                f,
                "{call}: could not connect to the agent at {endpoint}: {error}; check \
                 that the agent runs and that the endpoint is right"
            ),
            Error::Timeout { call, stage, limit } => match stage {
                TimeoutStage::Connect => write!(
                    f,
                    "{call}: no TLS connection to the agent within {limit:?} (connect \
                     timeout); nothing was sent; check that the agent runs, or allow a longer \
                     connect timeout"
                ),
                TimeoutStage::Exchange => write!(
                    f,
                    "{call}: no complete answer from the agent within {limit:?}; the \
                     request may have reached the agent; allow a longer time limit if the \
                     agent is slow"
                ),
                TimeoutStage::BackupWait { job_id, last_phase } => write!(
                    f,
                    "{call}: backup job {job_id:?} was still {:?} after \
                     {limit:?}; stopped waiting, but the job may still finish: poll \
                     /backup/status before starting another",
                    last_phase.as_str()
                ),
            },
            Error::Io { call, error } => write!(
                f,
                "{call}: the connection to the agent failed mid-exchange: {error}; the \
                 request may have reached the agent"
            ),
            Error::Http {
                call,
                status,
                message,
            } => {
                write!(f, "{call}: the agent answered HTTP {status}")?;
                if let Some(message) = message.as_deref().filter(|m| !m.is_empty()) {
                    write!(f, ": {message}")?;
                }
                match status {
                    300..=399 => f.write_str(" (a redirect, which the client never follows)"),
                    401 => f.write_str(" (check the bearer token)"),
                    _ => Ok(()),
                }
            }
            Error::Agent { call, message } => {
                write!(f, "{call}: the agent declined: {message}")
            }
            Error::Decode { call, message } => {
                write!(f, "{call}: could not decode the agent's answer: {message}")
            }
            Error::ResponseTooLarge { call, limit } => write!(
                f,
                "{call}: the agent's answer is larger than {limit} bytes, refusing to \
                 read it"
            ),
            Error::FormatRefused(refusal) => refusal.fmt(f),
            Error::DiskInitIncomplete(incomplete) => incomplete.fmt(f),
            Error::BackupFailed { job_id, status } => {
                let reason = if status.error.is_empty() {
                    "no reason given"
                } else {
                    &status.error
                };
                write!(
                    f,
                    "{BACKUP_STATUS}: backup job {job_id:?} failed: {}",
                    escape(reason)
                )
            }
            Error::BackupRunning { call, job_id } => {
                match job_id {
                    Some(job_id) => write!(
                        f,
                        "{call}: backup job {} is already running",
                        escape(&format!("{job_id:?}"))
                    )?,
                    None => write!(
                        f,
                        "{call}: the agent answered HTTP 409: a backup job is already running"
                    )?,
                }
                f.write_str(
                    "; no other was started: wait until it ends (GET /backup/status) before \
                     starting another",
                )
            }
            Error::NoBackupJob { call } => write!(
                f,
                "{call}: the agent reports no backup job, so there is none to wait for"
            ),
        }
    }
}

// No `source()`: the underlying errors' text is already part of each message, and a chain that
// printed it again would repeat it.
impl std::error::Error for Error {}

/// The agent refused to format a device because it holds data.
///
/// A guest cannot complete such a format: an operator must authorize the wipe, offline, with the
/// command [`opsign_command`](FormatRefused::opsign_command) gives. `Display` ends with that
/// command.
///
/// ```
/// use felhom_agentapi::{Client, Error};
/// # fn demo(client: &Client) -> Result<(), Error> {
/// match client.format_disk("/dev/sdb", "ext4") {
///     Ok(result) => println!("formatted {}", result.device),
///     Err(Error::FormatRefused(refusal)) => match refusal.opsign_command() {
///         Some(command) => eprintln!("ask an operator to run: {command}"),
///         None => eprintln!("refused: {refusal}"),
///     },
///     Err(other) => return Err(other),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FormatRefused {
    // Boxed: it keeps every `Result<_, Error>` small.
    pub(crate) result: Box<FormatResult>,
    pub(crate) http_status: u16,
    pub(crate) message: Option<String>,
}

impl FormatRefused {
    /// The agent's full answer. `data_bearing` is always true and `formatted` always false.
    pub fn result(&self) -> &FormatResult {
        &self.result
    }

    /// The destructive operation the agent bound to the refusal, if it sent one.
    pub fn pending_op(&self) -> Option<&PendingOp> {
        self.result.pending_op.as_ref()
    }

    /// The command an operator runs to authorize the wipe (see [`PendingOp::opsign_command`]).
    ///
    /// `None` when the agent sent no pending operation, or one with a NUL byte in a value, which
    /// no command line can carry.
    pub fn opsign_command(&self) -> Option<String> {
        let op = self.pending_op()?;
        let values = [&op.op, &op.host_scope, &op.durable_id];
        if values.iter().any(|v| v.contains('\0')) {
            return None;
        }
        Some(op.opsign_command())
    }

    /// The HTTP status of the refusal: 403 normally, or 2xx when the agent reported the
    /// refusal in a successful answer.
    pub fn http_status(&self) -> u16 {
        self.http_status
    }

    /// The envelope's `error` text, if the agent sent one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The first sentence of the refusal's message: the call, the device and the agent's
    /// reason, such as `POST /disks/format: the agent refused to format "/dev/sdb": it holds
    /// data (ext4 filesystem with files)`. Agent text in it is [escaped](crate::terminal::escape).
    ///
    /// `Display` is this, `; `, and what [`authorization`](FormatRefused::authorization) says; a
    /// program that lays the message out differently (the command on a line of its own) builds
    /// it from the same two parts.
    pub fn summary(&self) -> String {
        let device = if self.result.device.is_empty() {
            "the device"
        } else {
            &self.result.device
        };
        let mut summary = format!(
            "{FORMAT_DISK}: the agent refused to format {}: it holds data",
            escape(&format!("{device:?}"))
        );
        let reason = if self.result.reason.is_empty() {
            self.message.as_deref().unwrap_or_default()
        } else {
            &self.result.reason
        };
        if !reason.is_empty() {
            summary.push_str(&format!(" ({})", escape(reason)));
        }
        summary
    }

    /// How an operator can authorize the wipe, and whether the command may be printed.
    ///
    /// ```
    /// use felhom_agentapi::{FormatRefused, WipeAuthorization};
    ///
    /// fn tell_the_operator(refusal: &FormatRefused) {
    ///     let authorization = refusal.authorization();
    ///     eprintln!("{}", refusal.summary());
    ///     match &authorization {
    ///         WipeAuthorization::Printable(command) => {
    ///             eprintln!("{}\n    {command}", authorization.explanation())
    ///         }
    ///         other => eprintln!("{}", other.explanation()),
    ///     }
    /// }
    /// ```
    pub fn authorization(&self) -> WipeAuthorization {
        match self.opsign_command() {
            None => WipeAuthorization::Unavailable,
            // Control characters and bidirectional overrides could rewrite what the operator
            // sees: such a command is handed on exact, but never printed.
            Some(command) if command.chars().any(could_rewrite) => {
                WipeAuthorization::Unprintable(command)
            }
            Some(command) => WipeAuthorization::Printable(command),
        }
    }
}

impl fmt::Display for FormatRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let authorization = self.authorization();
        write!(f, "{}; {}", self.summary(), authorization.explanation())?;
        match authorization {
            WipeAuthorization::Printable(command) => write!(f, " {command}"),
            WipeAuthorization::Unprintable(_) => f.write_str(": take it from opsign_command()"),
            WipeAuthorization::Unavailable => Ok(()),
        }
    }
}

impl std::error::Error for FormatRefused {}

/// How an operator can authorize the wipe that a [`FormatRefused`] asks for, as
/// [`FormatRefused::authorization`] tells it.
///
/// [`explanation`](WipeAuthorization::explanation) is the sentence the refusal's `Display`
/// uses; programs that print the refusal their own way use it too, so that the wording is the
/// same everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WipeAuthorization {
    /// The operator runs this command. It holds nothing that
    /// [could rewrite a terminal](crate::terminal::could_rewrite): it may be printed as it is.
    Printable(String),
    /// The command, exact, holds characters that could rewrite a terminal (an escape sequence, a
    /// bidirectional override): hand it on only in a form that escapes them, such as JSON, and
    /// never print it raw.
    Unprintable(String),
    /// No command can be given: the agent bound no operation to the refusal, or one with a value
    /// that no command line can carry (a NUL byte).
    Unavailable,
}

impl WipeAuthorization {
    /// What the operator has to do, as one sentence without a full stop. For
    /// [`Printable`](WipeAuthorization::Printable) it ends with `by running:`, for the command
    /// to follow; for [`Unprintable`](WipeAuthorization::Unprintable), the caller adds where the
    /// command can be read.
    ///
    /// ```
    /// use felhom_agentapi::WipeAuthorization;
    ///
    /// let command = "felhom-opsign -op storage_wipe -host pve-1 -durable-id byid:x".to_string();
    /// assert_eq!(
    ///     WipeAuthorization::Printable(command).explanation(),
    ///     "an operator must authorize the wipe by running:"
    /// );
    /// ```
    pub fn explanation(&self) -> &'static str {
        match self {
            WipeAuthorization::Printable(_) => "an operator must authorize the wipe by running:",
            WipeAuthorization::Unprintable(_) => {
                "an operator must authorize the wipe, but the command holds control characters or \
                 invisible ones, so it is not printed here"
            }
            WipeAuthorization::Unavailable => {
                "the agent bound no signable operation to the refusal, so no felhom-opsign \
                 command can be given: ask the agent's operator"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of every variant, each belonging to `call` where it has a field for it.
    fn every_variant(call: &Call) -> Vec<Error> {
        let fp = Fingerprint::from_bytes([1; 32]);
        let io = || io::Error::other("reset");
        let call = || call.clone();
        vec![
            Error::Config {
                message: "bad".into(),
            },
            Error::PinMismatch {
                call: call(),
                presented: fp,
                expected: vec![fp],
            },
            Error::Tls {
                call: call(),
                message: "no shared cipher".into(),
            },
            Error::Connect {
                call: call(),
                endpoint: "127.0.0.1:1".into(),
                error: io(),
            },
            Error::Timeout {
                call: call(),
                stage: TimeoutStage::Connect,
                limit: Duration::from_secs(1),
            },
            Error::Io {
                call: call(),
                error: io(),
            },
            Error::Http {
                call: call(),
                status: 500,
                message: None,
            },
            Error::Agent {
                call: call(),
                message: "no".into(),
            },
            Error::Decode {
                call: call(),
                message: "not JSON".into(),
            },
            Error::ResponseTooLarge {
                call: call(),
                limit: 1,
            },
            Error::FormatRefused(FormatRefused {
                result: Box::default(),
                http_status: 403,
                message: None,
            }),
            Error::BackupFailed {
                job_id: "j".into(),
                status: Box::default(),
            },
        ]
    }

    #[test]
    fn every_message_starts_with_the_call_that_error_call_returns() {
        for call in [
            Call::request("GET", "/storage"),
            Call::handshake("10.0.0.1:8443"),
        ] {
            for err in every_variant(&call) {
                let Some(own) = err.call() else {
                    assert!(matches!(err, Error::Config { .. }), "{err:?}");
                    continue;
                };
                assert!(err.to_string().starts_with(&format!("{own}: ")), "{err}");
                match err {
                    Error::FormatRefused(_) => assert_eq!(own, &FORMAT_DISK),
                    Error::BackupFailed { .. } => assert_eq!(own, &BACKUP_STATUS),
                    _ => assert_eq!(own, &call),
                }
            }
        }
    }
}
