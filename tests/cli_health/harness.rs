//! Runs the built tool against a stand-in agent, and checks that the token never shows.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::process::{Command, Stdio};

use felhom_agentapi::devagent::{DevAgent, MetricsProfile};

const BIN: &str = env!("CARGO_BIN_EXE_felhom-agentctl");

/// Every variable the tool reads, removed so the caller's environment cannot leak in.
const TOOL_ENV: [&str; 7] = [
    "FELHOM_AGENT_ENDPOINT",
    "FELHOM_AGENT_FINGERPRINT",
    "FELHOM_AGENT_TIMEOUT",
    "FELHOM_AGENT_CONNECT_TIMEOUT",
    "FELHOM_AGENT_TOKEN_FILE",
    "FELHOM_AGENT_TOKEN",
    "RUST_BACKTRACE",
];

/// What a run left behind.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn agent(profile: MetricsProfile) -> DevAgent {
    DevAgent::builder()
        .metrics_profile(profile)
        .start()
        .expect("start the stand-in agent")
}

/// The tool with a clean environment and `agent`'s token in `FELHOM_AGENT_TOKEN`, pointed at
/// `endpoint` with `pin` (no connection settings when `endpoint` is `None`).
pub fn tool(token: &str, endpoint: Option<(&str, &str)>) -> Command {
    let mut command = Command::new(BIN);
    for var in TOOL_ENV {
        command.env_remove(var);
    }
    command.env("FELHOM_AGENT_TOKEN", token);
    if let Some((endpoint, pin)) = endpoint {
        command.args(["--endpoint", endpoint, "--fingerprint", pin]);
    }
    command.stdin(Stdio::null());
    command
}

/// Runs the tool pointed at `agent` with `args`.
pub fn run<I, S>(agent: &DevAgent, args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let pin = agent.fingerprint().to_string();
    let mut command = tool(agent.token(), Some((&agent.endpoint(), &pin)));
    command.args(args);
    finish(command, agent.token())
}

/// Runs `command`, and checks that `token` is in none of its output.
pub fn finish(mut command: Command, token: &str) -> Outcome {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run felhom-agentctl");
    let outcome = Outcome {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    assert!(
        !outcome.stdout.contains(token) && !outcome.stderr.contains(token),
        "the token was printed: {outcome:#?}"
    );
    assert!(!outcome.stderr.contains("panicked"), "{outcome:#?}");
    outcome
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
pub fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr.to_string()
}

/// A fresh directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("felhom-agentctl-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
