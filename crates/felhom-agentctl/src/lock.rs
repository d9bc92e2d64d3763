//! The advisory lock `backup run` holds for the whole run, so that two runs never overlap.
//!
//! An exclusive `flock` (std's `File::try_lock`) on a lock file that is never written to and
//! never removed: removing it would let a third run lock a new file while a second still holds
//! the old one. The lock goes when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use felhom_agentapi::local_trust::check_directory;

use crate::exit::Failure;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::geteuid;

/// Why the lock was not taken.
#[derive(Debug)]
pub(crate) enum LockError {
    /// Another process holds it.
    Held,
    /// The lock file could not be opened or locked.
    Io(io::Error),
}

/// Where the lock is unless `--lock` says otherwise: one per agent endpoint, in the private
/// run-time directory (`runtime_dir`), where no other user can create it first.
pub(crate) fn default_path(endpoint: &str) -> Result<PathBuf, Failure> {
    match crate::runtime_dir::private_dir() {
        Ok(dir) => Ok(dir.join(file_name(endpoint))),
        Err(why) => Err(Failure::Usage(format!(
            "cannot use the private directory for the lock: {}; choose a lock file with --lock",
            crate::output::clean(&why)
        ))),
    }
}

/// The lock's file name for `endpoint`.
fn file_name(endpoint: &str) -> String {
    let safe: String = endpoint
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
            _ => '_',
        })
        .collect();
    format!("felhom-agentctl-backup-{safe}.lock")
}

/// Takes the lock at `path` without waiting, creating the file if needed, in a directory that
/// passes `local_trust` (only root or this user can change it; sticky `/run/lock` passes).
///
/// The file is created with `O_EXCL` (which never follows a symbolic link) and mode 0600, so
/// that no other user can open it: `flock` needs only a read-only descriptor, and whoever can
/// open the file could hold the lock. An existing one is opened with `O_NOFOLLOW` and
/// `O_NONBLOCK` (a symbolic link fails, a FIFO does not block the open), then must be a regular
/// file, owned by root or this user, that no other user can open.
pub(crate) fn acquire(path: &Path) -> Result<File, LockError> {
    // A directory others could change lets them replace the lock file under a held lock.
    let dir = crate::safe_write::parent_dir(path);
    check_directory(dir).map_err(|e| {
        LockError::Io(io::Error::new(
            io::ErrorKind::PermissionDenied,
            e.describe("its directory"),
        ))
    })?;
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let file = match created {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open_existing(path)?,
        Err(e) => return Err(LockError::Io(e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(LockError::Held),
        Err(TryLockError::Error(e)) => Err(LockError::Io(e)),
    }
}

fn open_existing(path: &Path) -> Result<File, LockError> {
    open_private(path, check_owner)
}

/// Opens an existing file at `path` read-only, without following a symbolic link or blocking
/// on a FIFO, and checks that it is a regular file that `owner_ok` accepts and no other user
/// can open. The thaw marker (`marker`) is opened the same way.
pub(crate) fn open_private(
    path: &Path,
    owner_ok: impl Fn(u32, u32) -> Result<(), LockError>,
) -> Result<File, LockError> {
    let refuse = |why: String| LockError::Io(io::Error::new(io::ErrorKind::InvalidInput, why));
    let file = OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK).bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == Errno::ELOOP as i32 => {
                refuse("it is a symbolic link; refusing it".into())
            }
            _ => LockError::Io(e),
        })?;
    let meta = file.metadata().map_err(LockError::Io)?;
    if !meta.file_type().is_file() {
        return Err(refuse("it is not a regular file; refusing it".into()));
    }
    owner_ok(meta.uid(), geteuid().as_raw())?;
    if meta.mode() & 0o077 != 0 {
        return Err(LockError::Io(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "other users can open it (mode {:04o}) and so hold it to stop every backup run; \
                 remove it, and a new one is made with mode 0600",
                meta.mode() & 0o7777
            ),
        )));
    }
    Ok(file)
}

/// Refuses a lock file that neither root nor this user owns. In a directory every user may
/// write to (`/run/lock`), anyone could create the file first and hold a lock on it: every
/// run would then find the lock held and exit 7, which a unit counts as "already under way",
/// and no backup would ever run without anyone noticing.
fn check_owner(owner: u32, me: u32) -> Result<(), LockError> {
    if owner == 0 || owner == me {
        return Ok(());
    }
    Err(LockError::Io(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "it belongs to uid {owner}, neither root nor this user (uid {me}), who could hold it \
             to stop every backup run; remove it if that user is not trusted"
        ),
    )))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn default_paths_are_one_file_name_per_endpoint() {
        let v4 = file_name("127.0.0.1:8443");
        assert_eq!(v4, "felhom-agentctl-backup-127.0.0.1_8443.lock");
        let v6 = file_name("[::1]:8443");
        assert_eq!(v6, "felhom-agentctl-backup-___1__8443.lock");
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped_and_links_are_refused() {
        let dir = std::env::temp_dir().join(format!("felhom-lock-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("backup.lock");
        let first = acquire(&path).unwrap();
        assert!(matches!(acquire(&path), Err(LockError::Held)));
        drop(first);
        let again = acquire(&path).unwrap();
        drop(again);

        let link = dir.join("planted.lock");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(matches!(acquire(&link), Err(LockError::Io(_))));
        let dangling = dir.join("dangling.lock");
        let _ = fs::remove_file(&dangling);
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).unwrap();
        assert!(matches!(acquire(&dangling), Err(LockError::Io(_))));
        assert!(
            !dir.join("nowhere").exists(),
            "nothing was created through the link"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_file_of_another_user_is_refused_unless_root_owns_it() {
        assert!(check_owner(0, 1000).is_ok(), "root's file");
        assert!(check_owner(1000, 1000).is_ok(), "this user's file");
        assert!(check_owner(0, 0).is_ok());
        let Err(LockError::Io(e)) = check_owner(65534, 0) else {
            panic!("nobody's lock file was accepted for root");
        };
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("uid 65534"), "{e}");
        assert!(matches!(check_owner(1001, 1000), Err(LockError::Io(_))));
    }
}
