//! The agent's JSON wire types, field for field as the Go reference client declares them.
//!
//! Decoding is as forgiving as Go's `encoding/json`, because the agent is written in Go: unknown
//! keys are ignored, a missing key or a JSON `null` gives the field its zero value (Go sends an
//! empty slice as `null`), and only the `Option` fields (Go pointers) keep `null` apart from zero.
//! A value of the wrong JSON type is still an error, as it is in Go. One difference: Go matches
//! keys case-insensitively, these types match them exactly (the agent only ever sends the exact
//! keys).
//!
//! Every struct is `#[non_exhaustive]` so that fields the agent adds later are not breaking
//! changes; build values with `Default` and assign fields.

use std::fmt;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

/// Decodes a JSON `null` as the type's zero value, like Go's `encoding/json`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The longest job id this client accepts, in bytes.
///
/// A job id is passed on (to hooks' environments, to logs, to the next call): one that is not
/// short printable ASCII is an error of the answer, not something to carry around.
pub const MAX_JOB_ID_LEN: usize = 128;

/// A job id: `null` or missing is empty; anything but at most [`MAX_JOB_ID_LEN`] bytes of
/// printable ASCII (space to `~`) is refused, naming the field.
fn job_id<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    let id: String = null_as_default(deserializer)?;
    if id.len() > MAX_JOB_ID_LEN {
        return Err(serde::de::Error::custom(format!(
            "job_id: {} bytes long, more than the {MAX_JOB_ID_LEN} a job id may have",
            id.len()
        )));
    }
    if let Some(c) = id.chars().find(|c| !matches!(c, ' '..='~')) {
        return Err(serde::de::Error::custom(format!(
            "job_id: holds {:?}, not printable ASCII",
            c
        )));
    }
    Ok(id)
}

/// One storage mount of this guest (an entry of `GET /storage`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MountInfo {
    /// The mount's key in the guest config, such as `mp0`.
    #[serde(deserialize_with = "null_as_default")]
    pub key: String,
    /// The Proxmox storage backing the mount.
    #[serde(deserialize_with = "null_as_default")]
    pub storage: String,
    /// Where the mount appears inside the guest.
    #[serde(deserialize_with = "null_as_default")]
    pub mount_point: String,
    /// `fast`, `slow`, or empty when unclassified.
    #[serde(deserialize_with = "null_as_default")]
    pub class: String,
    /// Whether the mount is included in backups.
    #[serde(deserialize_with = "null_as_default")]
    pub backup: bool,
}

/// The payload of `GET /storage`: this guest's mounts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StorageResponse {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// The guest's mounts.
    #[serde(deserialize_with = "null_as_default")]
    pub mounts: Vec<MountInfo>,
}

/// The payload of `GET /backup/due`: whether a scheduled backup is due (the quiesce trigger).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DueResponse {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// True when the backup policy says a backup should run now.
    #[serde(deserialize_with = "null_as_default")]
    pub due: bool,
    /// The agent's explanation, for logs.
    #[serde(deserialize_with = "null_as_default")]
    pub reason: String,
}

/// The payload of `POST /backup`: the job the agent started.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BackupResponse {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// The job to poll with [`Client::backup_status`](crate::Client::backup_status): at most
    /// [`MAX_JOB_ID_LEN`] bytes of printable ASCII (anything else is an [`Error::Decode`]).
    ///
    /// [`Error::Decode`]: crate::Error::Decode
    #[serde(deserialize_with = "job_id")]
    pub job_id: String,
    /// The job's phase when it was accepted.
    #[serde(deserialize_with = "null_as_default")]
    pub phase: BackupPhase,
}

/// The payload of `GET /backup/status`: the current or last backup job of this guest.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StatusResponse {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// Where the job is.
    #[serde(deserialize_with = "null_as_default")]
    pub phase: BackupPhase,
    /// The job this status describes; empty when no job ever ran. At most
    /// [`MAX_JOB_ID_LEN`] bytes of printable ASCII (anything else is an [`Error::Decode`]).
    ///
    /// [`Error::Decode`]: crate::Error::Decode
    #[serde(deserialize_with = "job_id")]
    pub job_id: String,
    /// Why the job failed, when `phase` is [`BackupPhase::Failed`].
    #[serde(deserialize_with = "null_as_default")]
    pub error: String,
}

