//! The man pages: clap_mangen's sections for what clap knows (name, synopsis, options,
//! subcommands), and the sections a man page is read for (EXIT STATUS, ENVIRONMENT, FILES)
//! made from the long help's own headed blocks, in no-fill mode so that its tables are not
//! filled and hyphenated again.

use std::io::{self, Write};

use clap::Command;
use clap_mangen::Man;
use felhom_agentapi::settings::vars;

/// The man page section each heading of a long help goes to; others keep their name.
const SECTION_NAMES: [(&str, &str); 4] = [
    ("TOKEN", "TOKEN SOURCES"),
    ("OUTPUT", "OUTPUT FORMAT"),
    ("EXAMPLE", "EXAMPLES"),
    ("Example", "EXAMPLES"),
];

/// The variables the tool reads, for ENVIRONMENT.
const ENVIRONMENT: [(&str, &str); 9] = [
    (
        vars::CONFIG,
        "The settings file (systemd EnvironmentFile= syntax).",
    ),
    (vars::ENDPOINT, "The agent's HOST:PORT, as --endpoint."),
    (
        vars::FINGERPRINT,
        "Pins, comma-separated, as --fingerprint.",
    ),
    (
        vars::FINGERPRINT_FILE,
        "A pins file, as --fingerprint-file.",
    ),
    (
        vars::TOKEN_FILE,
        "A private file holding the token, as --token-file.",
    ),
    (
        vars::TOKEN,
        "The token itself (environment only, never in the settings file).",
    ),
    (vars::TIMEOUT, "The time limit of each call, as --timeout."),
    (
        vars::CONNECT_TIMEOUT,
        "The time limit of connect plus TLS handshake.",
    ),
    (
        vars::CREDENTIALS_DIRECTORY,
        "Set by systemd for LoadCredential=: the token is the credential felhom-agent-token.",
    ),
];

/// The files of the usual setup (contrib/systemd), for FILES.
const FILES: [(&str, &str); 4] = [
    (
        "/etc/felhom/agent.env",
        "The settings file, for the unit and the tool.",
    ),
    (
        "/etc/felhom/agent.pins",
        "The pins file 'fingerprint --save' writes.",
    ),
    (
        "/etc/felhom/agent.token",
        "The token, mode 0600 (or 0640, owned by root).",
    ),
    (
        "/etc/felhom/backup-hooks.d",
        "The freeze and thaw hooks of 'backup run --hooks-dir'.",
    ),
];

/// The whole man page of `command` (built, as clap_mangen wants it).
pub(crate) fn render(command: &Command, out: &mut dyn Write) -> io::Result<()> {
    let man = Man::new(command.clone());
    man.render_title(out)?;
    // Where clap_mangen fills text (option help), no hyphenation and no stretched spaces: a
    // word such as CRITICAL or --token-fd is never split across lines.
    writeln!(out, ".nh\n.ad l")?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    if let Some(about) = command.get_long_about().or(command.get_about()) {
        section(out, "DESCRIPTION", &about.to_string())?;
    }
    if command.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if command.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(out)?;
    }
    let after = command.get_after_long_help().or(command.get_after_help());
    for (heading, body) in blocks(&after.map(ToString::to_string).unwrap_or_default()) {
        section(out, &heading, &body)?;
    }
    if command.get_name() == "felhom-agentctl" {
        list(out, "ENVIRONMENT", &ENVIRONMENT)?;
        list(out, "FILES", &FILES)?;
    }
    if command.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// The blocks of a long help: a line such as `EXIT STATUS:` starts one, whose body is indented
/// under it; text before the first heading is NOTES.
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let heading = line
            .strip_suffix(':')
            .filter(|h| !h.starts_with(' ') && !h.is_empty() && !h.contains(['.', ',']));
        match heading {
            Some(h) => blocks.push((section_name(h), String::new())),
            None => {
                if blocks.is_empty() {
                    blocks.push(("NOTES".into(), String::new()));
                }
                let body = &mut blocks.last_mut().expect("a block").1;
                body.push_str(line.strip_prefix("    ").unwrap_or(line));
                body.push('\n');
            }
        }
    }
    blocks.retain(|(_, body)| !body.trim().is_empty());
    blocks
}

/// The man page section for a long help's heading.
fn section_name(heading: &str) -> String {
    SECTION_NAMES
        .iter()
        .find(|(from, _)| *from == heading)
        .map_or_else(|| heading.to_uppercase(), |(_, to)| (*to).to_string())
}

/// A section of pre-wrapped text, printed as written (no fill, no hyphenation).
fn section(out: &mut dyn Write, name: &str, body: &str) -> io::Result<()> {
    writeln!(out, ".SH \"{name}\"\n.nf")?;
    for line in body.trim_matches('\n').lines() {
        writeln!(out, "{}", escape(line))?;
    }
    writeln!(out, ".fi")
}

/// A section listing names, each with a line that says what it is.
fn list(out: &mut dyn Write, name: &str, items: &[(&str, &str)]) -> io::Result<()> {
    writeln!(out, ".SH {name}")?;
    for (item, what) in items {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", escape(item), escape(what))?;
    }
    Ok(())
}

/// `line` as roff text: backslashes and minus signs escaped, and a leading `.` or `'` (which
/// roff would take for a request) made plain.
fn escape(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
