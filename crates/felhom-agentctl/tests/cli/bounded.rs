//! Waiting for children with a bound: every child, line and pipe a test waits for fails the
//! test past [`CHILD_LIMIT`], with what was read so far, rather than hanging the suite. A
//! child whose test panics is killed ([`KillOnDrop`]), with its process group if it leads one.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long any child, line, pipe or file is waited for before the test fails.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// How long a killed child is waited for (it is reaped, unless it is stuck in the kernel).
const REAP_LIMIT: Duration = Duration::from_secs(10);

/// `command` as a line, to name it in a message (its environment, which may hold a token, left
/// out).
pub fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A child that is killed ([`kill`]) when dropped, unless it has been waited for: a test that
/// panics leaves nothing running (say, with hooks frozen).
pub struct KillOnDrop(pub Child);

impl Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill(&mut self.0);
    }
}

/// Kills `child` if it is still running, with its process group if it leads one of its own
/// (`strace` and the tool it traces; a tool started with `process_group(0)` and its hooks), and
/// reaps it, waiting at most [`REAP_LIMIT`]. A child already waited for is left alone: its pid
/// may be another process's by now.
pub fn kill(child: &mut Child) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    // Not reaped yet, so the pid (and the group it names) is still the child's.
    if leads_its_group(child.id()) {
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.kill();
    let deadline = Instant::now() + REAP_LIMIT;
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` leads its process group (`/proc/PID/stat`: pid (comm) state ppid pgrp).
fn leads_its_group(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let pgrp = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(2))
        .and_then(|g| g.parse::<u32>().ok());
    pgrp == Some(pid)
}

/// Waits up to `limit` for `child` to end. Past it, kills the child ([`kill`]) and returns
/// `None`, for the caller to panic naming what hung.
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            kill(child);
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A child's output pipe, read line by line on a thread of its own, so that every wait on it
/// has a deadline: a pipe stays open while any process holds its write end (a hook the tool
/// left running, stuck in the kernel), and a plain read would wait for it without end.
pub struct Pipe {
    lines: mpsc::Receiver<Vec<u8>>,
    /// Everything read so far.
    read: Vec<u8>,
    closed: bool,
}

impl Pipe {
    /// Starts reading `from`; `None` (a pipe the test took or never had) reads as closed and
    /// empty.
    pub fn new(from: Option<impl Read + Send + 'static>) -> Pipe {
        let (tx, lines) = mpsc::channel();
        if let Some(from) = from {
            thread::spawn(move || {
                let mut from = BufReader::new(from);
                loop {
                    let mut line = Vec::new();
                    match from.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if tx.send(line).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        Pipe {
            lines,
            read: Vec::new(),
            closed: false,
        }
    }

    /// The next line (without its line end, lossily decoded), waiting until `deadline`; `None`
    /// when the pipe is closed ([`Pipe::is_closed`]) or the deadline has passed.
    pub fn next_line(&mut self, deadline: Instant) -> Option<String> {
        if self.closed {
            return None;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.read.extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                Some(text.strip_suffix('\r').unwrap_or(text).to_string())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.closed = true;
                None
            }
            Err(mpsc::RecvTimeoutError::Timeout) => None,
        }
    }

    /// Reads until every writer has closed the pipe, or `deadline`; whether it was closed.
    pub fn read_to_end(&mut self, deadline: Instant) -> bool {
        while self.next_line(deadline).is_some() {}
        self.closed
    }

    /// Takes what has already arrived, without waiting.
    pub fn drain(&mut self) {
        self.read_to_end(Instant::now());
    }

    /// Whether every writer has closed the pipe (as far as it has been read).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// What was read so far, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.read).into_owned()
    }

    /// What was read, as bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.read
    }
}
