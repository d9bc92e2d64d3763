//! What a [`BackupRun`](crate::BackupRun) tells when it is over: the report, and the error that
//! carries one.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::terminal::escape;
use crate::wire::StatusResponse;

/// The error type a quiesce or thaw step returns: any error, boxed.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Why the thaw step was called; also what the run knew of the job at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThawCause {
    /// The job is done.
    Done,
    /// The job failed.
    Failed,
    /// The run stopped waiting; the job may still be running.
    GaveUp,
    /// The run was cancelled ([`CancelToken`](crate::CancelToken)); a started job goes on.
    Cancelled,
    /// Something failed: the quiesce step, starting the job, a poll, or a callback panicked.
    Error,
    /// The quiesce window ([`BackupRun::thaw_after`](crate::BackupRun::thaw_after)) ran out
    /// while the job was still running: an early thaw. The wait goes on.
    StillRunning,
}

impl ThawCause {
    /// A short name: `done`, `failed`, `gave-up`, `cancelled`, `error` or `running`.
    ///
    /// ```
    /// use felhom_agentapi::ThawCause;
    /// assert_eq!(ThawCause::GaveUp.as_str(), "gave-up");
    /// assert_eq!(ThawCause::StillRunning.as_str(), "running");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ThawCause::Done => "done",
            ThawCause::Failed => "failed",
            ThawCause::GaveUp => "gave-up",
            ThawCause::Cancelled => "cancelled",
            ThawCause::Error => "error",
            ThawCause::StillRunning => "running",
        }
    }
}

impl fmt::Display for ThawCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a backup run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stopped {
    /// The job is done.
    Done,
    /// The job failed.
    Failed,
    /// The run gave up waiting ([`BackupRun::give_up_after`](crate::BackupRun::give_up_after));
    /// the job may still be running.
    GaveUp,
    /// The run was cancelled.
    Cancelled,
    /// A job was already running, so none was started.
    Busy,
    /// The quiesce step failed, so no job was started.
    QuiesceFailed,
    /// A call to the agent failed, or a status could not be trusted.
    Error,
}

impl Stopped {
    /// A short name: `done`, `failed`, `gave-up`, `cancelled`, `busy`, `quiesce-failed` or
    /// `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stopped::Done => "done",
            Stopped::Failed => "failed",
            Stopped::GaveUp => "gave-up",
            Stopped::Cancelled => "cancelled",
            Stopped::Busy => "busy",
            Stopped::QuiesceFailed => "quiesce-failed",
            Stopped::Error => "error",
        }
    }
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When and why the thaw step ran.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThawReport {
    /// Why it was called.
    pub cause: ThawCause,
    /// When it was called, since the run began.
    pub at: Duration,
    /// How long the application had been quiesced then: since the quiesce step was called.
    pub quiesced_for: Duration,
    /// What the thaw step's error said, if it failed.
    pub error: Option<String>,
}

impl ThawReport {
    /// Whether the thaw came before the job ended, because the quiesce window ran out.
    pub fn early(&self) -> bool {
        self.cause == ThawCause::StillRunning
    }
}

/// What a backup run did, however it ended.
///
/// Text from the agent in it (job ids, error texts) has the token replaced, as in an
/// [`Error`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BackupReport {
    /// The job, once one was started (or, for [`BackupRun::wait`](crate::BackupRun::wait),
    /// found).
    pub job_id: Option<String>,
    /// The job's last known status: the last poll's answer, or what starting it answered. For a
    /// busy run, the status of the job that was already running.
    pub status: Option<StatusResponse>,
    /// Why the run stopped.
    pub stopped: Stopped,
    /// When the quiesce step was called, since the run began; `None` if it never was.
    pub quiesced_at: Option<Duration>,
    /// When and why the thaw step ran; `None` if nothing was quiesced.
    pub thaw: Option<ThawReport>,
    /// How long the run took.
    pub elapsed: Duration,
}

