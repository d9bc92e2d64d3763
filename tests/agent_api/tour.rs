//! The README's first command, `cargo run --example tour`: it runs to its end and shows the
//! main job, an app-consistent backup with its thaw, and a cancelled run.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::output_within;

/// The most building the tour may take (only the example itself, when the tests were just
/// built): a guard against a hang, not a measure of speed.
const BUILD_LIMIT: Duration = Duration::from_secs(600);
/// The most the tour may take to run (it takes about a second).
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The tour's binary, as `cargo build --example tour` leaves it. The build runs every time (a
/// quick no-op when the binary is fresh), so the test never runs a tour older than
/// `examples/tour.rs`; it asks for the profile and features this test was built with, so that
/// the build is that no-op.
fn tour_bin() -> PathBuf {
    let mut build = Command::new(env!("CARGO"));
    build
        .args([
            "build",
            "--quiet",
            "--example",
            "tour",
            "--message-format=json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // Without what cargo sets for a test run: build scripts that watch those variables would
    // otherwise see them change between this build and the next `cargo test`, and every run
    // would build their crates again.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = ["CARGO_PKG_", "CARGO_BIN_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&&*name);
        if set_for_tests {
            build.env_remove(&*name);
        }
    }
    // The test binary is `<target>/<profile dir>/deps/agent_api-<hash>`.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(profile) => {
            build.args(["--profile", profile]);
        }
    }
    if cfg!(feature = "durations") {
        build.args(["--features", "durations"]);
    }
    let out = output_within(&mut build, BUILD_LIMIT, "cargo build --example tour");
    assert!(
        out.status.success(),
        "cargo build --example tour failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // cargo names the executable it built or found fresh.
    let messages = String::from_utf8_lossy(&out.stdout);
    let tour = messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "tour");
    let executable = tour.as_ref().and_then(|m| m["executable"].as_str());
    PathBuf::from(
        executable.unwrap_or_else(|| panic!("cargo named no tour executable:\n{messages}")),
    )
}

#[test]
fn the_tour_shows_backup_run_with_its_thaw_and_a_cancelled_run() {
    let out = output_within(&mut Command::new(tour_bin()), RUN_LIMIT, "the tour example");
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
