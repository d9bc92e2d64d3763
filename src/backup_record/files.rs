//! File handling for the backup record. Whether the record and its directory are trusted is
//! decided by [`crate::local_trust`], the StrictModes rule every file that decides trust
//! follows: the record and every directory above it owned by root or the effective user and
//! not writable by group or others, a regular file, links followed only when root or this
//! user made them, checked on the handle that was opened, and read with a size bound.

use std::fs;
use std::io;
use std::path::Path;

use super::RecordError;
use crate::local_trust::{self, Problem, Secrecy, TrustError, TrustedFile};

/// A record is a few hundred bytes; anything larger is not one.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// The process's effective user id ([`local_trust::effective_uid`]); `None` if it cannot be
/// learnt.
pub(super) fn effective_uid() -> Option<u32> {
    local_trust::effective_uid().ok()
}

fn untrusted(e: &TrustError, what: &str) -> RecordError {
    RecordError::Untrusted {
        path: e.path().to_path_buf(),
        reason: e.describe(what),
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |error| RecordError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn not_found(e: &TrustError) -> bool {
    matches!(e.problem(), Problem::Io(io) if io.kind() == io::ErrorKind::NotFound)
}

/// `dir` must be a directory that passes the rule.
pub(super) fn check_dir(dir: &Path) -> Result<(), RecordError> {
    local_trust::check_directory(dir)
        .map(drop)
        .map_err(|e| untrusted(&e, "the backup record's directory"))
}

/// The content of `path` in `dir`, or `None` when the directory or the file does not exist.
pub(super) fn read_trusted(dir: &Path, path: &Path) -> Result<Option<String>, RecordError> {
    match local_trust::check_directory(dir) {
        Err(e) if not_found(&e) => return Ok(None),
        Err(e) => return Err(untrusted(&e, "the backup record's directory")),
        Ok(_) => {}
    }
    let file = match TrustedFile::open(path, Secrecy::Public) {
        Err(e) if not_found(&e) => return Ok(None),
        other => other.map_err(|e| untrusted(&e, "backup record"))?,
    };
    match file.read_to_string(MAX_RECORD_BYTES) {
        Ok(text) => Ok(Some(text)),
        Err(e) => match e.problem() {
            Problem::TooLarge { .. } | Problem::NotUtf8 => Err(RecordError::Corrupt {
                path: path.to_path_buf(),
                message: e.describe("it"),
            }),
            _ => Err(untrusted(&e, "backup record")),
        },
    }
}

/// Creates `dir` (and its parents) with mode 0755 when it is missing, then checks it.
pub(super) fn ensure_dir(dir: &Path) -> Result<(), RecordError> {
    if !dir.exists() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o755);
        }
        builder.create(dir).map_err(io_error(dir))?;
        // The mode given is narrowed by the umask (systemd units often set 0077); a monitoring
        // user must be able to read the record.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(io_error(dir))?;
        }
    }
    check_dir(dir)
}

/// Writes `text` to `name` in `dir`, replacing the record whole ([`crate::replace_file`]):
/// mode 0644, as the record is not secret and a monitoring user reads it.
pub(super) fn write_atomically(dir: &Path, name: &str, text: &str) -> Result<(), RecordError> {
    let path = dir.join(name);
    crate::replace_file::replace(&path, text.as_bytes()).map_err(io_error(&path))
}
