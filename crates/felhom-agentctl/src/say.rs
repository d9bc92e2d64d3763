//! Lines for whoever watches standard error, written so that a write can never end the tool.
//!
//! `eprintln!` panics when standard error is gone (EPIPE from a dead `| logger`, EIO from a
//! closed terminal, ENOSPC on `/dev/full`), and a panic in the middle of `backup run` would
//! skip the thaw hooks. Every line here is one `write_all` whose error is dropped: nothing
//! useful can be said about a channel that cannot be written to, and the exit status still
//! tells. `clippy::print_stdout` and `clippy::print_stderr` are denied in this binary so that
//! no `print!` comes back.
//!
//! Where standard error is the journal (systemd names it in `$JOURNAL_STREAM`), each line
//! starts with an sd-daemon priority (`<3>` for errors, `<4>` for warnings, `<6>` for
//! progress), so that `journalctl -p err` shows the tool's errors, and without the program's
//! name, which journald adds itself (`felhom-agentctl[104]: …`).

use std::io::{self, Write};
use std::sync::OnceLock;

/// How much a line matters, as syslog and the journal rank it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// The tool failed, or something needs a person (`<3>`).
    Error,
    /// Something went wrong that the tool worked around (`<4>`).
    Warning,
    /// Progress and notes (`<6>`).
    Info,
}

impl Level {
    fn priority(self) -> u8 {
        match self {
            Level::Error => 3,
            Level::Warning => 4,
            Level::Info => 6,
        }
    }
}

/// `felhom-agentctl: <text>` on standard error (`<6><text>` in the journal); dropped if it
/// cannot be written.
pub(crate) fn note(text: &str) {
    say(Level::Info, text);
}

/// An error: `felhom-agentctl: <text>`, or `<3><text>` in the journal.
pub(crate) fn error(text: &str) {
    say(Level::Error, text);
}

/// `text` at `level`, with the program's name (or the journal's priority) in front.
pub(crate) fn say(level: Level, text: &str) {
    write_line(&format!("{}{text}", prefix(level, false)));
}

/// `text` as one line on standard error, with no program name: `-v`'s lines and a message's
/// indented continuation lines. In the journal it still carries `level`'s priority.
pub(crate) fn line(level: Level, text: &str) {
    write_line(&format!("{}{text}", prefix(level, true)));
}

/// How a line at `level` starts: the journal's priority where standard error is the journal,
/// else the program's name (left out for a `continuation` of the line above).
pub(crate) fn prefix(level: Level, continuation: bool) -> String {
    if to_journal() {
        format!("<{}>", level.priority())
    } else if continuation {
        String::new()
    } else {
        "felhom-agentctl: ".to_string()
    }
}

fn write_line(text: &str) {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    // One write for the whole line: lines of the tool and of its hooks do not interleave.
    let _ = io::stderr().lock().write_all(&bytes);
}

/// Whether standard error is the journal's stream: `$JOURNAL_STREAM` is `DEVICE:INODE` of the
/// stream systemd connected, and it counts only while standard error still is that stream (a
/// child whose stderr was redirected inherits the variable).
fn to_journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| {
        let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
            return false;
        };
        let Ok(stat) = nix::sys::stat::fstat(io::stderr()) else {
            return false;
        };
        names_stream(&stream.to_string_lossy(), stat.st_dev, stat.st_ino)
    })
}

/// Whether `DEVICE:INODE` (as systemd writes `$JOURNAL_STREAM`) names the file `dev`, `ino`.
fn names_stream(stream: &str, dev: u64, ino: u64) -> bool {
    stream.split_once(':').is_some_and(|(d, i)| {
        d.parse::<u64>().is_ok_and(|d| d == dev) && i.parse::<u64>().is_ok_and(|i| i == ino)
    })
}

#[cfg(test)]
mod tests {
    use super::names_stream;

    #[test]
    fn the_journal_stream_is_named_by_device_and_inode() {
        assert!(names_stream("8:1234", 8, 1234));
        assert!(!names_stream("8:1234", 8, 1235));
        assert!(!names_stream("9:1234", 8, 1234));
        assert!(!names_stream("8", 8, 1234));
        assert!(!names_stream("", 0, 0));
        assert!(!names_stream("x:y", 0, 0));
    }
}
