//! The report's Markdown for fixed figures, against `report.golden.md`: the section the bench
//! writes into BENCHMARKS.md stays byte for byte what it was unless a change means it to.
//!
//! When a change to the report is meant, write the new golden file with
//! `FELHOM_BENCH_BLESS=1 cargo test -p felhom-bench --test report` and review its diff.

#[allow(
    dead_code,
    reason = "the clocks are for the bench; the report reads Figures"
)]
#[path = "../benches/agentapi/stats.rs"]
mod stats;

#[path = "../benches/agentapi/report.rs"]
mod report;

#[path = "../benches/agentapi/once.rs"]
mod once;

#[path = "../benches/agentapi/suite.rs"]
mod suite;

use std::fs;
use std::path::Path;

use once::{Machine, Once, Syscalls};
use stats::Figures;

/// Every figure the report reads by a fixed name.
const KEYS: [&str; 23] = [
    "check.cli.rss_kib",
    "check.cli.wall_ms",
    "check.curl.wall_ms",
    "check.ratio.rss",
    "check.ratio.wall_paired",
    "cli.rss_kib",
    "cli.wall_ms",
    "curl.rss_kib",
    "curl.wall_ms",
    "fresh.cpu_us",
    "fresh.p99_us",
    "fresh.wall_us",
    "ka1.agent_cpu_us",
    "ka1.cpu_us",
    "ka1.p50_us",
    "ka1.p99_us",
    "ka1.wall_us",
    "kan.calls_per_s",
    "kan.cpu_us",
    "kan.wall_us",
    "ratio.rss",
    "ratio.wall_of_medians",
    "ratio.wall_paired",
];

/// `repetitions` values of every figure, varied enough that medians and ranges differ; the
/// pinned rows only `with_placed`, the `check` rows only `with_check`.
fn figures(with_placed: bool, with_check: bool, repetitions: usize) -> Figures {
    let mut keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
    if with_placed {
        for placement in [
            "same",
            "cross",
            "floor_same",
            "floorx_same",
            "floor_cross",
            "floorx_cross",
        ] {
            for measure in ["cpu_us", "wall_us", "agent_cpu_us", "server_us"] {
                keys.push(format!("{placement}.{measure}"));
            }
        }
    }
    let mut figures = Figures::default();
    for (i, key) in keys.iter().enumerate() {
        if !with_check && key.starts_with("check.") {
            continue;
        }
        let base = if key.contains("rss") { 2000.0 } else { 0.0 };
        for r in 0..repetitions {
            let value = (i as f64 * 7.3 + r as f64 * 3.1) % 40.0 + 0.37 * r as f64 + base;
            figures.push(key.clone(), value);
        }
    }
    figures
}

fn syscalls(threads: usize, clones_extra: i64) -> Syscalls {
    Syscalls {
        threads,
        calls: 500,
        per_call: 10.25,
        clones_total: 3,
        clones_extra,
        by_name: vec![
            ("read".into(), 2.0),
            ("futex".into(), 1.5),
            ("write".into(), 1.0),
        ],
    }
}

/// A run where everything was measured (`all`), or one where every optional part failed.
fn once(all: bool) -> Once {
    Once {
        machine: Machine {
            nproc: 2,
            cpu: "Cpu X".into(),
            kernel: "6.1".into(),
            rustc: "rustc 1.89".into(),
            curl: "curl 7.88".into(),
        },
        date: "2026-12-07".into(),
        command: "cargo bench".into(),
        repetitions: 5,
        load_before: "1.00".into(),
        load_after: "2.00".into(),
        binary_bytes: 3_456_789,
        deps_default: all.then_some(40),
        deps_cli: Some(12),
        syscalls: if all {
            Ok(syscalls(1, 0))
        } else {
            Err("strace is missing".into())
        },
        syscalls_threads: if all {
            Ok(syscalls(8, 1))
        } else {
            Err("no".into())
        },
        curl_pin_checked: all,
        rss_available: all,
        agent_last_words: if all { "bye".into() } else { String::new() },
    }
}

#[test]
fn the_report_of_fixed_figures_is_the_golden_one() {
    let mut rendered = String::new();
    for (placed, check, repetitions, all) in [
        (true, true, 5, true),
        (false, false, 1, false),
        (true, true, 2, false),
        (false, true, 3, true),
    ] {
        let f = figures(placed, check, repetitions);
        rendered.push_str(&report::render(&f, &once(all)));
        rendered.push_str(&report::oneshot_only(&f, repetitions, "today", "0.5"));
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report.golden.md");
    if std::env::var_os("FELHOM_BENCH_BLESS").is_some() {
        fs::write(&golden, &rendered).unwrap();
    }
    let expected = fs::read_to_string(&golden).unwrap();
    assert!(
        rendered == expected,
        "the report differs from {}; if that is meant, bless it (see this file's head)\n{rendered}",
        golden.display()
    );
}

#[test]
fn a_new_run_replaces_only_the_generated_section_whatever_its_begin_marker_says() {
    let path = std::env::temp_dir().join(format!("felhom-bench-report-{}.md", std::process::id()));
    let around = |section: &str| format!("# Benchmarks\n\nBefore.\n\n{section}\n\nAfter.\n");
    let older = format!(
        "<!-- agentapi-bench:begin: an older wording -->\nold figures\n{}",
        report::END
    );
    fs::write(&path, around(&older)).unwrap();
    let section = format!("{}\nnew figures\n{}\n", report::BEGIN, report::END);
    report::write(&path, &section).unwrap();
    let written = fs::read_to_string(&path).unwrap();
    fs::remove_file(&path).unwrap();
    assert_eq!(written, around(section.trim_end()));
}
