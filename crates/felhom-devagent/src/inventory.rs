//! The fake host's fixed inventory: the guest's mounts and the host's disks (its metrics, in profiles, are in `metrics.rs`), in the
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

#[derive(Clone, Serialize)]
struct Disk {
    name: &'static str,
    r#type: &'static str,
    state: &'static str,
    backing_device: &'static str,
    mount_path: &'static str,
    class: &'static str,
    data_bearing: bool,
    data_reason: &'static str,
    durable_id: std::borrow::Cow<'static, str>,
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
        durable_id: std::borrow::Cow::Borrowed("uuid:3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c"),
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
        durable_id: std::borrow::Cow::Borrowed("byid:usb-SanDisk_Ultra_4C530001"),
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
        durable_id: std::borrow::Cow::Borrowed("nfs:192.0.2.10:/export/backup"),
    },
];

#[derive(Serialize)]
pub(crate) struct Disks {
    vmid: u32,
    disks: Vec<Disk>,
}

/// The drives, with the blank one (`/dev/sdc`) carrying a filesystem with `formatted_uuid` once
/// it was formatted.
pub(crate) fn disks(formatted_uuid: Option<&str>) -> Disks {
    let mut disks = DISKS.to_vec();
    if let Some(uuid) = formatted_uuid {
        let blank = &mut disks[1];
        blank.durable_id = format!("uuid:{uuid}").into();
        blank.state = "formatted";
    }
    Disks { vmid: VMID, disks }
}

pub(crate) fn has_filesystem_uuid(uuid: &str, formatted_uuid: Option<&str>) -> bool {
    formatted_uuid == Some(uuid)
        || DISKS
            .iter()
            .any(|d| d.durable_id.strip_prefix("uuid:") == Some(uuid))
}
