//! `check`: a monitoring plugin (Nagios, Icinga, Naemon, Checkmk, Zabbix agents) judging the
//! host's health from `GET /host/metrics`.
//!
//! The verdict is the library's (`HostMetricsResponse::assess`); this module reads the
//! thresholds from the command line, asks the agent, and hands everything to `plugin`, which
//! writes the output. Whatever prevents a verdict, bad arguments included, is UNKNOWN (3):
//! "could not ask" is never CRITICAL.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Args;
use std::path::PathBuf;
use std::time::SystemTime;

use felhom_agentapi::backup_record;
use felhom_agentapi::health::{self, Health, Limits, Measure, State, Thresholds, Unit};
use felhom_agentapi::{Client, HostMetricsResponse};

use crate::exit::Failure;
use crate::plugin;

/// `check`'s own options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Warning threshold of a measure, e.g. thin-pool-data=85; repeatable
    ///
    /// Measures: thin-pool-data, thin-pool-metadata, storage-used, memory, root-disk,
    /// nvme-wear (percent), disk-temperature, cpu-temperature (degrees C) and, with --backup,
    /// backup-age (a duration: 26h, 1d12h, or seconds; defaults 26h and 50h). A value at or
    /// above the threshold triggers it.
    #[arg(
        long = "warn",
        value_name = "MEASURE=N",
        value_parser = parse_threshold,
        verbatim_doc_comment
    )]
    pub warn: Vec<(Measure, f64)>,

    /// Critical threshold of a measure, e.g. thin-pool-data=95; repeatable.
    #[arg(long = "crit", value_name = "MEASURE=N", value_parser = parse_threshold)]
    pub crit: Vec<(Measure, f64)>,

    /// Leave this storage target out of the check; repeatable.
    #[arg(long, value_name = "NAME")]
    pub ignore: Vec<String>,

    /// Also judge this guest's backups: the age of the last success in its own record
    /// (backup-age; none recorded: WARNING), the agent's last job (failed: WARNING), and
    /// whether a backup is due (a note).
    #[arg(long, verbatim_doc_comment)]
    pub backup: bool,

    /// The state of an lvmthin storage target whose thin pool the agent does not measure.
    #[arg(long, value_name = "STATE", value_enum, default_value_t = Unmeasured::Warning)]
    pub unmeasured: Unmeasured,

    /// Where backup run keeps its record of the last backups (for --backup)
    ///
    /// Default: $STATE_DIRECTORY, otherwise /var/lib/felhom-agentctl for root and
    /// $XDG_STATE_HOME/felhom-agentctl for other users. A check that runs as another user
    /// than the backups (nagios) needs it: --state-dir /var/lib/felhom-agentctl.
    #[arg(long, value_name = "DIR", verbatim_doc_comment)]
    pub state_dir: Option<PathBuf>,
}

/// `--unmeasured`: what a thin pool nobody measures counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Unmeasured {
    /// Listed, but never raises the verdict.
    Ok,
    /// WARNING (the default).
    Warning,
    /// CRITICAL.
    Critical,
}

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

/// `MEASURE=N`.
fn parse_threshold(s: &str) -> Result<(Measure, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected MEASURE=N, like memory=85, not {s:?}"))?;
    let measure: Measure = name.trim().parse().map_err(|e| format!("{e}"))?;
    if measure.unit() == Unit::Seconds {
        let age = felhom_agentapi::parse_duration(value).map_err(|e| format!("{measure}: {e}"))?;
        return Ok((measure, age.as_secs_f64()));
    }
    let value: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("{measure}: {value:?} is not a number"))?;
    Ok((measure, value))
}

/// Runs the check and prints its result; the exit status is the plugin state.
pub fn main(args: &CheckArgs, connect: impl FnOnce() -> Result<Client, Failure>) -> ExitCode {
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
pub fn usage_error(message: &str) -> ExitCode {
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
