//! Printing a failure: its message on standard error (text, or one line of JSON with
//! `--error-format json`), and for some failures a document on standard output for scripts
//! (JSON) or people (`--human`).

use std::io::{self, Write};
use std::time::Duration;

use felhom_agentapi::{Error, FormatRefused, TimeoutStage, WipeAuthorization, terminal};
use serde::Serialize;

use crate::args::ErrorFormat;
use crate::exit::Failure;
use crate::output::{self, Mode, clean};
use crate::say::{self, Level};

/// Prints `failure` and returns the exit status.
pub(crate) fn report(
    failure: &Failure,
    mode: Mode,
    format: ErrorFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let code = failure.exit_code();
    let _ = payload(failure, mode, out)
        .and_then(|()| out.flush())
        .or_else(ignore_broken_pipe);
    let lines = match failure {
        // --human has put the whole refusal on standard output, which a person reads on the
        // same terminal: say it once.
        Failure::Client(e)
            if mode == Mode::Human
                && format == ErrorFormat::Text
                && matches!(**e, Error::FormatRefused(_)) =>
        {
            vec!["the format was refused (exit status 3): see above for what to do".to_string()]
        }
        _ => message(failure),
    };
    // Nothing useful can be done if standard error is gone.
    let _ = match format {
        ErrorFormat::Text => write_text(err, &lines),
        ErrorFormat::Json => write_json(err, failure, &lines, code),
    };
    code
}

/// A reader that closed the pipe (`| head`) wanted no more output; that is not an error.
pub(crate) fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    match e.kind() {
        io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(e),
    }
}

fn write_text(err: &mut dyn Write, lines: &[String]) -> io::Result<()> {
    for line in lines {
        // Indented lines continue the message above them.
        let prefix = say::prefix(Level::Error, line.starts_with(' '));
        // One write a line, as `say` does: nothing (a hook left behind) can come in between.
        err.write_all(format!("{prefix}{line}\n").as_bytes())?;
    }
    Ok(())
}

/// The one line of `--error-format json`; `backup run` builds its own for the ends that are no
/// [`Failure`] (a hook failed, a signal).
#[derive(Serialize)]
pub(crate) struct ErrorJson<'a> {
    pub kind: &'a str,
    pub call: Option<String>,
    pub message: String,
    pub http_status: Option<u16>,
    pub may_have_reached_agent: bool,
    pub exit: u8,
}