/// How a backup run failed. A [`BackupRunError`] carries one, with the run's report.
#[derive(Debug)]
#[non_exhaustive]
pub enum BackupRunFailure {
    /// A call to the agent failed, the job failed ([`Error::BackupFailed`]), the wait gave up
    /// ([`Error::Timeout`]), or a job was already running ([`Error::BackupRunning`]).
    Agent(Error),
    /// The quiesce step failed: the thaw step was called, and no job was started.
    Quiesce(HookError),
    /// The thaw step failed; nothing else did (otherwise that is the failure, and the thaw's
    /// error is in [`ThawReport::error`]). The application may still be quiesced.
    Thaw(HookError),
    /// The run was cancelled with its [`CancelToken`](crate::CancelToken).
    Cancelled,
}

/// A backup run that did not end with its job done and thawed: what failed, and the report of
/// what was done, including whether the application was thawed.
///
/// ```
/// # let agent = felhom_devagent::DevAgent::start()?;
/// # let client = felhom_agentapi::Client::new(&agent.endpoint(), agent.token(), &agent.fingerprint().to_string())?;
/// use felhom_agentapi::{BackupRunFailure, Stopped};
///
/// let err = client
///     .backup_run()
///     .quiesce(|| Err("the database would not flush"))
///     .thaw(|_| Ok::<(), std::io::Error>(()))
///     .run()
///     .unwrap_err();
/// assert!(matches!(err.failure(), BackupRunFailure::Quiesce(_)));
/// assert_eq!(err.report().stopped, Stopped::QuiesceFailed);
/// assert!(err.report().thaw.is_some(), "a failed quiesce is still thawed");
/// assert_eq!(err.job_id(), None, "and no backup was started");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BackupRunError {
    failure: BackupRunFailure,
    report: Box<BackupReport>,
}

impl BackupRunError {
    pub(crate) fn new(failure: BackupRunFailure, report: BackupReport) -> BackupRunError {
        BackupRunError {
            failure,
            report: Box::new(report),
        }
    }

    /// What failed.
    pub fn failure(&self) -> &BackupRunFailure {
        &self.failure
    }

    /// The agent's error, when the failure is [`BackupRunFailure::Agent`].
    pub fn agent_error(&self) -> Option<&Error> {
        match &self.failure {
            BackupRunFailure::Agent(e) => Some(e),
            _ => None,
        }
    }

    /// What the run did before it failed.
    pub fn report(&self) -> &BackupReport {
        &self.report
    }

    /// The job, if one was started (it may still be running: see [`BackupReport::stopped`]).
    pub fn job_id(&self) -> Option<&str> {
        self.report.job_id.as_deref()
    }

    /// The failure and the report, taken apart.
    pub fn into_parts(self) -> (BackupRunFailure, BackupReport) {
        (self.failure, *self.report)
    }
}

impl fmt::Display for BackupRunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &*self.report;
        let job = report
            .job_id
            .as_deref()
            .map(|id| escape(&format!("{id:?}")).into_owned());
        match &self.failure {
            BackupRunFailure::Agent(e) => {
                write!(f, "{e}")?;
                if let (Some(job), Stopped::Error) = (&job, report.stopped) {
                    write!(
                        f,
                        " (backup job {job} was started and may still be running)"
                    )?;
                }
            }
            BackupRunFailure::Quiesce(e) => write!(
                f,
                "quiescing the application failed: {e}; no backup was started"
            )?,
            BackupRunFailure::Thaw(e) => {
                write!(f, "thawing the application failed: {e}")?;
                match (report.stopped, &job) {
                    (Stopped::Done, Some(job)) => {
                        write!(f, "; the backup itself succeeded (job {job})")?
                    }
                    (_, Some(job)) => write!(f, " (backup job {job})")?,
                    _ => {}
                }
                f.write_str("; the application may still be quiesced")?;
            }
            BackupRunFailure::Cancelled => {
                f.write_str("the backup run was cancelled")?;
                match &job {
                    Some(job) => write!(
                        f,
                        "; backup job {job} goes on at the agent (GET /backup/status follows it)"
                    )?,
                    None => f.write_str(" before any backup was started")?,
                }
            }
        }
        if let Some(error) = report.thaw.as_ref().and_then(|t| t.error.as_ref())
            && !matches!(self.failure, BackupRunFailure::Thaw(_))
        {
            write!(
                f,
                "; thawing failed too: {error}; the application may still be quiesced"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for BackupRunError {}
