//! The quiesce and thaw hooks of `backup run`: `--pre`, `--post` and the executables of
//! `--hooks-dir`, run as a stack.
//!
//! Freezing runs `--pre` (with `sh -c`), then each directory hook with the argument `freeze` in
//! name order, and stops at the first that fails. Thawing runs the directory hooks whose freeze
//! was tried (the failed one included, to undo what it did) with `thaw` in reverse order, then
//! `--post`, and runs every one of them even if one fails. Unlike qemu-ga's `fsfreeze-hook`,
//! which thaws in the same order it froze, a database is thawed before the filesystem under it.

use std::cell::Cell;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

use crate::output::clean;

/// Variables no hook is given: the token is for the agent alone, and so is where it is kept.
const WITHHELD_ENV: [&str; 2] = ["FELHOM_AGENT_TOKEN", "FELHOM_AGENT_TOKEN_FILE"];

/// How long a hook that overran its time limit has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// How often a running hook is checked on: the delay a hook's end can see, at most.
const POLL: Duration = Duration::from_millis(10);

/// What the hooks are told.
pub const PHASE_ENV: &str = "FELHOM_BACKUP_PHASE";
pub const JOB_ID_ENV: &str = "FELHOM_BACKUP_JOB_ID";

/// One hook to run.
#[derive(Debug, Clone)]
enum Hook {
    /// `--pre` / `--post`: a command line for `sh -c`.
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

    fn command(&self, argument: &str) -> Command {
        match self {
            Hook::Shell { command, .. } => {
                let mut c = Command::new("sh");
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
pub struct HookFailure(pub String);

impl std::fmt::Display for HookFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HookFailure {}

/// Every hook of one run.
#[derive(Debug)]
pub struct Hooks {
    pre: Option<Hook>,
    post: Option<Hook>,
    dir: Vec<Hook>,
    /// How many directory hooks were called with `freeze` (the one that failed included).
    frozen: Cell<usize>,
    /// How long each hook may run (`--hook-timeout`).
    limit: Duration,
    quiet: bool,
}

impl Hooks {
    /// Collects the hooks; reads the directory now, so that a bad one is found before anything
    /// is frozen. A directory that does not exist holds no hooks (as with `fsfreeze-hook`).
    pub fn load(
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
                        eprintln!(
                            "felhom-agentctl: skipping {}: not executable (chmod +x to use it \
                             as a hook)",
                            clean(&path.display().to_string())
                        );
                    }
                }
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
        })
    }

    /// How many hooks there are in all.
    pub fn count(&self) -> usize {
        self.dir.len() + usize::from(self.pre.is_some()) + usize::from(self.post.is_some())
    }

    /// Runs `--pre`, then the directory hooks with `freeze`, in name order; stops at the first
    /// failure.
    pub fn freeze(&self) -> Result<(), HookFailure> {
        if let Some(pre) = &self.pre {
            self.call(pre, "freeze", "freeze", None)?;
        }
        for hook in &self.dir {
            self.frozen.set(self.frozen.get() + 1);
            self.call(hook, "freeze", "freeze", None)?;
        }
        Ok(())
    }

    /// Runs the directory hooks that were frozen with `thaw`, in reverse order, then `--post`;
    /// every one runs even if another fails. `phase` is the outcome the hooks are told.
    pub fn thaw(&self, phase: &str, job_id: Option<&str>) -> Result<(), HookFailure> {
        let mut failures = Vec::new();
        for hook in self.dir[..self.frozen.get()].iter().rev() {
            if let Err(e) = self.call(hook, "thaw", phase, job_id) {
                failures.push(e.0);
            }
        }
        if let Some(post) = &self.post
            && let Err(e) = self.call(post, "thaw", phase, job_id)
        {
            failures.push(e.0);
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HookFailure(failures.join("; ")))
        }
    }

    fn call(
        &self,
        hook: &Hook,
        argument: &str,
        phase: &str,
        job_id: Option<&str>,
    ) -> Result<(), HookFailure> {
        if !self.quiet {
            eprintln!(
                "felhom-agentctl: running {} ({PHASE_ENV}={phase})",
                hook.describe()
            );
        }
        let mut command = hook.command(argument);
        command.env(PHASE_ENV, phase);
        match job_id {
            Some(id) => command.env(JOB_ID_ENV, id),
            None => command.env_remove(JOB_ID_ENV),
        };
        for var in WITHHELD_ENV {
            command.env_remove(var);
        }
        // Standard output carries this tool's JSON: a hook's output goes to standard error.
        command.stdin(Stdio::null()).stdout(stderr_for_child()?);
        // Its own process group, so that an overrun stops what the hook started too.
        command.process_group(0);
        let child = command.spawn().map_err(|e| {
            HookFailure(format!("the {} could not be started: {e}", hook.describe()))
        })?;
        let failed = |what: String| HookFailure(format!("the {} {what}", hook.describe()));
        match wait_within(child, self.limit) {
            Ok(Ended::Exited(status)) if status.success() => Ok(()),
            Ok(Ended::Exited(status)) => Err(failed(describe_status(status))),
            Ok(Ended::Stopped { why, killed }) => {
                let why = match why {
                    Overrun::Time => {
                        format!(
                            "did not finish within --hook-timeout {}",
                            humanize(self.limit)
                        )
                    }
                    Overrun::Suspended(signal) => format!(
                        "was suspended by {signal} (hooks run without the terminal, so one that \
                         reads from it or changes its settings is stopped)"
                    ),
                };
                let kill = if killed {
                    format!(", then SIGKILL {} s later", GRACE.as_secs())
                } else {
                    String::new()
                };
                Err(failed(format!(
                    "{why}: its process group was sent SIGTERM{kill}"
                )))
            }
            Err(e) => Err(failed(format!("could not be waited for: {e}"))),
        }
    }
}

