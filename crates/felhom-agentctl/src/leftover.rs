//! What a `backup run` that never reached its thaw left frozen (see `marker`): thawed by
//! `backup thaw`, which the unit runs as `ExecStopPost=`, and by every `backup run` before it
//! asks the agent anything.

use std::path::Path;

use felhom_agentapi::CancelToken;

use crate::args::{BackupThawArgs, Cli, ErrorFormat};
use crate::exit::{self, Failure};
use crate::hooks::Hooks;
use crate::lock::{self, LockError};
use crate::marker;
use crate::output::{Mode, clean};
use crate::report::{self, Refusal};
use crate::say;
use crate::signals;

/// `backup thaw`: returns the exit status.
pub(crate) fn main(cli: &Cli, args: &BackupThawArgs) -> u8 {
    let format = cli.output.error_format;
    let quiet = cli.output.quiet || format == ErrorFormat::Json;
    let lock_path = match &args.lock {
        Some(path) => path.clone(),
        None => match crate::connect::settings(cli)
            // Normalized as `backup run`'s client has it: the same lock, the same marker.
            .and_then(|s| lock::default_path(&s.normalized_endpoint()?))
        {
            Ok(path) => path,
            Err(failure) => {
                return report::report_failure(&failure, Mode::Json { pretty: false }, format);
            }
        },
    };
    // Signals are caught and change nothing: the thaw runs on its budget already.
    let (_token, _watch) = match signals::watch_signals() {
        Ok(parts) => parts,
        Err(failure) => {
            return report::report_failure(&failure, Mode::Json { pretty: false }, format);
        }
    };
    let _lock = match take_lock(&lock_path, format, "it thaws what it froze itself") {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    match thaw(&lock_path, quiet) {
        Ok(false) => {
            // The unit runs this after every run: silence, unless asked.
            if !quiet && cli.output.verbose > 0 {
                say::note(&format!(
                    "nothing to thaw: no marker {}",
                    shown(&marker::path_for(&lock_path))
                ));
            }
            exit::SUCCESS
        }
        Ok(true) => exit::SUCCESS,
        Err(refusal) => refusal.report(format),
    }
}

/// Takes the lock at `path`, or reports why not (`held`: what the holder does about it) and
/// returns the exit status.
pub(crate) fn take_lock(path: &Path, format: ErrorFormat, held: &str) -> Result<std::fs::File, u8> {
    match lock::acquire(path) {
        Ok(file) => Ok(file),
        Err(LockError::Held) => Err(Refusal {
            kind: "lock_held",
            text: format!(
                "another 'backup run' holds the lock {}: it is still running, so nothing was \
                 done ({held})",
                shown(path)
            ),
            code: exit::BUSY,
        }
        .report(format)),
        Err(LockError::Io(e)) => Err(report::report_failure(
            &Failure::Usage(format!(
                "cannot take the lock {}: {e}; choose another file with --lock",
                shown(path)
            )),
            Mode::Json { pretty: false },
            format,
        )),
    }
}

/// Runs the thaw the marker next to `lock_path` records, once, and removes the marker; the
/// lock must be held. `Ok(false)`: there was none.
///
/// It runs as after a stop, within the thaw budget (`hooks::STOP_BUDGET`): it is the
/// `ExecStopPost=` of a unit that was stopped or whose run was killed, and systemd's
/// `TimeoutStopSec=` bounds it too.
pub(crate) fn thaw(lock_path: &Path, quiet: bool) -> Result<bool, Refusal> {
    let path = marker::path_for(lock_path);
    let recorded = match marker::read(&path) {
        Ok(None) => return Ok(false),
        Ok(Some(recorded)) => recorded,
        Err(e) => {
            return Err(Refusal {
                kind: "thaw_marker",
                text: format!(
                    "cannot read the thaw marker {} ({e}): the application may still be \
                     frozen by an earlier run; thaw it by hand, then remove the file",
                    shown(&path)
                ),
                code: exit::HOOK_FAILED,
            });
        }
    };
    say::note(&format!(
        "an earlier 'backup run' ended without thawing (killed or crashed): running the thaw \
         hooks {} records, once",
        shown(&path)
    ));
    let stopped = CancelToken::new();
    stopped.cancel();
    let hooks = Hooks::recorded(&recorded, &path, quiet, stopped);
    match hooks.thaw("interrupted", None) {
        Ok(()) => {
            say::note("thawed what the earlier run had frozen");
            Ok(true)
        }
        Err(e) => Err(Refusal {
            kind: "hook_failed",
            text: format!(
                "thawing what an earlier run had frozen failed: {}; the application may still \
                 be frozen",
                clean(&e.0)
            ),
            code: exit::HOOK_FAILED,
        }),
    }
}

fn shown(path: &Path) -> String {
    clean(&path.display().to_string())
}
