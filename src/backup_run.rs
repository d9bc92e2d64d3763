//! An app-consistent backup: check that no job runs, quiesce, start, wait, and thaw exactly once
//! whatever happens. [`Client::run_backup`] and [`Client::wait_backup`] are the simple forms.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::Client;
use crate::backup_report::{
    BackupReport, BackupRunError, BackupRunFailure, HookError, Stopped, ThawCause, ThawReport,
};
use crate::call::BACKUP_STATUS;
use crate::cancel::CancelToken;
use crate::error::{Error, TimeoutStage};
use crate::wire::{BackupPhase, StatusResponse};

type QuiesceFn<'a> = Box<dyn FnOnce() -> Result<(), HookError> + 'a>;
type ThawFn<'a> = Box<dyn FnOnce(Thaw<'_>) -> Result<(), HookError> + 'a>;
type ProgressFn<'a> = Box<dyn FnMut(&Progress<'_>) + 'a>;

/// What the thaw step is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Thaw<'a> {
    /// Why it is called now.
    pub cause: ThawCause,
    /// The job, if one was started.
    pub job_id: Option<&'a str>,
}

/// One step of a [`BackupRun`], as its progress callback sees it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// Time since the run began.
    pub elapsed: Duration,
    /// The job, once one was started or found.
    pub job_id: Option<&'a str>,
    /// What happened.
    pub event: ProgressEvent<'a>,
}

/// What happened in a [`BackupRun`]: each change of phase, in order.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// Reading `GET /backup/status`, to find a job already running before quiescing anything.
    Checking,
    /// Calling the quiesce step.
    Quiescing,
    /// The quiesce step returned; sending `POST /backup`.
    Starting,
    /// The agent accepted the job ([`Progress::job_id`]).
    Started,
    /// [`BackupRun::wait`] found the job to wait for ([`Progress::job_id`]).
    Attached,
    /// A poll found the job in a phase it was not in at the poll before.
    Phase(&'a BackupPhase),
    /// A poll failed. `retrying` says whether the wait goes on (the failure is transient and
    /// fewer than the tolerated number failed in a row) or ends.
    PollFailed {
        /// Why.
        error: &'a Error,
        /// Failed polls in a row, this one included.
        in_a_row: u32,
        /// Whether the next poll will be tried.
        retrying: bool,
    },
    /// Calling the thaw step.
    Thawing(ThawCause),
    /// The thaw step returned; `ok` says whether it succeeded.
    Thawed {
        /// Why it was called.
        cause: ThawCause,
        /// Whether it succeeded.
        ok: bool,
    },
    /// The run is over.
    Stopped(Stopped),
}

