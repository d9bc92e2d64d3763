//! The quiesce and thaw hooks of `backup run`: `--pre`, `--post` and the executables of
//! `--hooks-dir`, run as a stack.
//!
//! Freezing runs `--pre` (with `/bin/sh -c`), then each directory hook with the argument `freeze`
//! in name order, and stops at the first that fails. Thawing runs the directory hooks whose freeze
//! was tried (the failed one included, to undo what it did) with `thaw` in reverse order, then
//! `--post`, and runs every one of them even if one fails. Unlike qemu-ga's `fsfreeze-hook`,
//! which thaws in the same order it froze, a database is thawed before the filesystem under it.
//!
//! The thaw must happen whatever goes wrong, so nothing on its path can stop a thaw hook from
//! starting: not the output (see `say`), not a job id that cannot be passed in the environment
//! (it is left out), not a standard error that cannot be handed over (the hook gets
//! `/dev/null`), not another hook's failure. No wait on a hook is unbounded: a hook that is
//! still there [`KILL_WAIT`] after SIGKILL (stuck in the kernel, typically on a filesystem it
//! froze itself) is left behind, and the thaw, which is what unblocks it, goes on.
//!
//! A stop (a signal, seen through the cancel token) interrupts the freeze at once: the running
//! freeze hook's process group is stopped and no further freeze hook starts. After a stop the
//! whole thaw fits in [`STOP_BUDGET`]: each thaw hook gets an equal share of what is left of it
//! (at most `--hook-timeout`), so that systemd's `TimeoutStopSec=` never cuts a thaw short.

use std::cell::Cell;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::hardening;
use crate::hook_wait::{Ended, KILL_WAIT, Killed, Overrun, wait_within};
use crate::marker::{self, Recorded};
use crate::output::clean;
use crate::say;
use felhom_agentapi::CancelToken;
use felhom_agentapi::wire::MAX_JOB_ID_LEN;

/// How long a hook that overran its time limit has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// The same for an interrupted freeze hook and after a stop, when the thaw budget is running.
const GRACE_AFTER_STOP: Duration = Duration::from_secs(2);
/// The most the thaw takes after a stop (for up to 24 thaw hooks: each gets at least 5 s, of
/// which [`GRACE_AFTER_STOP`] and [`KILL_WAIT`] go to stopping it). The unit's
/// `TimeoutStopSec=` is chosen above it (see contrib/systemd/README.md).
pub(crate) const STOP_BUDGET: Duration = Duration::from_secs(120);
/// The least time a thaw hook gets after a stop, however little of the budget is left.
const LEAST_AFTER_STOP: Duration = Duration::from_secs(1);

/// What the hooks are told.
pub(crate) const PHASE_ENV: &str = "FELHOM_BACKUP_PHASE";
pub(crate) const JOB_ID_ENV: &str = "FELHOM_BACKUP_JOB_ID";

/// One hook to run.
#[derive(Debug, Clone)]
enum Hook {
    /// `--pre` / `--post`: a command line for `/bin/sh -c`.
    Shell { flag: &'static str, command: String },
    /// An executable in `--hooks-dir`, called with `freeze` or `thaw`.
    File(PathBuf),
}

impl Hook {
    fn describe(&self) -> String {
        match self {
            Hook::Shell { flag, command } => format!("{flag} hook ({})", clean(command)),
            Hook::File(path) => format!("hook {}", clean(&path.display().to_string())),
        }
    }

    fn shell_command(&self) -> Option<String> {
        match self {
            Hook::Shell { command, .. } => Some(command.clone()),
            Hook::File(_) => None,
        }
    }

    fn file_path(&self) -> Option<String> {
        match self {
            Hook::File(path) => Some(path.to_string_lossy().into_owned()),
            Hook::Shell { .. } => None,
        }
    }

