//! The measures that are compared with thresholds, and the thresholds themselves.

use std::fmt;
use std::str::FromStr;

use super::State;

/// A measure the assessment compares with a warning and a critical threshold.
///
/// Each has a name, the one `felhom-agentctl check --warn NAME=N` takes, and a unit: the
/// fractions the agent sends (0 to 1) are compared as percentages, temperatures in °C.
///
/// ```
/// use felhom_agentapi::health::{Measure, Unit};
///
/// let m: Measure = "thin-pool-data".parse()?;
/// assert_eq!(m, Measure::ThinPoolData);
/// assert_eq!(m.unit(), Unit::Percent);
/// assert_eq!(Measure::CpuTemperature.name(), "cpu-temperature");
/// assert!("cpu".parse::<Measure>().is_err());
/// # Ok::<(), felhom_agentapi::health::ParseMeasureError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Measure {
    /// An LVM thin pool's data space in use (`thin_pool.data_used_fraction`), percent.
    ThinPoolData,
    /// An LVM thin pool's metadata space in use (`thin_pool.metadata_used_fraction`), percent.
    ThinPoolMetadata,
    /// A storage target's space in use (`used_fraction`), percent.
    StorageUsed,
    /// The host's memory in use (`memory_percent`), percent.
    Memory,
    /// The host's root filesystem in use (`disk_percent`), percent.
    RootDisk,
    /// An NVMe drive's wear (`smart.percentage_used`), percent of its rated endurance.
    NvmeWear,
    /// A drive's temperature (`smart.temperature_c`), °C.
    DiskTemperature,
    /// The host's CPU temperature (`cpu_temp_c`), °C.
    CpuTemperature,
    /// The age of this guest's last successful backup, from its own record
    /// ([`crate::backup_record`]), in seconds.
    BackupAge,
}

/// The unit a [`Measure`] and its thresholds are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// Percent: 0 to 100 (NVMe wear may exceed 100).
    Percent,
    /// Degrees Celsius.
    Celsius,
    /// Seconds (`felhom-agentctl check` also takes durations such as `26h`).
    Seconds,
}

impl Measure {
    /// The measures of `GET /host/metrics`: [`Measure::ALL`] but [`Measure::BackupAge`].
    pub const HOST_METRICS: [Measure; 8] = [
        Measure::ThinPoolData,
        Measure::ThinPoolMetadata,
        Measure::StorageUsed,
        Measure::Memory,
        Measure::RootDisk,
        Measure::NvmeWear,
        Measure::DiskTemperature,
        Measure::CpuTemperature,
    ];

    /// Every measure, in the order findings about one target are listed: those of
    /// [`Measure::HOST_METRICS`], then [`Measure::BackupAge`].
    pub const ALL: [Measure; 9] = {
        let mut all = [Measure::BackupAge; 9];
        let mut i = 0;
        while i < Measure::HOST_METRICS.len() {
            all[i] = Measure::HOST_METRICS[i];
            i += 1;
        }
        all
    };

