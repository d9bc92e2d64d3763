//! The fake agent's endpoints and the state they change (assigned mounts; the backup jobs are
//! in `backup.rs`). Field names follow the Go reference client; the fixed data they show is in
//! `inventory.rs`.

use serde::{Deserialize, Serialize};

use std::time::Duration;

use super::backup::{BackupOutcome, Backups};
use super::envelope;
use super::http::{Request, Response};
use super::inventory::{self, VMID};
use super::metrics::{self, MetricsProfile};

/// What the builder decided. (No `Debug`: it holds the token.)
pub(crate) struct Settings {
    pub(crate) token: String,
    pub(crate) host_scope: String,
    pub(crate) formatted_fs_uuid: Option<String>,
    pub(crate) backup_duration: Duration,
    pub(crate) backup_outcome: BackupOutcome,
    pub(crate) metrics_profile: MetricsProfile,
    pub(crate) backup_due: bool,
}

/// The agent's state, behind the server's mutex. (No `Debug`: it holds the token.)
pub(crate) struct Agent {
    settings: Settings,
    /// `Bearer <token>`, the one `Authorization` value accepted.
    authorization: String,
    backups: Backups,
    /// Mount paths attached with `POST /disks/assign`, which `POST /disks/eject` then knows.
    assigned: Vec<String>,
    /// Whether `/dev/sdc` was formatted: `/disks` then shows its new filesystem UUID.
    blank_formatted: bool,
}

impl Agent {
    pub(crate) fn new(settings: Settings) -> Agent {
        Agent {
            authorization: format!("Bearer {}", settings.token),
            backups: Backups::new(
                settings.backup_duration,
                settings.backup_outcome.clone(),
                settings.backup_due,
            ),
            settings,
            assigned: Vec::new(),
            blank_formatted: false,
        }
    }

    /// What `GET /host/metrics` answers from now on.
    pub(crate) fn set_metrics_profile(&mut self, profile: MetricsProfile) {
        self.settings.metrics_profile = profile;
    }

    /// The backup jobs, for [`super::DevAgent`]'s setters.
    pub(crate) fn backups(&mut self) -> &mut Backups {
        &mut self.backups
    }

    /// Answers one request.
    pub(crate) fn handle(&mut self, req: &Request) -> Response {
        // A plain comparison is fine here: this server exists to be probed by tests.
        if req.header("authorization") != Some(self.authorization.as_str()) {
            return envelope::error(401, "unauthorized: missing or wrong bearer token");
        }
        let path = req.path();
        let allowed = match path {
            "/storage" | "/backup/due" | "/backup/status" | "/disks" | "/host/metrics" => "GET",
            "/backup" | "/disks/assign" | "/disks/eject" | "/disks/format" => "POST",
            _ => return not_found(path),
        };
        if req.method != allowed {
            let message = format!("method {} not allowed on {path}", req.method);
            return envelope::error(405, &message).with_header("Allow", allowed.to_owned());
        }
        match path {
            "/storage" => envelope::ok(200, &inventory::storage()),
            "/backup/due" => self.backups.due(),
            "/backup" => self.backups.start(),
            "/backup/status" => self.backups.status(),
            "/disks" => envelope::ok(200, &inventory::disks(self.formatted_uuid())),
            "/disks/assign" => with_body(req, |body| self.assign(body)),
            "/disks/eject" => with_body(req, |body| self.eject(body)),
            "/disks/format" => with_body(req, |body| self.format(body)),
            "/host/metrics" => envelope::ok(
                200,
                &metrics::host_metrics(self.settings.metrics_profile, VMID),
            ),
            _ => not_found(path),
        }
    }

    /// The filesystem UUID of the blank disk, once it was formatted (and if it gets one).
    fn formatted_uuid(&self) -> Option<&str> {
        self.settings
            .formatted_fs_uuid
            .as_deref()
            .filter(|_| self.blank_formatted)
    }

