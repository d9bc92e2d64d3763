//! The backup exit statuses and hooks, as `--help` documents them.

use crate::harness::Invocation;

/// What `args` prints on standard output, having succeeded.
fn help(args: &[&str]) -> String {
    Invocation::bare().args(args).run().status(0).stdout
}

#[test]
fn help_documents_the_backup_exit_statuses_and_hooks() {
    let top = help(&["--help"]);
    for needle in [
        "7  'backup run': busy",
        "9  'backup run'",
        "10 'backup run'",
        "129, 130, 143",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let run_help = help(&["backup", "run", "--help"]);
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
    assert!(help(&["backup", "wait", "--help"]).contains("--give-up-after"));
    let short = help(&["-h"]);
    assert!(
        short.contains("7 busy, 8 token rejected, 9 gave up waiting, 10 hook failed"),
        "{short}"
    );
}
