//! The answer to `GET /host/metrics`, in metric profiles: a healthy host, and hosts in the
//! kinds of trouble a monitoring check must see.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// What `GET /host/metrics` reports: choose with [`DevAgentBuilder::metrics_profile`] or
/// switch a running agent with [`DevAgent::set_metrics_profile`].
///
/// Every profile has the same host (`pve-dev-1`) and the same three storage targets:
/// `local-lvm` (an LVM thin pool on an NVMe drive), `usb-archive` (a directory on a USB drive)
/// and `nfs-backup` (an NFS share); each changes only what its name says.
///
/// ```
/// use felhom_devagent::{DevAgent, MetricsProfile};
/// use felhom_agentapi::health::{State, Thresholds};
/// use felhom_agentapi::Client;
///
/// let agent = DevAgent::builder().metrics_profile(MetricsProfile::ThinPoolCritical).start()?;
/// let client = Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
/// let health = client.host_metrics()?.assess(&Thresholds::default());
/// assert_eq!(health.state(), State::Critical);
///
/// agent.set_metrics_profile(MetricsProfile::Healthy);
/// assert_eq!(client.host_metrics()?.assess(&Thresholds::default()).state(), State::Ok);
/// assert_eq!("failing-disk".parse::<MetricsProfile>(), Ok(MetricsProfile::FailingDisk));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`DevAgentBuilder::metrics_profile`]: super::DevAgentBuilder::metrics_profile
/// [`DevAgent::set_metrics_profile`]: super::DevAgent::set_metrics_profile
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MetricsProfile {
    /// Everything within the usual thresholds (the default): thin pool 61% full with its
    /// metadata fill unknown (`null`), NVMe drive at 41 °C and 3% wear, no CPU sensor
    /// (`cpu_temp_c: null`), SMART `UNKNOWN` for the USB and NFS targets.
    #[default]
    Healthy,
    /// The thin pool is filling: data 84% (a warning), metadata 46%; the host's CPU sensor
    /// reads 52 °C.
    ThinPoolWarning,
    /// The thin pool is nearly full: data 95% (critical), metadata 83% (a warning); the
    /// storage's used fraction follows, 95%; the CPU sensor reads 52 °C.
    ThinPoolCritical,
    /// The USB drive behind `usb-archive` reports SMART `FAILING`, at 47 °C.
    FailingDisk,
    /// The agent cannot reach `nfs-backup`: `reachable: false`, state `unavailable`, and
    /// capacity figures of 0, as Go sends them.
    UnreachableStorage,
    /// Every optional measure is `null`: no CPU sensor, no thin-pool figures
    /// (`thin_pool: null`), no drive temperatures, no NVMe wear.
    AllOptionalNull,
}

impl MetricsProfile {
    /// Every profile.
    pub const ALL: [MetricsProfile; 6] = [
        MetricsProfile::Healthy,
        MetricsProfile::ThinPoolWarning,
        MetricsProfile::ThinPoolCritical,
        MetricsProfile::FailingDisk,
        MetricsProfile::UnreachableStorage,
        MetricsProfile::AllOptionalNull,
    ];

    /// The profile's name: `healthy`, `thin-pool-warning`, `thin-pool-critical`,
    /// `failing-disk`, `unreachable-storage` or `all-optional-null`.
    pub fn name(self) -> &'static str {
        match self {
            MetricsProfile::Healthy => "healthy",
            MetricsProfile::ThinPoolWarning => "thin-pool-warning",
            MetricsProfile::ThinPoolCritical => "thin-pool-critical",
            MetricsProfile::FailingDisk => "failing-disk",
            MetricsProfile::UnreachableStorage => "unreachable-storage",
            MetricsProfile::AllOptionalNull => "all-optional-null",
        }
    }
}

impl fmt::Display for MetricsProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MetricsProfile {
    type Err = String;