impl<'a> ErrorJson<'a> {
    /// The line for a failure that made no call: no call, no HTTP status, nothing reached the
    /// agent. Callers set what their failure knows beyond that.
    pub(crate) fn new(kind: &'a str, message: String, exit: u8) -> ErrorJson<'a> {
        ErrorJson {
            kind,
            call: None,
            message,
            http_status: None,
            may_have_reached_agent: false,
            exit,
        }
    }

    /// The line for a failure around the library error `error`: its call, HTTP status and
    /// whether it may have reached the agent.
    pub(crate) fn about(kind: &'a str, error: &Error, message: String, exit: u8) -> ErrorJson<'a> {
        ErrorJson {
            call: error.call().map(ToString::to_string),
            http_status: error.http_status(),
            may_have_reached_agent: error.may_have_reached_agent(),
            ..ErrorJson::new(kind, message, exit)
        }
    }

    /// Writes the line to `err` (with the journal's error priority where stderr is the
    /// journal: the message journald stores is the JSON alone).
    pub(crate) fn write(&self, err: &mut dyn Write) -> io::Result<()> {
        // Built whole, then one write: the journal must not get the prefix and the JSON apart.
        let mut line = say::prefix(Level::Error, true).into_bytes();
        output::json(&mut line, false, self)?;
        err.write_all(&line)
    }
}

fn write_json(
    err: &mut dyn Write,
    failure: &Failure,
    lines: &[String],
    code: u8,
) -> io::Result<()> {
    // A usage error's lines from clap's usage on are for people at a terminal, not scripts;
    // the lines before it (the arguments that are missing, say) are part of the message.
    let lines = match failure {
        Failure::Usage(_) => {
            let end = lines
                .iter()
                .position(|l| l.trim_start().starts_with("Usage:"))
                .unwrap_or(lines.len())
                .max(1);
            &lines[..end.min(lines.len())]
        }
        _ => lines,
    };
    let message = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let doc = ErrorJson {
        call: failure.call(),
        http_status: failure.http_status(),
        may_have_reached_agent: failure.may_have_reached_agent(),
        ..ErrorJson::new(failure.kind(), message, code)
    };
    doc.write(err)
}

/// The message, as lines; indented lines continue the one before.
fn message(failure: &Failure) -> Vec<String> {
    match failure {
        Failure::Client(e) => match &**e {
            Error::FormatRefused(refusal) => refusal_message(refusal),
            rejected @ Error::Http { status: 401, .. } => vec![
                clean(&rejected.to_string()),
                "  (-v shows where the token was read from)".to_string(),
            ],
            other => vec![clean(&other.to_string())],
        },
        Failure::Usage(message) | Failure::Internal(message) => {
            message.lines().map(clean).collect()
        }
        Failure::UnexpectedFingerprint {
            endpoint,
            presented,
            expected,
        } => {
            let mut lines = vec![format!(
                "the agent at {} presents a certificate that matches no expected fingerprint",
                clean(endpoint)
            )];
            lines.push(format!("  presented: {presented}"));
            for (i, fp) in expected.iter().enumerate() {
                let label = if i == 0 { "expected:" } else { "or:" };
                lines.push(format!("  {label:>10} {fp}"));
            }
            lines
        }
        Failure::PinsFileConflict {
            path,
            presented,
            held,
        } => {
            let mut lines = vec![format!(
                "pins file {} holds other pins than the certificate the agent presents; not \
                 replacing it (give --force if the certificate was replaced on purpose)",
                clean(&path.display().to_string())
            )];
            lines.push(format!("  presented: {presented}"));
            for (i, fp) in held.iter().enumerate() {
                let label = if i == 0 { "held:" } else { "and:" };
                lines.push(format!("  {label:>10} {fp}"));
            }
            lines
        }
        Failure::PinsFileWrite { path, error } => vec![format!(
            "could not write pins file {}: {error}",
            clean(&path.display().to_string())
        )],
        Failure::FileWrite { path, error } => vec![format!(
            "could not write {}: {error}",
            clean(&path.display().to_string())
        )],
        Failure::Output(e) => vec![format!("could not write to standard output: {e}")],
    }
}

/// The document some failures print on standard output: JSON, or a summary with `--human`.
fn payload(failure: &Failure, mode: Mode, out: &mut dyn Write) -> io::Result<()> {
    let Failure::Client(e) = failure else {
        return Ok(());
    };
    let human = mode == Mode::Human;
    let pretty = matches!(mode, Mode::Json { pretty: true });
    match &**e {
        Error::FormatRefused(refusal) if human => out.write_all(refusal_human(refusal).as_bytes()),
        Error::FormatRefused(refusal) => output::json(out, pretty, &RefusalJson::new(refusal)),
        Error::BackupFailed { status, .. } if human => {
            out.write_all(output::status_line(status).as_bytes())
        }
        Error::BackupFailed { status, .. } => output::json(out, pretty, status),
        Error::Timeout {
            stage: TimeoutStage::BackupWait { job_id, last_phase },
            limit,
            ..
        } => {
            if human {
                return writeln!(
                    out,
                    "backup job {} was still {} after {}; it may still finish",
                    clean(job_id),
                    clean(last_phase.as_str()),
                    seconds(*limit)
                );
            }
            let doc = GaveUpJson {
                job_id,
                phase: last_phase.as_str(),
                gave_up_after_seconds: limit.as_secs_f64(),
            };
            output::json(out, pretty, &doc)
        }
        Error::DiskInitIncomplete(incomplete) => {
            let command = incomplete.assign_command();
            if human {
                let shown = if command.chars().any(terminal::could_rewrite) {
                    "(the command holds control characters or invisible ones: see the JSON output)"
                        .to_string()
                } else {
                    command
                };
                return writeln!(
                    out,
                    "formatted {}, not assigned; finish with:\n    {shown}",
                    clean(&incomplete.formatted().device)
                );
            }
            let doc = IncompleteJson {
                formatted: incomplete.formatted(),
                uuid: incomplete.uuid(),
                assigned: false,
                assign_command: command,
            };
            output::json(out, pretty, &doc)
        }
        _ => Ok(()),
    }
}

fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// The stdout document of exit status 3.
#[derive(Serialize)]
struct RefusalJson<'a> {
    result: &'a felhom_agentapi::wire::FormatResult,
    pending_op: Option<&'a felhom_agentapi::wire::PendingOp>,
    opsign_command: Option<String>,
}

impl<'a> RefusalJson<'a> {
    fn new(refusal: &'a FormatRefused) -> RefusalJson<'a> {
        RefusalJson {
            result: refusal.result(),
            pending_op: refusal.pending_op(),
            opsign_command: refusal.opsign_command(),
        }
    }
}

/// The stdout document of exit status 9.
#[derive(Serialize)]
struct GaveUpJson<'a> {
    job_id: &'a str,
    phase: &'a str,
    gave_up_after_seconds: f64,
}

/// The stdout document of a `disk init` that formatted but did not assign.
#[derive(Serialize)]
struct IncompleteJson<'a> {
    formatted: &'a felhom_agentapi::wire::FormatResult,
    uuid: Option<&'a str>,
    assigned: bool,
    assign_command: String,
}