/// The phase of a backup job, as the agent names it.
///
/// Values this version does not know are kept in [`BackupPhase::Other`] and written back
/// unchanged, so a newer agent's phase survives a decode and encode.
///
/// ```
/// use felhom_agentapi::wire::BackupPhase;
/// assert_eq!("done".parse::<BackupPhase>().unwrap(), BackupPhase::Done);
/// assert_eq!("paused".parse::<BackupPhase>().unwrap().as_str(), "paused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BackupPhase {
    /// No job has run, or the agent forgot it.
    Idle,
    /// The job is running.
    Running,
    /// The job finished successfully.
    Done,
    /// The job failed; see [`StatusResponse::error`].
    Failed,
    /// A phase this version does not know (including the empty string of a missing field).
    Other(String),
}

impl BackupPhase {
    /// The agent's name for the phase.
    pub fn as_str(&self) -> &str {
        match self {
            BackupPhase::Idle => "idle",
            BackupPhase::Running => "running",
            BackupPhase::Done => "done",
            BackupPhase::Failed => "failed",
            BackupPhase::Other(s) => s,
        }
    }
}

impl Default for BackupPhase {
    /// The empty string, which is what Go decodes a missing phase to.
    fn default() -> Self {
        BackupPhase::Other(String::new())
    }
}

impl From<String> for BackupPhase {
    fn from(s: String) -> Self {
        match s.as_str() {
            "idle" => BackupPhase::Idle,
            "running" => BackupPhase::Running,
            "done" => BackupPhase::Done,
            "failed" => BackupPhase::Failed,
            _ => BackupPhase::Other(s),
        }
    }
}

impl std::str::FromStr for BackupPhase {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(BackupPhase::from(s.to_string()))
    }
}

impl fmt::Display for BackupPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BackupPhase {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BackupPhase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(BackupPhase::from)
    }
}

/// One host drive the agent manages (an entry of `GET /disks`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DiskInfo {
    /// The drive's name.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// The drive's type (`usb`, `local-dir`, `nfs`, `lvm`, …); the JSON key is `type`.
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// The drive's state (`mounted`, `unassigned`, …).
    #[serde(deserialize_with = "null_as_default")]
    pub state: String,
    /// The block device behind the drive, if any.
    #[serde(deserialize_with = "null_as_default")]
    pub backing_device: String,
    /// Where the drive is mounted on the host, if it is.
    #[serde(deserialize_with = "null_as_default")]
    pub mount_path: String,
    /// `fast`, `slow`, or empty.
    #[serde(deserialize_with = "null_as_default")]
    pub class: String,
    /// True when the agent found data on the drive: formatting it needs operator authorization.
    #[serde(deserialize_with = "null_as_default")]
    pub data_bearing: bool,
    /// What data the agent found.
    #[serde(deserialize_with = "null_as_default")]
    pub data_reason: String,
    /// The drive's stable identity, such as `uuid:<fs-uuid>` for usb and local-dir drives.
    #[serde(deserialize_with = "null_as_default")]
    pub durable_id: String,
}

impl DiskInfo {
    /// The filesystem UUID from a `uuid:<…>` durable id: the key that
    /// [`Client::assign_disk`](crate::Client::assign_disk) takes. `None` when the drive's identity
    /// is not a filesystem UUID (network and LVM targets cannot be assigned as host mounts).
    ///
    /// ```
    /// use felhom_agentapi::wire::DiskInfo;
    /// let mut disk = DiskInfo::default();
    /// disk.durable_id = "uuid:3f1c2a9e".to_string();
    /// assert_eq!(disk.fs_uuid(), Some("3f1c2a9e"));
    /// disk.durable_id = "nfs:192.0.2.10:/export".to_string();
    /// assert_eq!(disk.fs_uuid(), None);
    /// ```
    pub fn fs_uuid(&self) -> Option<&str> {
        self.durable_id.strip_prefix("uuid:")
    }
}

/// The payload of `GET /disks`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DisksResponse {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// The drives.
    #[serde(deserialize_with = "null_as_default")]
    pub disks: Vec<DiskInfo>,
}

/// The payload of `POST /disks/format`, on success and on refusal.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FormatResult {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// The device the request named.
    #[serde(deserialize_with = "null_as_default")]
    pub device: String,
    /// True when the agent formatted the device.
    #[serde(deserialize_with = "null_as_default")]
    pub formatted: bool,
    /// True when the agent found data on the device (and so refused).
    #[serde(deserialize_with = "null_as_default")]
    pub data_bearing: bool,
    /// The agent's reason.
    #[serde(deserialize_with = "null_as_default")]
    pub reason: String,
    /// The destructive operation the agent bound to this refusal, for the operator to sign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_op: Option<PendingOp>,
}

