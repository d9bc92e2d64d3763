//! `check`: a monitoring plugin (Nagios, Icinga, Naemon, Checkmk, Zabbix agents) judging the
//! host's health from `GET /host/metrics`.
//!
//! The verdict is the library's (`HostMetricsResponse::assess`); this module reads the
//! thresholds from the command line, asks the agent, and hands everything to `plugin`, which
//! writes the output. Whatever prevents a verdict, bad arguments included, is UNKNOWN (3):
//! "could not ask" is never CRITICAL.

mod plugin;

use std::io::{self, Write};
use std::process::ExitCode;

use std::time::SystemTime;

use felhom_agentapi::Client;
use felhom_agentapi::backup_record;
use felhom_agentapi::health::{self, Health, Limits, Measure, State, Thresholds};
use felhom_agentapi::wire::HostMetricsResponse;

use crate::args::{CheckArgs, Unmeasured};
use crate::exit::Failure;

impl CheckArgs {
    /// The default thresholds with the command line's changes; a warning above the critical
    /// threshold, after the changes, is a usage error.
    fn thresholds(&self) -> Result<Thresholds, Failure> {
        let mut thresholds = Thresholds::default();
        for measure in Measure::ALL {
            let given = |list: &[(Measure, f64)]| {
                list.iter().rev().find(|(m, _)| *m == measure).map(|g| g.1)
            };
            let (warn, crit) = (given(&self.warn), given(&self.crit));
            if warn.is_none() && crit.is_none() {
                continue;
            }
            let default = thresholds.get(measure);
            let limits = Limits::new(
                warn.unwrap_or(default.warning()),
                crit.unwrap_or(default.critical()),
            )
            .map_err(|e| {
                // Name the default the user did not write, and how to change it.
                let hint = match (warn, crit) {
                    (Some(_), None) => format!(
                        " ({} is the default critical threshold: --crit {measure}=N)",
                        default.critical()
                    ),
                    (None, Some(_)) => format!(
                        " ({} is the default warning threshold: --warn {measure}=N)",
                        default.warning()
                    ),
                    _ => String::new(),
                };
                Failure::Usage(format!("--warn/--crit {measure}: {e}{hint}"))
            })?;
            thresholds.set(measure, limits);
        }
        thresholds.set_unmeasured(match self.unmeasured {
            Unmeasured::Ok => State::Ok,
            Unmeasured::Warning => State::Warning,
            Unmeasured::Critical => State::Critical,
        });
        Ok(thresholds)
    }
}

/// Runs the check and prints its result; the exit status is the plugin state.
pub(crate) fn main(
    args: &CheckArgs,
    connect: impl FnOnce() -> Result<Client, Failure>,
) -> ExitCode {
    let report = match verdict(args, connect) {
        Ok(v) => plugin::render(
            &v.health,
            &v.metrics,
            &args.ignore,
            &v.ignored_missing,
            &v.notes,
        ),
        Err(failure) => plugin::unknown(&describe(&failure)),
    };
    finish(&report.text);
    ExitCode::from(report.state.exit_code())
}

/// Prints `FELHOM UNKNOWN - bad arguments: …` for a command line clap refused (`message`, as
/// `usage` words it), with the full message on standard error, and returns the UNKNOWN status.
pub(crate) fn usage_error(message: &str) -> ExitCode {
    let first = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("the command line could not be parsed");
    let report = plugin::unknown(&format!("bad arguments: {first}"));
    finish(&report.text);
    crate::say::error(message);
    ExitCode::from(State::Unknown.exit_code())
}

struct Verdict {
    health: Health,
    metrics: HostMetricsResponse,
    /// `--ignore` names the agent did not report (probably typos), to say so.
    ignored_missing: Vec<String>,
    /// Notes for the long output: whether a backup is due.
    notes: Vec<String>,
}

fn verdict(
    args: &CheckArgs,
    connect: impl FnOnce() -> Result<Client, Failure>,
) -> Result<Verdict, Failure> {
    let thresholds = args.thresholds()?;
    let client = connect()?;
    let mut metrics = client.host_metrics()?;
    let ignored_missing = args
        .ignore
        .iter()
        .filter(|name| !metrics.storage_targets.iter().any(|t| &&t.name == name))
        .cloned()
        .collect();
    let mut notes = Vec::new();
    metrics
        .storage_targets
        .retain(|t| !args.ignore.contains(&t.name));
    let mut health = metrics.assess(&thresholds);
    if args.backup {
        let status = client.backup_status()?;
        let due = client.backup_due()?;
        let dir = match &args.state_dir {
            Some(dir) => dir.clone(),
            None => backup_record::state_dir().map_err(record_failure)?,
        };
        let record = backup_record::read(&dir, client.endpoint()).map_err(record_failure)?;
        health.push(status.assess());
        health.push(health::backup_age(
            record.as_ref(),
            status.vmid,
            SystemTime::now(),
            &thresholds,
        ));
        notes.push(format!(
            "backup due: {} ({})",
            if due.due { "yes" } else { "no" },
            due.reason
        ));
    }
    Ok(Verdict {
        health,
        metrics,
        ignored_missing,
        notes,
    })
}

/// A record that cannot be trusted or read: no verdict on the backups' age.
fn record_failure(e: backup_record::RecordError) -> Failure {
    Failure::Internal(e.to_string())
}

/// What stopped the check, for the UNKNOWN status line.
fn describe(failure: &Failure) -> String {
    match failure {
        Failure::Usage(message) => format!("bad arguments: {message}"),
        Failure::Internal(message) => message.clone(),
        // A configuration error is the caller's, as bad arguments are.
        Failure::Client(e) => match &**e {
            felhom_agentapi::Error::Config { message } => format!("bad arguments: {message}"),
            other => other.to_string(),
        },
        Failure::UnexpectedFingerprint { endpoint, .. } => {
            format!("the agent at {endpoint} presents an unexpected certificate")
        }
        Failure::PinsFileConflict { path, .. } | Failure::PinsFileWrite { path, .. } => {
            format!("pins file {}", path.display())
        }
        Failure::FileWrite { path, .. } => format!("file {}", path.display()),
        Failure::Output(e) => format!("could not write the output: {e}"),
    }
}

/// Writes the plugin output; a monitoring system that stopped reading is not an error.
fn finish(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
