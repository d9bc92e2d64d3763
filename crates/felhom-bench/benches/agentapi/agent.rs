//! The stand-in agent as a separate process (`crates/felhom-devagent`), and a private scratch
//! directory for its token file and curl's header file.
//!
//! The child is stopped on every path: `AgentProcess` closes its standard input (the agent
//! runs with `--until-stdin-closes`) and kills it if it has not exited within a few seconds, in
//! `Drop`. The agent also stops by itself after `--seconds`, and when this process dies its end
//! of the pipe closes, which stops it too.

use std::error::Error;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The longest the agent serves, as a safety stop for a harness that hangs.
const AGENT_SECONDS: &str = "300";

/// A directory only this user can enter, removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> Result<Scratch, Box<dyn Error>> {
        let dir =
            std::env::temp_dir().join(format!("felhom-agentapi-bench-{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Scratch { dir })
    }

    /// Writes `contents` to a new file readable by its owner only.
    pub fn write_private(&self, name: &str, contents: &str) -> Result<PathBuf, Box<dyn Error>> {
        let path = self.dir.join(name);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(contents.as_bytes())?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What a client needs, as the agent printed it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: String,
    pub fingerprint: String,
    pub token_file: PathBuf,
    pub token: String,
}

impl Settings {
    /// The environment a shell script would have after sourcing the agent's output.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("FELHOM_AGENT_ENDPOINT", self.endpoint.clone()),
            ("FELHOM_AGENT_FINGERPRINT", self.fingerprint.clone()),
            (
                "FELHOM_AGENT_TOKEN_FILE",
                self.token_file.to_string_lossy().into_owned(),
            ),
        ]
    }

    /// The agent's TCP port.
    pub fn port(&self) -> &str {
        self.endpoint.rsplit(':').next().unwrap_or_default()
    }
}

/// The running agent process.
pub struct AgentProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub settings: Settings,
}

impl AgentProcess {
    /// Starts `exe` (the devagent example) and reads its three settings lines.
    pub fn start(exe: &Path) -> Result<AgentProcess, Box<dyn Error>> {
        let mut child = Command::new(exe)
            .args(["--seconds", AGENT_SECONDS, "--until-stdin-closes"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        // From here on, the guard stops the child whatever happens.
        let mut agent = AgentProcess {
            child,
            stdin,
            settings: Settings {
                endpoint: String::new(),
                fingerprint: String::new(),
                token_file: PathBuf::new(),
                token: String::new(),
            },
        };
        let stdout = stdout.ok_or("the agent's standard output was not piped")?;
        let mut lines = BufReader::new(stdout).lines();
        for _ in 0..3 {
            let line = lines
                .next()
                .ok_or("the agent stopped before printing its settings")??;
            let (key, value) = line
                .strip_prefix("export ")
                .and_then(|assignment| assignment.split_once('='))
                .ok_or_else(|| format!("unexpected line from the agent: {line:?}"))?;
            let s = &mut agent.settings;
            match key {
                "FELHOM_AGENT_ENDPOINT" => s.endpoint = value.to_string(),
                "FELHOM_AGENT_FINGERPRINT" => s.fingerprint = value.to_string(),
                "FELHOM_AGENT_TOKEN_FILE" => s.token_file = PathBuf::from(unquote(value)),
                _ => return Err(format!("unexpected line from the agent: {line:?}").into()),
            }
        }
        let s = &mut agent.settings;
        if s.endpoint.is_empty() || s.fingerprint.is_empty() || s.token_file.as_os_str().is_empty()
        {
            return Err("the agent did not print all three settings".into());
        }
        let token = fs::read_to_string(&s.token_file)?;
        s.token = token.trim_end_matches(['\r', '\n']).to_string();
        Ok(agent)
    }

    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the agent and returns its last words (its connection, handshake and request
    /// counts).
    pub fn stop(mut self) -> String {
        self.shutdown();
        let mut said = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut said);
        }
        said.trim().to_string()
    }

    fn shutdown(&mut self) {
        // End of file on standard input is the agent's stop signal.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Undoes the agent's POSIX shell quoting of a path (`'…'` with `'\''` for a quote).
fn unquote(value: &str) -> String {
    match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        Some(inner) => inner.replace(r"'\''", "'"),
        None => value.to_string(),
    }
}
