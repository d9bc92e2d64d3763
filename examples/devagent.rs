//! Runs the stand-in Felhom host agent as a separate process, for demos and benchmarks.
//!
//! ```text
//! cargo run --features devagent --example devagent
//! ```
//!
//! It writes the bearer token to a file that only its owner can read, prints the settings a
//! client needs as shell assignments on standard output:
//!
//! ```text
//! FELHOM_AGENT_ENDPOINT=127.0.0.1:40123
//! FELHOM_AGENT_FINGERPRINT=3f0c…
//! FELHOM_AGENT_TOKEN_FILE=/path/to/devagent.token
//! ```
//!
//! then serves until its standard input reaches end of file or `DEVAGENT_SECONDS` pass,
//! whichever comes first. Keep its standard input open (a pipe) for as long as it should serve.
//!
//! Environment:
//! - `DEVAGENT_PORT`: a fixed loopback port (default: any free port);
//! - `DEVAGENT_TOKEN_FILE`: where to write the token (default: `./devagent.token`);
//! - `DEVAGENT_SECONDS`: the longest it serves (default: 600);
//! - `DEVAGENT_METRICS_PROFILE`: what `GET /host/metrics` reports, e.g. `thin-pool-critical`
//!   (default: `healthy`; the names are `MetricsProfile`'s).

use std::error::Error;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use felhom_agentapi::devagent::{DevAgent, MetricsProfile};

fn main() -> Result<(), Box<dyn Error>> {
    let port: u16 = env_or("DEVAGENT_PORT", 0)?;
    let seconds: u64 = env_or("DEVAGENT_SECONDS", 600)?;
    let profile: MetricsProfile = env_or("DEVAGENT_METRICS_PROFILE", MetricsProfile::Healthy)?;
    let token_file = PathBuf::from(
        std::env::var_os("DEVAGENT_TOKEN_FILE").unwrap_or_else(|| "devagent.token".into()),
    );

    let serve_for = Duration::from_secs(seconds);
    let agent = DevAgent::builder()
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        // The agent's own safety stop comes a little after ours, never before it.
        .max_lifetime(serve_for + Duration::from_secs(5))
        .metrics_profile(profile)
        .start()?;

    write_private(&token_file, agent.token())?;
    let token_file = fs::canonicalize(&token_file)?;

    let mut out = io::stdout().lock();
    writeln!(out, "FELHOM_AGENT_ENDPOINT={}", agent.endpoint())?;
    writeln!(out, "FELHOM_AGENT_FINGERPRINT={}", agent.fingerprint())?;
    writeln!(
        out,
        "FELHOM_AGENT_TOKEN_FILE={}",
        shell_quote(&token_file.to_string_lossy())
    )?;
    out.flush()?;
    drop(out);

    // A thread watches standard input, so the main thread can wait for it with a time limit.
    let (eof_tx, eof_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut sink = [0; 4096];
        let mut stdin = io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = eof_tx.send(());
    });
    let why = match eof_rx.recv_timeout(serve_for) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => "standard input closed",
        Err(mpsc::RecvTimeoutError::Timeout) => "DEVAGENT_SECONDS elapsed",
    };
    let stats = agent.stats();
    agent.shutdown();
    eprintln!(
        "devagent: stopped ({why}) after {} connections, {} handshakes, {} requests",
        stats.connections, stats.handshakes, stats.requests
    );
    Ok(())
}

/// The variable parsed as `T`, or `default` when it is unset or empty.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, Box<dyn Error>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|e| format!("{name}={value:?}: {e}").into()),
        _ => Ok(default),
    }
}

/// Writes `contents` to `path` readable and writable by the owner only (mode 0600 on Unix),
/// tightening the mode of a file that already exists.
fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // `mode` only applies when the file is created.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        write_and_sync(file, contents)
    }
    #[cfg(not(unix))]
    {
        write_and_sync(options.open(path)?, contents)
    }
}

fn write_and_sync(mut file: fs::File, contents: &str) -> io::Result<()> {
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
