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
use felhom_agentapi::health::{Health, Limits, Measure, State, Thresholds};
use felhom_agentapi::{Client, HostMetricsResponse};

use crate::exit::Failure;
use crate::plugin;

/// `check`'s own options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Warning threshold of a measure, e.g. thin-pool-data=85; repeatable
    ///
    /// Measures: thin-pool-data, thin-pool-metadata, storage-used, memory, root-disk,
    /// nvme-wear (percent) and disk-temperature, cpu-temperature (degrees C). A value at or
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

    /// Also report this guest's last backup job (failed: WARNING; running: OK, with a note).
    #[arg(long)]
    pub backup: bool,
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
        Ok(thresholds)
    }
}

/// `MEASURE=N`.
fn parse_threshold(s: &str) -> Result<(Measure, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected MEASURE=N, like memory=85, not {s:?}"))?;
    let measure: Measure = name.trim().parse().map_err(|e| format!("{e}"))?;
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
        Ok(v) => plugin::render(&v.health, &v.metrics, &args.ignore, &v.ignored_missing),
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
    crate::say::note(message);
    ExitCode::from(State::Unknown.exit_code())
}

struct Verdict {
    health: Health,
    metrics: HostMetricsResponse,
    /// `--ignore` names the agent did not report (probably typos), to say so.
    ignored_missing: Vec<String>,
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
    metrics
        .storage_targets
        .retain(|t| !args.ignore.contains(&t.name));
    let mut health = metrics.assess(&thresholds);
    if args.backup {
        health.push(client.backup_status()?.assess());
    }
    Ok(Verdict {
        health,
        metrics,
        ignored_missing,
    })
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
        Failure::Output(e) => format!("could not write the output: {e}"),
    }
}

/// Writes the plugin output; a monitoring system that stopped reading is not an error.
fn finish(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
