//! `--hooks-dir`: which hooks run, in what order, and what a bad directory does.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::{BackupTest, SHORT_JOB};
use crate::harness::calls;

#[test]
fn hooks_dir_freezes_in_name_order_thaws_in_reverse_and_skips_leftovers() {
    let t = BackupTest::new(SHORT_JOB);
    let log = t.log();
    let body = format!(
        r#"echo "$(basename "$0") $1 $FELHOM_BACKUP_PHASE ${{FELHOM_BACKUP_JOB_ID:-none}}" >> '{log}'"#
    );
    for name in ["20-fs", "10-db"] {
        t.sandbox.script("hooks.d", name, &body, 0o755);
    }
    for name in [
        "15-x~",
        "15-x.bak",
        "15-x.orig",
        "15-x.sample",
        "15-x.dpkg-old",
        "15-x.rpmnew",
        "15-x.rpmsave",
        ".15-hidden",
    ] {
        t.sandbox.script("hooks.d", name, &body, 0o755);
    }
    t.sandbox
        .script("hooks.d", "30-not-executable", &body, 0o644);
    let dir = t.sandbox.path("hooks.d");
    fs::create_dir(dir.join("35-a-directory")).unwrap();
    fs::set_permissions(
        dir.join("35-a-directory"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.join("10-db"), dir.join("40-link")).unwrap();
    std::os::unix::fs::symlink(dir.join("missing"), dir.join("45-dangling")).unwrap();

    let ran = t.backup_run().hooks_dir(&dir).pre_post().exits(0);
    assert!(
        ran.stderr
            .contains("30-not-executable: not executable (chmod +x"),
        "{ran:#?}"
    );
    assert_eq!(
        t.logged(),
        [
            "pre freeze none",
            "10-db freeze freeze none",
            "20-fs freeze freeze none",
            "40-link freeze freeze none",
            "40-link thaw done job-1",
            "20-fs thaw done job-1",
            "10-db thaw done job-1",
            "post done job-1",
        ]
    );
}

/// A typo in `--hooks-dir` would back up without quiescing and succeed: it is refused first.
#[test]
fn a_hooks_dir_that_does_not_exist_is_refused_before_anything_runs() {
    let t = BackupTest::new(SHORT_JOB);
    let ran = t
        .backup_run()
        .hooks_dir(&t.sandbox.path("backup-hooks.d-typo"))
        .pre_post()
        .exits(2);
    assert!(ran.stderr.contains("no such directory"), "{ran:#?}");
    assert!(t.logged().is_empty(), "no hook ran");
    assert_eq!(t.posts(), 0);
}

#[test]
fn a_failed_directory_hook_stops_the_freeze_and_thaws_what_was_frozen() {
    let t = BackupTest::new(SHORT_JOB);
    let log = t.log();
    let body = format!(r#"echo "$(basename "$0") $1 $FELHOM_BACKUP_PHASE" >> '{log}'"#);
    t.sandbox.script("hooks.d", "10-db", &body, 0o755);
    t.sandbox.script(
        "hooks.d",
        "20-fs",
        &format!("{body}\n[ \"$1\" = freeze ] && exit 1\nexit 0"),
        0o755,
    );
    t.sandbox.script("hooks.d", "30-never", &body, 0o755);
    let ran = t
        .backup_run()
        .hooks_dir(&t.sandbox.path("hooks.d"))
        .exits(10);
    assert_eq!(
        t.logged(),
        [
            "10-db freeze freeze",
            "20-fs freeze freeze",
            "20-fs thaw error",
            "10-db thaw error",
        ]
    );
    assert_eq!(t.posts(), 0);
    assert!(ran.stderr.contains("20-fs"), "{ran:#?}");
}

#[test]
fn bad_hook_settings_are_usage_errors_before_anything_runs() {
    let t = BackupTest::new(SHORT_JOB);
    let not_a_dir = t.sandbox.path("file");
    fs::write(&not_a_dir, "").unwrap();
    let ran = t.backup_run().hooks_dir(&not_a_dir).exits(2);
    assert!(ran.stderr.contains("--hooks-dir"), "{ran:#?}");
    assert_eq!(calls(&t.agent), Vec::<String>::new());
}
