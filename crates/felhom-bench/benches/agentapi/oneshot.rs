//! One-shot calls as a shell script or a monitoring system pays them: `felhom-agentctl storage`
//! against `curl` with the agent's public key pinned, for the same `GET /storage`, and
//! `felhom-agentctl check` (the monitoring plugin) against `curl` for its `GET /host/metrics`.
//!
//! Both run with a cleared environment but `PATH` (curl also gets `-q`, so no `~/.curlrc` and no
//! proxy variable can change what it does); the CLI gets the three `FELHOM_AGENT_*` variables
//! the agent printed, curl reads its `Authorization` header from a private file. Neither has
//! the token in its argument list.

use std::error::Error;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::agent::{Scratch, Settings};
use crate::stats::{Figures, median};
use crate::suite::{RSS_ROUNDS, WALL_ROUNDS};

/// Untimed invocations of each before the timed ones (`WALL_ROUNDS`).
const WARMUP_ROUNDS: usize = 3;
/// curl's exit status when the public key does not match the pin.
const CURL_PIN_MISMATCH: i32 = 90;
/// GNU time, for the peak RSS of a child (`%M`, in KiB).
const GNU_TIME: &str = "/usr/bin/time";

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Which one-shot call is measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Call {
    /// `felhom-agentctl storage` against curl's `GET /storage`: both print the same payload.
    Storage,
    /// `felhom-agentctl check` against curl's `GET /host/metrics`: the check must say OK.
    Check,
}

impl Call {
    /// The CLI's subcommand, and the path curl asks for.
    fn subcommand_and_path(self) -> (&'static str, &'static str) {
        match self {
            Call::Storage => ("storage", "/storage"),
            Call::Check => ("check", "/host/metrics"),
        }
    }

    /// Where its figures go: `cli.wall_ms` for storage, `check.cli.wall_ms` for check.
    pub fn prefix(self) -> &'static str {
        match self {
            Call::Storage => "",
            Call::Check => "check.",
        }
    }
}

/// The two commands, ready to run.
pub struct OneShot {
    call: Call,
    cli: PathBuf,
    cli_env: Vec<(&'static str, String)>,
    curl_args: Vec<OsString>,
    path_var: OsString,
    scratch_dir: PathBuf,
    /// Whether `/usr/bin/time` is there to measure peak RSS.
    pub rss_available: bool,
    /// The SPKI pin given to curl, `sha256//…`.
    pub curl_pin: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Cli,
    Curl,
}

impl OneShot {
    /// Prepares both commands, and checks that curl really enforces its pin and that both
    /// return the same payload.
    pub fn prepare(call: Call, cli: &Path, s: &Settings, scratch: &Scratch) -> Result<OneShot> {
        let spki = spki_sha256_base64(s.port())?;
        let header = scratch.write_private(
            &format!("curl-headers-{}", call.subcommand_and_path().0),
            &format!("Authorization: Bearer {}\n", s.token),
        )?;
        let url = format!("https://{}{}", s.endpoint, call.subcommand_and_path().1);
        let curl_args = |pin: &str| -> Vec<OsString> {
            let mut header_arg = OsString::from("@");
            header_arg.push(&header);
            vec![
                "-q".into(),
                "-sS".into(),
                // -k only skips the CA and name checks; --pinnedpubkey is enforced regardless.
                "-k".into(),
                "--pinnedpubkey".into(),
                format!("sha256//{pin}").into(),
                "-H".into(),
                header_arg,
                url.clone().into(),
            ]
        };
        let oneshot = OneShot {
            call,
            cli: cli.to_path_buf(),
            cli_env: s.env().to_vec(),
            curl_args: curl_args(&spki),
            path_var: std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            scratch_dir: scratch.dir.clone(),
            rss_available: Path::new(GNU_TIME).exists(),
            curl_pin: format!("sha256//{spki}"),
        };

        // The pin must be what keeps curl honest: with a wrong one it must refuse.
        let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let status = Command::new("curl")
            .args(curl_args(wrong))
            .env_clear()
            .env("PATH", &oneshot.path_var)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if status.code() != Some(CURL_PIN_MISMATCH) {
            return Err(format!(
                "curl with a wrong pin exited with {status}, not {CURL_PIN_MISMATCH}: \
                 the pin is not enforced, the comparison would be unfair"
            )
            .into());
        }
        let cli_out = oneshot.run(Which::Cli)?;
        let curl_out = oneshot.run(Which::Curl)?;
        oneshot.same_payload(&cli_out, &curl_out)?;
        Ok(oneshot)
    }

