//! The guest's backup series: its own record (the age of the last success can only be known on
//! the guest), and the agent's `GET /backup/status` and `GET /backup/due`. Each is left out
//! when its source is missing: a series that is unknown is absent, never 0.

use super::{Exposition, Labels, Samples, number};
use crate::backup_record::BackupRecord;
use crate::wire::{BackupPhase, DueResponse, StatusResponse};

/// What is known about the guest's backups.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Backup<'a> {
    pub(super) record: Option<&'a BackupRecord>,
    pub(super) status: Option<&'a StatusResponse>,
    pub(super) due: Option<&'a DueResponse>,
}

pub(super) fn families(out: &mut Exposition, backup: &Backup<'_>) {
    let one = |value: Option<String>| -> Samples {
        value.map(|v| (Labels::none(), v)).into_iter().collect()
    };
    let record = backup.record;
    let families: [(&str, &str, Samples); 5] = [
        (
            "felhom_backup_last_success_timestamp_seconds",
            "When the last successful backup run of this guest began (Unix time), from the \
             guest's own record; absent when none was ever recorded.",
            one(record
                .and_then(|r| r.last_success_at)
                .map(|t| t.to_string())),
        ),
        (
            "felhom_backup_last_attempt_timestamp_seconds",
            "When the last backup run of this guest began (Unix time), from the guest's own \
             record.",
            one(record.map(|r| r.last_attempt_at.to_string())),
        ),
        (
            "felhom_backup_last_attempt_success",
            "Whether the last backup run of this guest succeeded (1) or not (0).",
            one(record.map(|r| number(u8::from(r.last_attempt_succeeded())))),
        ),
        (
            "felhom_backup_running",
            "Whether a backup job of this guest is running at the agent (1) or not (0).",
            one(backup
                .status
                .map(|s| number(u8::from(s.phase == BackupPhase::Running)))),
        ),
        (
            "felhom_backup_due",
            "Whether the agent's backup policy says a backup of this guest is due (1) or not \
             (0).",
            one(backup.due.map(|d| number(u8::from(d.due)))),
        ),
    ];
    for (name, help, samples) in families {
        out.family(name, help, samples);
    }
}
