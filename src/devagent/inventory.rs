//! The fake host's fixed inventory: the guest's mounts, the host's disks and its metrics, in the
//! Go structs' member order. Nothing here changes while the agent runs.

use serde::Serialize;

/// The guest this agent serves.
pub(crate) const VMID: u32 = 101;

// ---- GET /storage ---------------------------------------------------------------------------

#[derive(Serialize)]
struct Mount {
    key: &'static str,
    storage: &'static str,
    mount_point: &'static str,
    class: &'static str,
    backup: bool,
}

#[derive(Serialize)]
pub(crate) struct StorageView {
    vmid: u32,
    mounts: [Mount; 2],
}

pub(crate) fn storage() -> StorageView {
    StorageView {
        vmid: VMID,
        mounts: [
            Mount {
                key: "mp0",
                storage: "fast-nvme",
                mount_point: "/mnt/fast",
                class: "fast",
                backup: true,
            },
            Mount {
                key: "mp1",
                storage: "archive",
                mount_point: "/mnt/archive",
                class: "",
                backup: false,
            },
        ],
    }
}

// ---- GET /disks -----------------------------------------------------------------------------

#[derive(Serialize)]
struct Disk {
    name: &'static str,
    r#type: &'static str,
    state: &'static str,
    backing_device: &'static str,
    mount_path: &'static str,
    class: &'static str,
    data_bearing: bool,
    data_reason: &'static str,
    durable_id: &'static str,
}

/// A data-bearing USB disk (assignable by its filesystem UUID), a blank one, and an NFS export.
const DISKS: [Disk; 3] = [
    Disk {
        name: "usb-archive",
        r#type: "usb",
        state: "mounted",
        backing_device: "/dev/sdb1",
        mount_path: "/mnt/usb-archive",
        class: "slow",
        data_bearing: true,
        data_reason: "ext4 filesystem holding files",
        durable_id: "uuid:3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c",
    },
    Disk {
        name: "usb-blank",
        r#type: "usb",
        state: "unassigned",
        backing_device: "/dev/sdc",
        mount_path: "",
        class: "",
        data_bearing: false,
        data_reason: "",
        durable_id: "byid:usb-SanDisk_Ultra_4C530001",
    },
    Disk {
        name: "nfs-backup",
        r#type: "nfs",
        state: "mounted",
        backing_device: "192.0.2.10:/export/backup",
        mount_path: "/mnt/pve/nfs-backup",
        class: "slow",
        data_bearing: true,
        data_reason: "remote export holding backups",
        durable_id: "nfs:192.0.2.10:/export/backup",
    },
];

#[derive(Serialize)]
pub(crate) struct Disks {
    vmid: u32,
    disks: &'static [Disk],
}

pub(crate) fn disks() -> Disks {
    Disks {
        vmid: VMID,
        disks: &DISKS,
    }
}

/// Whether a disk's filesystem has this UUID: what `POST /disks/assign` names disks by.
pub(crate) fn has_filesystem_uuid(uuid: &str) -> bool {
    DISKS
        .iter()
        .any(|d| d.durable_id.strip_prefix("uuid:") == Some(uuid))
}

// ---- GET /host/metrics ----------------------------------------------------------------------

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
    /// No temperature sensor on this host: null, not 0.
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
    /// Only lvmthin targets have the member at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    thin_pool: Option<ThinPool>,
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

pub(crate) fn host_metrics() -> HostMetricsView {
    // Capacity figures that add up: used + avail = total, used_fraction = used / total.
    let target =
        |name, r#type, total_bytes: u64, used_bytes: u64, content, mount_path, class_hint| {
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
        };
    let lvm = StorageTarget {
        thin_pool: Some(ThinPool {
            data_used_fraction: 0.61,
            metadata_used_fraction: None,
        }),
        smart: Smart {
            health: "PASSED",
            temperature_c: Some(41),
            percentage_used: Some(3),
        },
        ..target(
            "local-lvm",
            "lvmthin",
            400 * GIB,
            244 * GIB,
            "images,rootdir",
            "",
            "fast",
        )
    };
    HostMetricsView {
        vmid: VMID,
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
            cpu_temp_c: None,
        },
        storage_targets: vec![
            lvm,
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
        ],
    }
}