    fn command(&self, which: Which) -> Command {
        let mut cmd = match which {
            Which::Cli => {
                let mut cmd = Command::new(&self.cli);
                cmd.arg(self.call.subcommand_and_path().0)
                    .env_clear()
                    .envs(self.cli_env.iter().cloned());
                cmd
            }
            Which::Curl => {
                let mut cmd = Command::new("curl");
                cmd.args(&self.curl_args).env_clear();
                cmd
            }
        };
        cmd.env("PATH", &self.path_var)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs one and returns its standard output; fails unless it succeeded.
    fn run(&self, which: Which) -> Result<Vec<u8>> {
        let out = self.command(which).output()?;
        if !out.status.success() {
            return Err(format!(
                "{} failed with {}: {}",
                which.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        Ok(out.stdout)
    }

    /// Wall time from spawn to exit in milliseconds, and the standard output.
    fn timed(&self, which: Which) -> Result<(f64, Vec<u8>)> {
        let mut cmd = self.command(which);
        let t0 = Instant::now();
        let out = cmd.output()?;
        let ms = t0.elapsed().as_nanos() as f64 / 1e6;
        if !out.status.success() {
            return Err(format!("{} failed with {}", which.name(), out.status).into());
        }
        Ok((ms, out.stdout))
    }

    /// Peak RSS in KiB, as GNU time reports it.
    fn peak_rss_kib(&self, which: Which) -> Result<f64> {
        let inner = self.command(which);
        let report = self.scratch_dir.join("time.out");
        let _ = fs::remove_file(&report);
        let mut cmd = Command::new(GNU_TIME);
        cmd.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .envs(
                inner
                    .get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_os_string(), v.to_os_string()))),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = cmd.status()?;
        if !status.success() {
            return Err(format!("{} under {GNU_TIME} failed with {status}", which.name()).into());
        }
        let text = fs::read_to_string(&report)?;
        text.lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("{GNU_TIME} wrote {text:?}, not a size in KiB").into())
    }

    /// One repetition: wall times alternating, then peak RSS alternating. Records `cli.*`,
    /// `curl.*` and the ratios.
    pub fn measure(&self, out: &mut Figures) -> Result<()> {
        for _ in 0..WARMUP_ROUNDS {
            self.run(Which::Cli)?;
            self.run(Which::Curl)?;
        }
        let (mut cli, mut curl, mut paired) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..WALL_ROUNDS {
            // ABBA: each goes first half of the time, so neither always follows the other.
            let order = if round % 2 == 0 {
                [Which::Cli, Which::Curl]
            } else {
                [Which::Curl, Which::Cli]
            };
            let (mut a, mut b) = (0.0, 0.0);
            let mut outputs = Vec::new();
            for which in order {
                let (ms, stdout) = self.timed(which)?;
                match which {
                    Which::Cli => a = ms,
                    Which::Curl => b = ms,
                }
                outputs.push((which, stdout));
            }
            if round == 0 || round == WALL_ROUNDS - 1 {
                let cli_out = outputs.iter().find(|(w, _)| *w == Which::Cli);
                let curl_out = outputs.iter().find(|(w, _)| *w == Which::Curl);
                if let (Some((_, c)), Some((_, u))) = (cli_out, curl_out) {
                    self.same_payload(c, u)?;
                }
            }
            cli.push(a);
            curl.push(b);
            paired.push(a / b);
        }
        out.push(self.key("cli.wall_ms"), median(&cli));
        out.push(self.key("curl.wall_ms"), median(&curl));
        out.push(
            self.key("ratio.wall_of_medians"),
            median(&cli) / median(&curl),
        );
        out.push(self.key("ratio.wall_paired"), median(&paired));

        if self.rss_available {
            let (mut cli, mut curl) = (Vec::new(), Vec::new());
            for round in 0..RSS_ROUNDS {
                if round % 2 == 0 {
                    cli.push(self.peak_rss_kib(Which::Cli)?);
                    curl.push(self.peak_rss_kib(Which::Curl)?);
                } else {
                    curl.push(self.peak_rss_kib(Which::Curl)?);
                    cli.push(self.peak_rss_kib(Which::Cli)?);
                }
            }
            out.push(self.key("cli.rss_kib"), median(&cli));
            out.push(self.key("curl.rss_kib"), median(&curl));
            out.push(self.key("ratio.rss"), median(&cli) / median(&curl));
        }
        Ok(())
    }
}

impl OneShot {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.call.prefix())
    }

    /// curl answers with the agent's envelope. The `storage` CLI prints its `data`: they must
    /// be equal. `check` prints a plugin verdict on the same data: it must be OK.
    fn same_payload(&self, cli: &[u8], curl: &[u8]) -> Result<()> {
        let curl: Value = serde_json::from_slice(curl).map_err(|e| format!("curl output: {e}"))?;
        if curl.get("ok") != Some(&Value::Bool(true)) {
            return Err(format!("curl's answer is not ok: {curl}").into());
        }
        if self.call == Call::Check {
            let text = String::from_utf8_lossy(cli);
            if !text.starts_with("FELHOM OK - ") || !curl["data"]["storage_targets"].is_array() {
                return Err(format!("the check printed {text:?}, not an OK verdict").into());
            }
            return Ok(());
        }
        let cli: Value = serde_json::from_slice(cli).map_err(|e| format!("CLI output: {e}"))?;
        if curl.get("data") != Some(&cli) {
            return Err(
                format!("the CLI printed {cli}, but curl's data is {}", curl["data"]).into(),
            );
        }
        Ok(())
    }
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Cli => "felhom-agentctl",
            Which::Curl => "curl",
        }
    }
}

/// The agent's SPKI SHA-256 in base64, as curl's `--pinnedpubkey sha256//` takes it, with the
/// openssl pipeline from curl's documentation.
fn spki_sha256_base64(port: &str) -> Result<String> {
    let pipeline = "openssl s_client -connect 127.0.0.1:\"$PORT\" </dev/null 2>/dev/null \
        | openssl x509 -pubkey -noout \
        | openssl pkey -pubin -outform der \
        | openssl dgst -sha256 -binary \
        | base64";
    let out = Command::new("sh")
        .args(["-c", pipeline])
        .env("PORT", port)
        .stderr(Stdio::inherit())
        .output()?;
    let pin = String::from_utf8(out.stdout)?.trim().to_string();
    if !out.status.success() || pin.len() != 44 {
        return Err(
            format!("could not compute the public-key pin with openssl (got {pin:?})").into(),
        );
    }
    Ok(pin)
}
