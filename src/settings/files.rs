//! Reading the small files settings come from: bounded, checked on the handle that was opened
//! (never the path again, which could be swapped in between), with the mode policy of each kind.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::shell::quote;

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

/// Reads the whole of `path` as UTF-8, refusing it if `policy` forbids its mode. `what` names
/// the file in messages ("token file", "pins file").
pub(crate) fn read(path: &Path, what: &str, policy: Policy) -> Result<String, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("could not open {what} {shown}: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("could not inspect {what} {shown}: {e}"))?;
    if metadata.is_dir() {
        return Err(format!("{what} {shown} is a directory"));
    }
    check_mode(path, what, &metadata, policy)?;
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

#[cfg(unix)]
fn check_mode(
    path: &Path,
    what: &str,
    metadata: &std::fs::Metadata,
    policy: Policy,
) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    let shown = path.display();
    let quoted = quote(&path.to_string_lossy()).into_owned();
    match policy {
        Policy::Secret if mode & 0o007 != 0 => Err(format!(
            "{what} {shown} has mode {mode:04o}, so other users may read or change it: make it \
             private with: chmod 600 {quoted} (or chmod 640 to let its group read it)"
        )),
        Policy::Secret if mode & 0o020 != 0 => Err(format!(
            "{what} {shown} has mode {mode:04o}, so its group may change it: make it private \
             with: chmod 600 {quoted} (or chmod 640 to let its group read it)"
        )),
        Policy::Trusted if mode & 0o022 != 0 => Err(format!(
            "{what} {shown} has mode {mode:04o}, so users other than its owner may change it, \
             and with it which server is trusted: chmod go-w {quoted}"
        )),
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn check_mode(_: &Path, _: &str, _: &std::fs::Metadata, _: Policy) -> Result<(), String> {
    Ok(())
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
