//! Reading the small files settings come from: bounded, checked on the handle that was opened
//! (never the path again, which could be swapped in between), with the mode policy of each kind.

use std::io::Read;
use std::path::Path;

/// A settings, pins or token file larger than this is a mistake (a wrong path, a binary).
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Who may do what to a file, beyond its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    /// A secret: others may not read or write it, its group may read it but not write it
    /// (0600, 0400, 0640 and 0440 pass; 0644, 0660, 0604 do not).
    Secret,
    /// Not secret, but trusted: whoever may write it decides which server gets the token, so
    /// only its owner may (0644 passes; 0664, 0646 do not).
    Trusted,
}

/// Reads the whole of `path` as UTF-8, through [`crate::local_trust`]: a regular file, owned by
/// root or this user, that `policy` allows and no one else could change or swap. `what` names
/// the file in messages ("token file", "pins file").
#[cfg(unix)]
pub(crate) fn read(path: &Path, what: &str, policy: Policy) -> Result<String, String> {
    use crate::local_trust::{Secrecy, TrustedFile};
    let secrecy = match policy {
        Policy::Secret => Secrecy::Secret,
        Policy::Trusted => Secrecy::Public,
    };
    TrustedFile::open(path, secrecy)
        .and_then(|file| file.read_to_string(MAX_FILE_BYTES))
        .map_err(|e| e.describe(what))
}

/// Reads the whole of `path` as UTF-8; `what` names the file in messages.
#[cfg(not(unix))]
pub(crate) fn read(path: &Path, what: &str, _: Policy) -> Result<String, String> {
    let shown = path.display();
    let file =
        std::fs::File::open(path).map_err(|e| format!("could not open {what} {shown}: {e}"))?;
    read_bounded(file, &format!("{what} {shown}"))
}

/// Reads at most [`MAX_FILE_BYTES`] from `reader` as UTF-8; `what` names it in messages.
pub(crate) fn read_bounded(reader: impl Read, what: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not read {what}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "{what} is larger than {MAX_FILE_BYTES} bytes: not what it should be"
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))
}

/// Removes one trailing `\n` or `\r\n`, as editors and `echo` leave them. Anything else stays,
/// so a token with inner line breaks is refused by the client rather than silently cut.
pub(crate) fn strip_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_exactly_one_line_ending() {
        assert_eq!(strip_newline("abc\n".into()), "abc");
        assert_eq!(strip_newline("abc\r\n".into()), "abc");
        assert_eq!(strip_newline("abc".into()), "abc");
        assert_eq!(strip_newline("abc\n\n".into()), "abc\n");
        assert_eq!(strip_newline("abc\r".into()), "abc\r");
        assert_eq!(strip_newline("\n".into()), "");
    }
}
