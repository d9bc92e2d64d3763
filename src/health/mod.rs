//! Host health: a verdict on `GET /host/metrics` against thresholds, as monitoring systems
//! want it.
//!
//! [`HostMetricsResponse::assess`](crate::wire::HostMetricsResponse::assess) compares every measure
//! the agent sent with [`Thresholds`] and returns a [`Health`]: an overall [`State`] and one
//! [`Finding`] per thing it judged, worst first. What is covered:
//!
//! - per storage target: reachability (unreachable is critical), space in use, LVM thin-pool
//!   data and metadata, SMART health (`FAILING` is critical; `UNKNOWN` is not a failure by
//!   itself), NVMe wear and drive temperature;
//! - for the host: memory and root filesystem in use, CPU temperature.
//!
//! A measure the agent sends as `null` (a Go pointer: "not measured") gives no finding, never
//! a zero. The capacity of a storage target that is not reachable, and a capacity whose total
//! is 0, are not measured either: the agent fills them with Go's zero values.
//!
//! An lvmthin storage target whose thin pool is not measured at all is a finding of its own
//! ([`Observation::NotMeasured`], [`State::Warning`] unless [`Thresholds::set_unmeasured`]
//! says otherwise): a full thin pool corrupts every guest on it, and nobody watches this one.
//!
//! [`StatusResponse::assess`](crate::wire::StatusResponse::assess) judges the last backup job, and
//! [`backup_age`] the age of the last successful backup in the guest's own
//! [`backup_record`](crate::backup_record).
//!
//! ```
//! use felhom_agentapi::wire::HostMetricsResponse;
//! use felhom_agentapi::health::{Measure, State, Thresholds};
//!
//! let metrics: HostMetricsResponse = serde_json::from_str(r#"{
//!     "host": {"node": "pve-1", "memory_total_bytes": 64, "memory_percent": 40.0,
//!              "disk_total_bytes": 100, "disk_percent": 20.0, "cpu_temp_c": null},
//!     "storage_targets": [{"name": "local-lvm", "type": "lvmthin", "reachable": true,
//!         "total_bytes": 100, "used_fraction": 0.5,
//!         "thin_pool": {"data_used_fraction": 0.93, "metadata_used_fraction": null},
//!         "smart": {"health": "PASSED", "temperature_c": 41, "percentage_used": null}}]
//! }"#)?;
//!
//! let health = metrics.assess(&Thresholds::default());
//! assert_eq!(health.state(), State::Critical);
//! let worst = &health.findings()[0];
//! assert_eq!(worst.measure(), Some(Measure::ThinPoolData));
//! assert_eq!(worst.to_string(), "storage local-lvm: thin pool data 93% (critical at 90%)");
//! // Not measured, so not judged: no finding about CPU temperature or metadata.
//! assert!(health.findings().iter().all(|f| f.measure() != Some(Measure::CpuTemperature)));
//! # Ok::<(), serde_json::Error>(())
//! ```

mod assess;
mod thresholds;

pub use assess::backup_age;

use std::cmp::Ordering;
use std::fmt;

use crate::terminal;
use crate::wire::BackupPhase;

pub use thresholds::{Limits, Measure, ParseMeasureError, ThresholdError, Thresholds, Unit};

/// A verdict, as monitoring plugins report it.
///
/// Ordered by severity, `Ok < Unknown < Warning < Critical` (the order of monitoring-plugins'
/// `max_state_alt`): a verdict over several findings is the worst of them, and a measure this
/// version cannot judge never hides a warning or a critical one. [`State::exit_code`] gives
/// the plugin exit status, which is a different order.
///
/// ```
/// use felhom_agentapi::health::State;
///
/// assert!(State::Ok < State::Unknown && State::Unknown < State::Warning);
/// assert!(State::Warning < State::Critical);
/// assert_eq!(State::Unknown.exit_code(), 3);
/// assert_eq!(State::Critical.to_string(), "CRITICAL");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Everything judged is within its thresholds.
    Ok,
    /// A warning threshold is reached.
    Warning,
    /// A critical threshold is reached, or something is broken.
    Critical,
    /// No verdict: the value could not be judged.
    Unknown,
}