    fn command(&self, argument: &str) -> Command {
        match self {
            Hook::Shell { command, .. } => {
                let mut c = Command::new(hardening::SHELL);
                c.arg("-c").arg(command);
                c
            }
            Hook::File(path) => {
                let mut c = Command::new(path);
                c.arg(argument);
                c
            }
        }
    }
}

/// A hook that did not succeed, as a message for the user.
#[derive(Debug)]
pub(crate) struct HookFailure(pub String);

impl std::fmt::Display for HookFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HookFailure {}

/// Every hook of one run.
#[derive(Debug)]
pub(crate) struct Hooks {
    pre: Option<Hook>,
    post: Option<Hook>,
    dir: Vec<Hook>,
    /// How many directory hooks were called with `freeze` (the one that failed included).
    frozen: Cell<usize>,
    /// How long each hook may run (`--hook-timeout`).
    limit: Duration,
    quiet: bool,
    /// Cancelled by a stop (a signal): the freeze ends, the thaw runs within [`STOP_BUDGET`].
    stop: CancelToken,
    /// When the thaw budget after a stop runs out, from the first look after the stop.
    budget_end: Cell<Option<Instant>>,
    /// Where the thaw marker is kept, if one is (see `marker`).
    marker: Option<PathBuf>,
    /// Whether the freeze got as far as starting (the marker written): otherwise the thaw has
    /// nothing to undo.
    began: Cell<bool>,
    /// Whether the last hook called was started.
    started: Cell<bool>,
}

/// What a hook is told in its environment: the phase, and the job once one was started.
#[derive(Clone, Copy)]
struct Told<'a> {
    phase: &'a str,
    job_id: Option<&'a str>,
}

impl Told<'_> {
    /// What every freeze hook is told.
    const FREEZE: Told<'static> = Told {
        phase: "freeze",
        job_id: None,
    };

    /// Sets the variables on `command`, replacing any it would inherit.
    fn set_on(self, command: &mut Command) {
        command.env(PHASE_ENV, self.phase);
        command.env_remove(JOB_ID_ENV);
        if let Some(id) = self.job_id {
            // The library refuses such an id; should one come anyway, the hook runs without it.
            if id.len() <= MAX_JOB_ID_LEN && id.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                command.env(JOB_ID_ENV, id);
            }
        }
    }
}

/// Which way a hook goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Freeze,
    /// With how many thaw hooks are left, this one included: its share of the budget.
    Thaw {
        left: usize,
    },
}

impl Hooks {
    /// Collects the hooks; reads the directory now, so that a bad one is found before anything
    /// is frozen. A directory that does not exist holds no hooks (as with `fsfreeze-hook`).
    pub(crate) fn load(
        pre: Option<&str>,
        post: Option<&str>,
        dir: Option<&Path>,
        limit: Duration,
        quiet: bool,
    ) -> Result<Hooks, String> {
        let shell = |flag, command: Option<&str>| {
            command.map(|c| Hook::Shell {
                flag,
                command: c.to_string(),
            })
        };
        let dir = match dir {
            None => Vec::new(),
            Some(dir) => {
                let shown = clean(&dir.display().to_string());
                let found = scan(dir).map_err(|e| match e.kind() {
                    // A typo would otherwise back up without quiescing anything, and succeed.
                    io::ErrorKind::NotFound => format!(
                        "--hooks-dir {shown}: no such directory; create it (an empty one holds \
                         no hooks) or drop --hooks-dir"
                    ),
                    _ => format!("--hooks-dir {shown}: cannot read the directory: {e}"),
                })?;
                if !quiet {
                    for path in &found.not_executable {
                        say::note(&format!(
                            "skipping {}: not executable (chmod +x to use it as a hook)",
                            clean(&path.display().to_string())
                        ));
                    }
                }
                hardening::check_hooks(dir, &found.hooks)?;
                found.hooks.into_iter().map(Hook::File).collect()
            }
        };
        Ok(Hooks {
            pre: shell("--pre", pre),
            post: shell("--post", post),
            dir,
            frozen: Cell::new(0),
            limit,
            quiet,
            stop: CancelToken::new(),
            budget_end: Cell::new(None),
            marker: None,
            began: Cell::new(false),
            started: Cell::new(false),
        })
    }

