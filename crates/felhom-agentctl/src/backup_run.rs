//! `backup run` (lock, `--if-due`, hooks, the library's `BackupRun`) and `backup wait`: what
//! they print and how they exit.
//!
//! Standard output carries one JSON document: the final status of the job, on every outcome
//! that has a job (or, with `--if-due` when nothing is due, the agent's answer). Standard error
//! carries the job id as soon as the job starts, notes about retried polls, the error, and,
//! unless `-q`, progress.

use std::io::{self, Write};
use std::time::Duration;

use felhom_agentapi::wire::{BackupPhase, StatusResponse};
use felhom_agentapi::{
    BackupReport, BackupRunError, BackupRunFailure, Client, Error, Progress, ProgressEvent,
    Stopped, ThawCause, ThawReport,
};
use serde::Serialize;

use crate::args::{BackupRunArgs, BackupWaitArgs, Cli, ErrorFormat};
use crate::exit::{self, Failure};
use crate::hooks::Hooks;
use crate::leftover;
use crate::lock;
use crate::marker;
use crate::output::{self, Answer, Mode, clean};
use crate::report::{ErrorJson, report_failure};
use crate::say::{self, Level};
use crate::signals::{self, SignalWatch, watch_signals};

/// `backup run`: returns the exit status.
pub(crate) fn run(cli: &Cli, args: &BackupRunArgs, mode: Mode) -> u8 {
    let format = cli.output.error_format;
    // With --error-format json, stderr is for the error line (and what is printed even with -q).
    let quiet = cli.output.quiet || format == ErrorFormat::Json;
    let setup = || -> Result<(Client, Hooks), Failure> {
        check_intervals(args.wait.poll, args.wait.give_up_after)?;
        let client = crate::connect::connect(cli)?;
        let hooks = Hooks::load(
            args.pre.as_deref(),
            args.post.as_deref(),
            args.hooks_dir.as_deref(),
            args.hook_timeout,
            quiet,
        )
        .map_err(Failure::Usage)?;
        Ok((client, hooks))
    };
    let (client, hooks) = match setup() {
        Ok(parts) => parts,
        Err(failure) => return report_failure(&failure, mode, format),
    };
    let (token, watch) = match watch_signals() {
        Ok(parts) => parts,
        Err(failure) => return report_failure(&failure, mode, format),
    };

    // Held until this function returns: for the whole run, hooks included.
    let lock_path = match args
        .lock
        .clone()
        .map_or_else(|| lock::default_path(client.endpoint()), Ok)
    {
        Ok(path) => path,
        Err(failure) => return report_failure(&failure, mode, format),
    };
    let _lock = match leftover::take_lock(&lock_path, format, "no hook ran, no backup was started")
    {
        Ok(file) => file,
        Err(code) => return code,
    };
    // What a run that never reached its thaw left frozen goes first.
    if let Err(refusal) = leftover::thaw(&lock_path, quiet) {
        return refusal.report(format);
    }
    let hooks = hooks
        .stopped_by(token.clone())
        .recorded_in(marker::path_for(&lock_path));

    if args.if_due {
        match client.backup_due() {
            Ok(due) if !due.due => {
                // A timer asks every few minutes: the answer on standard output is the one
                // line the journal gets, unless -v.
                if !quiet && cli.output.verbose > 0 {
                    say::note(&format!("no backup is due: {}", clean(&due.reason)));
                }
                print_answer(mode, &due, || Answer::Due(due.clone()));
                return exit::SUCCESS;
            }
            Ok(due) => {
                if !quiet {
                    say::note(&format!("a backup is due: {}", clean(&due.reason)));
                }
            }
            Err(e) => return report_failure(&e.into(), mode, format),
        }
    }

    let reporter = Reporter {
        quiet,
        hooks: hooks.freezing(),
        attaching: false,
    };
    let stop = token.clone();
    let result = client
        .backup_run()
        .poll_every(args.wait.poll)
        .give_up_after(args.wait.give_up_after)
        .thaw_after(args.thaw_after)
        .poll_retries(POLL_RETRIES)
        .cancel_token(token)
        .quiesce(|| hooks.freeze())
        .thaw(|thaw| {
            // A stop during the freeze ends it as a failed freeze: the hooks hear the truth.
            let phase = if stop.is_cancelled() {
                "interrupted"
            } else {
                hook_phase(thaw.cause)
            };
            hooks.thaw(phase, thaw.job_id)
        })
        .on_progress(|p| reporter.progress(p))
        .run();
    crate::record::save(client.endpoint(), &result, false);
    finish(result, &watch, mode, format)
}

