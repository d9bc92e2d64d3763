//! Opening a local file that decides trust, as OpenSSH's `StrictModes` and cron draw the line.
//!
//! The settings file chooses the server and the pin, a pins file the pin, a token file what is
//! sent as the bearer token; for `felhom-agentctl`, a hook is a program root runs. Whoever can
//! change such a file, or swap it, decides what this process trusts. So a file is accepted only
//! when:
//!
//! - it is a **regular file** (a FIFO, a device or a directory is refused before it is opened,
//!   so nothing blocks on a FIFO);
//! - it is **owned by root or the effective user**, and **not writable by its group or others**
//!   (a [`Secrecy::Secret`] may not be readable by others either; its group may read it, for a
//!   root-owned `0640` file the service's group reads);
//! - **every directory above it** is owned by root or the effective user and not writable by its
//!   group or others, unless it has the sticky bit (as `/tmp`), where no one may replace
//!   another user's file;
//! - a **symbolic link** on the way is followed only when root or the effective user owns it;
//!   its target is then walked by the same rules (an administrator's link into `/etc` passes;
//!   another user's link, or a link to another user's file, does not).
//!
//! The path is walked one component at a time with `lstat`, nothing is opened until the walk
//! has passed, and what was opened is checked again through its own descriptor (`fstat`): it
//! must be the very file the walk checked. Only root or the effective user could change a path
//! that passed, so what passed is what is read.
//!
//! ```
//! use felhom_agentapi::local_trust::{Secrecy, TrustedFile};
//!
//! // A world-writable file is refused, and the error says how to fix it.
//! # let dir = std::env::temp_dir().join(format!("trust-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # use std::os::unix::fs::PermissionsExt;
//! # std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
//! let path = dir.join("agent.env");
//! std::fs::write(&path, "FELHOM_AGENT_ENDPOINT=10.0.0.1:8443\n")?;
//! std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666))?;
//! let refused = TrustedFile::open(&path, Secrecy::Public).unwrap_err();
//! assert!(refused.fix().unwrap().starts_with("chmod go-w "));
//!
//! std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
//! let text = TrustedFile::open(&path, Secrecy::Public)?.read_to_string(64 * 1024)?;
//! assert!(text.starts_with("FELHOM_AGENT_ENDPOINT="));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod walk;

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use error::{Problem, TrustError};

/// Who besides the owner may read the file. Nobody but the owner may ever write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Secrecy {
    /// Anyone may read it (a settings or pins file, a hook): `0644` and `0755` pass.
    Public,
    /// A secret (a token): its group may read it, others may not. `0600`, `0400`, `0640` and
    /// `0440` pass; `0644` and `0660` do not.
    Secret,
}

/// A regular file, opened after its path passed the rules of this module.
#[derive(Debug)]
pub struct TrustedFile {
    file: File,
    path: PathBuf,
    resolved: PathBuf,
    metadata: Metadata,
}

impl TrustedFile {
    /// Opens `path` for reading, if it and the way to it pass the rules (see the
    /// [module](self)).
    ///
    /// # Errors
    ///
    /// A [`TrustError`] naming the file, the file, directory or link at fault, what was found
    /// (owner, mode, kind of file) and, where there is one, the fix.
    pub fn open(path: &Path, secrecy: Secrecy) -> Result<TrustedFile, TrustError> {
        let me = effective_uid().map_err(|e| TrustError::io(path, path, e, 0))?;
        let fail = |at: &Path, problem: Problem| TrustError::new(path, at, problem, me);
        let (resolved, seen) = walk::resolve(path, me).map_err(|(at, p)| fail(&at, p))?;
        check_file(&seen, secrecy, me).map_err(|p| fail(&resolved, p))?;
        let file = File::open(&resolved).map_err(|e| fail(&resolved, Problem::Io(e)))?;
        let metadata = file
            .metadata()
            .map_err(|e| fail(&resolved, Problem::Io(e)))?;
        // The walk's `lstat` and this `fstat` must see the same file: nothing was swapped in.
        if (metadata.dev(), metadata.ino()) != (seen.dev(), seen.ino()) {
            return Err(fail(&resolved, Problem::Changed));
        }
        check_file(&metadata, secrecy, me).map_err(|p| fail(&resolved, p))?;
        Ok(TrustedFile {
            file,
            path: path.to_path_buf(),
            resolved,
            metadata,
        })
    }

    /// The path as it was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path with every symbolic link resolved: the file that was opened.
    pub fn resolved_path(&self) -> &Path {
        &self.resolved
    }

    /// The metadata of the open file (`fstat`).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The open file.
    pub fn into_file(self) -> File {
        self.file
    }

    /// Reads the whole file as UTF-8, if it holds at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// [`Problem::Io`] when reading fails, [`Problem::TooLarge`] past `limit`,
    /// [`Problem::NotUtf8`].
    pub fn read_to_string(self, limit: u64) -> Result<String, TrustError> {
        let me = effective_uid().unwrap_or(0);
        let fail = |problem| TrustError::new(&self.path, &self.resolved, problem, me);
        let mut bytes = Vec::new();
        (&self.file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| fail(Problem::Io(e)))?;
        if bytes.len() as u64 > limit {
            return Err(fail(Problem::TooLarge { limit }));
        }
        String::from_utf8(bytes).map_err(|_| fail(Problem::NotUtf8))
    }
}

/// Checks that `path` is a directory that it and the way to it pass the rules (see the
/// [module](self)): for a directory this process will create files in or run files from.
/// Returns the path with every symbolic link resolved.
///
/// # Errors
///
/// A [`TrustError`], as [`TrustedFile::open`].
pub fn check_directory(path: &Path) -> Result<PathBuf, TrustError> {
    let me = effective_uid().map_err(|e| TrustError::io(path, path, e, 0))?;
    let fail = |at: &Path, problem: Problem| TrustError::new(path, at, problem, me);
    let (resolved, seen) = walk::resolve(path, me).map_err(|(at, p)| fail(&at, p))?;
    if !seen.is_dir() {
        return Err(fail(&resolved, Problem::NotADirectory));
    }
    walk::check_dir(&seen, me).map_err(|p| fail(&resolved, p))?;
    Ok(resolved)
}

/// The user this process acts as on files: the owner of a pipe it creates (on Linux, the
/// filesystem user id, which is the effective one unless changed on purpose). Learnt once,
/// through `std` alone, so the library needs no `unsafe` and no system-call crate.
///
/// # Errors
///
/// When no pipe can be created (out of descriptors).
pub fn effective_uid() -> io::Result<u32> {
    static UID: OnceLock<u32> = OnceLock::new();
    if let Some(uid) = UID.get() {
        return Ok(*uid);
    }
    let (reader, _writer) = io::pipe()?;
    let uid = File::from(std::os::fd::OwnedFd::from(reader))
        .metadata()?
        .uid();
    Ok(*UID.get_or_init(|| uid))
}

/// The file rules of [`Secrecy`]: a regular file, owned by root or `me`, written by no one else.
fn check_file(meta: &Metadata, secrecy: Secrecy, me: u32) -> Result<(), Problem> {
    let kind = walk::kind(meta);
    if kind != "regular file" {
        return Err(Problem::NotRegular { found: kind });
    }
    let (uid, mode) = (meta.uid(), meta.mode() & 0o7777);
    if uid != 0 && uid != me {
        return Err(Problem::Owner { uid });
    }
    let refused = match secrecy {
        Secrecy::Public => 0o022,
        Secrecy::Secret => 0o027,
    };
    if mode & refused != 0 {
        return Err(Problem::Mode { mode, secrecy });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
