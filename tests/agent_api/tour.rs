//! The README's first command, `cargo run --example tour`: it runs to its end and shows the
//! main job, an app-consistent backup with its thaw, and a cancelled run.

use std::path::PathBuf;
use std::process::Command;

/// The tour's binary, which `cargo test` builds with the package's tests (built here only if a
/// narrower run, such as `--test agent_api`, left it out).
fn tour_bin() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let bin = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("tour");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--example", "tour"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example tour");
        assert!(status.success(), "cargo build --example tour failed");
    }
    bin
}

#[test]
fn the_tour_shows_backup_run_with_its_thaw_and_a_cancelled_run() {
    let out = Command::new(tour_bin()).output().expect("run the tour");
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