/// `backup wait`: returns the exit status.
pub(crate) fn wait(cli: &Cli, args: &BackupWaitArgs, mode: Mode) -> u8 {
    let format = cli.output.error_format;
    // With --error-format json, stderr is for the error line (and what is printed even with -q).
    let quiet = cli.output.quiet || format == ErrorFormat::Json;
    let client = match check_intervals(args.poll, args.give_up_after)
        .and_then(|()| crate::connect::connect(cli))
    {
        Ok(client) => client,
        Err(failure) => return report_failure(&failure, mode, format),
    };
    let (token, watch) = match watch_signals() {
        Ok(parts) => parts,
        Err(failure) => return report_failure(&failure, mode, format),
    };
    let reporter = Reporter {
        quiet,
        hooks: 0,
        attaching: true,
    };
    let result = client
        .backup_run()
        .poll_every(args.poll)
        .give_up_after(args.give_up_after)
        .poll_retries(POLL_RETRIES)
        .cancel_token(token)
        .on_progress(|p| reporter.progress(p))
        .wait();
    crate::record::save(client.endpoint(), &result, true);
    finish(result, &watch, mode, format)
}

/// Failed polls in a row that the wait tolerates when they are transient: the third ends it.
const POLL_RETRIES: u32 = 2;

/// The library would start the job, then give up before its first poll.
fn check_intervals(poll: Duration, give_up_after: Duration) -> Result<(), Failure> {
    if poll >= give_up_after {
        return Err(Failure::Usage(format!(
            "--poll ({poll:?}) must be shorter than --give-up-after ({give_up_after:?})"
        )));
    }
    Ok(())
}

/// What the hooks are told in `FELHOM_BACKUP_PHASE` when they thaw.
fn hook_phase(cause: ThawCause) -> &'static str {
    match cause {
        ThawCause::Cancelled => "interrupted",
        other => other.as_str(),
    }
}

fn stopped_name(stopped: Stopped) -> &'static str {
    match stopped {
        Stopped::Cancelled => "interrupted",
        other => other.as_str(),
    }
}

