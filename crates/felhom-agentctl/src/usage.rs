//! clap's errors in this tool's voice: prefixed `felhom-agentctl:` like every other error
//! (instead of clap's `error:`), with the values the user typed shortened.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::exit::Failure;

/// At most this many characters of a typed value are echoed.
const ECHO_LIMIT: usize = 80;

/// What a clap error means for the run: help and version text to print (`Ok`), or a usage
/// failure.
pub(crate) fn from_clap(e: clap::Error) -> Result<String, Failure> {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) || e.exit_code() == 0
    {
        return Ok(e.render().to_string());
    }
    let rendered = e.render().to_string();
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return Err(Failure::Usage(missing_subcommand(&rendered)));
    }
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

/// For a command run without its subcommand (`felhom-agentctl backup`), clap renders that
/// command's help: say what is missing instead, with the subcommands to choose from.
fn missing_subcommand(help: &str) -> String {
    let usage = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .unwrap_or("felhom-agentctl <COMMAND>");
    let command = usage
        .split_whitespace()
        .take_while(|w| !w.starts_with(['[', '<']))
        .collect::<Vec<_>>()
        .join(" ");
    let names: Vec<&str> = help
        .lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    format!(
        "'{command}' needs a subcommand: {}\n  Usage: {usage}\n  See '{command} --help'.",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_subcommand_is_named_with_the_choices() {
        let e = crate::args::command()
            .try_get_matches_from(["felhom-agentctl", "backup"])
            .unwrap_err();
        let Err(Failure::Usage(message)) = from_clap(e) else {
            panic!("not a usage error");
        };
        let first = message.lines().next().unwrap();
        assert_eq!(
            first,
            "'felhom-agentctl backup' needs a subcommand: due, start, status, run, wait, thaw"
        );
    }
}