impl State {
    /// The monitoring-plugins exit status: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// The name monitoring plugins print: `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Unknown => 1,
            State::Warning => 2,
            State::Critical => 3,
        }
    }
}

impl Ord for State {
    fn cmp(&self, other: &State) -> Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for State {
    fn partial_cmp(&self, other: &State) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a [`Finding`] is about. The names are the agent's, as it sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The Proxmox host itself.
    Host {
        /// The node name (may be empty).
        node: String,
    },
    /// A storage target.
    Storage {
        /// The storage's name.
        name: String,
        /// Its type (`lvmthin`, `dir`, `nfs`, …).
        kind: String,
    },
    /// This guest's backups.
    Backup {
        /// The guest's VM id.
        vmid: i64,
    },
}

impl fmt::Display for Target {
    /// `host pve-1`, `storage local-lvm`, `backup of guest 101`; control characters in the
    /// agent's names are escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Host { node } if node.is_empty() => f.write_str("host"),
            Target::Host { node } => write!(f, "host {}", terminal::escape(node)),
            Target::Storage { name, .. } => write!(f, "storage {}", terminal::escape(name)),
            Target::Backup { vmid } => write!(f, "backup of guest {vmid}"),
        }
    }
}

/// What was seen about a [`Target`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Observation {
    /// A measured value, compared with its thresholds.
    Level {
        /// Which measure.
        measure: Measure,
        /// The value, in the measure's [`Unit`] (fractions as percent).
        value: f64,
        /// The thresholds it was compared with.
        limits: Limits,
    },
    /// Whether a storage target is reachable; the agent's state for it.
    Reachability {
        /// The agent's `reachable`.
        reachable: bool,
        /// The agent's `state` (may be empty).
        state: String,
    },
    /// A drive's SMART health as the agent reports it (`PASSED`, `FAILING`, `UNKNOWN`).
    Smart {
        /// The agent's `smart.health`.
        health: String,
    },
    /// Something the assessment needs was not sent: an lvmthin storage target without
    /// thin-pool figures is unwatched, and a full pool corrupts every guest on it.
    NotMeasured {
        /// What is missing, in words (`thin pool`).
        what: &'static str,
    },
    /// This guest's backup record holds no successful run.
    NoSuccessfulBackup {
        /// How the last recorded attempt ended, if one was recorded.
        last_outcome: Option<String>,
    },
    /// The guest's current or last backup job.
    Backup {
        /// Its phase.
        phase: BackupPhase,
        /// Its id; empty when no job ever ran.
        job_id: String,
        /// Why it failed, if it did.
        error: String,
    },
}

/// One judged thing: a target, what was seen, and its state.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Finding {
    /// What the finding is about.
    pub target: Target,
    /// What was seen.
    pub observation: Observation,
    /// The verdict on it.
    pub state: State,
}

impl Finding {
    /// The thresholded measure, for a [`Observation::Level`].
    pub fn measure(&self) -> Option<Measure> {
        match self.observation {
            Observation::Level { measure, .. } => Some(measure),
            _ => None,
        }
    }