/// How a hook's process ended.
enum Ended {
    /// On its own, in time.
    Exited(ExitStatus),
    /// Stopped by this tool, for `why`: SIGTERM (with SIGCONT), then SIGKILL for whatever is
    /// left of its group; `killed` if the hook itself had not ended by then.
    Stopped { why: Overrun, killed: bool },
}

/// Why a hook was stopped.
enum Overrun {
    /// It ran past its time limit.
    Time,
    /// A signal suspended it (SIGTTIN, SIGTTOU from the terminal; SIGTSTP), so it cannot
    /// finish.
    Suspended(Signal),
}

/// What the hook's process is doing, seen without reaping it.
enum Seen {
    Running,
    Ended,
    Suspended(Signal),
}

/// Looks at the hook without reaping it (`WNOWAIT`): while it is not reaped, its pid, and so
/// its process group id, cannot be reused, and signalling the group cannot hit a stranger.
fn look(pid: Pid) -> io::Result<Seen> {
    let flags =
        WaitPidFlag::WEXITED | WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    match waitid(Id::Pid(pid), flags).map_err(io::Error::from)? {
        WaitStatus::Exited(..) | WaitStatus::Signaled(..) => Ok(Seen::Ended),
        WaitStatus::Stopped(_, signal) => Ok(Seen::Suspended(signal)),
        _ => Ok(Seen::Running),
    }
}

/// Waits for `child` (the leader of its own process group) for at most `limit`, then stops
/// the group: SIGTERM and SIGCONT (a suspended hook must run to act on SIGTERM), then, after
/// [`GRACE`] or as soon as the leader has ended, SIGKILL for every member left, since a member
/// that ignores SIGTERM outlives its leader. A hook that leaves its group (`setsid`) is out of
/// reach.
fn wait_within(mut child: Child, limit: Duration) -> io::Result<Ended> {
    // A child's pid fits: the kernel's pid_max is below 2^22.
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    // None: a limit too far ahead to represent, which is no limit.
    let deadline = Instant::now().checked_add(limit);
    let why = loop {
        match look(group)? {
            Seen::Ended => return child.wait().map(Ended::Exited),
            Seen::Suspended(signal) => break Overrun::Suspended(signal),
            Seen::Running => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Overrun::Time;
        }
        thread::sleep(POLL);
    };
    // ESRCH only: the group is already gone.
    let _ = killpg(group, Signal::SIGTERM);
    let _ = killpg(group, Signal::SIGCONT);
    let grace = Instant::now() + GRACE;
    let mut killed = true;
    while Instant::now() < grace {
        if matches!(look(group)?, Seen::Ended) {
            killed = false;
            break;
        }
        thread::sleep(POLL);
    }
    let _ = killpg(group, Signal::SIGKILL);
    child.wait()?;
    Ok(Ended::Stopped { why, killed })
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

fn stderr_for_child() -> Result<Stdio, HookFailure> {
    io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .map_err(|e| HookFailure(format!("cannot pass standard error to a hook: {e}")))
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
pub fn scan(dir: &Path) -> io::Result<Found> {
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
pub struct Found {
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

    use super::{humanize, skipped};

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
