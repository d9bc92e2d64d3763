//! Guided disk init, as the Felhom controller does it: format a blank device, find the new
//! filesystem's UUID in `GET /disks`, and assign it.

use crate::error::{DiskInitIncomplete, Incomplete};
use crate::wire::{DiskInfo, FormatResult};
use crate::{Client, Error};

/// What a finished [`Client::init_disk`] did: the device is formatted and mounted on the host.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DiskInit {
    /// The agent's answer to the format.
    pub formatted: FormatResult,
    /// The new filesystem's UUID, as `GET /disks` named it.
    pub uuid: String,
    /// Where it is mounted on the host.
    pub where_: String,
}

impl Client {
    /// Guided init of a blank device: `POST /disks/format`, then `GET /disks` to learn the new
    /// filesystem's UUID for that device, then `POST /disks/assign` to mount it at `where_`.
    ///
    /// A device that holds data stops at the refusal, [`Error::FormatRefused`], and nothing is
    /// assigned. A format that succeeded but could not be followed through is
    /// [`Error::DiskInitIncomplete`], whose
    /// [`assign_command`](DiskInitIncomplete::assign_command) finishes it by hand. The device
    /// is matched in `GET /disks` by its `backing_device`: the device itself, or one partition
    /// of it (`/dev/sdc1`, `/dev/nvme0n1p1`).
    ///
    /// ```
    /// # let agent = felhom_devagent::DevAgent::start()?;
    /// # let client = felhom_agentapi::Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
    /// use felhom_agentapi::Error;
    ///
    /// let done = client.init_disk("/dev/sdc", "/mnt/new", "ext4", "")?;
    /// println!("{} is mounted at {}", done.uuid, done.where_);
    ///
    /// // A device with data is never formatted: the refusal comes back, nothing is assigned.
    /// assert!(matches!(
    ///     client.init_disk("/dev/sdb", "/mnt/other", "ext4", ""),
    ///     Err(Error::FormatRefused(_))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Any error of the format (nothing was assigned), or [`Error::DiskInitIncomplete`].
    pub fn init_disk(
        &self,
        device: &str,
        where_: &str,
        fstype: &str,
        options: &str,
    ) -> Result<DiskInit, Error> {
        let formatted = self.format_disk(device, fstype)?;
        // On the way into an error, agent text loses the token like any other: the format's
        // answer and the UUIDs that `GET /disks` named.
        let incomplete = |uuid: Option<String>, why: Incomplete, formatted: FormatResult| {
            let judge = self.judge();
            let hide = |text: String| crate::redact::text(&text, judge.token).into_owned();
            let why = match why {
                Incomplete::Ambiguous(uuids) => {
                    Incomplete::Ambiguous(uuids.into_iter().map(hide).collect())
                }
                other => other,
            };
            Error::DiskInitIncomplete(Box::new(DiskInitIncomplete {
                formatted: judge.redact(formatted),
                device: device.to_string(),
                where_: where_.to_string(),
                fstype: fstype.to_string(),
                options: options.to_string(),
                uuid: uuid.map(hide),
                why,
            }))
        };
        let disks = match self.disks() {
            Ok(d) => d.disks,
            Err(e) => return Err(incomplete(None, Incomplete::Disks(Box::new(e)), formatted)),
        };
        let names = [device, formatted.device.as_str()];
        let mut uuids: Vec<String> = disks
            .iter()
            .filter(|d| names.iter().any(|n| !n.is_empty() && backs(d, n)))
            .filter_map(|d| d.fs_uuid().map(str::to_string))
            .collect();
        uuids.sort();
        uuids.dedup();
        let uuid = match uuids.len() {
            1 => uuids.remove(0),
            0 => return Err(incomplete(None, Incomplete::NoUuid, formatted)),
            _ => return Err(incomplete(None, Incomplete::Ambiguous(uuids), formatted)),
        };
        match self.assign_disk(&uuid, where_, fstype, options) {
            Ok(()) => Ok(DiskInit {
                formatted,
                uuid,
                where_: where_.to_string(),
            }),
            Err(e) => Err(incomplete(
                Some(uuid),
                Incomplete::Assign(Box::new(e)),
                formatted,
            )),
        }
    }
}

