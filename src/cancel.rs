//! Cancelling a wait from another thread.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

/// Stops a [`BackupRun`](crate::BackupRun) from another thread, such as a daemon's shutdown
/// handler or a signal handler's thread.
///
/// Clones share one flag: cancel any clone and every run holding one stops at its next step.
/// A run that is waiting between two polls wakes at once; a call to the agent already under way
/// is not cut short (it ends within the client's [timeout](crate::ClientBuilder::timeout)), and
/// neither is a quiesce or thaw step the program itself is running. A cancelled run still thaws
/// what it quiesced before it returns.
///
/// ```
/// use std::thread;
/// use std::time::Duration;
///
/// use felhom_agentapi::CancelToken;
///
/// let token = CancelToken::new();
/// let remote = token.clone();
/// let waiter = thread::spawn(move || remote.wait_timeout(Duration::from_secs(60)));
/// token.cancel();
/// assert!(waiter.join().unwrap(), "the wait ended because of the cancellation");
/// assert!(token.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: Mutex<bool>,
    wake: Condvar,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: every run holding a clone stops at its next step. Cancelling twice is the same
    /// as once; a token cannot be reset.
    pub fn cancel(&self) {
        *self.flag() = true;
        self.inner.wake.notify_all();
    }

    /// Whether [`CancelToken::cancel`] was called on this token or a clone.
    pub fn is_cancelled(&self) -> bool {
        *self.flag()
    }

    /// Blocks until the token is cancelled or `timeout` has passed; returns whether it was
    /// cancelled.
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_until(deadline),
            // So far off that it is never: wait for the cancellation alone.
            None => {
                let mut cancelled = self.flag();
                while !*cancelled {
                    cancelled = self
                        .inner
                        .wake
                        .wait(cancelled)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                true
            }
        }
    }

    /// Blocks until the token is cancelled or `deadline` has come; returns whether it was
    /// cancelled.
    pub(crate) fn wait_until(&self, deadline: Instant) -> bool {
        let mut cancelled = self.flag();
        loop {
            if *cancelled {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            if left.is_zero() {
                return false;
            }
            cancelled = self
                .inner
                .wake
                .wait_timeout(cancelled, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn flag(&self) -> std::sync::MutexGuard<'_, bool> {
        // A bool cannot be left half-written: a poisoned lock still holds a valid flag.
        self.inner
            .cancelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