/// The destructive operation an agent bound to a refused format: what an operator must authorize.
///
/// A guest can never complete a data-bearing format itself; it can only show the operator the
/// command that signs the operation, [`PendingOp::opsign_command`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PendingOp {
    /// The operation, such as `storage_wipe`.
    #[serde(deserialize_with = "null_as_default")]
    pub op: String,
    /// The agent's host id, which binds the signature to this host.
    #[serde(deserialize_with = "null_as_default")]
    pub host_scope: String,
    /// The device's stable identity (`byid:…` or `byuuid:…`).
    #[serde(deserialize_with = "null_as_default")]
    pub durable_id: String,
    /// The filesystem to create after the wipe.
    #[serde(deserialize_with = "null_as_default")]
    pub fstype: String,
}

impl PendingOp {
    /// The command an operator runs, offline, to authorize this operation:
    /// `felhom-opsign -op OP -host HOST -durable-id ID`.
    ///
    /// The values come from the network, so the command is made safe to paste into a POSIX
    /// shell: a value that is empty, starts with `=` (which zsh would expand), or holds any
    /// character outside `[A-Za-z0-9_@%+=:,./-]` is single-quoted, and the shell reads it back
    /// as exactly that one argument, whatever it holds.
    /// Ordinary values print exactly as the Go client prints them.
    ///
    /// ```
    /// use felhom_agentapi::wire::PendingOp;
    /// let mut op = PendingOp::default();
    /// op.op = "storage_wipe".into();
    /// op.host_scope = "pve-1".into();
    /// op.durable_id = "byid:usb-WD_Elements_1".into();
    /// assert_eq!(
    ///     op.opsign_command(),
    ///     "felhom-opsign -op storage_wipe -host pve-1 -durable-id byid:usb-WD_Elements_1"
    /// );
    /// op.host_scope = "pve-1; rm -rf /".into();
    /// assert!(op.opsign_command().contains("-host 'pve-1; rm -rf /' "));
    /// ```
    ///
    /// A Unix command argument cannot hold a NUL byte, so a value with one cannot round-trip;
    /// [`FormatRefused::opsign_command`](crate::FormatRefused::opsign_command) returns `None` for
    /// such an operation rather than a command that would sign something else.
    pub fn opsign_command(&self) -> String {
        format!(
            "felhom-opsign -op {} -host {} -durable-id {}",
            crate::shell::quote(&self.op),
            crate::shell::quote(&self.host_scope),
            crate::shell::quote(&self.durable_id),
        )
    }
}

/// The payload of `POST /disks/eject`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct EjectResult {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// The mount path that was ejected.
    #[serde(deserialize_with = "null_as_default")]
    pub ejected: String,
    /// Guests that used the mount and will lose it.
    #[serde(deserialize_with = "null_as_default")]
    pub dependent_guests: Vec<i64>,
}

/// Host-wide health, the `host` block of `GET /host/metrics`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HostMetrics {
    /// The Proxmox node name.
    #[serde(deserialize_with = "null_as_default")]
    pub node: String,
    /// CPU use, 0 to 100.
    #[serde(deserialize_with = "null_as_default")]
    pub cpu_percent: f64,
    /// Total memory in bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub memory_total_bytes: i64,
    /// Used memory in bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub memory_used_bytes: i64,
    /// Memory use, 0 to 100.
    #[serde(deserialize_with = "null_as_default")]
    pub memory_percent: f64,
    /// Size of the host's root filesystem in bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub disk_total_bytes: i64,
    /// Used bytes of the host's root filesystem.
    #[serde(deserialize_with = "null_as_default")]
    pub disk_used_bytes: i64,
    /// Root filesystem use, 0 to 100.
    #[serde(deserialize_with = "null_as_default")]
    pub disk_percent: f64,
    /// Load averages over 1, 5 and 15 minutes, as the kernel prints them.
    #[serde(deserialize_with = "null_as_default")]
    pub loadavg: Vec<String>,
    /// Seconds since the host booted.
    #[serde(deserialize_with = "null_as_default")]
    pub uptime_seconds: i64,
    /// CPU temperature in °C; `None` when the host has no sensor (distinct from 0 °C).
    pub cpu_temp_c: Option<i64>,
}

/// How full an LVM thin pool is; a full thin pool corrupts every guest on it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ThinPoolFill {
    /// Fraction of the pool's data space in use, 0 to 1.
    #[serde(deserialize_with = "null_as_default")]
    pub data_used_fraction: f64,
    /// Fraction of the pool's metadata space in use, 0 to 1; `None` when unknown.
    pub metadata_used_fraction: Option<f64>,
}