    /// A profile by its [`name`](MetricsProfile::name).
    fn from_str(s: &str) -> Result<MetricsProfile, String> {
        MetricsProfile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = MetricsProfile::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown metrics profile {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

// ---- the answer, in the Go structs' member order --------------------------------------------

#[derive(Serialize)]
pub(crate) struct HostMetricsView {
    vmid: u32,
    host: HostMetrics,
    storage_targets: Vec<StorageTarget>,
}

#[derive(Serialize)]
struct HostMetrics {
    node: &'static str,
    cpu_percent: f64,
    memory_total_bytes: u64,
    memory_used_bytes: u64,
    memory_percent: f64,
    disk_total_bytes: u64,
    disk_used_bytes: u64,
    disk_percent: f64,
    loadavg: [&'static str; 3],
    uptime_seconds: u64,
    /// `None` is a host without a temperature sensor: null, not 0.
    cpu_temp_c: Option<i32>,
}

#[derive(Serialize)]
struct StorageTarget {
    name: &'static str,
    r#type: &'static str,
    state: &'static str,
    reachable: bool,
    total_bytes: u64,
    used_bytes: u64,
    avail_bytes: u64,
    used_fraction: f64,
    content: &'static str,
    mount_path: &'static str,
    class_hint: &'static str,
    /// Only lvmthin targets have the member at all (`None`); `Some(None)` sends it as `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    thin_pool: Option<Option<ThinPool>>,
    smart: Smart,
}

#[derive(Serialize)]
struct ThinPool {
    data_used_fraction: f64,
    metadata_used_fraction: Option<f64>,
}

#[derive(Serialize)]
struct Smart {
    health: &'static str,
    temperature_c: Option<i32>,
    percentage_used: Option<i32>,
}

const GIB: u64 = 1 << 30;

/// Capacity figures that add up: used + avail = total, used_fraction = used / total.
fn target(
    name: &'static str,
    r#type: &'static str,
    total_bytes: u64,
    used_bytes: u64,
    content: &'static str,
    mount_path: &'static str,
    class_hint: &'static str,
) -> StorageTarget {
    StorageTarget {
        name,
        r#type,
        state: "active",
        reachable: true,
        total_bytes,
        used_bytes,
        avail_bytes: total_bytes - used_bytes,
        used_fraction: used_bytes as f64 / total_bytes as f64,
        content,
        mount_path,
        class_hint,
        thin_pool: None,
        smart: Smart {
            health: "UNKNOWN",
            temperature_c: None,
            percentage_used: None,
        },
    }
}

/// The thin pool `local-lvm`, `used_gib` of 400 GiB full, with this metadata fill.
fn lvm(used_gib: u64, metadata: Option<f64>) -> StorageTarget {
    let mut lvm = target(
        "local-lvm",
        "lvmthin",
        400 * GIB,
        used_gib * GIB,
        "images,rootdir",
        "",
        "fast",
    );
    lvm.thin_pool = Some(Some(ThinPool {
        data_used_fraction: used_gib as f64 / 400.0,
        metadata_used_fraction: metadata,
    }));
    lvm.smart = Smart {
        health: "PASSED",
        temperature_c: Some(41),
        percentage_used: Some(3),
    };
    lvm
}

/// The answer for `profile`, for guest `vmid`.
pub(crate) fn host_metrics(profile: MetricsProfile, vmid: u32) -> HostMetricsView {
    let (lvm_used_gib, metadata, cpu_temp_c) = match profile {
        MetricsProfile::ThinPoolWarning => (336, Some(0.46), Some(52)),
        MetricsProfile::ThinPoolCritical => (380, Some(0.83), Some(52)),
        _ => (244, None, None),
    };
    let mut storage_targets = vec![
        lvm(lvm_used_gib, metadata),
        target(
            "usb-archive",
            "dir",
            2000 * GIB,
            1200 * GIB,
            "backup",
            "/mnt/usb-archive",
            "slow",
        ),
        target(
            "nfs-backup",
            "nfs",
            4000 * GIB,
            1000 * GIB,
            "backup,iso",
            "/mnt/pve/nfs-backup",
            "slow",
        ),
    ];
    match profile {
        MetricsProfile::FailingDisk => {
            storage_targets[1].smart = Smart {
                health: "FAILING",
                temperature_c: Some(47),
                percentage_used: None,
            };
        }
        MetricsProfile::UnreachableStorage => {
            let nfs = &mut storage_targets[2];
            nfs.reachable = false;
            nfs.state = "unavailable";
            (nfs.total_bytes, nfs.used_bytes, nfs.avail_bytes) = (0, 0, 0);
            nfs.used_fraction = 0.0;
        }
        MetricsProfile::AllOptionalNull => {
            let lvm = &mut storage_targets[0];
            lvm.thin_pool = Some(None);
            lvm.smart.temperature_c = None;
            lvm.smart.percentage_used = None;
        }
        _ => {}
    }
    HostMetricsView {
        vmid,
        host: HostMetrics {
            node: "pve-dev-1",
            cpu_percent: 12.5,
            memory_total_bytes: 64 * GIB,
            memory_used_bytes: 24 * GIB,
            memory_percent: 37.5,
            disk_total_bytes: 100 * GIB,
            disk_used_bytes: 30 * GIB,
            disk_percent: 30.0,
            loadavg: ["0.42", "0.37", "0.30"],
            uptime_seconds: 864_000,
            cpu_temp_c,
        },
        storage_targets,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn answer(profile: MetricsProfile) -> Value {
        serde_json::to_value(host_metrics(profile, 101)).unwrap()
    }

    #[test]
    fn each_profile_changes_only_what_its_name_says() {
        let healthy = answer(MetricsProfile::Healthy);
        for profile in MetricsProfile::ALL {
            let got = answer(profile);
            let host = &got["host"];
            let targets = got["storage_targets"].as_array().unwrap();
            let healthy_targets = healthy["storage_targets"].as_array().unwrap();
            match profile {
                MetricsProfile::Healthy => {
                    assert_eq!(host["cpu_temp_c"], Value::Null);
                    assert_eq!(
                        targets[0]["thin_pool"],
                        json!({"data_used_fraction": 0.61, "metadata_used_fraction": null})
                    );
                }
                MetricsProfile::ThinPoolWarning | MetricsProfile::ThinPoolCritical => {
                    let (data, metadata) = match profile {
                        MetricsProfile::ThinPoolWarning => (0.84, 0.46),
                        _ => (0.95, 0.83),
                    };
                    assert_eq!(
                        targets[0]["thin_pool"],
                        json!({"data_used_fraction": data, "metadata_used_fraction": metadata})
                    );
                    assert_eq!(targets[0]["used_fraction"], data);
                    assert_eq!(host["cpu_temp_c"], 52);
                    assert_eq!(targets[1..], healthy_targets[1..]);
                }
                MetricsProfile::FailingDisk => {
                    assert_eq!(targets[1]["smart"]["health"], "FAILING");
                    assert_eq!(targets[0], healthy_targets[0]);
                }
                MetricsProfile::UnreachableStorage => {
                    assert_eq!(targets[2]["reachable"], false);
                    assert_eq!(targets[2]["total_bytes"], 0);
                    assert_eq!(targets[..2], healthy_targets[..2]);
                }
                MetricsProfile::AllOptionalNull => {
                    assert_eq!(host["cpu_temp_c"], Value::Null);
                    // Present, and null: not left out.
                    assert_eq!(targets[0].get("thin_pool"), Some(&Value::Null));
                    for t in targets {
                        assert_eq!(t["smart"]["temperature_c"], Value::Null);
                        assert_eq!(t["smart"]["percentage_used"], Value::Null);
                    }
                }
            }
            if profile != MetricsProfile::ThinPoolWarning
                && profile != MetricsProfile::ThinPoolCritical
            {
                assert_eq!(got["host"], healthy["host"], "{profile}");
            }
            // Only lvmthin targets carry the member at all.
            assert!(targets[1].get("thin_pool").is_none());
        }
    }

    #[test]
    fn profiles_parse_by_name() {
        for profile in MetricsProfile::ALL {
            assert_eq!(profile.name().parse(), Ok(profile));
        }
        let err = "sick".parse::<MetricsProfile>().unwrap_err();
        assert!(err.contains("healthy, thin-pool-warning"), "{err}");
    }
}
