//! Lines for whoever watches standard error, written so that a write can never end the tool.
//!
//! `eprintln!` panics when standard error is gone (EPIPE from a dead `| logger`, EIO from a
//! closed terminal, ENOSPC on `/dev/full`), and a panic in the middle of `backup run` would
//! skip the thaw hooks. Every line here is one `write_all` whose error is dropped: nothing
//! useful can be said about a channel that cannot be written to, and the exit status still
//! tells. `clippy::print_stdout` and `clippy::print_stderr` are denied in this binary so that
//! no `print!` comes back.

use std::io::{self, Write};

/// `felhom-agentctl: <text>` on standard error; dropped if it cannot be written.
pub fn note(text: &str) {
    line(&format!("felhom-agentctl: {text}"));
}

/// `text` as one line on standard error; dropped if it cannot be written.
pub fn line(text: &str) {
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    // One write for the whole line: lines of the tool and of its hooks do not interleave.
    let _ = io::stderr().lock().write_all(&bytes);
}
