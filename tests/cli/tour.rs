//! The README's first command, `cargo run --features devagent --example tour`: it runs to its
//! end and shows the main job, an app-consistent backup with its thaw, and a cancelled run.

use std::process::Command;

use crate::harness::example;

#[test]
fn the_tour_shows_backup_run_with_its_thaw_and_a_cancelled_run() {
    let out = Command::new(example("tour"))
        .output()
        .expect("run the tour");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "backup_run(): quiesce, POST /backup, poll GET /backup/status, thaw",
        "  thaw (done): let the writes go again",
        "backup_run() cancelled midway: it thaws, the job goes on",
        "  thaw (cancelled)",
        "tour complete: every call behaved as expected",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in:\n{stdout}"
        );
    }
    // The quiesce comes before the job, the thaw after it.
    let at = |needle: &str| stdout.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("  quiesce: ") < at(" started\n") && at(" started\n") < at("  thaw (done)"));
}
