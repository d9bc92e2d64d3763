//! The private directory of the tool's run-time files (the `backup run` lock): one that only
//! this user can create files in, so that no other user can plant a file there first.
//!
//! For root: systemd's `$RUNTIME_DIRECTORY` when the unit sets `RuntimeDirectory=`, otherwise
//! `/run/felhom-agentctl`, created with mode 0700. For other users: `$XDG_RUNTIME_DIR`, otherwise
//! `felhom-agentctl-UID` in the temporary directory, created with mode 0700. A directory that is
//! already there must belong to this user and be writable by no one else.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use felhom_agentapi::local_trust::check_directory;
use nix::unistd::geteuid;

/// Root's directory when systemd made none: the name the shipped unit's `RuntimeDirectory=`
/// gives too, so a run from a root shell and one from the timer share it.
const ROOTS: &str = "/run/felhom-agentctl";

/// The private directory, created if needed; or why it cannot be used.
pub(crate) fn private_dir() -> Result<PathBuf, String> {
    let me = geteuid().as_raw();
    let given = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            // systemd lists one directory per `RuntimeDirectory=` name, separated by ':'.
            .and_then(|p| p.to_str()?.split(':').next().map(PathBuf::from))
            .filter(|p| p.is_absolute())
    };
    let (var, fallback) = if me == 0 {
        ("RUNTIME_DIRECTORY", PathBuf::from(ROOTS))
    } else {
        (
            "XDG_RUNTIME_DIR",
            std::env::temp_dir().join(format!("felhom-agentctl-{me}")),
        )
    };
    match given(var) {
        Some(dir) => check(&dir, me).map(|()| dir),
        None => {
            match DirBuilder::new().mode(0o700).create(&fallback) {
                Ok(()) => {}
                // Whatever is there (a directory, a link, a file) is checked below.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(format!(
                        "cannot create the directory {}: {e}",
                        fallback.display()
                    ));
                }
            }
            check(&fallback, me).map(|()| fallback)
        }
    }
}

/// A directory of this user's own (not a link to one), writable by no one else, on a way that
/// passes `local_trust`.
fn check(dir: &Path, me: u32) -> Result<(), String> {
    let shown = dir.display();
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_dir() {
        return Err(format!(
            "{shown} is not a directory (another user may have put it there): remove it"
        ));
    }
    if meta.uid() != me {
        return Err(format!(
            "the directory {shown} belongs to uid {}, not to this user (uid {me}), who could \
             hold or plant the files kept there: remove it, and it is made anew",
            meta.uid()
        ));
    }
    check_directory(dir).map_err(|e| e.describe("the run-time directory"))?;
    Ok(())
}
