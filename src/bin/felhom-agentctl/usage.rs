//! clap's errors in this tool's voice: prefixed `felhom-agentctl:` like every other error
//! (instead of clap's `error:`), with the values the user typed shortened.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::exit::Failure;

/// At most this many characters of a typed value are echoed.
const ECHO_LIMIT: usize = 80;

/// What a clap error means for the run: help and version text to print (`Ok`), or a usage
/// failure.
pub fn from_clap(e: clap::Error) -> Result<String, Failure> {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) || e.exit_code() == 0
    {
        return Ok(e.render().to_string());
    }
    let rendered = e.render().to_string();
    let mut text = rendered
        .strip_prefix("error: ")
        .unwrap_or(&rendered)
        .trim_end()
        .to_string();
    // Shorten every value clap echoes: a 5,000-character typo should not fill the screen.
    for kind in [ContextKind::InvalidValue, ContextKind::InvalidArg] {
        if let Some(ContextValue::String(value)) = e.get(kind)
            && value.chars().count() > ECHO_LIMIT
        {
            let head: String = value.chars().take(ECHO_LIMIT).collect();
            let short = format!("{head}… ({} characters)", value.chars().count());
            text = text.replace(value.as_str(), &short);
        }
    }
    // Further lines (usage, tips) continue the message: indented, without blank lines.
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut message = lines.next().unwrap_or_default().to_string();
    for line in lines {
        message.push_str("\n  ");
        message.push_str(line.trim_start());
    }
    Err(Failure::Usage(message))
}