    /// The measure's name: `thin-pool-data`, `thin-pool-metadata`, `storage-used`, `memory`,
    /// `root-disk`, `nvme-wear`, `disk-temperature`, `cpu-temperature` or `backup-age`.
    pub fn name(self) -> &'static str {
        match self {
            Measure::ThinPoolData => "thin-pool-data",
            Measure::ThinPoolMetadata => "thin-pool-metadata",
            Measure::StorageUsed => "storage-used",
            Measure::Memory => "memory",
            Measure::RootDisk => "root-disk",
            Measure::NvmeWear => "nvme-wear",
            Measure::DiskTemperature => "disk-temperature",
            Measure::CpuTemperature => "cpu-temperature",
            Measure::BackupAge => "backup-age",
        }
    }

    /// What the measure is, in words, for messages: `thin pool data`, `memory`, ….
    pub fn describe(self) -> &'static str {
        match self {
            Measure::ThinPoolData => "thin pool data",
            Measure::ThinPoolMetadata => "thin pool metadata",
            Measure::StorageUsed => "used",
            Measure::Memory => "memory",
            Measure::RootDisk => "root disk",
            Measure::NvmeWear => "NVMe wear",
            Measure::DiskTemperature => "disk temperature",
            Measure::CpuTemperature => "CPU temperature",
            Measure::BackupAge => "last successful backup",
        }
    }

    /// The unit of its values and thresholds.
    pub fn unit(self) -> Unit {
        match self {
            Measure::DiskTemperature | Measure::CpuTemperature => Unit::Celsius,
            Measure::BackupAge => Unit::Seconds,
            _ => Unit::Percent,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Measure {
    type Err = ParseMeasureError;

    fn from_str(s: &str) -> Result<Measure, ParseMeasureError> {
        Measure::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| ParseMeasureError {
                given: s.to_string(),
            })
    }
}

/// A name that is not one of [`Measure::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseMeasureError {
    given: String,
}

impl fmt::Display for ParseMeasureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown measure {:?}: expected one of ",
            crate::terminal::escape(&self.given)
        )?;
        for (i, m) in Measure::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseMeasureError {}

/// A warning and a critical threshold, in the measure's [`Unit`].
///
/// A value **at or above** a threshold triggers it. The warning threshold may equal the
/// critical one (then there is no warning band) but never exceed it.
///
/// ```
/// use felhom_agentapi::health::{Limits, State};
///
/// let limits = Limits::new(80.0, 90.0)?;
/// assert_eq!(limits.state(79.9), State::Ok);
/// assert_eq!(limits.state(80.0), State::Warning);
/// assert_eq!(limits.state(90.0), State::Critical);
/// assert!(Limits::new(95.0, 90.0).is_err());
/// # Ok::<(), felhom_agentapi::health::ThresholdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    warning: f64,
    critical: f64,
}

impl Limits {
    /// Thresholds `warning` and `critical`.
    ///
    /// # Errors
    ///
    /// [`ThresholdError::NotANumber`] for an infinite or NaN threshold,
    /// [`ThresholdError::WarningAboveCritical`] when `warning > critical`.
    pub fn new(warning: f64, critical: f64) -> Result<Limits, ThresholdError> {
        for value in [warning, critical] {
            if !value.is_finite() {
                return Err(ThresholdError::NotANumber { value });
            }
        }
        if warning > critical {
            return Err(ThresholdError::WarningAboveCritical { warning, critical });
        }
        Ok(Limits { warning, critical })
    }

    /// The warning threshold.
    pub fn warning(&self) -> f64 {
        self.warning
    }

    /// The critical threshold.
    pub fn critical(&self) -> f64 {
        self.critical
    }

    /// The state of `value`: critical at or above the critical threshold, warning at or above
    /// the warning threshold, otherwise ok.
    pub fn state(&self, value: f64) -> State {
        if value >= self.critical {
            State::Critical
        } else if value >= self.warning {
            State::Warning
        } else {
            State::Ok
        }
    }
}

/// Thresholds that cannot be used.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ThresholdError {
    /// A threshold is infinite or not a number.
    NotANumber {
        /// The threshold given.
        value: f64,
    },
    /// The warning threshold is above the critical one, so a warning could never be raised
    /// before the critical state.
    WarningAboveCritical {
        /// The warning threshold given.
        warning: f64,
        /// The critical threshold given.
        critical: f64,
    },
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThresholdError::NotANumber { value } => {
                write!(f, "threshold {value} is not a finite number")
            }
            ThresholdError::WarningAboveCritical { warning, critical } => write!(
                f,
                "the warning threshold {} is above the critical threshold {}: give a \
                 critical threshold at least as high with it",
                super::number(*warning),
                super::number(*critical)
            ),
        }
    }
}

impl std::error::Error for ThresholdError {}

