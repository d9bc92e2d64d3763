//! The thaw marker: what `backup run` is about to freeze, recorded durably before the first
//! freeze hook runs and removed once the thaw has run, so that a run that never reached its
//! thaw (SIGKILL, the OOM killer, a crash, systemd's stop timeout) is thawed later by
//! `backup thaw` (the unit's `ExecStopPost=`) or by the next `backup run`.
//!
//! It lives next to the lock file (`<lock>.frozen`), so `--lock FILE` chooses both and the
//! lock guards it: only the holder of the lock reads, writes or removes it. It is written to a
//! new file (mode 0600, `O_EXCL`), synced, renamed into place and the directory synced
//! ([`safe_write::replace`]); it is
//! read as the lock is opened (no symbolic link, no FIFO, a regular file of this user that no
//! other user can open), and at most [`LIMIT`] bytes of it.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lock::{self, LockError};
use crate::safe_write::{self, Kind};

/// The most a marker may hold: far more than any list of hooks.
const LIMIT: u64 = 1 << 20;

/// The marker of the lock file `lock`.
pub(crate) fn path_for(lock: &Path) -> PathBuf {
    let mut name = lock.as_os_str().to_owned();
    name.push(".frozen");
    PathBuf::from(name)
}

/// What a run froze, or was about to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recorded {
    /// The `--post` command, run by `sh -c` at the thaw.
    pub post: Option<String>,
    /// The `--hooks-dir` hooks in freeze order, each run with `thaw` (in reverse order).
    pub hooks: Vec<String>,
    /// How many of `hooks` were started with `freeze`.
    pub began: usize,
    /// `--hook-timeout`, in milliseconds.
    pub hook_timeout_ms: u64,
}

impl Recorded {
    pub(crate) fn hook_timeout(&self) -> Duration {
        Duration::from_millis(self.hook_timeout_ms)
    }
}

/// Writes `recorded` to `path` durably: once this returns, a crash or a power cut leaves
/// either the old marker or the new one, never a torn one.
pub(crate) fn write(path: &Path, recorded: &Recorded) -> io::Result<()> {
    let text = serde_json::to_vec(recorded).map_err(io::Error::other)?;
    safe_write::replace(path, &text, Kind::PRIVATE_DURABLE)
}

/// The marker at `path`, if there is one.
pub(crate) fn read(path: &Path) -> io::Result<Option<Recorded>> {
    let file = match lock::open_private(path, own) {
        Ok(file) => file,
        Err(LockError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(LockError::Io(e)) => return Err(e),
        Err(LockError::Held) => return Err(io::Error::other("held")),
    };
    let mut text = Vec::new();
    file.take(LIMIT + 1).read_to_end(&mut text)?;
    if text.len() as u64 > LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {LIMIT} bytes: not a thaw marker"),
        ));
    }
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is not a thaw marker ({e})"),
        )
    })
}

/// Removes the marker at `path` (nothing if there is none) and syncs the directory.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(()) => safe_write::sync_parent(path),
    }
}

/// A marker is written by this user, and only one of this user's is trusted: another's could
/// name any command to run.
fn own(owner: u32, me: u32) -> Result<(), LockError> {
    if owner == me {
        return Ok(());
    }
    Err(LockError::Io(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("it belongs to uid {owner}, not this user (uid {me}): its commands are not run"),
    )))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_marker_reads_back_as_written_and_a_wrong_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("felhom-marker-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = path_for(&dir.join("backup.lock"));
        assert!(path.ends_with("backup.lock.frozen"), "{path:?}");
        assert_eq!(read(&path).unwrap(), None);
        let recorded = Recorded {
            post: Some("echo thawed".into()),
            hooks: vec!["/etc/hooks/10-db".into()],
            began: 1,
            hook_timeout_ms: 1500,
        };
        write(&path, &recorded).unwrap();
        write(&path, &recorded).unwrap();
        assert_eq!(read(&path).unwrap(), Some(recorded));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&path).is_err(), "a marker others can read");
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read(&path).is_err(), "not a marker");
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(own(0, 1000).is_err(), "root's marker is not this user's");
        fs::remove_dir_all(&dir).unwrap();
    }
}