/// Prints what the run ended with and returns the exit status.
fn finish(
    result: Result<BackupReport, BackupRunError>,
    watch: &SignalWatch,
    mode: Mode,
    format: ErrorFormat,
) -> u8 {
    let (report, failure) = match result {
        Ok(report) => (report, None),
        Err(e) => {
            let message = e.to_string();
            let (failure, report) = e.into_parts();
            (report, Some((failure, message)))
        }
    };
    if let Some(status) = report.status.as_ref().filter(|_| report.job_id.is_some()) {
        print_answer(mode, &FinalJson::new(status, &report), || {
            Answer::Status(status.clone())
        });
    }
    let thaw_failed = report.thaw.as_ref().is_some_and(|t| t.error.is_some());
    let Some((failure, message)) = failure else {
        return exit::SUCCESS;
    };
    let follow = "follow it with: felhom-agentctl backup wait (with the same connection settings)";
    let (text, code) = match &failure {
        BackupRunFailure::Cancelled => {
            let signal = watch.caught();
            let by = signal.map_or("a signal".into(), signals::name);
            let thawed = match &report.thaw {
                Some(t) if t.error.is_none() => "; the application was thawed",
                Some(_) => "; thawing the application failed: it may still be quiesced",
                None => "",
            };
            let text = match report.job_id.as_deref() {
                Some(job) => format!(
                    "interrupted by {by}{thawed}; backup job {} goes on at the agent: {follow}",
                    clean(job)
                ),
                None => format!("interrupted by {by} before any backup was started{thawed}"),
            };
            // A thaw that failed wins here too: the application may still be quiesced.
            let code = if thaw_failed {
                exit::HOOK_FAILED
            } else {
                signal.map_or(exit::AGENT_ERROR, exit::interrupted)
            };
            (text, code)
        }
        // A stop interrupted the freeze: interrupted, unless the thaw failed.
        BackupRunFailure::Quiesce(hook) if watch.caught().is_some() && !thaw_failed => {
            let by = watch.caught().map_or("a signal".into(), signals::name);
            let text = format!(
                "interrupted by {by} during the freeze ({}); the application was thawed and no \
                 backup was started",
                clean(&hook.to_string())
            );
            (
                text,
                watch.caught().map_or(exit::AGENT_ERROR, exit::interrupted),
            )
        }
        BackupRunFailure::Quiesce(_) | BackupRunFailure::Thaw(_) => (
            clean(&message).replace("(thaw_after:", "(--thaw-after"),
            exit::HOOK_FAILED,
        ),
        BackupRunFailure::Agent(e) => {
            let text = match e {
                // The library's advice is the HTTP call; here it is the command.
                Error::BackupRunning { job_id, .. } => {
                    let job = job_id.as_deref().map_or("a backup job".to_string(), |j| {
                        format!("backup job {}", clean(j))
                    });
                    format!(
                        "{job} is already running, so nothing was quiesced and no other job was \
                         started; {follow}"
                    )
                }
                Error::Timeout { .. } => format!("{}; {follow}", clean(&message)),
                _ => clean(&message),
            };
            // An application that may still be quiesced needs a person before anything else.
            let code = if thaw_failed {
                exit::HOOK_FAILED
            } else {
                exit::exit_code(e)
            };
            (text, code)
        }
        _ => (clean(&message), exit::AGENT_ERROR),
    };
    match format {
        ErrorFormat::Text => say::error(&text),
        ErrorFormat::Json => {
            let kind = match &failure {
                BackupRunFailure::Cancelled => "interrupted",
                // Interrupted during the freeze, and thawed: as the exit status says.
                BackupRunFailure::Quiesce(_) if code != exit::HOOK_FAILED => "interrupted",
                BackupRunFailure::Quiesce(_) | BackupRunFailure::Thaw(_) => "hook_failed",
                BackupRunFailure::Agent(e) => exit::error_kind(e),
                _ => "other",
            };
            let mut doc = match &failure {
                BackupRunFailure::Agent(e) => ErrorJson::about(kind, e, text, code),
                _ => ErrorJson::new(kind, text, code),
            };
            // A started job reached the agent, whatever ended the run.
            doc.may_have_reached_agent |= report.job_id.is_some();
            let _ = doc.write(&mut io::stderr());
        }
    }
    code
}

/// The JSON document, or with `--human` the summary of `answer` (the job's status, for people).
fn print_answer<T: Serialize>(mode: Mode, value: &T, answer: impl FnOnce() -> Answer) {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let printed = match mode {
        Mode::Human => output::print(&mut out, mode, &answer()),
        Mode::Json { pretty } => output::json(&mut out, pretty, value),
    };
    // Nothing useful can be done if standard output is gone; the exit status still tells.
    let _ = printed.and_then(|()| out.flush());
}

/// The final status on standard output: the agent's last status of the job, and how the run
/// ended.
#[derive(Serialize)]
struct FinalJson<'a> {
    #[serde(flatten)]
    status: &'a StatusResponse,
    /// `done`, `failed`, `gave-up`, `interrupted`, `busy`, `quiesce-failed` or `error`.
    stopped: &'static str,
    /// `null` when nothing was quiesced.
    thaw: Option<ThawJson>,
    elapsed_ms: u128,
}