/// The thresholds of every [`Measure`].
///
/// The defaults, and where they come from:
///
/// | measure | warning | critical | why |
/// | --- | ---: | ---: | --- |
/// | `thin-pool-data` | 80% | 90% | LVM's `dmeventd` logs its first "thin pool is filling" warning above 80% (and commonly `thin_pool_autoextend_threshold = 80`); a pool that reaches 100% stalls or corrupts every guest on it |
/// | `thin-pool-metadata` | 80% | 90% | the same `dmeventd` warnings cover metadata; running out of metadata can damage the pool itself |
/// | `storage-used` | 80% | 90% | the Icinga template library's `disk` check: warning at 20% free, critical at 10% free |
/// | `memory` | 90% | 95% | a virtualization host is meant to use its memory; below 10% free, guests' ballooning and the host's caches have no room left |
/// | `root-disk` | 80% | 90% | as `storage-used` |
/// | `nvme-wear` | 80% | 100% | the NVMe specification's *Percentage Used*: 100 means the drive's rated endurance is used up (the value may go past 100) |
/// | `disk-temperature` | 60 °C | 70 °C | 60 °C is the top of the operating range in common hard-disk data sheets; around 70 °C is the usual NVMe *warning composite temperature*, where drives start to throttle |
/// | `cpu-temperature` | 80 °C | 90 °C | sustained load stays below 80 °C on a well-cooled host; desktop and server CPUs throttle near 95–100 °C |
/// | `backup-age` | 26 h | 50 h | a daily backup policy: one missed run plus slack for a slow job is a warning, two missed runs are critical |
///
/// An lvmthin storage target whose thin pool the agent does not measure is
/// [`State::Warning`] by default ([`Thresholds::set_unmeasured`]): a pool nobody watches can fill
/// up unnoticed.
///
/// ```
/// use felhom_agentapi::health::{Limits, Measure, Thresholds};
///
/// let mut thresholds = Thresholds::default();
/// assert_eq!(thresholds.get(Measure::ThinPoolData).warning(), 80.0);
/// thresholds.set(Measure::Memory, Limits::new(85.0, 98.0)?);
/// assert_eq!(thresholds.get(Measure::Memory).critical(), 98.0);
/// # Ok::<(), felhom_agentapi::health::ThresholdError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    limits: [Limits; 9],
    unmeasured: State,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        let l = |warning, critical| Limits { warning, critical };
        let mut limits = [l(0.0, 0.0); 9];
        for m in Measure::ALL {
            limits[m.index()] = match m {
                Measure::ThinPoolData | Measure::ThinPoolMetadata => l(80.0, 90.0),
                Measure::StorageUsed | Measure::RootDisk => l(80.0, 90.0),
                Measure::Memory => l(90.0, 95.0),
                Measure::NvmeWear => l(80.0, 100.0),
                Measure::DiskTemperature => l(60.0, 70.0),
                Measure::CpuTemperature => l(80.0, 90.0),
                Measure::BackupAge => l(26.0 * 3600.0, 50.0 * 3600.0),
            };
        }
        Thresholds {
            limits,
            unmeasured: State::Warning,
        }
    }
}

impl Thresholds {
    /// The thresholds of `measure`.
    pub fn get(&self, measure: Measure) -> Limits {
        self.limits[measure.index()]
    }

    /// Replaces the thresholds of `measure`.
    pub fn set(&mut self, measure: Measure, limits: Limits) {
        self.limits[measure.index()] = limits;
    }

    /// The state of an lvmthin storage target whose thin pool is not measured (default
    /// [`State::Warning`]).
    pub fn unmeasured(&self) -> State {
        self.unmeasured
    }

    /// Sets the state of an lvmthin storage target whose thin pool is not measured;
    /// [`State::Ok`] still lists the finding, but never raises the verdict.
    pub fn set_unmeasured(&mut self, state: State) {
        self.unmeasured = state;
    }
}
