//! The pins file: one fingerprint per line, `#` comments. Rotating the agent's certificate is
//! an edit of this file: add the new pin, later remove the old one.

use std::io;
use std::path::Path;

use super::files::{self, Policy};
use crate::{Error, Fingerprint};

/// Reads a pins file: one fingerprint per line (any spelling [`Fingerprint`] parses), blank
/// lines, and `#` comments to the end of a line.
///
/// The file must not be writable by anyone but its owner (mode 0644 passes, 0664 does not),
/// and it and the way to it must pass [`local_trust`](crate::local_trust): whoever can edit
/// it chooses which server the token goes to.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("pins-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use felhom_agentapi::Fingerprint;
/// use felhom_agentapi::settings::{read_pins_file, write_pins_file};
///
/// let pin = Fingerprint::of_der(b"the agent's certificate");
/// let path = dir.join("agent.pins");
/// write_pins_file(&path, &[pin], "the agent at 10.0.0.1:8443")?;
/// assert_eq!(read_pins_file(&path)?, [pin]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] naming the file (and the line) when it cannot be read, is writable by
/// others, holds something that is not a fingerprint, or holds no fingerprint.
pub fn read_pins_file(path: &Path) -> Result<Vec<Fingerprint>, Error> {
    read(path).map_err(|message| Error::Config { message })
}

/// Writes `pins` to a pins file at `path`, atomically: to a new file beside it, flushed to
/// disk, then renamed over `path`, so that a reader sees the old file or the new one, never
/// half of one. `comment` goes first, each line as a `#` comment. The file gets mode 0644,
/// whatever the umask.
///
/// # Errors
///
/// The I/O error of the step that failed; `path` is then unchanged.
pub fn write_pins_file(path: &Path, pins: &[Fingerprint], comment: &str) -> io::Result<()> {
    crate::replace_file::replace(path, render(pins, comment).as_bytes())
}

/// Reads the pins in `path`, as a message on failure.
pub(crate) fn read(path: &Path) -> Result<Vec<Fingerprint>, String> {
    let text = files::read(path, "pins file", Policy::Trusted)?;
    parse(&text).map_err(|(line, e)| format!("pins file {} line {line}: {e}", path.display()))
}

/// The pins in `text`, in order, without duplicates. Everything from a `#` to the end of its
/// line is a comment; blank lines are skipped. A file with no pin is an error.
pub(crate) fn parse(text: &str) -> Result<Vec<Fingerprint>, (usize, String)> {
    let mut pins = Vec::new();
    let mut last_line = 0;
    for (i, line) in text.lines().enumerate() {
        last_line = i + 1;
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let pin: Fingerprint = content.parse().map_err(|e| (i + 1, format!("{e}")))?;
        if !pins.contains(&pin) {
            pins.push(pin);
        }
    }
    if pins.is_empty() {
        return Err((last_line.max(1), "the file holds no fingerprint".into()));
    }
    Ok(pins)
}

/// The text of a pins file holding `pins`, with a comment saying where they came from.
pub(crate) fn render(pins: &[Fingerprint], comment: &str) -> String {
    let mut text = String::new();
    for line in comment.lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    for pin in pins {
        text.push_str(&pin.to_string());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pins_between_comments_and_blank_lines() {
        let a = "ab".repeat(32);
        let b = "CD:".repeat(31) + "CD";
        let text = format!("# current\n{a}\n\n  {b}  # next, from the rotation\n{a}\n");
        let pins = parse(&text).unwrap();
        assert_eq!(pins, [a.parse().unwrap(), b.parse().unwrap()]);
        let rendered = render(&pins, "saved by a test\nsecond line");
        assert!(rendered.starts_with("# saved by a test\n# second line\n"));
        assert_eq!(parse(&rendered).unwrap(), pins);
    }

    #[test]
    fn names_the_line_that_is_wrong() {
        let text = format!("{}\nnot a pin\n", "ab".repeat(32));
        let (line, message) = parse(&text).unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("not a hex digit"), "{message}");
        assert!(parse("# only comments\n\n").is_err());
        assert!(parse("").is_err());
    }
}