    fn assign(&mut self, body: AssignBody) -> Response {
        if !inventory::has_filesystem_uuid(&body.uuid, self.formatted_uuid()) {
            let message = format!("no disk with filesystem uuid {}", body.uuid);
            return envelope::error(404, &message);
        }
        if !body.r#where.starts_with('/') {
            let message = format!("mount path must be absolute: {:?}", body.r#where);
            return envelope::error(400, &message);
        }
        if !self.assigned.contains(&body.r#where) {
            self.assigned.push(body.r#where.clone());
        }
        envelope::ok(
            200,
            &Assigned {
                vmid: VMID,
                assigned: &body.r#where,
            },
        )
    }

    /// Ejecting changes nothing: the fixture disks stay mounted, so tests can repeat it.
    fn eject(&mut self, body: EjectBody) -> Response {
        let dependent_guests = match body.r#where.as_str() {
            "/mnt/usb-archive" => Some(&[101, 102][..]),
            "/mnt/pve/nfs-backup" => Some(&[101][..]),
            // Go sends a nil slice as null: nothing was placed on a freshly assigned mount.
            path if self.assigned.iter().any(|a| a == path) => None,
            path => return envelope::error(404, &format!("no mount at {path}")),
        };
        envelope::ok(
            200,
            &Ejected {
                vmid: VMID,
                ejected: &body.r#where,
                dependent_guests,
            },
        )
    }

    fn format(&mut self, body: FormatBody) -> Response {
        let fstype = if body.fstype.is_empty() {
            "ext4"
        } else {
            body.fstype.as_str()
        };
        match body.device.as_str() {
            // The agent resolves a partition to its disk: the wipe would take the whole disk.
            "/dev/sdb" | "/dev/sdb1" => envelope::refusal(
                403,
                "device /dev/sdb is data-bearing: operator authorization required",
                &Formatted {
                    vmid: VMID,
                    device: "/dev/sdb",
                    formatted: false,
                    data_bearing: true,
                    reason: "ext4 filesystem holding files",
                    pending_op: Some(PendingOp {
                        op: "storage_wipe",
                        host_scope: &self.settings.host_scope,
                        durable_id: "byid:usb-WD_Elements_575834314134",
                        fstype,
                    }),
                },
            ),
            "/dev/sdc" => {
                self.blank_formatted = true;
                envelope::ok(
                    200,
                    &Formatted {
                        vmid: VMID,
                        device: "/dev/sdc",
                        formatted: true,
                        data_bearing: false,
                        reason: "",
                        pending_op: None,
                    },
                )
            }
            device => envelope::error(404, &format!("no disk at {device}")),
        }
    }
}

fn not_found(path: &str) -> Response {
    envelope::error(404, &format!("not found: {path}"))
}

/// Decodes a JSON request body (HTTP 400 if it is not the expected object) and answers with `f`.
fn with_body<T: for<'de> Deserialize<'de>>(
    req: &Request,
    f: impl FnOnce(T) -> Response,
) -> Response {
    match serde_json::from_slice(&req.body) {
        Ok(body) => f(body),
        Err(e) => envelope::error(400, &format!("invalid request body: {e}")),
    }
}

// ---- request bodies -------------------------------------------------------------------------

#[derive(Deserialize)]
struct AssignBody {
    #[serde(default)]
    uuid: String,
    #[serde(default)]
    r#where: String,
}

#[derive(Deserialize)]
struct EjectBody {
    #[serde(default)]
    r#where: String,
}

#[derive(Deserialize)]
struct FormatBody {
    #[serde(default)]
    device: String,
    #[serde(default)]
    fstype: String,
}

// ---- answers that depend on the request, in the Go structs' member order -------------------

#[derive(Serialize)]
struct Assigned<'a> {
    vmid: u32,
    assigned: &'a str,
}

#[derive(Serialize)]
struct Ejected<'a> {
    vmid: u32,
    ejected: &'a str,
    dependent_guests: Option<&'static [u32]>,
}

#[derive(Serialize)]
struct Formatted<'a> {
    vmid: u32,
    device: &'static str,
    formatted: bool,
    data_bearing: bool,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_op: Option<PendingOp<'a>>,
}

#[derive(Serialize)]
struct PendingOp<'a> {
    op: &'static str,
    host_scope: &'a str,
    durable_id: &'static str,
    fstype: &'a str,
}