    /// The measured value, for a [`Observation::Level`].
    pub fn value(&self) -> Option<f64> {
        match self.observation {
            Observation::Level { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The thresholds the value was compared with, for a [`Observation::Level`].
    pub fn limits(&self) -> Option<Limits> {
        match self.observation {
            Observation::Level { limits, .. } => Some(limits),
            _ => None,
        }
    }
}

impl fmt::Display for Finding {
    /// `storage local-lvm: thin pool data 93% (critical at 90%)`. ASCII but for the agent's
    /// own text, whose control characters are escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.target)?;
        match &self.observation {
            Observation::Level {
                measure,
                value,
                limits,
            } => {
                if measure.unit() == Unit::Seconds {
                    return self.fmt_age(f, *value, limits);
                }
                let unit = match measure.unit() {
                    Unit::Celsius => " C",
                    _ => "%",
                };
                write!(f, "{} {}{unit}", measure.describe(), number(*value))?;
                match self.state {
                    State::Critical => {
                        write!(f, " (critical at {}{unit})", number(limits.critical()))
                    }
                    State::Warning => write!(f, " (warning at {}{unit})", number(limits.warning())),
                    _ => Ok(()),
                }
            }
            Observation::Reachability { reachable, state } => {
                f.write_str(if *reachable {
                    "reachable"
                } else {
                    "not reachable"
                })?;
                if state.is_empty() {
                    Ok(())
                } else {
                    write!(f, " (state {})", terminal::escape(state))
                }
            }
            Observation::NotMeasured { what } => write!(f, "{what} not measured"),
            Observation::NoSuccessfulBackup { last_outcome } => {
                f.write_str("no successful backup recorded on this guest")?;
                match last_outcome {
                    Some(outcome) => write!(f, " (last attempt: {})", terminal::escape(outcome)),
                    None => f.write_str(" (no attempt recorded either)"),
                }
            }
            Observation::Smart { health } => match self.state {
                State::Unknown => {
                    write!(
                        f,
                        "SMART health {} is not a known value",
                        terminal::escape(health)
                    )
                }
                _ => write!(f, "SMART health {}", terminal::escape(health)),
            },
            Observation::Backup {
                phase,
                job_id,
                error,
            } => {
                if job_id.is_empty() {
                    return write!(
                        f,
                        "no backup job has run (phase {})",
                        terminal::escape(phase.as_str())
                    );
                }
                write!(f, "job {} ", terminal::escape(job_id))?;
                match phase {
                    BackupPhase::Failed if error.is_empty() => f.write_str("failed"),
                    BackupPhase::Failed => write!(f, "failed: {}", terminal::escape(error)),
                    BackupPhase::Running => f.write_str("is running"),
                    BackupPhase::Done => f.write_str("done"),
                    other => write!(f, "is in phase {}", terminal::escape(other.as_str())),
                }
            }
        }
    }
}

impl Finding {
    /// `last successful backup 3h 20m ago (warning at 26h)`.
    fn fmt_age(&self, f: &mut fmt::Formatter<'_>, age: f64, limits: &Limits) -> fmt::Result {
        write!(f, "{} {} ago", Measure::BackupAge.describe(), duration(age))?;
        match self.state {
            State::Critical => write!(f, " (critical at {})", duration(limits.critical())),
            State::Warning => write!(f, " (warning at {})", duration(limits.warning())),
            _ => Ok(()),
        }
    }
}

/// Seconds as people write a duration: `3h 20m`, `45s`, `2d 1h`; whole seconds.
pub(crate) fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (d, h, m, s) = (
        total / 86400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    let parts = [(d, "d"), (h, "h"), (m, "m"), (s, "s")];
    let text: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_string()
    } else {
        text.join(" ")
    }
}

/// The verdict over many findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    findings: Vec<Finding>,
}

impl Health {
    /// The worst state of any finding; [`State::Ok`] when there is none.
    pub fn state(&self) -> State {
        self.findings
            .iter()
            .map(|f| f.state)
            .max()
            .unwrap_or(State::Ok)
    }

    /// Every finding, worst first; findings of equal state in the agent's order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The findings that are not [`State::Ok`], worst first.
    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.state != State::Ok)
    }

    /// Adds a finding (for example the backup's, from
    /// [`StatusResponse::assess`](crate::wire::StatusResponse::assess)) in its place: after every
    /// finding that is at least as bad.
    pub fn push(&mut self, finding: Finding) {
        let at = self
            .findings
            .iter()
            .position(|f| f.state < finding.state)
            .unwrap_or(self.findings.len());
        self.findings.insert(at, finding);
    }
}

/// A number as people write it, and as monitoring plugins' performance data wants it: digits,
/// `-` and `.` only, at most two decimals, no trailing zeros.
///
/// ```
/// use felhom_agentapi::health::number;
///
/// assert_eq!(number(93.0), "93");
/// assert_eq!(number(61.456), "61.46");
/// assert_eq!(number(-0.001), "0");
/// ```
pub fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unwatched_tests;
