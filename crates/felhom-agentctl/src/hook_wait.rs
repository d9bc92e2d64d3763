//! Waiting for a hook's process within its time, and stopping its process group when it must
//! stop: the part of `hooks` that talks to the kernel (`waitid`, `killpg`). No wait here is
//! unbounded.

use std::io;
use std::process::{Child, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// How long a hook may take to go after SIGKILL before it is left behind: one that does not is
/// stuck in the kernel, and waiting for it could be forever.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(2);
/// How often a running hook is checked on: the delay a hook's end can see, at most.
const POLL: Duration = Duration::from_millis(10);

/// How a hook's process ended.
pub(crate) enum Ended {
    /// On its own, in time.
    Exited(ExitStatus),
    /// Stopped by this tool, for `why`: SIGTERM (with SIGCONT), then after `grace` SIGKILL for
    /// whatever is left of its group.
    Stopped {
        why: Overrun,
        grace: Duration,
        killed: Killed,
    },
}

/// Whether the hook itself needed SIGKILL, and went.
pub(crate) enum Killed {
    No,
    Yes,
    /// Still there [`KILL_WAIT`] after SIGKILL: not waited for any longer.
    LeftBehind,
}

/// Why a hook was stopped.
pub(crate) enum Overrun {
    /// It ran past its time limit.
    Time(Duration),
    /// A freeze hook, at a stop.
    Interrupted,
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
/// An interrupted call (EINTR) is made again.
fn look(pid: Pid) -> io::Result<Seen> {
    let flags =
        WaitPidFlag::WEXITED | WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    let status = loop {
        match waitid(Id::Pid(pid), flags) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(io::Error::from)?,
        }
    };
    match status {
        WaitStatus::Exited(..) | WaitStatus::Signaled(..) => Ok(Seen::Ended),
        WaitStatus::Stopped(_, signal) => Ok(Seen::Suspended(signal)),
        _ => Ok(Seen::Running),
    }
}

/// Waits for `child` (the leader of its own process group) until `overrun` says why it must
/// stop, then stops the group: SIGTERM and SIGCONT (a suspended hook must run to act on
/// SIGTERM), then, after `grace()` (the hooks' `GRACE`, or `GRACE_AFTER_STOP` after a stop)
/// or as soon as the leader has ended, SIGKILL for every member left, since a member that ignores SIGTERM
/// outlives its leader. A leader still there [`KILL_WAIT`] after SIGKILL is left behind, not
/// waited for. A hook that leaves its group (`setsid`) is out of reach.
pub(crate) fn wait_within(
    child: Child,
    grace: impl Fn() -> Duration,
    overrun: impl FnMut(Instant) -> Option<Overrun>,
) -> io::Result<Ended> {
    // A child's pid fits: the kernel's pid_max is below 2^22.
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    watch(child, group, grace, overrun).inspect_err(|_| {
        // A hook that cannot be watched cannot be left running: a freeze hook could go on
        // freezing after the thaw. The group id is still its own: the hook is not reaped.
        let _ = killpg(group, Signal::SIGKILL);
    })
}

/// [`wait_within`], but for the kill on an error.
fn watch(
    mut child: Child,
    group: Pid,
    grace: impl Fn() -> Duration,
    mut overrun: impl FnMut(Instant) -> Option<Overrun>,
) -> io::Result<Ended> {
    let why = loop {
        match look(group)? {
            Seen::Ended => return child.wait().map(Ended::Exited),
            Seen::Suspended(signal) => break Overrun::Suspended(signal),
            Seen::Running => {}
        }
        if let Some(why) = overrun(Instant::now()) {
            break why;
        }
        thread::sleep(POLL);
    };
    // ESRCH only: the group is already gone.
    let _ = killpg(group, Signal::SIGTERM);
    let _ = killpg(group, Signal::SIGCONT);
    let grace = grace();
    let killed = if gone_within(group, grace)? {
        Killed::No
    } else {
        Killed::Yes
    };
    let _ = killpg(group, Signal::SIGKILL);
    if !gone_within(group, KILL_WAIT)? {
        // Dropped unreaped: a zombie until this tool ends, which costs nothing.
        return Ok(Ended::Stopped {
            why,
            grace,
            killed: Killed::LeftBehind,
        });
    }
    child.wait()?;
    Ok(Ended::Stopped { why, grace, killed })
}

/// Whether the hook (the group's leader) ends within `limit`.
fn gone_within(group: Pid, limit: Duration) -> io::Result<bool> {
    let end = Instant::now() + limit;
    loop {
        if matches!(look(group)?, Seen::Ended) {
            return Ok(true);
        }
        if Instant::now() >= end {
            return Ok(false);
        }
        thread::sleep(POLL);
    }
}
