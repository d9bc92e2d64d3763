//! The backup record `backup run` and `backup wait` leave behind (the library's
//! `backup_record`), for `check --backup` and `metrics --format prometheus` to judge the age of
//! the last good backup.
//!
//! Called once, where a run's outcome is known, after the thaw: writing the record can neither
//! stop a thaw nor change the exit status. A record that cannot be written is a warning on
//! standard error, because the backup itself went as the exit status says.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use felhom_agentapi::backup_record;
use felhom_agentapi::{BackupReport, BackupRunError, Stopped};

use crate::output::clean;

/// Records how the run to `endpoint` ended. `attaching` (`backup wait`): a wait that found no
/// job attempted nothing, and records nothing.
pub(crate) fn save(endpoint: &str, result: &Result<BackupReport, BackupRunError>, attaching: bool) {
    let report = match result {
        Ok(report) => report,
        Err(e) => e.report(),
    };
    if attaching && report.job_id.is_none() {
        return;
    }
    let began = SystemTime::now()
        .checked_sub(report.elapsed)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or(Duration::ZERO);
    let outcome = match report.stopped {
        Stopped::Done => backup_record::SUCCESS,
        other => other.as_str(),
    };
    let saved = backup_record::state_dir().and_then(|dir| {
        backup_record::record_outcome(
            &dir,
            endpoint,
            began.as_secs(),
            outcome,
            report.job_id.as_deref(),
        )
    });
    if let Err(e) = saved {
        let text = format!(
            "warning: how this run ended was not recorded, so check --backup and metrics \
             cannot see it: {}",
            clean(&e.to_string())
        );
        crate::say::say(crate::say::Level::Warning, &text);
    }
}