/// A backup with the application quiesced: made by [`Client::backup_run`].
///
/// [`run`](BackupRun::run) does, in order:
///
/// 1. reads `GET /backup/status`: if a job is already running, it stops with
///    [`Error::BackupRunning`] and quiesces nothing;
/// 2. calls the [`quiesce`](BackupRun::quiesce) step;
/// 3. sends `POST /backup` (a 409 is [`Error::BackupRunning`] too);
/// 4. polls `GET /backup/status` every [`poll_every`](BackupRun::poll_every) until the job is
///    done or failed, or [`give_up_after`](BackupRun::give_up_after) has passed;
/// 5. calls the [`thaw`](BackupRun::thaw) step.
///
/// **Once the quiesce step has been called, the thaw step is called exactly once**, on every
/// path: the job done or failed, the wait given up, any error, a cancellation, a quiesce step
/// that failed (to undo what it did; no backup is started then), and a panic in any callback
/// (the thaw runs while the panic unwinds, then the panic goes on). A thaw step that panics
/// itself is not called again: it was called, and what it did before the panic is unknown; a
/// thaw step must not panic (the CLI's catches what could). The application stays
/// quiesced at most [`thaw_after`](BackupRun::thaw_after): past it the thaw step runs while the
/// wait goes on, and the report says the thaw came early ([`ThawReport::early`]). The window
/// can overrun by one call to the agent, which is not interrupted. A quiesce step that used up
/// the whole window is treated as a failed one: thawed, and no backup is started, since the
/// application would be thawed as the job began.
///
/// A poll that fails transiently (connect, time-out, a dropped connection, HTTP 502, 503 or
/// 504) is tried again at the next poll, [`poll_retries`](BackupRun::poll_retries) times in a
/// row; any other failure (pin mismatch, rejected token, an undecodable answer) ends the wait
/// at once.
///
/// ```
/// # let agent = felhom_devagent::DevAgent::start()?;
/// # let client = felhom_agentapi::Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
/// use std::time::Duration;
///
/// use felhom_agentapi::{ProgressEvent, Stopped};
///
/// let report = client
///     .backup_run()
///     .poll_every(Duration::from_millis(20))
///     .give_up_after(Duration::from_secs(60))
///     .thaw_after(Duration::from_secs(30))
///     .quiesce(|| {
///         // Flush and lock the database, freeze the filesystem...
///         Ok::<(), std::io::Error>(())
///     })
///     .thaw(|thaw| {
///         // ...and undo it. Called exactly once, whatever happened.
///         println!("thawing: {}", thaw.cause);
///         Ok::<(), std::io::Error>(())
///     })
///     .on_progress(|p| {
///         if let ProgressEvent::Started = p.event {
///             eprintln!("backup job {} started", p.job_id.unwrap_or("?"));
///         }
///     })
///     .run()?;
/// assert_eq!(report.stopped, Stopped::Done);
/// assert!(!report.thaw.unwrap().early());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a backup run does nothing until run() or wait()"]
pub struct BackupRun<'a> {
    client: &'a Client,
    limits: Limits,
    /// False for the simple [`Client::run_backup`], which quiesces nothing and so needs no check.
    check_first: bool,
    quiesce: Option<QuiesceFn<'a>>,
    thaw: Option<ThawFn<'a>>,
    on_progress: Option<ProgressFn<'a>>,
    cancel: CancelToken,
}

impl fmt::Debug for BackupRun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupRun")
            .field("client", self.client)
            .field("poll_every", &self.limits.poll_every)
            .field("give_up_after", &self.limits.give_up_after)
            .field("thaw_after", &self.limits.thaw_after)
            .field("poll_retries", &self.limits.poll_retries)
            .field("quiesce", &self.quiesce.is_some())
            .field("thaw", &self.thaw.is_some())
            .field("on_progress", &self.on_progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

impl Client {
    /// A backup with quiesce and thaw steps: see [`BackupRun`].
    pub fn backup_run(&self) -> BackupRun<'_> {
        BackupRun {
            client: self,
            limits: Limits {
                poll_every: BackupRun::DEFAULT_POLL_EVERY,
                give_up_after: BackupRun::DEFAULT_GIVE_UP_AFTER,
                thaw_after: BackupRun::DEFAULT_THAW_AFTER,
                poll_retries: BackupRun::DEFAULT_POLL_RETRIES,
            },
            check_first: true,
            quiesce: None,
            thaw: None,
            on_progress: None,
            cancel: CancelToken::new(),
        }
    }

    /// Starts a backup and waits for it: polls the status every `poll_every` until the job is
    /// done, and stops polling once `give_up_after` has passed since the start. It polls at
    /// least once; a poll under way when the time is up may add up to one call's
    /// [`timeout`](crate::ClientBuilder::timeout).
    ///
    /// The simple form of [`Client::backup_run`]: nothing is quiesced, so there is no status
    /// check before the start (a running job is refused by the agent), and no poll is retried.
    ///
    /// # Errors
    ///
    /// [`Error::BackupFailed`] when the job failed; [`Error::Timeout`] with
    /// [`TimeoutStage::BackupWait`] when it was still going after `give_up_after` (the job may
    /// still finish); [`Error::BackupRunning`] when a job is already running; [`Error::Agent`]
    /// when the agent reports a different job than the one started; otherwise any error of
    /// [`start_backup`](Client::start_backup) or [`backup_status`](Client::backup_status),
    /// returned at once.
    pub fn run_backup(
        &self,
        poll_every: Duration,
        give_up_after: Duration,
    ) -> Result<StatusResponse, Error> {
        let mut run = self
            .backup_run()
            .poll_every(poll_every)
            .give_up_after(give_up_after)
            .poll_retries(0);
        run.check_first = false;
        simple(run.run())
    }

    /// Waits for the backup job that is running now, without starting one: re-attaches to a
    /// job that another process started (or a run that was interrupted left behind). Polls as
    /// [`Client::run_backup`] does; a job that has already ended is answered at once.
    ///
    /// # Errors
    ///
    /// [`Error::NoBackupJob`] when the agent reports no job at all; otherwise as
    /// [`Client::run_backup`]. [`BackupRun::wait`] is the same with progress and cancellation.
    ///
    /// ```
    /// # let agent = felhom_devagent::DevAgent::start()?;
    /// # let client = felhom_agentapi::Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
    /// use std::time::Duration;
    ///
    /// let job = client.start_backup()?;
    /// // Later, perhaps in another process:
    /// let status = client.wait_backup(Duration::from_millis(20), Duration::from_secs(60))?;
    /// assert_eq!(status.job_id, job.job_id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_backup(
        &self,
        poll_every: Duration,
        give_up_after: Duration,
    ) -> Result<StatusResponse, Error> {
        let run = self
            .backup_run()
            .poll_every(poll_every)
            .give_up_after(give_up_after)
            .poll_retries(0);
        simple(run.wait())
    }
}

