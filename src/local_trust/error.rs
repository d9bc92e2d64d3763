//! Why a file was not trusted, and what to do about it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::Secrecy;
use crate::shell::quote;

/// What was wrong, where [`TrustError::at`] points.
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// It could not be looked at, opened or read.
    Io(io::Error),
    /// The file is not a regular file: `found` says what it is ("FIFO (named pipe)",
    /// "character device", "directory", ...).
    NotRegular {
        /// The kind of file found.
        found: &'static str,
    },
    /// The file belongs to `uid`, neither root nor this process's user.
    Owner {
        /// Its owner.
        uid: u32,
    },
    /// The file's `mode` lets others than its owner write it (or, for a secret, read it).
    Mode {
        /// Its permission bits.
        mode: u32,
        /// The rule it was held to.
        secrecy: Secrecy,
    },
    /// A directory on the way belongs to `uid`, neither root nor this process's user.
    DirectoryOwner {
        /// Its owner.
        uid: u32,
    },
    /// A directory on the way lets its group or others replace what is in it (no sticky bit).
    DirectoryWritable {
        /// Its permission bits.
        mode: u32,
    },
    /// Something on the way that must be a directory is not one.
    NotADirectory,
    /// A symbolic link on the way belongs to `uid`, neither root nor this process's user.
    LinkOwner {
        /// Its owner.
        uid: u32,
    },
    /// More than 40 symbolic links on the way.
    TooManyLinks,
    /// What was opened is not the file that was checked: it was replaced in between.
    Changed,
    /// The file is larger than `limit` bytes.
    TooLarge {
        /// The most that is read.
        limit: u64,
    },
    /// The file is not valid UTF-8.
    NotUtf8,
}

/// A file that decides trust was refused: which, where on its way, what was found, and the fix.
///
/// `Display` reads "file PATH ..."; [`TrustError::describe`] names the file as the caller knows
/// it ("token file PATH ...").
#[derive(Debug)]
pub struct TrustError {
    path: PathBuf,
    at: PathBuf,
    problem: Problem,
    me: u32,
}

impl TrustError {
    pub(super) fn new(path: &Path, at: &Path, problem: Problem, me: u32) -> TrustError {
        TrustError {
            path: path.to_path_buf(),
            at: at.to_path_buf(),
            problem,
            me,
        }
    }

    pub(super) fn io(path: &Path, at: &Path, error: io::Error, me: u32) -> TrustError {
        TrustError::new(path, at, Problem::Io(error), me)
    }

    /// The file asked for, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file, directory or symbolic link at fault: the file itself, one of the directories
    /// above it, or the target of a link.
    pub fn at(&self) -> &Path {
        &self.at
    }

    /// What was wrong there.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// The command or step that fixes it, if there is one. A `chmod` is only ever advised for a
    /// regular file.
    pub fn fix(&self) -> Option<String> {
        let at = quote(&self.at.to_string_lossy()).into_owned();
        Some(match &self.problem {
            Problem::Owner { .. } => {
                format!("chown root {at} (or replace it with a file of your own)")
            }
            Problem::Mode {
                secrecy: Secrecy::Public,
                ..
            } => format!("chmod go-w {at}"),
            Problem::Mode {
                secrecy: Secrecy::Secret,
                ..
            } => format!("chmod 600 {at} (or chmod 640 to let its group read it)"),
            Problem::NotRegular { .. } => "give the path of a regular file".to_string(),
            Problem::DirectoryOwner { .. } | Problem::DirectoryWritable { .. } => {
                "keep the file in a directory that only root (or this user) can change".to_string()
            }
            Problem::LinkOwner { .. } => format!(
                "remove the link {at} if you did not make it; root may link or copy the file \
                 into place"
            ),
            _ => return None,
        })
    }

    /// The message, with the file named as `what` ("settings file", "token file").
    pub fn describe(&self, what: &str) -> String {
        let path = self.path.display();
        let at = self.at.display();
        let me = self.me;
        let on_the_way = if self.at == self.path {
            String::new()
        } else {
            format!(" ({at})")
        };
        let owner = |uid: &u32| format!("uid {uid}, neither root nor this user (uid {me})");
        let text = match &self.problem {
            Problem::Io(e) if self.at == self.path => format!("could not open {what} {path}: {e}"),
            Problem::Io(e) => format!("could not open {what} {path}: {at}: {e}"),
            Problem::NotRegular { found } => {
                format!("{what} {path}{on_the_way} is a {found}, not a regular file")
            }
            Problem::Owner { uid } => format!(
                "{what} {path}{on_the_way} belongs to {}, who could change it",
                owner(uid)
            ),
            Problem::Mode {
                mode,
                secrecy: Secrecy::Public,
            } => format!(
                "{what} {path}{on_the_way} has mode {mode:04o}, so users other than its owner \
                 may change it"
            ),
            Problem::Mode {
                mode,
                secrecy: Secrecy::Secret,
            } if mode & 0o007 != 0 => format!(
                "{what} {path}{on_the_way} has mode {mode:04o}, so other users may read or \
                 change it"
            ),
            Problem::Mode { mode, .. } => {
                format!("{what} {path}{on_the_way} has mode {mode:04o}, so its group may change it")
            }
            Problem::DirectoryOwner { uid } if self.at == self.path => format!(
                "{what} {path} belongs to {}, who could replace what is in it",
                owner(uid)
            ),
            Problem::DirectoryWritable { mode } if self.at == self.path => format!(
                "{what} {path} has mode {mode:04o} and no sticky bit, so users other than its \
                 owner could replace what is in it"
            ),
            Problem::DirectoryOwner { uid } => format!(
                "{what} {path} is under the directory {at}, which belongs to {}, who could \
                 replace the file",
                owner(uid)
            ),
            Problem::DirectoryWritable { mode } => format!(
                "{what} {path} is under the directory {at} (mode {mode:04o}, no sticky bit), \
                 where users other than its owner could replace the file"
            ),
            Problem::NotADirectory => format!("{what} {path}: {at} is not a directory"),
            Problem::LinkOwner { uid } => format!(
                "{what} {path}: the symbolic link {at} belongs to {}; a link is followed only \
                 when root or this user made it",
                owner(uid)
            ),
            Problem::TooManyLinks => {
                format!("{what} {path}: more than 40 symbolic links on the way, at {at}")
            }
            Problem::Changed => {
                format!("{what} {path} was replaced while it was being opened; try again")
            }
            Problem::TooLarge { limit } => {
                format!("{what} {path} is larger than {limit} bytes: not what it should be")
            }
            Problem::NotUtf8 => format!("{what} {path} is not valid UTF-8"),
        };
        match self.fix() {
            Some(fix) => format!("{text}: {fix}"),
            None => text,
        }
    }
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("file"))
    }
}

impl std::error::Error for TrustError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Io(e) => Some(e),
            _ => None,
        }
    }
}
