//! Exit statuses, and what a failure prints. The statuses are a stable interface for scripts:
//! they are listed in the long `--help`, and changing one is a breaking change.

use std::io::{self, Write};

use felhom_agentapi::{Error, Fingerprint, FormatRefused, TimeoutStage, WipeAuthorization};
use serde::Serialize;

use crate::output::{self, Mode, clean};

pub const SUCCESS: u8 = 0;
/// The agent answered with an error (HTTP status, `ok: false`, undecodable or oversized).
pub const AGENT_ERROR: u8 = 1;
/// Bad arguments or configuration; clap uses 2 for its own errors too.
pub const USAGE: u8 = 2;
/// `disk format` refused: the device holds data.
pub const FORMAT_REFUSED: u8 = 3;
/// The agent's certificate matches no pin (or no `fingerprint --expect`).
pub const PIN_MISMATCH: u8 = 4;
/// The agent could not be reached, or a time limit ran out.
pub const UNREACHABLE: u8 = 5;
/// `backup run`: the job failed.
pub const BACKUP_FAILED: u8 = 6;
/// `backup run`: a job is already running (found before quiescing, or a 409), or another run
/// holds the lock.
pub const BUSY: u8 = 7;
/// `backup run` / `backup wait`: gave up waiting; the job is still running.
pub const GAVE_UP: u8 = 9;
/// `backup run`: a hook failed (a failed freeze hook means no backup was started).
pub const HOOK_FAILED: u8 = 10;

/// The status of a run interrupted by `signal`: 128 + its number, as a shell reports it.
pub fn interrupted(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(AGENT_ERROR)
}

/// Why a run did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// A usage or configuration problem found before any call, as a message for the user.
    Usage(String),
    /// A call failed. Boxed: the library's error is large, and this travels up every `?`.
    Client(Box<Error>),
    /// `fingerprint --expect`: the agent presents another certificate.
    UnexpectedFingerprint {
        endpoint: String,
        presented: Fingerprint,
        expected: Vec<Fingerprint>,
    },
    /// Something that should not happen, as a message for the user.
    Internal(String),
    /// Writing the answer to standard output failed.
    Output(io::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Client(Box::new(e))
    }
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::Client(e) => exit_code(e),
            Failure::UnexpectedFingerprint { .. } => PIN_MISMATCH,
            Failure::Internal(_) | Failure::Output(_) => AGENT_ERROR,
        }
    }
}

/// The exit status for a library error.
pub fn exit_code(err: &Error) -> u8 {
    match err {
        Error::Http { .. } | Error::Agent { .. } | Error::Decode { .. } => AGENT_ERROR,
        Error::ResponseTooLarge { .. } => AGENT_ERROR,
        Error::Config { .. } => USAGE,
        Error::FormatRefused(_) => FORMAT_REFUSED,
        Error::PinMismatch { .. } => PIN_MISMATCH,
        Error::Timeout {
            stage: TimeoutStage::BackupWait { .. },
            ..
        } => GAVE_UP,
        Error::Connect { .. } | Error::Tls { .. } | Error::Timeout { .. } | Error::Io { .. } => {
            UNREACHABLE
        }
        Error::BackupFailed { .. } => BACKUP_FAILED,
        Error::BackupRunning { .. } => BUSY,
        // `Error` is non-exhaustive: whatever a later version adds is an error from the agent's
        // side until this tool learns better.
        _ => AGENT_ERROR,
    }
}

/// Prints `failure` (the message on `err`, and for exit statuses 3 and 6 the payload on `out`)
/// and returns the exit status.
pub fn report(failure: &Failure, mode: Mode, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // Both payloads are JSON whatever the mode: a refusal's opsign command must be readable in
    // its exact form. People get them indented.
    let pretty = !matches!(mode, Mode::Json { pretty: false });
    let mut lines: Vec<String> = Vec::new();
    let payload = match failure {
        Failure::Client(e) => match &**e {
            Error::FormatRefused(refusal) => {
                lines.extend(refusal_message(refusal));
                output::json(out, pretty, &RefusalJson::new(refusal))
            }
            Error::BackupFailed { status, .. } => {
                lines.push(clean(&e.to_string()));
                output::json(out, pretty, status)
            }
            _ => {
                lines.push(clean(&e.to_string()));
                Ok(())
            }
        },
        Failure::Usage(message) | Failure::Internal(message) => {
            lines.push(clean(message));
            Ok(())
        }
        Failure::UnexpectedFingerprint {
            endpoint,
            presented,
            expected,
        } => {
            lines.push(format!(
                "the agent at {} presents a certificate that matches no expected fingerprint",
                clean(endpoint)
            ));
            lines.push(format!("  presented: {presented}"));
            for (i, fp) in expected.iter().enumerate() {
                let label = if i == 0 { "expected:" } else { "or:" };
                lines.push(format!("  {label:>10} {fp}"));
            }
            Ok(())
        }
        Failure::Output(e) => {
            lines.push(format!("could not write to standard output: {e}"));
            Ok(())
        }
    };
    let _ = payload
        .and_then(|()| out.flush())
        .or_else(ignore_broken_pipe);
    for line in lines {
        // Indented lines continue the message above them.
        let prefix = if line.starts_with(' ') {
            ""
        } else {
            "felhom-agentctl: "
        };
        // Nothing useful can be done if standard error is gone.
        let _ = writeln!(err, "{prefix}{line}");
    }
    failure.exit_code()
}

/// A reader that closed the pipe (`| head`) wanted no more output; that is not an error.
pub fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    match e.kind() {
        io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(e),
    }
}

/// The stdout document of exit status 3.
#[derive(Serialize)]
struct RefusalJson<'a> {
    result: &'a felhom_agentapi::FormatResult,
    pending_op: Option<&'a felhom_agentapi::PendingOp>,
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

#[cfg(all(test, feature = "devagent"))]
mod tests {
    use felhom_agentapi::devagent::{DevAgent, Fault};
    use felhom_agentapi::{BackupPhase, Client, StatusResponse, terminal};
    use proptest::prelude::*;

    use super::*;
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
                        &agent.endpoint(), agent.token(), agent.fingerprint(),
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
            let code = report(&error.into(), Mode::Json { pretty: false }, &mut out, &mut err);
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
