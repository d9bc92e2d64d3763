//! The guest's own record of its backups: when the last backup was tried, how it ended, and
//! when one last succeeded, per agent endpoint.
//!
//! The agent's `GET /backup/status` has no timestamp, so only the guest can know how old its
//! last good backup is. `felhom-agentctl backup run` and `backup wait` write a record whenever a
//! run reaches an outcome; `check --backup` and `metrics --format prometheus` read it. A daemon
//! that runs its own backups can do the same with [`record_outcome`] and [`read`].
//!
//! The record is a small JSON file, `backup-<endpoint>.json`, in a state directory
//! ([`state_dir`]): `$STATE_DIRECTORY` when systemd gives one (`StateDirectory=`), otherwise
//! `/var/lib/felhom-agentctl` for root and `$XDG_STATE_HOME/felhom-agentctl` (by default
//! `~/.local/state/felhom-agentctl`) for other users. It is written atomically (a temporary
//! file created exclusively in the same directory, then renamed over the record), and it is
//! trusted only under [`local_trust`](crate::local_trust)'s rule: neither it nor any directory
//! above it owned by another user (root excepted) or writable by group or others. Whoever could
//! edit it could make an old backup look fresh.
//!
//! ```
//! use felhom_agentapi::backup_record::{self, BackupRecord};
//!
//! let dir = std::env::temp_dir().join(format!("felhom-record-doc-{}", std::process::id()));
//! assert_eq!(backup_record::read(&dir, "10.0.0.1:8443")?, None); // nothing recorded yet
//!
//! let record = backup_record::record_outcome(&dir, "10.0.0.1:8443", 1_700_000_000, "done", Some("job-7"))?;
//! assert_eq!(record.last_success_at, Some(1_700_000_000));
//! let failed = backup_record::record_outcome(&dir, "10.0.0.1:8443", 1_700_086_400, "failed", Some("job-8"))?;
//! // A failure updates the attempt, never the success.
//! assert_eq!((failed.last_attempt_at, failed.last_success_at), (1_700_086_400, Some(1_700_000_000)));
//! assert_eq!(backup_record::read(&dir, "10.0.0.1:8443")?, Some(failed));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), backup_record::RecordError>(())
//! ```

mod files;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The variable systemd sets for a unit with `StateDirectory=`.
pub const STATE_DIRECTORY: &str = "STATE_DIRECTORY";

/// The state directory's name under `/var/lib` (root) or `$XDG_STATE_HOME` (other users); the
/// shipped unit sets `StateDirectory=felhom-agentctl`.
pub const DIR_NAME: &str = "felhom-agentctl";

/// The outcome name of a successful run (as [`Stopped::Done`](crate::Stopped::Done) names it).
pub const SUCCESS: &str = "done";

/// What one guest knows about its backups to one agent endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackupRecord {
    /// The agent endpoint (`HOST:PORT`) the backups went to.
    pub endpoint: String,
    /// When the last run began, in seconds since the Unix epoch.
    pub last_attempt_at: u64,
    /// How it ended: `done` (success), `failed`, `gave-up`, `cancelled`, `busy`,
    /// `quiesce-failed` or `error`, as [`Stopped`](crate::Stopped) names it.
    pub last_outcome: String,
    /// Its job id, if a job was started or found.
    pub last_job_id: Option<String>,
    /// When the last successful run began, in seconds since the Unix epoch; `None` if no run
    /// on this guest ever succeeded.
    pub last_success_at: Option<u64>,
    /// The job id of that run.
    pub last_success_job_id: Option<String>,
}

impl BackupRecord {
    /// Whether the last attempt succeeded.
    pub fn last_attempt_succeeded(&self) -> bool {
        self.last_outcome == SUCCESS
    }
}

/// Why a record could not be read or written. Every message names the file and says what to
/// do.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordError {
    /// No state directory can be chosen: none of `STATE_DIRECTORY`, `XDG_STATE_HOME` or `HOME`
    /// is set for a user other than root.
    NoStateDirectory,
    /// The file, its directory or a directory above them could be changed by someone else,
    /// or is not a plain file or directory: it is not trusted
    /// ([`local_trust`](crate::local_trust)'s rule).
    Untrusted {
        /// The file or directory.
        path: PathBuf,
        /// The whole message: what is wrong, where, and the fix.
        reason: String,
    },
    /// The file is not a record this version can read.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        error: std::io::Error,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NoStateDirectory => f.write_str(
                "no state directory for the backup record: set STATE_DIRECTORY (or \
                 XDG_STATE_HOME or HOME)",
            ),
            RecordError::Untrusted { reason, .. } => f.write_str(reason),
            RecordError::Corrupt { path, message } => write!(
                f,
                "backup record {}: {message}; remove it to start a new record",
                path.display()
            ),
            RecordError::Io { path, error } => {
                write!(f, "backup record {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for RecordError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecordError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The state directory from the environment: `$STATE_DIRECTORY` (its first entry, when systemd
/// lists several), otherwise `/var/lib/felhom-agentctl` for root, and
/// `$XDG_STATE_HOME/felhom-agentctl` or `$HOME/.local/state/felhom-agentctl` for others.
///
/// # Errors
///
/// [`RecordError::NoStateDirectory`] when none of those variables is set for a user other than
/// root.
pub fn state_dir() -> Result<PathBuf, RecordError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dirs) = var(STATE_DIRECTORY) {
        let first = dirs.to_string_lossy().split(':').next().map(PathBuf::from);
        if let Some(dir) = first.filter(|d| d.is_absolute()) {
            return Ok(dir);
        }
    }
    if files::effective_uid() == Some(0) {
        return Ok(Path::new("/var/lib").join(DIR_NAME));
    }
    let base = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .ok_or(RecordError::NoStateDirectory)?;
    Ok(base.join(DIR_NAME))
}

