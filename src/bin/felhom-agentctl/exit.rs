//! Exit statuses, and what a failure prints. The statuses are a stable interface for scripts:
//! they are listed in the long `--help`, and changing one is a breaking change.

use std::io::{self, Write};

use felhom_agentapi::{Error, Fingerprint, FormatRefused};
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
        Error::Connect { .. } | Error::Tls { .. } | Error::Timeout { .. } | Error::Io { .. } => {
            UNREACHABLE
        }
        Error::BackupFailed { .. } => BACKUP_FAILED,
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

/// What stderr says about a refusal. Not the library's `Display`, which ends with the command
/// (or, for a command with control characters, a pointer to a Rust method).
fn refusal_message(refusal: &FormatRefused) -> Vec<String> {
    let result = refusal.result();
    let device = if result.device.is_empty() {
        "the device"
    } else {
        &result.device
    };
    let reason = match (result.reason.as_str(), refusal.message()) {
        ("", None | Some("")) => String::new(),
        ("", Some(message)) => format!(" ({})", clean(message)),
        (reason, _) => format!(" ({})", clean(reason)),
    };
    let mut lines = vec![format!(
        "POST /disks/format: the agent refused to format {}: it holds data{reason}",
        clean(&format!("{device:?}"))
    )];
    match refusal.opsign_command() {
        Some(command) if command.chars().any(output::is_unsafe_for_terminal) => lines.push(
            "an operator must authorize the wipe, but the command the agent asks for holds \
             control characters, so it is not shown here: read \"opsign_command\" in the JSON on \
             standard output, and check it with care"
                .to_string(),
        ),
        Some(command) => {
            lines.push("an operator must authorize the wipe, offline, by running:".to_string());
            lines.push(format!("    {command}"));
        }
        None => lines.push(
            "the agent bound no signable operation to the refusal, so no felhom-opsign command \
             can be given: ask the agent's operator"
                .to_string(),
        ),
    }
    lines
}
