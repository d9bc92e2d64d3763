//! What `metrics --format prometheus` adds about backups: the guest's own record (from the
//! state directory) and the agent's `GET /backup/status` and `GET /backup/due`.
//!
//! These are extras beside `GET /host/metrics`, which `felhom_agent_up` is about: one that
//! cannot be had is left out of the exposition (unknown is absent, never 0) with a note on
//! standard error, and the exit status stays that of the metrics.

use std::path::Path;

use felhom_agentapi::Client;
use felhom_agentapi::backup_record::{self, BackupRecord};
use felhom_agentapi::prometheus::Scrape;
use felhom_agentapi::wire::{DueResponse, StatusResponse};

use crate::output::clean;

/// The backup facts one scrape could collect, and notes about those it could not.
#[derive(Default)]
pub(crate) struct Collected {
    record: Option<BackupRecord>,
    status: Option<StatusResponse>,
    due: Option<DueResponse>,
    /// What was left out and why, for standard error.
    pub notes: Vec<String>,
}

impl Collected {
    /// `scrape` with these facts.
    pub(crate) fn add_to<'a>(&'a self, scrape: Scrape<'a>) -> Scrape<'a> {
        scrape
            .backup_record(self.record.as_ref())
            .backup_status(self.status.as_ref())
            .backup_due(self.due.as_ref())
    }
}

/// Reads the record for `client`'s endpoint in `state_dir` (or the default state directory),
/// and asks the agent for the backup status and whether a backup is due.
pub(crate) fn collect(client: &Client, state_dir: Option<&Path>) -> Collected {
    let mut collected = Collected::default();
    let dir = match state_dir {
        Some(dir) => Ok(dir.to_path_buf()),
        None => backup_record::state_dir(),
    };
    match dir.and_then(|dir| backup_record::read(&dir, client.endpoint())) {
        Ok(record) => collected.record = record,
        Err(e) => collected
            .notes
            .push(left_out("felhom_backup_last_*", &e.to_string())),
    }
    match client.backup_status() {
        Ok(status) => collected.status = Some(status),
        Err(e) => collected
            .notes
            .push(left_out("felhom_backup_running", &e.to_string())),
    }
    match client.backup_due() {
        Ok(due) => collected.due = Some(due),
        Err(e) => collected
            .notes
            .push(left_out("felhom_backup_due", &e.to_string())),
    }
    collected
}

fn left_out(series: &str, why: &str) -> String {
    format!("{series} left out: {}", clean(why))
}