#[derive(Serialize)]
struct ThawJson {
    /// What the hooks were told: `done`, `failed`, `gave-up`, `interrupted`, `error`, or
    /// `running` for an early thaw.
    phase: &'static str,
    /// Whether it came before the job ended (`--thaw-after`).
    early: bool,
    /// Whether every thaw hook succeeded.
    ok: bool,
    /// When it began, since the run began.
    at_ms: u128,
    /// How long the application had been quiesced then.
    quiesced_ms: u128,
}

impl<'a> FinalJson<'a> {
    fn new(status: &'a StatusResponse, report: &BackupReport) -> FinalJson<'a> {
        FinalJson {
            status,
            stopped: stopped_name(report.stopped),
            thaw: report.thaw.as_ref().map(ThawJson::new),
            elapsed_ms: report.elapsed.as_millis(),
        }
    }
}

impl ThawJson {
    fn new(thaw: &ThawReport) -> ThawJson {
        ThawJson {
            phase: hook_phase(thaw.cause),
            early: thaw.early(),
            ok: thaw.error.is_none(),
            at_ms: thaw.at.as_millis(),
            quiesced_ms: thaw.quiesced_for.as_millis(),
        }
    }
}

/// Progress lines on standard error.
struct Reporter {
    quiet: bool,
    hooks: usize,
    /// `backup wait`: the status is read to find a running job, not to rule one out.
    attaching: bool,
}

impl Reporter {
    fn progress(&self, p: &Progress<'_>) {
        let job = p.job_id.map(clean).unwrap_or_default();
        // Printed even with -q: the job id, and a poll that will be tried again.
        let always = match p.event {
            ProgressEvent::Started => Some(format!("backup job {job} started")),
            ProgressEvent::PollFailed {
                error,
                in_a_row,
                retrying: true,
            } => Some(format!(
                "{} ({in_a_row} failed poll(s) in a row); trying again at the next poll",
                clean(&error.to_string())
            )),
            _ => None,
        };
        if let Some(line) = always {
            // The job id a person needs to follow the job, and retried polls: said even
            // with -q; a retry is a warning.
            let level = match p.event {
                ProgressEvent::PollFailed { .. } => Level::Warning,
                _ => Level::Info,
            };
            say::say(level, &line);
            return;
        }
        if self.quiet {
            return;
        }
        let line = match p.event {
            ProgressEvent::Checking if self.attaching => {
                "looking for the backup job that is running".to_string()
            }
            ProgressEvent::Checking => "checking that no backup job is running".to_string(),
            ProgressEvent::Quiescing if self.hooks == 0 => "no hooks to quiesce with".to_string(),
            ProgressEvent::Quiescing => format!("quiescing: {} freeze hook(s)", self.hooks),
            ProgressEvent::Starting => "starting the backup".to_string(),
            ProgressEvent::Attached => format!("waiting for backup job {job}"),
            ProgressEvent::Phase(BackupPhase::Failed) => format!("backup job {job} failed"),
            ProgressEvent::Phase(phase) => {
                format!("backup job {job} is {}", clean(phase.as_str()))
            }
            ProgressEvent::Thawing(ThawCause::StillRunning) => {
                "the quiesce window (--thaw-after) is over: thawing while the job goes on"
                    .to_string()
            }
            ProgressEvent::Thawing(cause) => format!("thawing ({})", hook_phase(cause)),
            ProgressEvent::Thawed { ok: true, .. } => "thawed".to_string(),
            ProgressEvent::Thawed { ok: false, .. } => "thawing failed".to_string(),
            _ => return,
        };
        say::note(&format!("[{:.1}s] {line}", p.elapsed.as_secs_f64()));
    }
}