    /// The thaw a marker records, to run once: its `--post` and the directory hooks it began
    /// to freeze. The marker is removed once they have run.
    pub(crate) fn recorded(
        recorded: &Recorded,
        marker: &Path,
        quiet: bool,
        stop: CancelToken,
    ) -> Hooks {
        let began = recorded.began.min(recorded.hooks.len());
        Hooks {
            pre: None,
            post: recorded.post.clone().map(|command| Hook::Shell {
                flag: "--post",
                command,
            }),
            dir: recorded
                .hooks
                .iter()
                .take(began)
                .map(PathBuf::from)
                .map(Hook::File)
                .collect(),
            frozen: Cell::new(began),
            limit: recorded.hook_timeout(),
            quiet,
            stop,
            budget_end: Cell::new(None),
            marker: Some(marker.to_path_buf()),
            began: Cell::new(true),
            started: Cell::new(false),
        }
    }

    /// A stop: `token` cancelled interrupts the freeze and puts the thaw on its budget.
    pub(crate) fn stopped_by(mut self, token: CancelToken) -> Hooks {
        self.stop = token;
        self
    }

    /// Records what is frozen in the marker at `path` before the first freeze hook runs.
    pub(crate) fn recorded_in(mut self, path: PathBuf) -> Hooks {
        self.marker = Some(path);
        self
    }

    /// How many hooks freeze: `--pre` and the directory's.
    pub(crate) fn freezing(&self) -> usize {
        self.dir.len() + usize::from(self.pre.is_some())
    }

