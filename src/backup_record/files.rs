//! Careful file handling for the backup record: every check that decides whether the record is
//! trusted is in [`read_trusted`] and [`check_dir`], so that a shared "trusted file" module can
//! replace them later in one place.
//!
//! The rule is OpenSSH's `StrictModes`, for the record and its directory: owned by root or the
//! effective user, not writable by group or others, a plain file (never a symbolic link, a FIFO
//! or a device), checked on the handle that was opened, and read with a size bound.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use super::RecordError;

/// A record is a few hundred bytes; anything larger is not one.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// The process's effective user id, from `/proc/self/status` (the library has no system-call
/// crate of its own, and `/proc/self` itself is root's once a process is not dumpable).
/// `None` where there is no such file.
pub(super) fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

fn untrusted(path: &Path, reason: String) -> RecordError {
    RecordError::Untrusted {
        path: path.to_path_buf(),
        reason,
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |error| RecordError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Refuses metadata owned by someone other than root or the effective user, or writable by
/// group or others.
#[cfg(unix)]
fn check_owner_and_mode(path: &Path, meta: &fs::Metadata) -> Result<(), RecordError> {
    use std::os::unix::fs::MetadataExt;
    let me = effective_uid();
    let owner = meta.uid();
    if owner != 0 && Some(owner) != me {
        let who = me.map_or_else(|| "root".to_string(), |u| format!("root or user {u}"));
        return Err(untrusted(
            path,
            format!(
                "it is owned by user {owner}, not {who}, who could make an old backup look \
                 fresh: chown it to the user that runs the backups"
            ),
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(untrusted(
            path,
            format!(
                "it has mode {mode:04o}, so other users may change it: chmod go-w {}",
                crate::shell::quote(&path.to_string_lossy())
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_and_mode(_: &Path, _: &fs::Metadata) -> Result<(), RecordError> {
    Ok(())
}

/// `dir` must be a directory that passes the owner and mode rule.
pub(super) fn check_dir(dir: &Path) -> Result<(), RecordError> {
    let meta = fs::metadata(dir).map_err(io_error(dir))?;
    if !meta.is_dir() {
        return Err(untrusted(dir, "it is not a directory".to_string()));
    }
    check_owner_and_mode(dir, &meta)
}

/// The content of `path` in `dir`, or `None` when the directory or the file does not exist.
pub(super) fn read_trusted(dir: &Path, path: &Path) -> Result<Option<String>, RecordError> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        _ => check_dir(dir)?,
    }
    // Looked at without following a link; the directory, which only trusted users may
    // change, keeps the file from being swapped for something else before the open.
    let seen = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other.map_err(io_error(path))?,
    };
    if !seen.file_type().is_file() {
        return Err(untrusted(
            path,
            "it is not a regular file (a symbolic link, a directory or a device): remove it"
                .to_string(),
        ));
    }
    check_owner_and_mode(path, &seen)?;
    let file = File::open(path).map_err(io_error(path))?;
    let opened = file.metadata().map_err(io_error(path))?;
    if !same_file(&seen, &opened) {
        return Err(untrusted(
            path,
            "it was replaced while being opened: try again".to_string(),
        ));
    }
    let mut text = String::new();
    // Not UTF-8 is an error (InvalidData), as it should be for a record.
    io::Read::read_to_string(&mut io::Read::take(file, MAX_RECORD_BYTES + 1), &mut text)
        .map_err(io_error(path))?;
    if text.len() as u64 > MAX_RECORD_BYTES {
        return Err(RecordError::Corrupt {
            path: path.to_path_buf(),
            message: format!("larger than {MAX_RECORD_BYTES} bytes"),
        });
    }
    Ok(Some(text))
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
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

/// Writes `text` to `name` in `dir` through a temporary file created exclusively beside it
/// (never through a planted file or link), then renamed over it: a reader sees the old record
/// or the new one. Mode 0644: the record is not secret, and a monitoring user reads it.
pub(super) fn write_atomically(dir: &Path, name: &str, text: &str) -> Result<(), RecordError> {
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover of a killed run that had this process id; a link is removed, not followed.
    let _ = fs::remove_file(&temp);
    let written = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o644);
        }
        let mut file = options.open(&temp)?;
        #[cfg(unix)]
        {
            // As for the directory: the umask must not hide the record from monitoring.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o644))?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, dir.join(name))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written.map_err(io_error(&dir.join(name)))?;
    // Makes the rename itself durable; the record is complete either way.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
