//! The backup exit statuses and hooks, as `--help` documents them.

use std::process::{Command, Stdio};

use super::{BIN, run};

#[test]
fn help_documents_the_backup_exit_statuses_and_hooks() {
    let mut command = Command::new(BIN);
    command
        .arg("--help")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let top = run(command).status(0).stdout;
    for needle in [
        "7  'backup run': busy",
        "9  'backup run'",
        "10 'backup run'",
        "129, 130, 143",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let mut command = Command::new(BIN);
    command
        .args(["backup", "run", "--help"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run_help = run(command).status(0).stdout;
    for needle in [
        "FELHOM_BACKUP_PHASE",
        "FELHOM_BACKUP_JOB_ID",
        "--thaw-after",
        "--if-due",
        "--lock",
    ] {
        assert!(
            run_help.contains(needle),
            "backup run --help lacks {needle:?}"
        );
    }
    let wait_help = Command::new(BIN)
        .args(["backup", "wait", "--help"])
        .output()
        .unwrap();
    assert!(wait_help.status.success());
    assert!(
        String::from_utf8(wait_help.stdout)
            .unwrap()
            .contains("--give-up-after")
    );
    let short = Command::new(BIN).arg("-h").output().unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(
        short.contains("7 busy, 8 token rejected, 9 gave up waiting, 10 hook failed"),
        "{short}"
    );
}
