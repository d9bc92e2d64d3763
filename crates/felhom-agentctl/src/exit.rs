//! Exit statuses, and how each failure is classified for scripts. The statuses are a stable
//! interface: the README's table and the long `--help` list them, and changing one is a breaking
//! change. Printing a failure is `report`'s job.

use std::io;
use std::path::PathBuf;

use felhom_agentapi::{Call, Error, Fingerprint, TimeoutStage};

pub(crate) const SUCCESS: u8 = 0;
/// The agent answered with an error (HTTP status, `ok: false`, undecodable or oversized).
pub(crate) const AGENT_ERROR: u8 = 1;
/// Bad arguments or configuration; clap uses 2 for its own errors too.
pub(crate) const USAGE: u8 = 2;
/// `disk format` or `disk init` refused: the device holds data.
pub(crate) const FORMAT_REFUSED: u8 = 3;
/// The agent's certificate matches no pin (or no `fingerprint --expect`, or a pins file that
/// `fingerprint --save` would replace).
pub(crate) const PIN_MISMATCH: u8 = 4;
/// The agent could not be reached, or a call's time limit ran out.
pub(crate) const UNREACHABLE: u8 = 5;
/// `backup run`: the job failed.
pub(crate) const BACKUP_FAILED: u8 = 6;
/// Busy: a backup job is already running (HTTP 409, or found by `backup run` before quiescing),
/// or another `backup run` holds the lock.
pub(crate) const BUSY: u8 = 7;
/// The agent rejected the token (HTTP 401).
pub(crate) const TOKEN_REJECTED: u8 = 8;
/// `backup run` / `backup wait`: gave up waiting; the job is still running.
pub(crate) const GAVE_UP: u8 = 9;
/// `backup run`: a hook failed (a failed freeze hook means no backup was started).
pub(crate) const HOOK_FAILED: u8 = 10;

/// The status of a run interrupted by `signal`: 128 + its number, as a shell reports it.
pub(crate) fn interrupted(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(AGENT_ERROR)
}

/// Why a run did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A usage or configuration problem found before any call, as a message for the user.
    Usage(String),
    /// A call failed. Boxed: the library's error is large, and this travels up every `?`.
    Client(Box<Error>),
    /// `fingerprint --expect`: the agent presents another certificate.
    UnexpectedFingerprint {
        endpoint: String,
        presented: Fingerprint,
        expected: Vec<Fingerprint>,
    },
    /// `fingerprint --save`: the pins file holds other pins, and no `--force`.
    PinsFileConflict {
        path: PathBuf,
        presented: Fingerprint,
        held: Vec<Fingerprint>,
    },
    /// `fingerprint --save`: writing the pins file failed.
    PinsFileWrite { path: PathBuf, error: io::Error },
    /// `generate man --dir`: writing a page failed.
    FileWrite { path: PathBuf, error: io::Error },
    /// Something that should not happen, as a message for the user.
    Internal(String),
    /// Writing the answer to standard output failed.
    Output(io::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Client(Box::new(e))
    }
}

impl Failure {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::Client(e) => exit_code(e),
            Failure::UnexpectedFingerprint { .. } | Failure::PinsFileConflict { .. } => {
                PIN_MISMATCH
            }
            Failure::PinsFileWrite { .. }
            | Failure::FileWrite { .. }
            | Failure::Internal(_)
            | Failure::Output(_) => AGENT_ERROR,
        }
    }

    /// The `kind` of `--error-format json`: the error's variant, in snake_case.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Failure::Usage(_) => "usage",
            Failure::Client(e) => error_kind(e),
            Failure::UnexpectedFingerprint { .. } => "fingerprint_mismatch",
            Failure::PinsFileConflict { .. } => "pins_file_conflict",
            Failure::PinsFileWrite { .. } => "pins_file",
            Failure::FileWrite { .. } => "file",
            Failure::Internal(_) => "internal",
            Failure::Output(_) => "output",
        }
    }

    /// The `call` of `--error-format json`: which call failed, or `None` when none did.
    pub(crate) fn call(&self) -> Option<String> {
        match self {
            Failure::Client(e) => e.call().map(Call::to_string),
            Failure::UnexpectedFingerprint { endpoint, .. } => {
                Some(Call::handshake(endpoint).to_string())
            }
            _ => None,
        }
    }

    /// Whether the request may have reached the agent; `false` when no call was made.
    pub(crate) fn may_have_reached_agent(&self) -> bool {
        match self {
            Failure::Client(e) => e.may_have_reached_agent(),
            _ => false,
        }
    }

    /// The HTTP status of the agent's answer, when that is what failed.
    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            Failure::Client(e) => e.http_status(),
            _ => None,
        }
    }
}

/// The exit status for a library error.
pub(crate) fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Http { status: 401, .. } => TOKEN_REJECTED,
        Error::Http { status: 409, .. } => BUSY,
        Error::Http { .. } | Error::Agent { .. } | Error::Decode { .. } => AGENT_ERROR,
        Error::ResponseTooLarge { .. } | Error::DiskInitIncomplete(_) => AGENT_ERROR,
        Error::Config { .. } => USAGE,
        Error::FormatRefused(_) => FORMAT_REFUSED,
        Error::PinMismatch { .. } => PIN_MISMATCH,
        Error::Timeout {
            stage: TimeoutStage::BackupWait { .. },
            ..
        } => GAVE_UP,
        Error::Connect { .. } | Error::Tls { .. } | Error::Timeout { .. } | Error::Io { .. } => {
            UNREACHABLE
        }
        Error::BackupFailed { .. } => BACKUP_FAILED,
        Error::BackupRunning { .. } => BUSY,
        // `Error` is non-exhaustive: whatever a later version adds is an error from the agent's
        // side until this tool learns better.
        _ => AGENT_ERROR,
    }
}

/// The `kind` of `--error-format json` for a library error.
pub(crate) fn error_kind(err: &Error) -> &'static str {
    match err {
        Error::Config { .. } => "config",
        Error::PinMismatch { .. } => "pin_mismatch",
        Error::Tls { .. } => "tls",
        Error::Connect { .. } => "connect",
        Error::Timeout { .. } => "timeout",
        Error::Io { .. } => "io",
        Error::Http { .. } => "http",
        Error::Agent { .. } => "agent",
        Error::Decode { .. } => "decode",
        Error::ResponseTooLarge { .. } => "response_too_large",
        Error::FormatRefused(_) => "format_refused",
        Error::BackupFailed { .. } => "backup_failed",
        Error::DiskInitIncomplete(_) => "disk_init_incomplete",
        Error::BackupRunning { .. } => "backup_running",
        Error::NoBackupJob { .. } => "no_backup_job",
        _ => "other",
    }
}