/// The record's file name for `endpoint`: `backup-` and the endpoint with every character but
/// ASCII letters, digits, `.` and `-` written as `_` and its hex code, so that two endpoints
/// never share a file.
///
/// ```
/// use felhom_agentapi::backup_record::file_name;
///
/// assert_eq!(file_name("10.0.0.1:8443"), "backup-10.0.0.1_3a8443.json");
/// assert_eq!(file_name("[::1]:8443"), "backup-_5b_3a_3a1_5d_3a8443.json");
/// ```
pub fn file_name(endpoint: &str) -> String {
    let mut name = String::from("backup-");
    for c in endpoint.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            name.push(c);
        } else {
            name.push_str(&format!("_{:x}", c as u32));
        }
    }
    name.push_str(".json");
    name
}

/// Reads the record for `endpoint` in `dir`; `Ok(None)` when there is none yet.
///
/// # Errors
///
/// [`RecordError::Untrusted`] when the file or the directory is owned by another user (but
/// root), writable by group or others, or not a plain file; [`RecordError::Corrupt`] for a file
/// that is not a record; [`RecordError::Io`] when it cannot be read.
pub fn read(dir: &Path, endpoint: &str) -> Result<Option<BackupRecord>, RecordError> {
    let path = dir.join(file_name(endpoint));
    let Some(text) = files::read_trusted(dir, &path)? else {
        return Ok(None);
    };
    let record: BackupRecord = serde_json::from_str(&text).map_err(|e| RecordError::Corrupt {
        path: path.clone(),
        message: format!("not a backup record: {e}"),
    })?;
    if record.endpoint != endpoint {
        return Err(RecordError::Corrupt {
            path,
            message: format!(
                "it records endpoint {}, not {}",
                crate::terminal::shorten(&record.endpoint),
                crate::terminal::shorten(endpoint)
            ),
        });
    }
    Ok(Some(record))
}

/// Records that a run to `endpoint` which began at `began_at` (seconds since the Unix epoch)
/// ended with `outcome` ([`SUCCESS`] or another [`Stopped`](crate::Stopped) name), and returns
/// the new record. A success also becomes the last success; any other outcome keeps the last
/// success as it was. Creates `dir` (mode 0755) when it does not exist.
///
/// # Errors
///
/// As [`read`] for the record already there (a corrupt one is replaced), and
/// [`RecordError::Io`] when the new one cannot be written.
pub fn record_outcome(
    dir: &Path,
    endpoint: &str,
    began_at: u64,
    outcome: &str,
    job_id: Option<&str>,
) -> Result<BackupRecord, RecordError> {
    files::ensure_dir(dir)?;
    let previous = match read(dir, endpoint) {
        Ok(previous) => previous,
        // Better a new record than none at all: the old one said nothing usable.
        Err(RecordError::Corrupt { .. }) => None,
        Err(other) => return Err(other),
    };
    let (mut last_success_at, mut last_success_job_id) = previous
        .map(|p| (p.last_success_at, p.last_success_job_id))
        .unwrap_or_default();
    if outcome == SUCCESS {
        last_success_at = Some(began_at);
        last_success_job_id = job_id.map(str::to_string);
    }
    let record = BackupRecord {
        endpoint: endpoint.to_string(),
        last_attempt_at: began_at,
        last_outcome: outcome.to_string(),
        last_job_id: job_id.map(str::to_string),
        last_success_at,
        last_success_job_id,
    };
    let mut text = serde_json::to_string_pretty(&record).map_err(|e| RecordError::Corrupt {
        path: dir.join(file_name(endpoint)),
        message: e.to_string(),
    })?;
    text.push('\n');
    files::write_atomically(dir, &file_name(endpoint), &text)?;
    Ok(record)
}

#[cfg(test)]
mod tests;
