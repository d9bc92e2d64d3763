//! Signals during `backup run` and `backup wait`: instead of dying with the application still
//! quiesced, the tool cancels the run, which thaws, and then exits with 128 + the signal's
//! number.
//!
//! Every catchable signal whose default action ends the process is watched (the standard ones
//! and the real-time ones), except those that were ignored when the tool started: `nohup`
//! ignores SIGHUP so that a logout does not end the run, and that must stay so. SIGPIPE stays
//! ignored too (Rust ignores it at start, so a closed pipe is an error to handle, not a death).
//! SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL and SIGFPE are faults of the
//! tool itself, which a handler could not safely return from. What SIGKILL leaves frozen the
//! thaw marker (`marker`) lets `backup thaw` undo.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use felhom_agentapi::CancelToken;
use nix::libc::{SIGPWR, SIGSTKFLT};
use nix::sys::signal::Signal;
use signal_hook::consts::{
    SIGABRT, SIGALRM, SIGHUP, SIGINT, SIGIO, SIGPROF, SIGQUIT, SIGSYS, SIGTERM, SIGTRAP, SIGUSR1,
    SIGUSR2, SIGVTALRM, SIGXCPU, SIGXFSZ,
};
use signal_hook::flag;

use crate::exit::Failure;

/// The standard signals whose default action ends the process and that can be caught safely.
const ENDING: [i32; 17] = [
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU,
    SIGXFSZ, SIGIO, SIGPWR, SIGSTKFLT, SIGSYS, SIGTRAP, SIGABRT,
];

/// While it lives, the watched signals cancel `token` instead of ending the process. Only the
/// first one counts: later ones cannot cut the thaw short (SIGKILL still can).
///
/// Each signal's handler only stores its number in an atomic (no I/O, so nothing can fail in
/// it), and a thread looks every [`LOOK`]: a self-pipe, as signal-hook's iterator uses, needs a
/// read and a write that can fail (strace's fault injection failed them), and a signal lost
/// that way would leave the run to SIGKILL.
pub(crate) struct SignalWatch {
    caught: Arc<AtomicI32>,
    arrived: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
}

/// How often the watching thread looks for a signal: the delay a stop can see, at most.
const LOOK: Duration = Duration::from_millis(20);

impl SignalWatch {
    pub(crate) fn start(token: CancelToken) -> std::io::Result<SignalWatch> {
        let arrived = Arc::new(AtomicUsize::new(0));
        for signal in watched(&ignored_at_start()) {
            let number = usize::try_from(signal).unwrap_or(0);
            flag::register_usize(signal, Arc::clone(&arrived), number)?;
        }
        let caught = Arc::new(AtomicI32::new(0));
        let done = Arc::new(AtomicBool::new(false));
        // Not joined: it ends with the process, or within LOOK of the drop.
        thread::Builder::new().name("signals".into()).spawn({
            let (caught, arrived, done) = (caught.clone(), arrived.clone(), done.clone());
            move || {
                while !done.load(Ordering::SeqCst) {
                    let signal = i32::try_from(arrived.load(Ordering::SeqCst)).unwrap_or(0);
                    if signal != 0 {
                        let _ =
                            caught.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
                        token.cancel();
                    }
                    thread::sleep(LOOK);
                }
            }
        })?;
        Ok(SignalWatch {
            caught,
            arrived,
            done,
        })
    }

    /// The first signal caught, if any (or one that came too late to be seen yet).
    pub(crate) fn caught(&self) -> Option<i32> {
        let late = || i32::try_from(self.arrived.load(Ordering::SeqCst)).unwrap_or(0);
        Some(self.caught.load(Ordering::SeqCst))
            .filter(|&s| s != 0)
            .or_else(|| Some(late()).filter(|&s| s != 0))
    }
}

impl Drop for SignalWatch {
    /// Stops the thread's looking; the handlers stay until the process ends, which is soon.
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// The signals to watch: [`ENDING`] and the real-time signals, minus `ignored`.
fn watched(ignored: &[i32]) -> Vec<i32> {
    let realtime = nix::libc::SIGRTMIN()..=nix::libc::SIGRTMAX();
    ENDING
        .into_iter()
        .chain(realtime)
        .filter(|s| !ignored.contains(s))
        .collect()
}

/// The signals this process ignored when it started, from the `SigIgn` mask of
/// `/proc/self/status` (inherited across `exec`: what `nohup` or a unit's `IgnoreSIGPIPE=`
/// set). Nothing where it cannot be read.
fn ignored_at_start() -> Vec<i32> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map_or_else(Vec::new, parse_mask)
}

/// Bit N-1 of the hexadecimal mask is signal N.
fn parse_mask(hex: &str) -> Vec<i32> {
    let mask = u64::from_str_radix(hex.trim(), 16).unwrap_or(0);
    (1..=64).filter(|n| mask & (1u64 << (n - 1)) != 0).collect()
}

/// The signal's name, for messages: `SIGTERM`, `SIGRTMIN+3`.
pub(crate) fn name(signal: i32) -> String {
    let min = nix::libc::SIGRTMIN();
    if (min..=nix::libc::SIGRTMAX()).contains(&signal) {
        return format!("SIGRTMIN+{}", signal - min);
    }
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().into())
}

/// A cancel token that the signals of `signals` trigger, and the watch that does it.
pub(crate) fn watch_signals() -> Result<(CancelToken, SignalWatch), Failure> {
    let token = CancelToken::new();
    let watch = SignalWatch::start(token.clone())
        .map_err(|e| Failure::Internal(format!("cannot watch for signals: {e}")))?;
    Ok((token, watch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sigign_mask_reads_bit_n_minus_1_as_signal_n() {
        // SIGHUP (1) and SIGPIPE (13), as after `nohup` in a Rust program.
        assert_eq!(parse_mask("0000000000001001"), vec![1, 13]);
        assert_eq!(parse_mask("garbage"), Vec::<i32>::new());
    }

    #[test]
    fn an_ignored_signal_is_not_watched_and_the_others_are() {
        let all = watched(&[]);
        for s in [SIGHUP, SIGQUIT, SIGUSR1, SIGXFSZ, nix::libc::SIGRTMAX()] {
            assert!(all.contains(&s), "{s}");
        }
        assert!(!all.contains(&nix::libc::SIGPIPE));
        assert!(!watched(&[SIGHUP]).contains(&SIGHUP));
        assert_eq!(name(SIGQUIT), "SIGQUIT");
        assert_eq!(name(nix::libc::SIGRTMIN() + 2), "SIGRTMIN+2");
    }
}