/// A drive's SMART health, as far as the monitoring view shows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SmartSummary {
    /// `PASSED`, `FAILING` or `UNKNOWN`.
    #[serde(deserialize_with = "null_as_default")]
    pub health: String,
    /// Drive temperature in °C; `None` when the device does not report it.
    pub temperature_c: Option<i64>,
    /// NVMe wear in percent; `None` for SATA and USB drives.
    pub percentage_used: Option<i64>,
}

/// Capacity and health of one storage target (an entry of `GET /host/metrics`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StorageTarget {
    /// The storage's name.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// The storage's type (`lvmthin`, `dir`, `nfs`, …); the JSON key is `type`.
    #[serde(rename = "type", deserialize_with = "null_as_default")]
    pub kind: String,
    /// The storage's state.
    #[serde(deserialize_with = "null_as_default")]
    pub state: String,
    /// Whether the agent could reach the storage.
    #[serde(deserialize_with = "null_as_default")]
    pub reachable: bool,
    /// Size in bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub total_bytes: i64,
    /// Used bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub used_bytes: i64,
    /// Available bytes.
    #[serde(deserialize_with = "null_as_default")]
    pub avail_bytes: i64,
    /// Fraction in use, 0 to 1.
    #[serde(deserialize_with = "null_as_default")]
    pub used_fraction: f64,
    /// The Proxmox content types stored there.
    #[serde(deserialize_with = "null_as_default")]
    pub content: String,
    /// Where the storage is mounted on the host.
    #[serde(deserialize_with = "null_as_default")]
    pub mount_path: String,
    /// `fast`, `slow`, or empty.
    #[serde(deserialize_with = "null_as_default")]
    pub class_hint: String,
    /// Thin-pool fill, for `lvmthin` storage only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thin_pool: Option<ThinPoolFill>,
    /// SMART health of the drive behind the storage.
    #[serde(deserialize_with = "null_as_default")]
    pub smart: SmartSummary,
}

/// The payload of `GET /host/metrics`: live host health and per-storage capacity.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HostMetricsResponse {
    /// The guest's VM id.
    #[serde(deserialize_with = "null_as_default")]
    pub vmid: i64,
    /// Host-wide health.
    #[serde(deserialize_with = "null_as_default")]
    pub host: HostMetrics,
    /// Per-storage capacity and health.
    #[serde(deserialize_with = "null_as_default")]
    pub storage_targets: Vec<StorageTarget>,
}