/// A refusal for people: what was refused, and the command an operator runs.
fn refusal_human(refusal: &FormatRefused) -> String {
    let mut s = format!("{}\n", refusal.summary());
    match refusal.authorization() {
        WipeAuthorization::Printable(command) => {
            s.push_str(&format!("an operator must run: {command}\n"));
        }
        WipeAuthorization::Unprintable(_) => s.push_str(
            "the operator command holds control characters or invisible ones and is not shown: \
             see the JSON output (without --human)\n",
        ),
        other => {
            s.push_str(other.explanation());
            s.push('\n');
        }
    }
    s
}

/// What stderr says about a refusal: the library's sentences, laid out for a terminal, with the
/// command on a line of its own and a pointer to the JSON when it cannot be shown.
fn refusal_message(refusal: &FormatRefused) -> Vec<String> {
    let authorization = refusal.authorization();
    let explanation = authorization.explanation();
    let mut lines = vec![refusal.summary()];
    match authorization {
        WipeAuthorization::Printable(command) => {
            lines.push(explanation.to_string());
            lines.push(format!("    {command}"));
        }
        WipeAuthorization::Unprintable(_) => lines.push(format!(
            "{explanation}: read \"opsign_command\" in the JSON on standard output, and check it \
             with care"
        )),
        _ => lines.push(explanation.to_string()),
    }
    lines
}

/// A refusal of `backup run` or `backup thaw` that is no library error: its JSON `kind`, the
/// message and the exit status.
pub(crate) struct Refusal {
    pub kind: &'static str,
    pub text: String,
    pub code: u8,
}

impl Refusal {
    /// Prints it as `--error-format` says; returns the exit status.
    pub(crate) fn report(&self, format: ErrorFormat) -> u8 {
        match format {
            ErrorFormat::Text => say::error(&self.text),
            ErrorFormat::Json => {
                let doc = ErrorJson::new(self.kind, self.text.clone(), self.code);
                let _ = doc.write(&mut io::stderr());
            }
        }
        self.code
    }
}

/// Prints `failure` on the real standard output and error; returns the exit status.
pub(crate) fn report_failure(failure: &Failure, mode: Mode, format: ErrorFormat) -> u8 {
    let stdout = io::stdout();
    report(failure, mode, format, &mut stdout.lock(), &mut io::stderr())
}

#[cfg(test)]
mod tests {
    use felhom_agentapi::wire::{BackupPhase, StatusResponse};
    use felhom_agentapi::{Client, terminal};
    use felhom_devagent::{DevAgent, Fault};
    use proptest::prelude::*;

    use super::*;
    use crate::exit::AGENT_ERROR;
    use crate::output::Answer;

    /// Text as hostile as an agent can send: any character, with the ones that rewrite terminals
    /// and the ones escaping itself uses (`\`, `"`) drawn often.
    fn agent_text() -> impl Strategy<Value = String> {
        let risky = prop::sample::select(vec![
            '\u{1b}', '\n', '\r', '\t', '\0', '\u{7}', '\u{7f}', '\u{85}', '\u{9b}', '\u{61c}',
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\\', '"',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), risky], 1..24)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        // Each case is one request over a kept-alive connection to a real agent.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The tool's two text paths, the library's error message and the human summary of an
        /// answer, escape exactly what the library escapes: no character more, none fewer.
        #[test]
        fn the_tool_and_the_library_escape_the_same_characters(text in agent_text()) {
            thread_local! {
                static AGENT: (DevAgent, Client) = {
                    let agent = DevAgent::start().expect("start the stand-in agent");
                    let client = Client::new(
                        &agent.endpoint(), agent.token(), agent.fingerprint().to_string(),
                    ).expect("a client");
                    (agent, client)
                };
            }
            let escaped = terminal::escape(&text);

            let error = AGENT.with(|(agent, client)| {
                agent.set_fault(Fault::NotOk(text.clone()));
                client.storage().expect_err("the agent declines")
            });
            let message = error.to_string();
            prop_assert_eq!(&message, &format!("GET /storage: the agent declined: {escaped}"));
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = report(
                &error.into(),
                Mode::Json { pretty: false },
                ErrorFormat::Text,
                &mut out,
                &mut err,
            );
            prop_assert_eq!(code, AGENT_ERROR);
            prop_assert_eq!(String::from_utf8(err).unwrap(), format!("felhom-agentctl: {message}\n"));

            let mut status = StatusResponse::default();
            status.job_id = "job-1".into();
            status.phase = BackupPhase::Failed;
            status.error = text.clone();
            let mut human = Vec::new();
            output::print(&mut human, Mode::Human, &Answer::Status(status)).unwrap();
            prop_assert_eq!(
                String::from_utf8(human).unwrap(),
                format!("vmid 0: backup job job-1 is failed: {escaped}\n")
            );
        }
    }
}
