//! Busy: a job already running, a 409, and the lock, held or planted.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use felhom_devagent::{DevAgent, Fault};
use serde_json::{Value, json};

use super::{BackupTest, ENDLESS_JOB, SHORT_JOB};
use crate::common::client;
use crate::harness::{calls, mkfifo};

#[test]
fn a_running_job_is_busy_exit_7_and_no_hook_runs() {
    let t = BackupTest::new(ENDLESS_JOB);
    client(&t.agent).start_backup().unwrap();
    let ran = t.backup_run().pre_post().exits(7);
    assert_eq!(t.logged(), Vec::<String>::new(), "no hook ran");
    assert_eq!(t.posts(), 1, "only the job that was already running");
    let v = ran.json();
    assert_eq!(
        (&v["job_id"], &v["stopped"]),
        (&json!("job-1"), &json!("busy"))
    );
    assert_eq!(v["thaw"], Value::Null);
}

#[test]
fn a_409_after_the_freeze_is_busy_and_thawed() {
    let t = BackupTest::of(DevAgent::start().unwrap());
    t.agent.set_fault_on("/backup", Fault::Status(409));
    t.backup_run().pre_post().exits(7);
    assert_eq!(t.logged(), ["pre freeze none", "post error none"]);
}

#[test]
fn a_held_lock_exits_7_at_once_before_any_hook_or_call() {
    let t = BackupTest::new(SHORT_JOB);
    let held = t.sandbox.private_lock();
    held.try_lock().unwrap();
    let ran = t.backup_run().pre_post().exits(7);
    assert!(ran.stderr.contains("holds the lock"), "{ran:#?}");
    assert_eq!(t.logged(), Vec::<String>::new());
    assert_eq!(calls(&t.agent), Vec::<String>::new(), "nothing was asked");
    drop(held);
    t.backup_run().exits(0);
}

#[test]
fn a_second_run_exits_7_while_the_first_holds_the_lock() {
    let t = BackupTest::new(ENDLESS_JOB);
    let mut first = t.backup_run().pre_post().spawn();
    first.wait_for_stderr("backup job job-1 started");

    let ran = t.backup_run().pre_post().exits(7);
    assert!(ran.stderr.contains("holds the lock"), "{ran:#?}");
    assert_eq!(t.logged(), ["pre freeze none"], "the second ran no hook");

    first.signal("TERM");
    first.finish().status(143);
    assert_eq!(t.logged(), ["pre freeze none", "post interrupted job-1"]);
}

/// A lock file someone else created in a shared directory could be held to stop every run
/// as "busy" (exit 7, a success for the unit): it is refused, exit 2, before any hook.
#[test]
fn a_lock_file_another_user_owns_is_refused_not_taken_for_busy() {
    let t = BackupTest::new(SHORT_JOB);
    drop(t.sandbox.private_lock());
    // Owned by this user: taken as usual.
    t.backup_run().pre_post().exits(0);
    // Owned by nobody (65534), where this test may give files away (as root, as in CI).
    match std::os::unix::fs::chown(t.sandbox.lock(), Some(65534), Some(65534)) {
        Ok(()) => {
            let ran = t.backup_run().pre_post().exits(2);
            assert!(ran.stderr.contains("belongs to uid 65534"), "{ran:#?}");
            assert_eq!(
                t.logged(),
                ["pre freeze none", "post done job-1"],
                "no hook ran the second time"
            );
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}"),
    }
}

/// `flock` needs only a read-only descriptor: a lock file others can open, they can hold.
/// And a FIFO planted at the path must not block the tool in `open`.
#[test]
fn a_lock_file_others_can_open_or_that_is_no_regular_file_is_refused() {
    let t = BackupTest::new(SHORT_JOB);
    // Made by the tool itself: private.
    t.backup_run().exits(0);
    let mode = fs::metadata(t.sandbox.lock()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the tool made its lock file {mode:o}");

    fs::set_permissions(t.sandbox.lock(), fs::Permissions::from_mode(0o644)).unwrap();
    let ran = t.backup_run().exits(2);
    assert!(
        ran.stderr.contains("other users can open it (mode 0644)"),
        "{ran:#?}"
    );

    fs::remove_file(t.sandbox.lock()).unwrap();
    mkfifo(&t.sandbox.lock());
    let ran = t.backup_run().exits(2);
    assert!(ran.stderr.contains("not a regular file"), "{ran:#?}");
    assert_eq!(t.posts(), 1, "only the first run backed up");
}