/// The `{ok, data, error}` envelope around every answer. `data` stays raw until the caller knows
/// which type to decode it as.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Envelope<'a> {
    #[serde(deserialize_with = "null_as_default")]
    pub ok: bool,
    #[serde(borrow)]
    pub data: Option<&'a serde_json::value::RawValue>,
    #[serde(deserialize_with = "null_as_default")]
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_ids_are_short_printable_ascii_or_refused_naming_the_field() {
        let ok: StatusResponse = serde_json::from_value(json!({"job_id": "job-1 a~"})).unwrap();
        assert_eq!(ok.job_id, "job-1 a~");
        let longest = "j".repeat(MAX_JOB_ID_LEN);
        let ok: BackupResponse = serde_json::from_value(json!({ "job_id": longest })).unwrap();
        assert_eq!(ok.job_id.len(), MAX_JOB_ID_LEN);
        for bad in [
            "job\u{0}1".to_string(),
            "j".repeat(MAX_JOB_ID_LEN + 1),
            "job\n1".to_string(),
            "jöb".to_string(),
            "job\u{7f}".to_string(),
        ] {
            let status = serde_json::from_value::<StatusResponse>(json!({ "job_id": bad }));
            let started = serde_json::from_value::<BackupResponse>(json!({ "job_id": bad }));
            for e in [status.unwrap_err(), started.unwrap_err()] {
                assert!(e.to_string().contains("job_id"), "{bad:?}: {e}");
            }
        }
    }

    #[test]
    fn null_and_missing_fields_take_the_zero_value_like_go() {
        let storage: StorageResponse = serde_json::from_value(json!({"mounts": null})).unwrap();
        assert_eq!(storage, StorageResponse::default());
        let mount: MountInfo =
            serde_json::from_value(json!({"key": null, "backup": null, "class": "fast"})).unwrap();
        assert_eq!(
            (mount.key.as_str(), mount.backup, mount.class.as_str()),
            ("", false, "fast")
        );
        let eject: EjectResult =
            serde_json::from_value(json!({"ejected": "/mnt/x", "dependent_guests": null})).unwrap();
        assert!(eject.dependent_guests.is_empty());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let due: DueResponse =
            serde_json::from_value(json!({"due": true, "new_in_agent_v9": {"x": [1, 2]}})).unwrap();
        assert!(due.due);
    }

    #[test]
    fn null_options_stay_apart_from_zero() {
        let host: HostMetrics = serde_json::from_value(json!({"cpu_temp_c": null})).unwrap();
        assert_eq!(host.cpu_temp_c, None);
        let host: HostMetrics = serde_json::from_value(json!({"cpu_temp_c": 0})).unwrap();
        assert_eq!(host.cpu_temp_c, Some(0));
        let smart: SmartSummary =
            serde_json::from_value(json!({"temperature_c": 0, "percentage_used": null})).unwrap();
        assert_eq!(
            (smart.temperature_c, smart.percentage_used),
            (Some(0), None)
        );
        let target: StorageTarget = serde_json::from_value(json!({"thin_pool": null})).unwrap();
        assert_eq!(target.thin_pool, None);
        let target: StorageTarget = serde_json::from_value(
            json!({"thin_pool": {"data_used_fraction": 0.5, "metadata_used_fraction": 0.0}}),
        )
        .unwrap();
        assert_eq!(target.thin_pool.unwrap().metadata_used_fraction, Some(0.0));
        let result: FormatResult = serde_json::from_value(json!({"pending_op": null})).unwrap();
        assert_eq!(result.pending_op, None);
    }

    #[test]
    fn a_wrong_type_is_an_error_as_in_go() {
        assert!(serde_json::from_value::<StorageResponse>(json!({"vmid": "101"})).is_err());
        assert!(serde_json::from_value::<StorageResponse>(json!({"mounts": 7})).is_err());
        assert!(serde_json::from_value::<DueResponse>(json!({"due": "yes"})).is_err());
        assert!(serde_json::from_value::<HostMetrics>(json!({"cpu_temp_c": "hot"})).is_err());
    }

    #[test]
    fn the_type_key_is_the_kind_field_both_ways() {
        let disk: DiskInfo = serde_json::from_value(json!({"type": "usb"})).unwrap();
        assert_eq!(disk.kind, "usb");
        let back = serde_json::to_value(&disk).unwrap();
        assert_eq!(back["type"], "usb");
        assert!(back.get("kind").is_none());
    }

    #[test]
    fn backup_phases_round_trip_including_unknown_ones() {
        for (text, phase) in [
            ("idle", BackupPhase::Idle),
            ("running", BackupPhase::Running),
            ("done", BackupPhase::Done),
            ("failed", BackupPhase::Failed),
            ("paused", BackupPhase::Other("paused".into())),
            ("", BackupPhase::Other(String::new())),
        ] {
            let status: StatusResponse = serde_json::from_value(json!({"phase": text})).unwrap();
            assert_eq!(status.phase, phase);
            assert_eq!(serde_json::to_value(&status).unwrap()["phase"], text);
        }
        let missing: StatusResponse = serde_json::from_value(json!({})).unwrap();
        assert_eq!(missing.phase.as_str(), "");
    }

    #[test]
    fn every_go_field_name_is_a_json_key() {
        let metrics = serde_json::to_value(HostMetricsResponse {
            storage_targets: vec![StorageTarget::default()],
            ..Default::default()
        })
        .unwrap();
        let host = metrics["host"].as_object().unwrap();
        for key in [
            "node",
            "cpu_percent",
            "memory_total_bytes",
            "memory_used_bytes",
            "memory_percent",
            "disk_total_bytes",
            "disk_used_bytes",
            "disk_percent",
            "loadavg",
            "uptime_seconds",
            "cpu_temp_c",
        ] {
            assert!(host.contains_key(key), "host.{key}");
        }
        let target = metrics["storage_targets"][0].as_object().unwrap();
        for key in [
            "name",
            "type",
            "state",
            "reachable",
            "total_bytes",
            "used_bytes",
            "avail_bytes",
            "used_fraction",
            "content",
            "mount_path",
            "class_hint",
            "smart",
        ] {
            assert!(target.contains_key(key), "storage_targets.{key}");
        }
        let disk = serde_json::to_value(DiskInfo::default()).unwrap();
        for key in [
            "name",
            "type",
            "state",
            "backing_device",
            "mount_path",
            "class",
            "data_bearing",
            "data_reason",
            "durable_id",
        ] {
            assert!(disk.get(key).is_some(), "disk.{key}");
        }
    }
}
