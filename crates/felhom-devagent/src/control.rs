//! How the server's threads coordinate: the poll interval, poison-proof locking, the stop
//! signal, and each connection's phase, which `close_idle_connections` reads and changes.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How often blocked connection threads look up to check for shutdown, idle timeouts and
/// `close_idle_connections`: the socket read and write timeout.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// Locks a mutex, shrugging off poisoning: a panicked connection thread must not take the
/// whole test server down with it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The one-way "stop now" switch, which sleepers can wait on.
#[derive(Debug, Default)]
pub(crate) struct StopSignal {
    /// Read without locking on every poll.
    flag: AtomicBool,
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl StopSignal {
    pub(crate) fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        *lock(&self.stopped) = true;
        self.changed.notify_all();
    }

    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` unless the server stops first. True if the whole time passed.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let guard = lock(&self.stopped);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, duration, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        !*guard
    }
}

/// Where a connection is in its life, as `close_idle_connections` needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Handshaking,
    /// Waiting for the first byte of its next request.
    Idle,
    /// Reading or answering a request.
    Busy,
    /// Asked to close while idle; the connection thread has not done it yet.
    Closing,
    /// `close_notify` and FIN sent, or the connection is gone.
    Closed,
}

/// The handle other threads hold on one connection.
#[derive(Debug)]
pub(crate) struct ConnCtl {
    phase: Mutex<Phase>,
    changed: Condvar,
    /// A clone of the connection's socket, to cut it if its thread does not stop in time.
    socket: TcpStream,
}

impl ConnCtl {
    /// A handle on a connection that is starting its handshake over `socket`.
    pub(crate) fn new(socket: &TcpStream) -> std::io::Result<ConnCtl> {
        Ok(ConnCtl {
            phase: Mutex::new(Phase::Handshaking),
            changed: Condvar::new(),
            socket: socket.try_clone()?,
        })
    }

    pub(crate) fn set(&self, phase: Phase) {
        *lock(&self.phase) = phase;
        self.changed.notify_all();
    }

    /// Marks the connection as waiting for a request, unless a close is already under way.
    pub(crate) fn enter_idle(&self) {
        let mut phase = lock(&self.phase);
        if matches!(*phase, Phase::Handshaking | Phase::Busy) {
            *phase = Phase::Idle;
        }
    }

    /// Leaves `Idle` for `Busy` as the next request starts to arrive. False if
    /// `close_idle_connections` got there first: the connection must close instead.
    pub(crate) fn claim_busy(&self) -> bool {
        let mut phase = lock(&self.phase);
        if *phase == Phase::Closing {
            return false;
        }
        *phase = Phase::Busy;
        true
    }

    pub(crate) fn close_requested(&self) -> bool {
        *lock(&self.phase) == Phase::Closing
    }

    /// Asks an idle connection to close. False if it is not idle: it is left alone.
    pub(crate) fn request_close_if_idle(&self) -> bool {
        let mut phase = lock(&self.phase);
        let idle = *phase == Phase::Idle;
        if idle {
            *phase = Phase::Closing;
        }
        idle
    }

    /// Waits until the connection is closed, or `deadline` passes.
    pub(crate) fn wait_closed(&self, deadline: Instant) {
        let guard = lock(&self.phase);
        let timeout = deadline.saturating_duration_since(Instant::now());
        let _ = self
            .changed
            .wait_timeout_while(guard, timeout, |phase| *phase != Phase::Closed);
    }

    /// Shuts the socket down under its thread, which then fails its next read or write.
    pub(crate) fn cut(&self) {
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}