/// The simple forms' result: the final status, or the agent's error.
fn simple(result: Result<BackupReport, BackupRunError>) -> Result<StatusResponse, Error> {
    match result {
        Ok(report) => Ok(report.status.unwrap_or_default()),
        Err(e) => match e.into_parts().0 {
            BackupRunFailure::Agent(e) => Err(e),
            // No hooks and no token: nothing else can fail.
            other => Err(Error::Agent {
                call: BACKUP_STATUS.clone(),
                message: format!("unexpected failure of a backup wait: {other:?}"),
            }),
        },
    }
}

impl<'a> BackupRun<'a> {
    /// How often a [`BackupRun`] polls the job unless set otherwise: 5 s.
    pub const DEFAULT_POLL_EVERY: Duration = Duration::from_secs(5);
    /// How long a [`BackupRun`] waits for the job unless set otherwise: 2 h.
    pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(2 * 60 * 60);
    /// How long a [`BackupRun`] keeps the application quiesced at most unless set otherwise: 10 min.
    ///
    /// Long enough for a snapshot-mode backup to take its snapshot; short enough that a stuck job
    /// does not keep a database locked for the whole [`BackupRun::DEFAULT_GIVE_UP_AFTER`].
    pub const DEFAULT_THAW_AFTER: Duration = Duration::from_secs(10 * 60);
    /// How many failed polls in a row a [`BackupRun`] tolerates unless set otherwise: 2 (the third
    /// ends the wait).
    pub const DEFAULT_POLL_RETRIES: u32 = 2;

    /// How often to poll the job's status. Default [`BackupRun::DEFAULT_POLL_EVERY`] (5 s).
    pub fn poll_every(mut self, every: Duration) -> Self {
        self.limits.poll_every = every;
        self
    }

    /// Stop waiting this long after the job started; the job goes on, and the run ends with
    /// [`Error::Timeout`] ([`TimeoutStage::BackupWait`]). It polls once more at that moment,
    /// and at least once. Default [`BackupRun::DEFAULT_GIVE_UP_AFTER`] (2 h).
    pub fn give_up_after(mut self, limit: Duration) -> Self {
        self.limits.give_up_after = limit;
        self
    }

    /// The quiesce window: the longest the application stays quiesced, counted from the call
    /// of the quiesce step. Past it the thaw step runs (with [`ThawCause::StillRunning`])
    /// while the wait goes on. Default [`BackupRun::DEFAULT_THAW_AFTER`] (10 min).
    pub fn thaw_after(mut self, window: Duration) -> Self {
        self.limits.thaw_after = window;
        self
    }

    /// How many failed polls in a row to tolerate when each failure is transient (connect,
    /// time-out, dropped connection, HTTP 502/503/504). Default [`BackupRun::DEFAULT_POLL_RETRIES`] (2).
    /// 0 ends the wait at the first failure.
    pub fn poll_retries(mut self, retries: u32) -> Self {
        self.limits.poll_retries = retries;
        self
    }

