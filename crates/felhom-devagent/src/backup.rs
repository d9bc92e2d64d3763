//! The guest's backup jobs: `POST /backup`, `GET /backup/status` and `GET /backup/due`.
//!
//! A job runs for a set time (not a number of polls, so a client that polls faster or slower
//! sees the same job), ends as the outcome set when it started says, and a job that ended `done`
//! makes the next backup not due until the schedule is reset.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::envelope;
use super::http::Response;
use super::inventory::VMID;

/// How a backup job started with `POST /backup` ends.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackupOutcome {
    /// `GET /backup/status` ends with phase `done` (the default).
    Done,
    /// `GET /backup/status` ends with phase `failed` and this `error`.
    Failed(String),
}

const DUE_REASON: &str = "policy daily-0200: last backup 26h ago";

/// How backup jobs behave, and the current one.
#[derive(Debug)]
pub(crate) struct Backups {
    duration: Duration,
    outcome: BackupOutcome,
    due: bool,
    jobs_started: u64,
    job: Option<Job>,
}

#[derive(Debug)]
struct Job {
    id: String,
    started: Instant,
    duration: Duration,
    outcome: BackupOutcome,
    /// Whether its end has already made the backup not due (it does so once).
    settled: bool,
}

impl Job {
    fn running(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.started) < self.duration
    }
}

impl Backups {
    pub(crate) fn new(duration: Duration, outcome: BackupOutcome, due: bool) -> Backups {
        Backups {
            duration,
            outcome,
            due,
            jobs_started: 0,
            job: None,
        }
    }

    /// Applies to jobs started from now on.
    pub(crate) fn set_outcome(&mut self, outcome: BackupOutcome) {
        self.outcome = outcome;
    }

    /// Resets the schedule: due or not, whatever backups ended before.
    pub(crate) fn set_due(&mut self, due: bool) {
        self.settle(Instant::now());
        self.due = due;
    }

    /// Ends the running job now; it ends as its outcome says.
    pub(crate) fn finish(&mut self) {
        let now = Instant::now();
        if let Some(job) = self.job.as_mut().filter(|job| job.running(now)) {
            job.duration = now.saturating_duration_since(job.started);
        }
    }

    /// A job that ended `done` since the last look makes the backup not due.
    fn settle(&mut self, now: Instant) {
        if let Some(job) = self
            .job
            .as_mut()
            .filter(|job| !job.settled && !job.running(now))
        {
            job.settled = true;
            if job.outcome == BackupOutcome::Done {
                self.due = false;
            }
        }
    }

    /// `GET /backup/due`.
    pub(crate) fn due(&mut self) -> Response {
        self.settle(Instant::now());
        let last = self.job.as_ref().map_or("", |job| job.id.as_str());
        let reason = if self.due {
            DUE_REASON.to_owned()
        } else if last.is_empty() {
            "policy daily-0200: not due yet".to_owned()
        } else {
            format!("policy daily-0200: {last} completed; the next backup is due tomorrow")
        };
        envelope::ok(
            200,
            &Due {
                vmid: VMID,
                due: self.due,
                reason: &reason,
            },
        )
    }

    /// `POST /backup`: a new job, or 409 while one runs.
    pub(crate) fn start(&mut self) -> Response {
        let now = Instant::now();
        self.settle(now);
        if self.job.as_ref().is_some_and(|job| job.running(now)) {
            return envelope::error(409, "a backup job is already running");
        }
        self.jobs_started += 1;
        let job = Job {
            id: format!("job-{}", self.jobs_started),
            started: now,
            duration: self.duration,
            outcome: self.outcome.clone(),
            settled: false,
        };
        let response = envelope::ok(
            202,
            &Started {
                vmid: VMID,
                job_id: &job.id,
                phase: "running",
            },
        );
        self.job = Some(job);
        response
    }

    /// `GET /backup/status`: the current or last job.
    pub(crate) fn status(&mut self) -> Response {
        let now = Instant::now();
        self.settle(now);
        let (phase, job_id, error) = match &self.job {
            None => ("idle", "", ""),
            Some(job) if job.running(now) => ("running", job.id.as_str(), ""),
            Some(job) => match &job.outcome {
                BackupOutcome::Done => ("done", job.id.as_str(), ""),
                BackupOutcome::Failed(message) => ("failed", job.id.as_str(), message.as_str()),
            },
        };
        envelope::ok(
            200,
            &Status {
                vmid: VMID,
                phase,
                job_id,
                error,
            },
        )
    }
}

// ---- answers, in the Go structs' member order -----------------------------------------------

#[derive(Serialize)]
struct Due<'a> {
    vmid: u32,
    due: bool,
    reason: &'a str,
}

#[derive(Serialize)]
struct Started<'a> {
    vmid: u32,
    job_id: &'a str,
    phase: &'static str,
}

#[derive(Serialize)]
struct Status<'a> {
    vmid: u32,
    phase: &'static str,
    job_id: &'a str,
    error: &'a str,
}
