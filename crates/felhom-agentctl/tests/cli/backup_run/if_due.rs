//! `backup run --if-due`: a backup when one is due, nothing when not.

use std::time::Duration;

use super::BackupTest;

#[test]
fn if_due_runs_when_a_backup_is_due_and_does_nothing_when_not() {
    let t = BackupTest::new(Duration::ZERO);
    let ran = t.backup_run().arg("--if-due").pre_post().exits(0);
    assert_eq!(ran.json()["phase"], "done");
    assert_eq!(t.logged(), ["pre freeze none", "post done job-1"]);

    // The job that just ended makes the next backup not due.
    let ran = t.backup_run().arg("--if-due").pre_post().exits(0);
    let v = ran.json();
    assert_eq!(v["due"], false);
    assert!(v["reason"].as_str().unwrap().contains("job-1"), "{v}");
    assert_eq!(t.logged().len(), 2, "no hook ran the second time");
    assert_eq!(t.posts(), 1, "no second backup");
}
