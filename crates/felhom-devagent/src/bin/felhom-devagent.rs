//! The stand-in Felhom host agent as a dev server: try `felhom-agentctl` against it from a shell.
//!
//! ```text
//! cargo build -p felhom-agentctl
//! cargo run -p felhom-devagent -- --seconds 600 > agent.env &
//! until [ -s agent.env ]; do sleep 0.2; done; . ./agent.env
//! target/debug/felhom-agentctl storage --human
//! kill %1        # or Ctrl-C in the foreground: the token file is removed as it stops
//! ```
//!
//! It prints the settings a client needs as `export` lines on standard output, to source:
//!
//! ```text
//! export FELHOM_AGENT_ENDPOINT=127.0.0.1:40123
//! export FELHOM_AGENT_FINGERPRINT=3f0c…
//! export FELHOM_AGENT_TOKEN_FILE=/tmp/felhom-devagent-AbC123/token
//! ```
//!
//! and serves until SIGINT, SIGTERM or SIGHUP, or until `--seconds` pass (default 3600). It
//! never reads standard input, so it can run in the background (`&`). The token file lives in
//! a private temporary directory (mode 0700) that is removed when it stops.
//!
//! Flags set scenarios and faults, to see every exit status of `felhom-agentctl`:
//!
//! | exit | how |
//! | --- | --- |
//! | 0 | nothing: every endpoint answers |
//! | 1 | `--fault status:500`, `--fault garbage` or `--fault not-ok` |
//! | 2 | the client's own mistake, e.g. `felhom-agentctl storage --timeout soon` |
//! | 3 | `felhom-agentctl disk format --device /dev/sdb` (the data-bearing fixture disk) |
//! | 4 | `--fault other-cert` (another certificate) |
//! | 5 | `--fault drop`, `--fault wrong-key`, or `--endpoint 127.0.0.1:1` (nothing listens) |
//! | 6 | `--backup-fails "vzdump exited with status 2"`, then `backup run --poll 1s` |
//! | 7 | `--fault status:409`, or `backup start` twice with `--backup-seconds 600` |
//! | 8 | `--fault status:401`, or a wrong `FELHOM_AGENT_TOKEN` |
//! | 9 | `--backup-seconds 600`, then `backup run --poll 1s --give-up-after 3s` |
//! | 10 | `backup run --pre false` (a freeze hook that fails) |
//! | 129, 130, 143 | `--backup-seconds 600`, `backup run`, then SIGHUP, SIGINT or SIGTERM to it |
//!
//! `--metrics-profile NAME` chooses what `GET /host/metrics` reports, e.g. `thin-pool-critical`
//! for `felhom-agentctl check` (default `healthy`; the names are `MetricsProfile`'s).
//! `--no-fs-uuid` makes a formatted `/dev/sdc` show no filesystem UUID, so that
//! `disk init --device /dev/sdc --where /mnt/new` stops after the format and says how to finish.
//! `--until-stdin-closes` also stops it when its standard input reaches end of file, for a
//! harness that holds a pipe to it (the benchmarks).

use std::error::Error;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use clap::Parser;
use felhom_devagent::{BackupOutcome, DevAgent, Fault, MetricsProfile};