    /// The quiesce step, called once before `POST /backup`: make the application consistent
    /// (flush and lock a database, freeze a filesystem). If it returns an error, the thaw step
    /// is still called (to undo a partial quiesce) and no backup is started.
    pub fn quiesce<F, E>(mut self, quiesce: F) -> Self
    where
        F: FnOnce() -> Result<(), E> + 'a,
        E: Into<HookError>,
    {
        self.quiesce = Some(Box::new(move || quiesce().map_err(Into::into)));
        self
    }

    /// The thaw step, undoing the quiesce: called exactly once whenever the run got as far as
    /// quiescing, told why ([`Thaw`]). Its error is reported, never hidden; if nothing else
    /// failed it is the run's failure ([`BackupRunFailure::Thaw`]).
    pub fn thaw<F, E>(mut self, thaw: F) -> Self
    where
        F: FnOnce(Thaw<'_>) -> Result<(), E> + 'a,
        E: Into<HookError>,
    {
        self.thaw = Some(Box::new(move |t: Thaw<'_>| thaw(t).map_err(Into::into)));
        self
    }

    /// Called at each change of phase ([`ProgressEvent`]), with the time since the run began.
    pub fn on_progress<F>(mut self, on_progress: F) -> Self
    where
        F: FnMut(&Progress<'_>) + 'a,
    {
        self.on_progress = Some(Box::new(on_progress));
        self
    }

    /// Cancel the run from another thread with (a clone of) `token`. A cancelled run thaws what
    /// it quiesced and ends with [`BackupRunFailure::Cancelled`]; a job already started goes on
    /// at the agent. See [`CancelToken`] for how soon it stops.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = token;
        self
    }

    /// Runs the backup: check, quiesce, start, wait, thaw.
    ///
    /// # Errors
    ///
    /// A [`BackupRunError`] for every run that did not end with the job done and thawed: its
    /// [`failure`](BackupRunError::failure) says what went wrong, its
    /// [`report`](BackupRunError::report) what was done, including the thaw.
    pub fn run(self) -> Result<BackupReport, BackupRunError> {
        let check_first = self.check_first;
        let mut runner = Runner::new(self);
        if check_first {
            runner.progress(ProgressEvent::Checking);
            if runner.cancel.is_cancelled() {
                return runner.finish(Stopped::Cancelled, Some(BackupRunFailure::Cancelled));
            }
            let status = match runner.client.backup_status() {
                Ok(status) => runner.redacted(status),
                Err(e) => return runner.fail(Stopped::Error, e),
            };
            if is_running(&status) {
                let job_id = Some(status.job_id.clone()).filter(|id| !id.is_empty());
                runner.report.job_id.clone_from(&job_id);
                runner.report.status = Some(status);
                let busy = Error::BackupRunning {
                    call: BACKUP_STATUS.clone(),
                    job_id,
                };
                return runner.fail(Stopped::Busy, busy);
            }
        }
        if runner.cancel.is_cancelled() {
            return runner.finish(Stopped::Cancelled, Some(BackupRunFailure::Cancelled));
        }

        runner.progress(ProgressEvent::Quiescing);
        let quiesce = runner.quiesce.take();
        let quiesces = quiesce.is_some();
        runner.thaw.armed = true;
        runner.quiesce_began = Some(Instant::now());
        runner.report.quiesced_at = Some(runner.started.elapsed());
        if let Some(Err(e)) = quiesce.map(|q| q()) {
            runner.thaw_now(ThawCause::Error);
            return runner.finish(Stopped::QuiesceFailed, Some(BackupRunFailure::Quiesce(e)));
        }
        if runner.cancel.is_cancelled() {
            runner.thaw_now(ThawCause::Cancelled);
            return runner.finish(Stopped::Cancelled, Some(BackupRunFailure::Cancelled));
        }
        // A quiesce that outlasted the window would be undone the moment the job started: the
        // backup would not be consistent, so none is started.
        let quiesced_for = runner.quiesce_began.map_or(Duration::ZERO, |t| t.elapsed());
        if quiesces && quiesced_for >= runner.limits.thaw_after {
            runner.thaw_now(ThawCause::Error);
            let e = format!(
                "it took {:.1} s, the whole quiesce window (thaw_after: {:.1} s), so the \
                 application would be thawed as the backup began; allow a longer window",
                quiesced_for.as_secs_f64(),
                runner.limits.thaw_after.as_secs_f64()
            );
            return runner.finish(
                Stopped::QuiesceFailed,
                Some(BackupRunFailure::Quiesce(e.into())),
            );
        }

        runner.progress(ProgressEvent::Starting);
        let job = match runner.client.start_backup() {
            Ok(job) => job,
            Err(e) => {
                runner.thaw_now(ThawCause::Error);
                let stopped = match e {
                    Error::BackupRunning { .. } => Stopped::Busy,
                    _ => Stopped::Error,
                };
                return runner.fail(stopped, e);
            }
        };
        let mut status = StatusResponse {
            vmid: job.vmid,
            phase: job.phase,
            job_id: job.job_id,
            ..StatusResponse::default()
        };
        status = runner.redacted(status);
        runner.set_job(status);
        runner.progress(ProgressEvent::Started);
        runner.wait_for_job()
    }

    /// Waits for the job that is running now, without starting one (re-attach): the quiesce
    /// and thaw steps are never called. A job that has already ended is reported at once.
    ///
    /// # Errors
    ///
    /// As [`BackupRun::run`]; [`Error::NoBackupJob`] when the agent reports no job at all.
    pub fn wait(self) -> Result<BackupReport, BackupRunError> {
        let mut runner = Runner::new(self);
        runner.progress(ProgressEvent::Checking);
        if runner.cancel.is_cancelled() {
            return runner.finish(Stopped::Cancelled, Some(BackupRunFailure::Cancelled));
        }
        let status = match runner.client.backup_status() {
            Ok(status) => runner.redacted(status),
            Err(e) => return runner.fail(Stopped::Error, e),
        };
        let none = matches!(status.phase, BackupPhase::Idle)
            || (status.job_id.is_empty() && status.phase == BackupPhase::default());
        if none {
            runner.report.status = Some(status);
            let e = Error::NoBackupJob {
                call: BACKUP_STATUS.clone(),
            };
            return runner.fail(Stopped::Error, e);
        }
        runner.set_job(status.clone());
        runner.progress(ProgressEvent::Attached);
        match status.phase {
            BackupPhase::Done => runner.finish(Stopped::Done, None),
            BackupPhase::Failed => runner.job_failed(status),
            _ => runner.wait_for_job(),
        }
    }
}

/// Whether a status shows a job that is still going: any phase but idle, done or failed (an
/// unknown phase is taken as a job still going), unless it names no job and no phase at all.
fn is_running(status: &StatusResponse) -> bool {
    match &status.phase {
        BackupPhase::Idle | BackupPhase::Done | BackupPhase::Failed => false,
        BackupPhase::Other(phase) if phase.is_empty() => !status.job_id.is_empty(),
        _ => true,
    }
}

/// A poll failure that the next poll may not see: the connection, not the agent's answer.
fn transient(e: &Error) -> bool {
    match e {
        Error::Connect { .. } | Error::Timeout { .. } | Error::Io { .. } => true,
        Error::Http { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

/// Holds the thaw step from the quiesce on, and calls it while a panic unwinds if nothing else
/// has: the "exactly once" of every path.
struct ThawGuard<'a> {
    thaw: Option<ThawFn<'a>>,
    /// Set just before the quiesce step is called.
    armed: bool,
    job_id: Option<String>,
}

impl Drop for ThawGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(thaw) = self.thaw.take() {
            let job_id = self.job_id.as_deref();
            // Reached only while a panic unwinds (every other path has called the step): a second
            // panic here would abort the process, so the thaw step's own panic is dropped.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                thaw(Thaw {
                    cause: ThawCause::Error,
                    job_id,
                })
            }));
        }
    }
}

