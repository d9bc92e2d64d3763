//! SIGINT, SIGTERM and SIGHUP during `backup run` and `backup wait`: instead of dying with the
//! application still quiesced, the tool cancels the run, which thaws, and then exits with
//! 128 + the signal's number.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::{self, JoinHandle};

use felhom_agentapi::CancelToken;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// While it lives, the three signals cancel `token` instead of ending the process. Only the
/// first one counts: later ones cannot cut the thaw short (SIGKILL still can).
pub struct SignalWatch {
    caught: Arc<AtomicI32>,
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

impl SignalWatch {
    pub fn start(token: CancelToken) -> std::io::Result<SignalWatch> {
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let handle = signals.handle();
        let caught = Arc::new(AtomicI32::new(0));
        let thread = thread::Builder::new().name("signals".into()).spawn({
            let caught = Arc::clone(&caught);
            move || {
                for signal in signals.forever() {
                    let _ = caught.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                    token.cancel();
                }
            }
        })?;
        Ok(SignalWatch {
            caught,
            handle,
            thread: Some(thread),
        })
    }

    /// The first signal caught, if any.
    pub fn caught(&self) -> Option<i32> {
        Some(self.caught.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The signal's name, for messages.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}