/// The stand-in Felhom host agent, serving on 127.0.0.1 until stopped.
#[derive(Debug, Parser)]
#[command(name = "devagent")]
struct Args {
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "N")]
    seconds: u64,

    /// Listen on this loopback port (default: any free port).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    port: u16,

    /// Misbehave on every request: status:CODE, garbage, wrong-type, not-ok, drop, truncate,
    /// slow:SECONDS, redirect, other-cert, wrong-key.
    #[arg(long, value_name = "FAULT", value_parser = parse_fault)]
    fault: Option<Fault>,

    /// How long a backup job stays "running" (`POST /backup` is refused with 409 meanwhile).
    #[arg(long, default_value_t = 0.2, value_name = "SECONDS", value_parser = parse_seconds)]
    backup_seconds: f64,

    /// Backup jobs end "failed" with this error.
    #[arg(long, value_name = "MESSAGE")]
    backup_fails: Option<String>,

    /// What GET /host/metrics reports: healthy, thin-pool-critical, ... (MetricsProfile's names).
    #[arg(long, default_value = "healthy", value_name = "NAME")]
    metrics_profile: MetricsProfile,

    /// A formatted /dev/sdc shows no filesystem UUID in /disks.
    #[arg(long)]
    no_fs_uuid: bool,

    /// Also stop when standard input reaches end of file.
    #[arg(long)]
    until_stdin_closes: bool,
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() && (0.0..=86_400.0).contains(&n) => Ok(n),
        _ => Err("a number of seconds from 0 to 86400, as in 0.5 or 600".to_string()),
    }
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    let (name, value) = s.split_once(':').unwrap_or((s, ""));
    let number = |what: &str, example: &str| -> Result<u64, String> {
        value
            .parse()
            .map_err(|_| format!("{name} needs a {what}, as in {name}:{example}"))
    };
    Ok(match name {
        "status" => Fault::Status(number("status code", "500")? as u16),
        "garbage" => Fault::Garbage,
        "wrong-type" => Fault::WrongType,
        "not-ok" => Fault::NotOk("injected: the agent declined".into()),
        "drop" => Fault::Drop,
        "truncate" => Fault::Truncate,
        "slow" => Fault::Slow(Duration::from_secs(number("number of seconds", "3")?)),
        "redirect" => Fault::Redirect("https://192.0.2.1/".into()),
        "other-cert" => Fault::OtherCert,
        "wrong-key" => Fault::WrongKey,
        _ => return Err(format!("unknown fault {name:?}")),
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let serve_for = Duration::from_secs(args.seconds);
    let mut builder = DevAgent::builder()
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .backup_duration(Duration::from_secs_f64(args.backup_seconds))
        .metrics_profile(args.metrics_profile)
        // The agent's own safety stop comes a little after ours, never before it.
        .max_lifetime(serve_for + Duration::from_secs(5));
    if let Some(message) = args.backup_fails {
        builder = builder.backup_outcome(BackupOutcome::Failed(message));
    }
    if args.no_fs_uuid {
        builder = builder.formatted_fs_uuid(None);
    }
    let agent = builder.start()?;
    if let Some(fault) = args.fault {
        agent.set_fault(fault);
    }

    // A private directory (0700), removed when `dir` is dropped at the end of main.
    let mut dir = tempfile::Builder::new();
    dir.prefix("felhom-devagent-");
    #[cfg(unix)]
    dir.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = dir.tempdir()?;
    let token_file = dir.path().join("token");
    write_private(&token_file, agent.token())?;

    let (stop_tx, stop_rx) = mpsc::channel::<&'static str>();
    let on_signal = stop_tx.clone();
    ctrlc::set_handler(move || {
        let _ = on_signal.send("a signal");
    })?;
    if args.until_stdin_closes {
        thread::spawn(move || {
            let mut sink = [0; 4096];
            let mut stdin = io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = stop_tx.send("standard input closed");
        });
    }

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "export FELHOM_AGENT_ENDPOINT={}\nexport FELHOM_AGENT_FINGERPRINT={}\n\
         export FELHOM_AGENT_TOKEN_FILE={}",
        agent.endpoint(),
        agent.fingerprint(),
        shell_quote(&token_file.to_string_lossy())
    )?;
    out.flush()?;
    drop(out);
    eprintln!(
        "devagent: serving on {} for at most {}s (pid {}); stop it with Ctrl-C or kill",
        agent.endpoint(),
        args.seconds,
        std::process::id()
    );

    let why = match stop_rx.recv_timeout(serve_for) {
        Ok(why) => why,
        Err(mpsc::RecvTimeoutError::Timeout) => "--seconds elapsed",
        Err(mpsc::RecvTimeoutError::Disconnected) => "no way left to stop it",
    };
    let stats = agent.stats();
    agent.shutdown();
    dir.close()?;
    eprintln!(
        "devagent: stopped ({why}) after {} connections, {} handshakes, {} requests",
        stats.connections, stats.handshakes, stats.requests
    );
    Ok(())
}

/// Writes `contents` to a new file at `path` readable and writable by the owner only.
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Quotes `s` for a POSIX shell when it needs quoting.
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