/// Whether `disk` is backed by `device` or by one partition of it.
///
/// For a kernel name (`/dev/NAME`), partitions are named as the kernel names them: `sdc` →
/// `sdc1`, but a name that ends in a digit takes a `p` first (`nvme0n1` → `nvme0n1p1`, `loop1`
/// → `loop1p1`), so `nvme0n12` or `loop10`, other devices, never count. Any other path
/// (`/dev/mapper/…`, `/dev/disk/by-id/…`, `/dev/VG/LV`) names its partitions with `-partN`
/// (udev's by-id links, kpartx); a longer name there is another device (`vg0-data2` is not a
/// part of `vg0-data`).
fn backs(disk: &DiskInfo, device: &str) -> bool {
    let Some(rest) = disk.backing_device.strip_prefix(device) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let is_kernel_name = device
        .strip_prefix("/dev/")
        .is_some_and(|name| !name.is_empty() && !name.contains('/'));
    let number = if !is_kernel_name {
        rest.strip_prefix("-part")
    } else if device.ends_with(|c: char| c.is_ascii_digit()) {
        rest.strip_prefix('p')
    } else {
        Some(rest)
    };
    number.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(backing: &str) -> DiskInfo {
        DiskInfo {
            backing_device: backing.into(),
            ..DiskInfo::default()
        }
    }

    #[test]
    fn a_device_backs_itself_and_its_partitions_only() {
        assert!(backs(&disk("/dev/sdc"), "/dev/sdc"));
        assert!(backs(&disk("/dev/sdc1"), "/dev/sdc"));
        assert!(backs(&disk("/dev/nvme0n1p2"), "/dev/nvme0n1"));
        assert!(!backs(&disk("/dev/sdcd"), "/dev/sdc"));
        assert!(!backs(&disk("/dev/sd"), "/dev/sdc"));
        assert!(!backs(&disk("/dev/sdc1x"), "/dev/sdc"));
        // Other devices whose names extend a name that ends in a digit.
        assert!(!backs(&disk("/dev/nvme0n12"), "/dev/nvme0n1"));
        assert!(!backs(&disk("/dev/loop10"), "/dev/loop1"));
        assert!(!backs(&disk("/dev/md12"), "/dev/md1"));
        assert!(backs(&disk("/dev/loop1p3"), "/dev/loop1"));
        assert!(backs(&disk("/dev/mmcblk0p1"), "/dev/mmcblk0"));
        // A `p` belongs only after a digit, and needs a number after it.
        assert!(!backs(&disk("/dev/sdcp1"), "/dev/sdc"));
        assert!(!backs(&disk("/dev/nvme0n1p"), "/dev/nvme0n1"));
        // Device-mapper, LVM and by-id paths: `-partN`, and a longer name is another device.
        assert!(!backs(
            &disk("/dev/mapper/vg0-data2"),
            "/dev/mapper/vg0-data"
        ));
        assert!(!backs(&disk("/dev/vg0/data2"), "/dev/vg0/data"));
        assert!(!backs(&disk("/dev/mapper/backup2"), "/dev/mapper/backup"));
        assert!(backs(
            &disk("/dev/mapper/mpatha-part1"),
            "/dev/mapper/mpatha"
        ));
        let by_id = "/dev/disk/by-id/usb-Samsung_T7_S5T2-0:0";
        assert!(backs(&disk(&format!("{by_id}-part1")), by_id));
        assert!(backs(&disk(by_id), by_id));
        assert!(!backs(&disk(&format!("{by_id}1")), by_id));
    }
}