/// A run's time limits and retries, as set on the [`BackupRun`] and read by its [`Runner`].
#[derive(Clone, Copy)]
struct Limits {
    poll_every: Duration,
    give_up_after: Duration,
    thaw_after: Duration,
    poll_retries: u32,
}

struct Runner<'a> {
    client: &'a Client,
    limits: Limits,
    quiesce: Option<QuiesceFn<'a>>,
    on_progress: Option<ProgressFn<'a>>,
    cancel: CancelToken,
    started: Instant,
    quiesce_began: Option<Instant>,
    /// A failed thaw step, when nothing else failed (yet).
    thaw_error: Option<HookError>,
    report: BackupReport,
    // Last, so that it is dropped after everything a panic could leave behind.
    thaw: ThawGuard<'a>,
}

impl<'a> Runner<'a> {
    fn new(run: BackupRun<'a>) -> Runner<'a> {
        Runner {
            client: run.client,
            limits: run.limits,
            quiesce: run.quiesce,
            on_progress: run.on_progress,
            cancel: run.cancel,
            started: Instant::now(),
            quiesce_began: None,
            thaw_error: None,
            report: BackupReport {
                job_id: None,
                status: None,
                stopped: Stopped::Error,
                quiesced_at: None,
                thaw: None,
                elapsed: Duration::ZERO,
            },
            thaw: ThawGuard {
                thaw: run.thaw,
                armed: false,
                job_id: None,
            },
        }
    }

    fn progress(&mut self, event: ProgressEvent<'_>) {
        if let Some(on_progress) = self.on_progress.as_mut() {
            on_progress(&Progress {
                elapsed: self.started.elapsed(),
                job_id: self.report.job_id.as_deref(),
                event,
            });
        }
    }

    /// The token replaced in every text the agent sent, before the status is kept anywhere.
    fn redacted(&self, status: StatusResponse) -> StatusResponse {
        self.client.judge().redact(status)
    }

    fn set_job(&mut self, status: StatusResponse) {
        let job_id = Some(status.job_id.clone()).filter(|id| !id.is_empty());
        self.thaw.job_id.clone_from(&job_id);
        self.report.job_id = job_id;
        self.report.status = Some(status);
    }

    /// Calls the thaw step, if the run quiesced and it has not run yet.
    fn thaw_now(&mut self, cause: ThawCause) {
        if !self.thaw.armed || self.report.thaw.is_some() {
            return;
        }
        // Announced while the guard still holds the step: a panicking callback still thaws.
        self.progress(ProgressEvent::Thawing(cause));
        let at = self.started.elapsed();
        let quiesced_for = self.quiesce_began.map_or(Duration::ZERO, |t| t.elapsed());
        let result = match self.thaw.thaw.take() {
            Some(thaw) => thaw(Thaw {
                cause,
                job_id: self.thaw.job_id.as_deref(),
            }),
            None => Ok(()),
        };
        let ok = result.is_ok();
        self.report.thaw = Some(ThawReport {
            cause,
            at,
            quiesced_for,
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        if let Err(e) = result {
            self.thaw_error = Some(e);
        }
        self.progress(ProgressEvent::Thawed { cause, ok });
    }

    fn thaw_deadline(&self) -> Option<Instant> {
        if !self.thaw.armed || self.report.thaw.is_some() {
            return None;
        }
        self.quiesce_began.map(|t| {
            t.checked_add(self.limits.thaw_after)
                .unwrap_or_else(far_future)
        })
    }

    fn fail(self, stopped: Stopped, e: Error) -> Result<BackupReport, BackupRunError> {
        self.finish(stopped, Some(BackupRunFailure::Agent(e)))
    }

    fn finish(
        mut self,
        stopped: Stopped,
        failure: Option<BackupRunFailure>,
    ) -> Result<BackupReport, BackupRunError> {
        debug_assert!(!self.thaw.armed || self.report.thaw.is_some());
        self.report.stopped = stopped;
        self.report.elapsed = self.started.elapsed();
        self.progress(ProgressEvent::Stopped(stopped));
        let failure = failure.or_else(|| self.thaw_error.take().map(BackupRunFailure::Thaw));
        let report = self.report.clone();
        match failure {
            None => Ok(report),
            Some(failure) => Err(BackupRunError::new(failure, report)),
        }
    }

    fn job_failed(mut self, status: StatusResponse) -> Result<BackupReport, BackupRunError> {
        self.thaw_now(ThawCause::Failed);
        let job_id = self.report.job_id.clone().unwrap_or_default();
        let e = Error::BackupFailed {
            job_id,
            status: Box::new(status),
        };
        self.fail(Stopped::Failed, e)
    }

    /// Polls the job in the report until it ends, thawing on the way as the window and the
    /// outcome say.
    fn wait_for_job(mut self) -> Result<BackupReport, BackupRunError> {
        let job_id = self.report.job_id.clone().unwrap_or_default();
        let mut last_phase = self
            .report
            .status
            .as_ref()
            .map(|s| s.phase.clone())
            .unwrap_or_default();
        let waiting_since = Instant::now();
        let give_up_at = waiting_since
            .checked_add(self.limits.give_up_after)
            .unwrap_or_else(far_future);
        let mut next_poll = self.next_poll_after(waiting_since, give_up_at);
        let mut failed_in_a_row = 0;
        loop {
            if self.cancel.is_cancelled() {
                self.thaw_now(ThawCause::Cancelled);
                return self.finish(Stopped::Cancelled, Some(BackupRunFailure::Cancelled));
            }
            let now = Instant::now();
            if self.thaw_deadline().is_some_and(|at| now >= at) {
                self.thaw_now(ThawCause::StillRunning);
                continue;
            }
            if now < next_poll {
                let wake = self.thaw_deadline().map_or(next_poll, |t| t.min(next_poll));
                self.cancel.wait_until(wake);
                continue;
            }

            match self.client.backup_status() {
                Ok(status) => {
                    failed_in_a_row = 0;
                    let status = self.redacted(status);
                    if !job_id.is_empty() && !status.job_id.is_empty() && status.job_id != job_id {
                        let e = Error::Agent {
                            call: BACKUP_STATUS.clone(),
                            message: self.client.judge().scrub(&format!(
                                "the agent reports backup job {:?}, not the job {:?} waited for",
                                status.job_id, job_id
                            )),
                        };
                        self.thaw_now(ThawCause::Error);
                        return self.fail(Stopped::Error, e);
                    }
                    self.report.status = Some(status.clone());
                    if status.phase != last_phase {
                        last_phase = status.phase.clone();
                        self.progress(ProgressEvent::Phase(&status.phase));
                    }
                    match status.phase {
                        BackupPhase::Done => {
                            self.thaw_now(ThawCause::Done);
                            return self.finish(Stopped::Done, None);
                        }
                        BackupPhase::Failed => return self.job_failed(status),
                        _ => {}
                    }
                }
                Err(e) => {
                    failed_in_a_row += 1;
                    let retrying = transient(&e) && failed_in_a_row <= self.limits.poll_retries;
                    self.progress(ProgressEvent::PollFailed {
                        error: &e,
                        in_a_row: failed_in_a_row,
                        retrying,
                    });
                    if !retrying {
                        self.thaw_now(ThawCause::Error);
                        return self.fail(Stopped::Error, e);
                    }
                }
            }

            let now = Instant::now();
            if now >= give_up_at {
                self.thaw_now(ThawCause::GaveUp);
                let e = Error::Timeout {
                    call: BACKUP_STATUS.clone(),
                    stage: TimeoutStage::BackupWait {
                        job_id: job_id.clone(),
                        last_phase: last_phase.clone(),
                    },
                    limit: self.limits.give_up_after,
                };
                return self.fail(Stopped::GaveUp, e);
            }
            next_poll = self.next_poll_after(now, give_up_at);
        }
    }

    /// One poll interval after `now`, but never later than the moment to give up: the last
    /// poll is made then.
    fn next_poll_after(&self, now: Instant, give_up_at: Instant) -> Instant {
        now.checked_add(self.limits.poll_every)
            .map_or(give_up_at, |t| t.min(give_up_at))
    }
}

/// A moment no run reaches: about 30 years from now.
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(30 * 365 * 24 * 60 * 60))
        .unwrap_or(now)
}
