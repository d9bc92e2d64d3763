//! Where the bearer token comes from, and reading it from there.

use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use super::files::{self, MAX_FILE_BYTES, Policy};

/// The name of the systemd credential holding the token: `LoadCredential=felhom-agent-token:PATH`
/// in a unit makes it `$CREDENTIALS_DIRECTORY/felhom-agent-token`.
pub const TOKEN_CREDENTIAL: &str = "felhom-agent-token";

/// Where a bearer token is read from. Nothing is read until [`TokenSource::read`].
///
/// Files (a token file, a systemd credential) must be private: a file that others may read, or
/// that anyone but its owner may write, is refused; a group-readable one (mode 0640, owned by
/// root with the service's group) is accepted. They are read through
/// [`local_trust`](crate::local_trust), which also holds their owner, the directories above
/// them and any link on the way to its rules. One trailing newline is removed from every
/// source. `Debug` never shows a token.
///
/// ```
/// use felhom_agentapi::settings::TokenSource;
///
/// let source = TokenSource::Value("s3cret".into());
/// assert_eq!(source.read()?, "s3cret");
/// assert!(!format!("{source:?}").contains("s3cret"));
/// assert_eq!(source.to_string(), "the token given as a value");
/// # Ok::<(), felhom_agentapi::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// The token itself (`FELHOM_AGENT_TOKEN`).
    Value(String),
    /// A private file holding it (`FELHOM_AGENT_TOKEN_FILE`, `--token-file`).
    File(PathBuf),
    /// A systemd credential file (`$CREDENTIALS_DIRECTORY/felhom-agent-token`).
    Credential(PathBuf),
    /// An open file descriptor, read to its end (`--token-fd N`): a pipe or a file the parent
    /// process opened. Read through `/dev/fd/N`, so only where the system has it (Linux).
    ///
    /// Reading leaves descriptor `N` open (it is not this crate's to close), and a descriptor a
    /// process inherited is usually not close-on-exec: every program it starts later inherits
    /// it too, and a file can be read again from its start through it. Close `N` once the
    /// client is built, before starting other programs; `felhom-agentctl` does.
    Fd(u32),
    /// The first line of standard input (`--token-stdin`).
    Stdin,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Value(_) => f.write_str("Value([redacted])"),
            TokenSource::File(p) if is_bare_name(p) => f.write_str("File([bare name, redacted])"),
            TokenSource::File(p) => f.debug_tuple("File").field(p).finish(),
            TokenSource::Credential(p) => f.debug_tuple("Credential").field(p).finish(),
            TokenSource::Fd(n) => f.debug_tuple("Fd").field(n).finish(),
            TokenSource::Stdin => f.write_str("Stdin"),
        }
    }
}

/// How a token file named without a `/` is shown: such a name may be the token itself, given
/// where its file belongs (`FELHOM_AGENT_TOKEN_FILE=<token>`), so it is never repeated.
const BARE_NAME: &str = "named without a '/' (the name is not shown: it may be the token itself)";

fn is_bare_name(path: &Path) -> bool {
    !path.as_os_str().as_encoded_bytes().contains(&b'/')
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Value(_) => f.write_str("the token given as a value"),
            TokenSource::File(p) if is_bare_name(p) => write!(f, "token file {BARE_NAME}"),
            TokenSource::File(p) => write!(f, "token file {}", p.display()),
            TokenSource::Credential(p) => write!(f, "systemd credential {}", p.display()),
            TokenSource::Fd(n) => write!(f, "file descriptor {n}"),
            TokenSource::Stdin => f.write_str("standard input"),
        }
    }
}

impl TokenSource {
    /// Reads the token, less one trailing newline.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config), naming the source but never the token: it cannot
    /// be read, it is not UTF-8, it is empty, larger than 64 KiB, holds anything but visible
    /// ASCII characters (a second trailing newline, a space), or its file is not trusted (see
    /// [`local_trust`](crate::local_trust)).
    pub fn read(&self) -> Result<String, crate::Error> {
        self.read_text()
            .map_err(|message| crate::Error::Config { message })
    }

    fn read_text(&self) -> Result<String, String> {
        let token = match self {
            TokenSource::Value(value) => value.clone(),
            TokenSource::File(path) if is_bare_name(path) => {
                return Err(format!(
                    "the token file is {BARE_NAME}: give its path, as ./NAME or \
                     /etc/felhom/agent.token"
                ));
            }
            TokenSource::File(path) => {
                files::strip_newline(files::read(path, "token file", Policy::Secret)?)
            }
            TokenSource::Credential(path) => {
                files::strip_newline(files::read(path, "systemd credential", Policy::Secret)?)
            }
            TokenSource::Fd(n) => {
                let path = format!("/dev/fd/{n}");
                let file = std::fs::File::open(&path).map_err(|e| {
                    format!("could not read the token from file descriptor {n} ({path}): {e}")
                })?;
                files::strip_newline(files::read_bounded(file, &format!("file descriptor {n}"))?)
            }
            TokenSource::Stdin => first_line_of_stdin()?,
        };
        let flaw = if token.is_empty() {
            Some("is empty".to_string())
        } else {
            crate::client::token_flaw(&token)
        };
        match (flaw, self) {
            (None, _) => Ok(token),
            // Named by whoever knows the variable or flag it came from.
            (Some(flaw), TokenSource::Value(_)) => Err(format!("the token {flaw}")),
            (Some(flaw), source) => Err(format!("the token from {source} {flaw}")),
        }
    }
}

fn first_line_of_stdin() -> Result<String, String> {
    let mut line = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_FILE_BYTES + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("could not read the token from standard input: {e}"))?;
    if line.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "the first line of standard input is longer than {MAX_FILE_BYTES} bytes: not a token"
        ));
    }
    let line = String::from_utf8(line)
        .map_err(|_| "the token on standard input is not valid UTF-8".to_string())?;
    Ok(files::strip_newline(line))
}
