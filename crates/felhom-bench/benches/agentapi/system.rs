//! Everything outside the calls themselves: building what the bench spawns, the machine,
//! binary size, dependency count, and the syscall count under strace.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::agent::{Scratch, Settings};
use crate::once::{Machine, Syscalls};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The workspace's root: its manifest, its target directory and BENCHMARKS.md.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The cargo that built this bench, or `cargo` on the `PATH`.
fn cargo() -> String {
    std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_string))
        .unwrap_or_else(|| "cargo".to_string())
}

/// The target directory this bench binary was built into: it lives in
/// `<target>/release/deps/`. Falls back to `CARGO_TARGET_DIR`, then `<manifest>/target`.
pub fn target_dir() -> PathBuf {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        let deps = exe.parent()?;
        let profile = deps.parent()?;
        (deps.file_name()? == "deps" && profile.file_name()? == "release")
            .then(|| profile.parent().map(Path::to_path_buf))
            .flatten()
    });
    from_exe
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| manifest_dir().join("target"))
}

/// What the bench spawns, built in release mode into the bench's own target directory.
pub struct Built {
    pub devagent: PathBuf,
    pub cli: PathBuf,
}

/// Builds the stand-in agent's dev server and the release CLI.
pub fn build(target: &Path) -> Result<Built> {
    let args = [
        "build",
        "--release",
        "-p",
        "felhom-devagent",
        "-p",
        "felhom-agentctl",
    ];
    eprintln!("agentapi bench: cargo {}", args.join(" "));
    let status = Command::new(cargo())
        .args(args)
        .arg("--manifest-path")
        .arg(manifest_dir().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("cargo build failed with {status}").into());
    }
    let release = target.join("release");
    let built = Built {
        devagent: release.join("felhom-devagent"),
        cli: release.join("felhom-agentctl"),
    };
    for path in [&built.devagent, &built.cli] {
        if !path.is_file() {
            return Err(format!("cargo build did not produce {}", path.display()).into());
        }
    }
    Ok(built)
}

/// Unique crates in `cargo tree -e normal` of a workspace package, less the package itself and
/// the library (for the CLI: what it adds to the library's).
pub fn dependency_count(package: &str) -> Result<usize> {
    let mut cmd = Command::new(cargo());
    cmd.args([
        "tree",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--manifest-path",
    ])
    .arg(manifest_dir().join("Cargo.toml"))
    .args(["-p", package]);
    let out = cmd.stderr(Stdio::inherit()).output()?;
    if !out.status.success() {
        return Err(format!("cargo tree failed with {}", out.status).into());
    }
    let text = String::from_utf8(out.stdout)?;
    let mut crates = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(version)) = (words.next(), words.next()) {
            crates.insert(format!("{name} {version}"));
        }
    }
    let root = format!("{package} v{}", env!("CARGO_PKG_VERSION"));
    if !crates.remove(&root) {
        return Err(format!("cargo tree did not list {root}").into());
    }
    crates.remove(&format!("felhom-agentapi v{}", env!("CARGO_PKG_VERSION")));
    Ok(crates.len())
}

/// Runs the child mode under strace with 0 and with `calls` calls per thread, and takes the
/// difference, which leaves out start-up, thread start, connection set-up and warm-up.
pub fn syscalls(s: &Settings, scratch: &Scratch, calls: usize, threads: usize) -> Result<Syscalls> {
    let exe = std::env::current_exe()?;
    let run = |n: usize| -> Result<BTreeMap<String, u64>> {
        let report = scratch.dir.join(format!("strace-{n}-{threads}.txt"));
        let out = Command::new("strace")
            .args(["-f", "-c", "-o"])
            .arg(&report)
            .arg(&exe)
            .args(["--strace-child", &n.to_string()])
            .args(["--threads", &threads.to_string()])
            .envs(s.env())
            .stdout(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "strace of the child mode failed with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        parse_strace_summary(&fs::read_to_string(&report)?)
    };
    let base = run(0)?;
    let full = run(calls)?;
    let is_clone = |name: &str| matches!(name, "clone" | "clone3" | "fork" | "vfork");
    let clones = |m: &BTreeMap<String, u64>| -> u64 {
        m.iter().filter(|(k, _)| is_clone(k)).map(|(_, v)| v).sum()
    };
    let mut by_name: Vec<(String, f64)> = full
        .iter()
        .map(|(name, &n)| {
            let extra = n as f64 - *base.get(name).unwrap_or(&0) as f64;
            (name.clone(), extra / (calls * threads) as f64)
        })
        .filter(|(_, per)| *per > 0.005)
        .collect();
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>() as f64;
    Ok(Syscalls {
        threads,
        calls,
        per_call: (total(&full) - total(&base)) / (calls * threads) as f64,
        clones_total: clones(&full),
        clones_extra: clones(&full) as i64 - clones(&base) as i64,
        by_name,
    })
}

/// `strace -c` table rows: `% time  seconds  usecs/call  calls  [errors]  syscall`.
fn parse_strace_summary(text: &str) -> Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 5 || words[0].starts_with('%') || words[0].starts_with('-') {
            continue;
        }
        let name = words[words.len() - 1];
        if name == "total" {
            continue;
        }
        let calls: u64 = words[3]
            .parse()
            .map_err(|_| format!("unexpected strace summary line {line:?}"))?;
        *counts.entry(name.to_string()).or_insert(0) += calls;
    }
    if counts.is_empty() {
        return Err("strace wrote no summary".into());
    }
    Ok(counts)
}

pub fn machine() -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let first_line = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|t| t.lines().next().map(str::to_string))
            .unwrap_or_else(|| "unknown".to_string())
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu,
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string()),
        rustc: first_line(&rustc, "-V"),
        curl: first_line("curl", "--version"),
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}