    /// Runs `--pre`, then the directory hooks with `freeze`, in name order; stops at the first
    /// failure, and at a stop. Each hook is recorded in the marker before it starts.
    pub(crate) fn freeze(&self) -> Result<(), HookFailure> {
        if self.freezing() > 0 {
            self.record()?;
        }
        self.began.set(true);
        if let Some(pre) = &self.pre {
            self.stopped(pre)?;
            self.call(pre, Stage::Freeze, Told::FREEZE)?;
        }
        for hook in &self.dir {
            self.stopped(hook)?;
            let before = self.frozen.get();
            self.frozen.set(before + 1);
            if let Err(e) = self.record() {
                self.frozen.set(before);
                return Err(e);
            }
            if let Err(e) = self.call(hook, Stage::Freeze, Told::FREEZE) {
                if !self.started.get() {
                    // It never ran: there is nothing of it to undo.
                    self.frozen.set(before);
                    let _ = self.record();
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// A stop before `next` starts: no further freeze hook runs.
    fn stopped(&self, next: &Hook) -> Result<(), HookFailure> {
        if self.stop.is_cancelled() {
            return Err(HookFailure(format!(
                "interrupted before the {} started: no further freeze hook runs",
                next.describe()
            )));
        }
        Ok(())
    }

    /// Writes the marker: the thaw as it stands now.
    fn record(&self) -> Result<(), HookFailure> {
        let Some(path) = &self.marker else {
            return Ok(());
        };
        let recorded = Recorded {
            post: self.post.as_ref().and_then(Hook::shell_command),
            hooks: self.dir.iter().filter_map(Hook::file_path).collect(),
            began: self.frozen.get(),
            hook_timeout_ms: u64::try_from(self.limit.as_millis()).unwrap_or(u64::MAX),
        };
        marker::write(path, &recorded).map_err(|e| {
            HookFailure(format!(
                "cannot record what is about to be frozen in {} ({e}), so a crash could not \
                 be undone; the next freeze hook was not started (--lock chooses the \
                 directory of the marker too)",
                clean(&path.display().to_string())
            ))
        })
    }

    /// Runs the directory hooks that were frozen with `thaw`, in reverse order, then `--post`;
    /// every one runs even if another fails. `phase` is the outcome the hooks are told. Then
    /// the marker goes: the thaw has run.
    pub(crate) fn thaw(&self, phase: &str, job_id: Option<&str>) -> Result<(), HookFailure> {
        if !self.began.get() {
            return Ok(());
        }
        let told = Told { phase, job_id };
        let mut failures = Vec::new();
        // Hooks that could not even be started: the marker keeps them for `backup thaw`.
        let mut unstarted = Recorded {
            post: None,
            hooks: Vec::new(),
            began: 0,
            hook_timeout_ms: u64::try_from(self.limit.as_millis()).unwrap_or(u64::MAX),
        };
        let frozen = self.dir.get(..self.frozen.get()).unwrap_or(&self.dir);
        let mut left = frozen.len() + usize::from(self.post.is_some());
        for hook in frozen.iter().rev() {
            if let Err(e) = self.thaw_one(hook, left, told) {
                failures.push(e.0);
                if !self.started.get() {
                    unstarted.hooks.extend(hook.file_path());
                }
            }
            left = left.saturating_sub(1);
        }
        if let Some(post) = &self.post
            && let Err(e) = self.thaw_one(post, left, told)
        {
            failures.push(e.0);
            if !self.started.get() {
                unstarted.post = post.shell_command();
            }
        }
        if let Some(path) = &self.marker {
            failures.extend(self.settle_marker(path, unstarted));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HookFailure(failures.join("; ")))
        }
    }

    /// Removes the marker once every thaw hook ran; keeps in it those that could not be started
    /// (processes or memory ran out), so that `backup thaw` can start them later. What could
    /// not be done, as a failure.
    fn settle_marker(&self, path: &Path, mut unstarted: Recorded) -> Option<String> {
        let shown = clean(&path.display().to_string());
        if unstarted.post.is_none() && unstarted.hooks.is_empty() {
            return marker::remove(path).err().map(|e| {
                format!(
                    "the thaw ran, but its marker {shown} could not be removed ({e}): remove \
                     it, or the next run thaws again"
                )
            });
        }
        // Back in freeze order: `backup thaw` thaws in reverse.
        unstarted.hooks.reverse();
        unstarted.began = unstarted.hooks.len();
        Some(match marker::write(path, &unstarted) {
            Ok(()) => format!(
                "the application may still be quiesced: {shown} keeps the thaw hooks that could \
                 not be started; run 'felhom-agentctl backup thaw' (with the same --lock) to \
                 start them"
            ),
            Err(e) => format!(
                "the application may still be quiesced, and the thaw hooks that could not be \
                 started could not be recorded in {shown} ({e}): thaw by hand"
            ),
        })
    }

    /// One thaw hook. Nothing here should panic; should the standard library all the same
    /// (it asserts on what it cannot handle when starting a process), the other thaw hooks
    /// still run.
    fn thaw_one(&self, hook: &Hook, left: usize, told: Told<'_>) -> Result<(), HookFailure> {
        panic::catch_unwind(AssertUnwindSafe(|| {
            self.call(hook, Stage::Thaw { left }, told)
        }))
        .unwrap_or_else(|_| {
            Err(HookFailure(format!(
                "the {} could not be run: the tool failed while starting it",
                hook.describe()
            )))
        })
    }

    fn call(&self, hook: &Hook, stage: Stage, told: Told<'_>) -> Result<(), HookFailure> {
        // Not started until it is: a hook refused below must not read as the last one's start.
        self.started.set(false);
        if !self.quiet {
            say::note(&format!(
                "running {} ({PHASE_ENV}={})",
                hook.describe(),
                told.phase
            ));
        }
        let argument = match stage {
            Stage::Freeze => "freeze",
            Stage::Thaw { .. } => "thaw",
        };
        if let Hook::File(path) = hook {
            hardening::check_hook(path).map_err(|e| HookFailure(format!("{e}: not run")))?;
        }
        let mut command = hook.command(argument);
        told.set_on(&mut command);
        // The token is for the agent alone, and so is where it is kept.
        hardening::scrub(&mut command);
        // Standard output carries this tool's JSON: a hook's output goes to standard error,
        // or nowhere if it cannot be handed over.
        command.stdin(Stdio::null()).stdout(stderr_for_child());
        // Its own process group, so that an overrun stops what the hook started too.
        command.process_group(0);
        let child = spawn(&mut command, stage).map_err(|e| {
            HookFailure(format!("the {} could not be started: {e}", hook.describe()))
        })?;
        self.started.set(true);
        let failed = |what: String| HookFailure(format!("the {} {what}", hook.describe()));
        match self.wait(child, stage) {
            Ok(Ended::Exited(status)) if status.success() => Ok(()),
            Ok(Ended::Exited(status)) => Err(failed(describe_status(status))),
            Ok(Ended::Stopped { why, grace, killed }) => {
                let why = match why {
                    Overrun::Time(limit) if limit == self.limit => {
                        format!("did not finish within --hook-timeout {}", humanize(limit))
                    }
                    Overrun::Time(limit) => format!(
                        "did not finish within {}, its share of the thaw after a stop",
                        humanize(limit)
                    ),
                    Overrun::Interrupted => "was interrupted by a stop".to_string(),
                    Overrun::Suspended(signal) => format!(
                        "was suspended by {signal} (hooks run without the terminal, so one that \
                         reads from it or changes its settings is stopped)"
                    ),
                };
                let kill = match killed {
                    Killed::No => String::new(),
                    Killed::Yes => format!(", then SIGKILL {} s later", grace.as_secs()),
                    Killed::LeftBehind => format!(
                        ", then SIGKILL {} s later; it was still there {} s after that (stuck \
                         in the kernel?) and was left behind",
                        grace.as_secs(),
                        KILL_WAIT.as_secs()
                    ),
                };
                Err(failed(format!(
                    "{why}: its process group was sent SIGTERM{kill}"
                )))
            }
            Err(e) => Err(failed(format!("could not be waited for: {e}"))),
        }
    }

    /// Waits for a hook within its time: `--hook-timeout`; a freeze hook until a stop, a thaw
    /// hook after a stop within its share of the budget.
    fn wait(&self, child: Child, stage: Stage) -> io::Result<Ended> {
        let started = Instant::now();
        let mut limit = self.limit;
        let mut shortened = false;
        let grace = || {
            if self.stop.is_cancelled() {
                GRACE_AFTER_STOP
            } else {
                GRACE
            }
        };
        wait_within(child, grace, |now| {
            if self.stop.is_cancelled() {
                match stage {
                    Stage::Freeze => {
                        // Said at once (the thaw may take a while), unless -q or JSON errors.
                        if !self.quiet {
                            say::note("interrupted: stopping the freeze hook, then thawing");
                        }
                        return Some(Overrun::Interrupted);
                    }
                    Stage::Thaw { left } if !shortened => {
                        shortened = true;
                        let share = self.share(left);
                        limit = limit.min(now.saturating_duration_since(started) + share);
                    }
                    Stage::Thaw { .. } => {}
                }
            }
            (now.saturating_duration_since(started) >= limit).then_some(Overrun::Time(limit))
        })
    }

    /// A thaw hook's share of what is left of the budget after a stop, `left` hooks to go.
    fn share(&self, left: usize) -> Duration {
        let now = Instant::now();
        let end = match self.budget_end.get() {
            Some(end) => end,
            None => {
                let end = now.checked_add(STOP_BUDGET).unwrap_or(now);
                self.budget_end.set(Some(end));
                end
            }
        };
        let each = end.saturating_duration_since(now) / u32::try_from(left.max(1)).unwrap_or(1);
        each.saturating_sub(GRACE_AFTER_STOP + KILL_WAIT)
            .max(LEAST_AFTER_STOP)
    }
}

/// Starts a hook. A thaw hook whose start failed (EAGAIN from `fork` when processes run out,
/// ENOMEM) is tried twice more: it is what unfreezes the application.
fn spawn(command: &mut Command, stage: Stage) -> io::Result<Child> {
    let tries = if stage == Stage::Freeze { 1 } else { 3 };
    let mut result = command.spawn();
    for _ in 1..tries {
        if result.is_ok() {
            break;
        }
        thread::sleep(Duration::from_millis(100));
        result = command.spawn();
    }
    result
}

/// A time limit as the user wrote it, roughly: `90s`, `5m`, `1h30m`, `1.5s`.
fn humanize(limit: Duration) -> String {
    let secs = limit.as_secs();
    if limit.subsec_nanos() != 0 || secs == 0 {
        return format!("{}s", limit.as_secs_f64());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    out
}

/// This tool's standard error for a hook's output, or nothing when it cannot be duplicated
/// (descriptors run out): a hook's output is never a reason not to run it.
fn stderr_for_child() -> Stdio {
    io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_or_else(|_| Stdio::null(), Stdio::from)
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended with {status}"),
    }
}

/// The hooks in `dir`, in byte order of their names: executable regular files (symbolic links
/// followed), skipping hidden files and what `fsfreeze-hook` skips (editor and package-manager
/// leftovers). A directory that does not exist is an error (`NotFound`).
pub(crate) fn scan(dir: &Path) -> io::Result<Found> {
    let entries = fs::read_dir(dir)?;
    let mut names: Vec<OsString> = Vec::new();
    let mut not_executable: Vec<OsString> = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if skipped(&name.to_string_lossy()) {
            continue;
        }
        // Follows symbolic links, as `[ -f "$file" ]` does; a dangling one is skipped.
        let Ok(meta) = fs::metadata(entry.path()) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if meta.permissions().mode() & 0o111 != 0 {
            names.push(name);
        } else {
            not_executable.push(name);
        }
    }
    let paths = |mut names: Vec<OsString>| {
        names.sort();
        names.into_iter().map(|n| dir.join(n)).collect()
    };
    Ok(Found {
        hooks: paths(names),
        not_executable: paths(not_executable),
    })
}

/// What [`scan`] found in a hooks directory.
pub(crate) struct Found {
    /// The hooks, in the order they freeze.
    pub hooks: Vec<PathBuf>,
    /// Regular files that would be hooks but for their execute bits: skipped, with a note.
    pub not_executable: Vec<PathBuf>,
}

/// Names that are not hooks: hidden files (a shell glob skips them too), and `*~`, `*.bak`,
/// `*.orig`, `*.sample`, `*.dpkg-*` and `*.rpm*` (`.rpmnew`, `.rpmsave`, ...).
fn skipped(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || [".bak", ".orig", ".sample"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
        || name.contains(".dpkg-")
        || name.contains(".rpm")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn after_a_stop_each_thaw_hook_gets_a_share_that_keeps_the_thaw_within_the_budget() {
        let hooks = Hooks::load(None, None, None, Duration::from_secs(300), true).unwrap();
        for left in 1..=24u32 {
            let share = hooks.share(left as usize) + GRACE_AFTER_STOP + KILL_WAIT;
            assert!(share <= STOP_BUDGET / left, "{left} hooks left: {share:?}");
        }
        assert_eq!(hooks.share(1000), LEAST_AFTER_STOP, "never nothing");
    }

    #[test]
    fn time_limits_read_as_they_are_written() {
        let cases = [
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(5400), "1h30m"),
            (Duration::from_secs(3601), "1h1s"),
            (Duration::from_secs(45), "45s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(200), "0.2s"),
        ];
        for (limit, text) in cases {
            assert_eq!(humanize(limit), text, "{limit:?}");
        }
    }

    #[test]
    fn skips_what_fsfreeze_hook_skips() {
        for name in [
            "10-db~",
            "10-db.bak",
            "10-db.orig",
            "10-db.sample",
            "10-db.dpkg-old",
            "10-db.dpkg-dist",
            "10-db.rpmnew",
            "10-db.rpmsave",
            "10-db.rpmorig",
            ".hidden",
        ] {
            assert!(skipped(name), "{name} should be skipped");
        }
        for name in ["10-db", "20-fsfreeze.sh", "backup", "rpm-helper", "dpkg"] {
            assert!(!skipped(name), "{name} should run");
        }
    }
}
