//! The assessment: which fields of the agent's answer are judged, and how.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::backup_record::BackupRecord;
use crate::health::{Finding, Health, Measure, Observation, State, Target, Thresholds};
use crate::wire::{BackupPhase, HostMetricsResponse, StatusResponse, StorageTarget};

impl HostMetricsResponse {
    /// Judges every measure in this answer against `thresholds`: see [`crate::health`].
    ///
    /// ```
    /// use felhom_agentapi::wire::HostMetricsResponse;
    /// use felhom_agentapi::health::{Limits, Measure, State, Thresholds};
    ///
    /// let mut metrics = HostMetricsResponse::default();
    /// metrics.host.memory_total_bytes = 64 << 30;
    /// metrics.host.memory_percent = 91.0;
    /// assert_eq!(metrics.assess(&Thresholds::default()).state(), State::Warning);
    ///
    /// let mut relaxed = Thresholds::default();
    /// relaxed.set(Measure::Memory, Limits::new(95.0, 99.0)?);
    /// assert_eq!(metrics.assess(&relaxed).state(), State::Ok);
    /// # Ok::<(), felhom_agentapi::health::ThresholdError>(())
    /// ```
    pub fn assess(&self, thresholds: &Thresholds) -> Health {
        let mut health = Health::default();
        for target in &self.storage_targets {
            for finding in storage(target, thresholds) {
                health.push(finding);
            }
        }
        let host = &self.host;
        let target = || Target::Host {
            node: host.node.clone(),
        };
        // The percentages are plain numbers in Go; a zero total says they were never filled.
        let measured = [
            (
                Measure::Memory,
                (host.memory_total_bytes > 0).then_some(host.memory_percent),
            ),
            (
                Measure::RootDisk,
                (host.disk_total_bytes > 0).then_some(host.disk_percent),
            ),
            (Measure::CpuTemperature, host.cpu_temp_c.map(|c| c as f64)),
        ];
        for (measure, value) in measured {
            if let Some(value) = value {
                health.push(level(target(), measure, value, thresholds));
            }
        }
        health
    }
}

impl StatusResponse {
    /// Judges this guest's current or last backup job: a failed job is a warning (the next
    /// scheduled run may well succeed, and the host is not at risk), a running or finished
    /// one is ok, and a phase this version does not know is unknown.
    ///
    /// ```
    /// use felhom_agentapi::wire::{BackupPhase, StatusResponse};
    /// use felhom_agentapi::health::State;
    ///
    /// let mut status = StatusResponse::default();
    /// status.job_id = "job-7".into();
    /// status.phase = BackupPhase::Failed;
    /// status.error = "vzdump exited with status 2".into();
    /// let finding = status.assess();
    /// assert_eq!(finding.state, State::Warning);
    /// assert_eq!(
    ///     finding.to_string(),
    ///     "backup of guest 0: job job-7 failed: vzdump exited with status 2"
    /// );
    /// ```
    pub fn assess(&self) -> Finding {
        let state = match &self.phase {
            BackupPhase::Failed => State::Warning,
            BackupPhase::Done | BackupPhase::Running | BackupPhase::Idle => State::Ok,
            BackupPhase::Other(_) => State::Unknown,
        };
        Finding {
            target: Target::Backup { vmid: self.vmid },
            observation: Observation::Backup {
                phase: self.phase.clone(),
                job_id: self.job_id.clone(),
                error: self.error.clone(),
            },
            state,
        }
    }
}

/// Judges the age of this guest's last successful backup, from its own record (`None`: nothing
/// recorded), at `now`: [`Measure::BackupAge`] against `thresholds`, and a warning when no
/// success was ever recorded. `vmid` names the guest in the finding.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// use felhom_agentapi::health::{self, State, Thresholds};
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_100_000);
/// let none = health::backup_age(None, 101, now, &Thresholds::default());
/// assert_eq!(none.state, State::Warning);
/// assert_eq!(
///     none.to_string(),
///     "backup of guest 101: no successful backup recorded on this guest (no attempt recorded either)"
/// );
/// ```
pub fn backup_age(
    record: Option<&BackupRecord>,
    vmid: i64,
    now: SystemTime,
    thresholds: &Thresholds,
) -> Finding {
    let target = Target::Backup { vmid };
    let Some(success) = record.and_then(|r| r.last_success_at) else {
        return Finding {
            target,
            observation: Observation::NoSuccessfulBackup {
                last_outcome: record.map(|r| r.last_outcome.clone()),
            },
            state: State::Warning,
        };
    };
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // A success "in the future" (the clock was set back) is as fresh as it gets.
    let age = now.saturating_sub(success) as f64;
    level(target, Measure::BackupAge, age, thresholds)
}

/// A fraction as percent, rounded to a millionth of a percent so that `0.29` is 29 and not
/// 28.999999999999996, which would miss a threshold of 29.
fn percent(fraction: f64) -> f64 {
    (fraction * 100.0 * 1e6).round() / 1e6
}

fn level(target: Target, measure: Measure, value: f64, thresholds: &Thresholds) -> Finding {
    let limits = thresholds.get(measure);
    Finding {
        target,
        observation: Observation::Level {
            measure,
            value,
            limits,
        },
        state: limits.state(value),
    }
}

/// The findings about one storage target, in [`Measure::ALL`] order after reachability.
fn storage(s: &StorageTarget, thresholds: &Thresholds) -> Vec<Finding> {
    let target = || Target::Storage {
        name: s.name.clone(),
        kind: s.kind.clone(),
    };
    let mut findings = vec![Finding {
        target: target(),
        observation: Observation::Reachability {
            reachable: s.reachable,
            state: s.state.clone(),
        },
        state: if s.reachable {
            State::Ok
        } else {
            State::Critical
        },
    }];
    // An unreachable target's capacity is Go's zero values, not a measurement.
    let capacity = s.reachable;
    let thin = s.thin_pool.as_ref().filter(|_| capacity);
    let measured = [
        (
            Measure::ThinPoolData,
            thin.map(|t| percent(t.data_used_fraction)),
        ),
        (
            Measure::ThinPoolMetadata,
            thin.and_then(|t| t.metadata_used_fraction).map(percent),
        ),
        (
            Measure::StorageUsed,
            (capacity && s.total_bytes > 0).then(|| percent(s.used_fraction)),
        ),
        (Measure::NvmeWear, s.smart.percentage_used.map(|p| p as f64)),
        (
            Measure::DiskTemperature,
            s.smart.temperature_c.map(|c| c as f64),
        ),
    ];
    for (measure, value) in measured {
        if let Some(value) = value {
            findings.push(level(target(), measure, value, thresholds));
        }
    }
    // A reachable lvmthin target without thin-pool figures: the headline risk is unwatched.
    if s.reachable && s.kind == "lvmthin" && s.thin_pool.is_none() {
        findings.push(Finding {
            target: target(),
            observation: Observation::NotMeasured { what: "thin pool" },
            state: thresholds.unmeasured(),
        });
    }
    let smart_state = match s.smart.health.as_str() {
        // Nothing reported: not measured.
        "" => None,
        "PASSED" => Some(State::Ok),
        "FAILING" => Some(State::Critical),
        // The agent could not read SMART (a USB bridge, a network share): no verdict on the
        // drive, and no failure either.
        "UNKNOWN" => Some(State::Ok),
        _ => Some(State::Unknown),
    };
    if let Some(state) = smart_state {
        findings.push(Finding {
            target: target(),
            observation: Observation::Smart {
                health: s.smart.health.clone(),
            },
            state,
        });
    }
    findings
}
