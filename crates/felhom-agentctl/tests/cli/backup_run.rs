//! `felhom-agentctl backup run` and `backup wait`, spawned as a script or a timer would, with
//! hooks that write to files: the file proves which hook ran, with what, and how many times.
//!
//! These runs print progress on standard error and are signalled mid-run, so they have their own
//! runner ([`Running`]): standard error read line by line as it comes, every child killed if it
//! has not ended within [`CHILD_LIMIT`], every wait for a line or a file bounded the same way,
//! and, as in [`crate::harness`], the token checked absent from every output. Jobs that must end
//! do so in 200 ms; jobs that must not outlast the test are ended by the test (a signal,
//! `--give-up-after`, `finish_backup`).

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use felhom_agentapi::BackupPhase;
use felhom_devagent::{BackupOutcome, DevAgent, Fault};
use serde_json::{Value, json};

use crate::common::client;
use crate::harness::calls;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_felhom-agentctl");

/// How long any child, line or file is waited for before the test fails.
pub(crate) const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// A job that ends on its own, quickly.
pub(crate) const SHORT_JOB: Duration = Duration::from_millis(200);
/// A job that only the test ends.
pub(crate) const ENDLESS_JOB: Duration = Duration::from_secs(600);

/// Variables the tool reads, removed from each child so the caller's environment cannot leak in.
pub(crate) const TOOL_ENV: [&str; 8] = [
    "FELHOM_AGENT_ENDPOINT",
    "FELHOM_AGENT_FINGERPRINT",
    "FELHOM_AGENT_TIMEOUT",
    "FELHOM_AGENT_CONNECT_TIMEOUT",
    "FELHOM_AGENT_TOKEN_FILE",
    "FELHOM_AGENT_TOKEN",
    "FELHOM_BACKUP_PHASE",
    "FELHOM_BACKUP_JOB_ID",
];

/// A fresh directory for hooks, their log and the lock; removed on drop.
pub(crate) struct Sandbox(crate::harness::TempDir);

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        Sandbox(crate::harness::TempDir::new())
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    pub(crate) fn lock(&self) -> PathBuf {
        self.path("backup.lock")
    }

    /// The lock file made as the tool makes it: private to this user.
    pub(crate) fn private_lock(&self) -> File {
        let file = File::create(self.lock()).unwrap();
        fs::set_permissions(self.lock(), fs::Permissions::from_mode(0o600)).unwrap();
        file
    }

    /// The file the hooks append to.
    pub(crate) fn log(&self) -> PathBuf {
        self.path("hooks.log")
    }

    /// The lines the hooks wrote; none if no hook ran.
    pub(crate) fn logged(&self) -> Vec<String> {
        match fs::read_to_string(self.log()) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// `--pre` and `--post` commands that log their phase and job id.
    pub(crate) fn pre_post(&self) -> [String; 4] {
        let log = self.log().display().to_string();
        [
            "--pre".into(),
            format!(
                r#"echo "pre $FELHOM_BACKUP_PHASE ${{FELHOM_BACKUP_JOB_ID:-none}}" >> '{log}'"#
            ),
            "--post".into(),
            format!(
                r#"echo "post $FELHOM_BACKUP_PHASE ${{FELHOM_BACKUP_JOB_ID:-none}}" >> '{log}'"#
            ),
        ]
    }

    /// An executable script in `dir` (created if needed) with `mode`.
    pub(crate) fn script(&self, dir: &str, name: &str, body: &str, mode: u32) -> PathBuf {
        let dir = self.path(dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// Waits until the hook log holds `line`.
    pub(crate) fn wait_for_logged(&self, line: &str) {
        let deadline = Instant::now() + CHILD_LIMIT;
        while !self.logged().iter().any(|l| l == line) {
            assert!(
                Instant::now() < deadline,
                "no {line:?} in {:?}",
                self.logged()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The tool pointed at `agent`, with its token in the environment.
pub(crate) fn tool(agent: &DevAgent) -> Command {
    let mut command = Command::new(BIN);
    for var in TOOL_ENV {
        command.env_remove(var);
    }
    // Backup records in the test run's directory, never /var/lib.
    command.env("STATE_DIRECTORY", crate::harness::shared_state_dir());
    command
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .args(["--endpoint", &agent.endpoint()])
        .args(["--fingerprint", &agent.fingerprint().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// `backup run`, polling fast, with the sandbox's lock.
pub(crate) fn backup_run(agent: &DevAgent, sandbox: &Sandbox) -> Command {
    let mut command = tool(agent);
    command
        .args(["backup", "run", "--poll", "20ms", "--lock"])
        .arg(sandbox.lock());
    command
}

/// What a finished run left behind.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ran {
    pub(crate) fn json(&self) -> Value {
        let text = self.stdout.trim_end();
        assert!(!text.contains('\n'), "JSON is not on one line: {self:#?}");
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    pub(crate) fn status(self, code: i32) -> Ran {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        assert!(
            !self.stderr.contains("panicked"),
            "the tool panicked: {self:#?}"
        );
        self
    }
}

/// A child being watched: standard error is read line by line as it comes.
pub(crate) struct Running {
    pub(crate) child: Child,
    /// The token in play: it must appear in no output.
    token: Option<String>,
    pub(crate) stdout: thread::JoinHandle<String>,
    stderr_lines: mpsc::Receiver<String>,
    pub(crate) stderr: Vec<String>,
}

impl Running {
    pub(crate) fn spawn(mut command: Command) -> Running {
        let token = command
            .get_envs()
            .find(|(k, _)| *k == "FELHOM_AGENT_TOKEN")
            .and_then(|(_, v)| v)
            .map(|v| v.to_string_lossy().into_owned());
        let mut child = command.spawn().expect("start felhom-agentctl");
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let err = child.stderr.take().unwrap();
        let (tx, stderr_lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            token,
            stdout,
            stderr_lines,
            stderr: Vec::new(),
        }
    }

    /// Waits until standard error has a line containing `needle`.
    pub(crate) fn wait_for_stderr(&mut self, needle: &str) {
        let deadline = Instant::now() + CHILD_LIMIT;
        while !self.stderr.iter().any(|l| l.contains(needle)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_lines.recv_timeout(left) {
                Ok(line) => self.stderr.push(line),
                Err(_) => panic!("no {needle:?} on stderr: {:?}", self.stderr),
            }
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the exit (killing the child past the limit) and collects the output.
    pub(crate) fn finish(mut self) -> Ran {
        let deadline = Instant::now() + CHILD_LIMIT;
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("felhom-agentctl did not end: {:?}", self.stderr);
            }
            thread::sleep(Duration::from_millis(10));
        };
        self.stderr.extend(self.stderr_lines.iter());
        let ran = Ran {
            code,
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr.join("\n"),
        };
        println!("{ran:#?}");
        if let Some(token) = &self.token {
            assert!(!ran.stdout.contains(token.as_str()), "token on stdout");
            assert!(!ran.stderr.contains(token.as_str()), "token on stderr");
        }
        ran
    }
}

pub(crate) fn run(command: Command) -> Ran {
    Running::spawn(command).finish()
}

pub(crate) fn agent_with_jobs_of(duration: Duration) -> DevAgent {
    DevAgent::builder()
        .backup_duration(duration)
        .start()
        .unwrap()
}

pub(crate) fn posts(agent: &DevAgent) -> usize {
    calls(agent).iter().filter(|c| *c == "POST /backup").count()
}

// ---- the outcomes, each thawed exactly once -----------------------------------------------------

#[test]
fn done_freezes_then_thaws_once_and_prints_the_final_status() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post done job-1"]);
    let v = ran.json();
    assert_eq!(
        (
            &v["vmid"],
            &v["phase"],
            &v["job_id"],
            &v["error"],
            &v["stopped"]
        ),
        (
            &json!(101),
            &json!("done"),
            &json!("job-1"),
            &json!(""),
            &json!("done")
        )
    );
    assert_eq!(v["thaw"]["phase"], "done");
    assert_eq!(v["thaw"]["early"], false);
    assert_eq!(v["thaw"]["ok"], true);
    assert!(ran.stderr.contains("backup job job-1 started"), "{ran:#?}");
    let calls = calls(&agent);
    assert_eq!(
        calls[..2],
        ["GET /backup/status", "POST /backup"],
        "{calls:?}"
    );
}

#[test]
fn quiet_keeps_only_the_job_id_on_stderr() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.arg("-q").args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert_eq!(ran.stderr, "felhom-agentctl: backup job job-1 started");
    assert_eq!(ran.json()["phase"], "done");
}

#[test]
fn a_failed_backup_thaws_once_and_exits_6_with_its_last_status() {
    let agent = DevAgent::builder()
        .backup_duration(SHORT_JOB)
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(6);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post failed job-1"]);
    let v = ran.json();
    assert_eq!(v["phase"], "failed");
    assert_eq!(v["error"], "vzdump exited with status 2");
    assert_eq!(v["stopped"], "failed");
    assert!(
        ran.stderr.contains("vzdump exited with status 2"),
        "{ran:#?}"
    );
}

#[test]
fn giving_up_thaws_once_and_exits_9_saying_how_to_follow_the_job() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--give-up-after", "300ms"])
        .args(sandbox.pre_post());
    let ran = run(command).status(9);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post gave-up job-1"]);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("running"), &json!("gave-up"))
    );
    assert!(ran.stderr.contains("backup wait"), "{ran:#?}");
}

#[test]
fn a_poll_cut_short_is_tried_again_with_a_note() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    // The status check is answered; the first poll's answer is cut off mid-body (a connection
    // that broke), later ones are answered.
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Truncate), None, None]),
    );
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.arg("-q").args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert!(
        ran.stderr.contains("trying again at the next poll"),
        "{ran:#?}"
    );
    assert_eq!(sandbox.logged(), ["pre freeze none", "post done job-1"]);
}

#[test]
fn dropped_connections_while_polling_thaw_then_exit_5() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    // After the status check, every poll's connection is dropped. The client sends a GET that
    // met a dropped reused connection once more on a fresh one, so one failed poll may take two
    // drops: three failed polls take at most six.
    let mut cycle = vec![None];
    cycle.extend((0..7).map(|_| Some(Fault::Drop)));
    agent.set_fault_on("/backup/status", Fault::Cycle(cycle));
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(5);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post error job-1"]);
    let notes = ran.stderr.matches("trying again at the next poll").count();
    assert_eq!(notes, 2, "{ran:#?}");
    assert_eq!(ran.json()["stopped"], "error");
}

#[test]
fn a_permanent_poll_error_ends_the_wait_at_once() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    agent.set_fault_on(
        "/backup/status",
        Fault::Cycle(vec![None, Some(Fault::Status(401))]),
    );
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    // 401: the agent rejected the token (exit status 8, issue 10).
    let ran = run(command).status(8);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post error job-1"]);
    assert!(!ran.stderr.contains("trying again"), "{ran:#?}");
    assert!(ran.stderr.contains("401"), "{ran:#?}");
}

// ---- signals ------------------------------------------------------------------------------------

/// Sends `signal` once the job runs; the post hook must have run exactly once when it exits.
fn interrupted_by(signal: &str, code: i32) {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let mut running = Running::spawn(command);
    running.wait_for_stderr("backup job job-1 started");
    running.signal(signal);
    let ran = running.finish().status(code);
    assert_eq!(
        sandbox.logged(),
        ["pre freeze none", "post interrupted job-1"]
    );
    assert!(ran.stderr.contains("goes on at the agent"), "{ran:#?}");
    assert!(ran.stderr.contains("backup wait"), "{ran:#?}");
    assert_eq!(ran.json()["stopped"], "interrupted");
    assert_eq!(ran.json()["thaw"]["phase"], "interrupted");
    assert_eq!(
        client(&agent).backup_status().unwrap().phase,
        BackupPhase::Running,
        "the job goes on"
    );
}

#[test]
fn sigterm_mid_run_thaws_once_and_exits_143() {
    interrupted_by("TERM", 143);
}

#[test]
fn sigint_mid_run_thaws_once_and_exits_130() {
    interrupted_by("INT", 130);
}

#[test]
fn sighup_mid_run_thaws_once_and_exits_129() {
    interrupted_by("HUP", 129);
}

// ---- hooks that fail ----------------------------------------------------------------------------

#[test]
fn a_failed_pre_hook_starts_no_backup_and_the_post_hook_still_runs() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--pre", &format!("echo pre >> '{log}'; exit 3")])
        .args([
            "--post",
            &format!(
                r#"echo "post $FELHOM_BACKUP_PHASE ${{FELHOM_BACKUP_JOB_ID:-none}}" >> '{log}'"#
            ),
        ]);
    let ran = run(command).status(10);
    assert_eq!(sandbox.logged(), ["pre", "post error none"]);
    assert_eq!(posts(&agent), 0, "no POST /backup reached the agent");
    assert_eq!(ran.stdout, "", "no job, no status");
    assert!(ran.stderr.contains("exited with status 3"), "{ran:#?}");
    assert!(ran.stderr.contains("no backup was started"), "{ran:#?}");
}

#[test]
fn a_failed_post_hook_after_a_good_backup_exits_10_and_says_so() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(["--post", "exit 4"]);
    let ran = run(command).status(10);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("done"), &json!("done"))
    );
    assert_eq!(v["thaw"]["ok"], false);
    assert!(
        ran.stderr.contains("the backup itself succeeded"),
        "{ran:#?}"
    );
}

#[test]
fn a_freeze_that_outlasts_the_thaw_after_window_starts_no_backup_and_exits_10() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--thaw-after", "100ms"])
        .args(["--pre", &format!("sleep 0.3; echo pre >> '{log}'")])
        .args([
            "--post",
            &format!("echo post $FELHOM_BACKUP_PHASE >> '{log}'"),
        ]);
    let ran = run(command).status(10);
    assert_eq!(sandbox.logged(), ["pre", "post error"]);
    assert_eq!(posts(&agent), 0, "no backup was started");
    assert!(ran.stderr.contains("the whole quiesce window"), "{ran:#?}");
}

/// Whether process `pid` is gone (a zombie waiting for init to reap it counts as gone).
fn is_gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_freeze_hook_that_overruns_is_stopped_with_what_it_started_and_thawed() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let pid_file = sandbox.path("sleeper.pid");
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--hook-timeout", "300ms"])
        .args([
            "--pre",
            &format!("sleep 60 & echo $! > '{}'; wait", pid_file.display()),
        ])
        .args([
            "--post",
            &format!("echo post $FELHOM_BACKUP_PHASE >> '{log}'"),
        ]);
    let ran = run(command).status(10);
    assert_eq!(
        sandbox.logged(),
        ["post error"],
        "thawed once, as after a failure"
    );
    assert_eq!(posts(&agent), 0, "no backup was started");
    assert!(
        ran.stderr.contains(
            "did not finish within --hook-timeout 0.3s: its process group was sent SIGTERM"
        ),
        "{ran:#?}"
    );
    let sleeper = fs::read_to_string(&pid_file).unwrap();
    assert!(
        is_gone(sleeper.trim()),
        "the hook's own child {sleeper} still runs"
    );
}

#[test]
fn a_hook_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--hook-timeout", "200ms"])
        .args(["--post", "trap '' TERM; sleep 60"]);
    let ran = run(command).status(10);
    assert_eq!(ran.json()["phase"], "done", "the backup itself succeeded");
    assert_eq!(ran.json()["thaw"]["ok"], false);
    assert!(
        ran.stderr
            .contains("was sent SIGTERM, then SIGKILL 5 s later"),
        "{ran:#?}"
    );
    assert!(ran.stderr.contains("may still be quiesced"), "{ran:#?}");
}

/// A limit too large for the clock is no limit, not a panic that thaws while the freeze runs.
#[test]
fn a_huge_hook_timeout_waits_for_the_hook() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--hook-timeout", "10000000000000000000"])
        .args([
            "--pre",
            &format!("echo pre-start >> '{log}'; sleep 0.2; echo pre-end >> '{log}'"),
        ])
        .args([
            "--post",
            &format!("echo post $FELHOM_BACKUP_PHASE >> '{log}'"),
        ]);
    run(command).status(0);
    assert_eq!(sandbox.logged(), ["pre-start", "pre-end", "post done"]);
}

/// A member of the hook's group that ignores SIGTERM outlives its leader: it is killed too, so
/// it cannot go on freezing after the thaw.
#[test]
fn what_a_stopped_hook_started_cannot_outlive_the_thaw() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--hook-timeout", "200ms"])
        .args([
            "--pre",
            &format!("(trap '' TERM; sleep 1; echo froze-late >> '{log}') & wait"),
        ])
        .args([
            "--post",
            &format!("echo post $FELHOM_BACKUP_PHASE >> '{log}'"),
        ]);
    run(command).status(10);
    // Longer than the straggler would have needed.
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(sandbox.logged(), ["post error"]);
}

/// A hook that is suspended (SIGTSTP here; SIGTTOU or SIGTTIN when it touches a terminal) can
/// never finish: it fails at once, and is woken so that it sees its SIGTERM.
#[test]
fn a_suspended_hook_fails_at_once_and_sees_its_sigterm() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args([
            "--pre",
            &format!("trap 'echo got-term >> {log}; exit 1' TERM; kill -TSTP $$; sleep 30"),
        ])
        .args([
            "--post",
            &format!("echo post $FELHOM_BACKUP_PHASE >> '{log}'"),
        ]);
    let ran = run(command).status(10);
    assert!(ran.stderr.contains("was suspended by SIGTSTP"), "{ran:#?}");
    assert_eq!(sandbox.logged(), ["got-term", "post error"]);
    assert_eq!(posts(&agent), 0);
}

/// A thaw hook that fails leaves the application possibly quiesced: that needs a person before
/// anything else, so 10 wins over the status the run would otherwise end with.
#[test]
fn a_failed_thaw_after_a_failed_backup_exits_10_not_6() {
    let agent = DevAgent::builder()
        .backup_duration(SHORT_JOB)
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(["--post", "exit 4"]);
    let ran = run(command).status(10);
    assert_eq!(ran.json()["phase"], "failed");
    assert_eq!(ran.json()["thaw"]["ok"], false);
    assert!(ran.stderr.contains("may still be quiesced"), "{ran:#?}");
}

#[test]
fn a_failed_thaw_after_a_signal_exits_10_not_143() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let mut command = backup_run(&agent, &sandbox);
    command.args(["--post", &format!("echo post >> '{log}'; exit 4")]);
    let mut running = Running::spawn(command);
    running.wait_for_stderr("backup job job-1 started");
    running.signal("TERM");
    let ran = running.finish().status(10);
    assert_eq!(sandbox.logged(), ["post"], "the thaw hook ran once");
    assert_eq!(ran.json()["stopped"], "interrupted");
    assert_eq!(ran.json()["thaw"]["ok"], false);
    assert!(ran.stderr.contains("may still be quiesced"), "{ran:#?}");
    assert!(ran.stderr.contains("goes on at the agent"), "{ran:#?}");
}

// ---- busy, the lock -----------------------------------------------------------------------------

#[test]
fn a_running_job_is_busy_exit_7_and_no_hook_runs() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    client(&agent).start_backup().unwrap();
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(7);
    assert_eq!(sandbox.logged(), Vec::<String>::new(), "no hook ran");
    assert_eq!(posts(&agent), 1, "only the job that was already running");
    let v = ran.json();
    assert_eq!(
        (&v["job_id"], &v["stopped"]),
        (&json!("job-1"), &json!("busy"))
    );
    assert_eq!(v["thaw"], Value::Null);
}

#[test]
fn a_409_after_the_freeze_is_busy_and_thawed() {
    let agent = DevAgent::start().unwrap();
    agent.set_fault_on("/backup", Fault::Status(409));
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    run(command).status(7);
    assert_eq!(sandbox.logged(), ["pre freeze none", "post error none"]);
}

#[test]
fn a_held_lock_exits_7_at_once_before_any_hook_or_call() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let held = sandbox.private_lock();
    held.try_lock().unwrap();
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    let ran = run(command).status(7);
    assert!(ran.stderr.contains("holds the lock"), "{ran:#?}");
    assert_eq!(sandbox.logged(), Vec::<String>::new());
    assert_eq!(calls(&agent), Vec::<String>::new(), "nothing was asked");
    drop(held);
    run(backup_run(&agent, &sandbox)).status(0);
}

#[test]
fn a_second_run_exits_7_while_the_first_holds_the_lock() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut first = backup_run(&agent, &sandbox);
    first.args(sandbox.pre_post());
    let mut first = Running::spawn(first);
    first.wait_for_stderr("backup job job-1 started");

    let mut second = backup_run(&agent, &sandbox);
    second.args(sandbox.pre_post());
    let ran = run(second).status(7);
    assert!(ran.stderr.contains("holds the lock"), "{ran:#?}");
    assert_eq!(
        sandbox.logged(),
        ["pre freeze none"],
        "the second ran no hook"
    );

    first.signal("TERM");
    first.finish().status(143);
    assert_eq!(
        sandbox.logged(),
        ["pre freeze none", "post interrupted job-1"]
    );
}

// ---- --if-due -----------------------------------------------------------------------------------

/// A lock file someone else created in a shared directory could be held to stop every run
/// as "busy" (exit 7, a success for the unit): it is refused, exit 2, before any hook.
#[test]
fn a_lock_file_another_user_owns_is_refused_not_taken_for_busy() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    drop(sandbox.private_lock());
    // Owned by this user: taken as usual.
    let mut command = backup_run(&agent, &sandbox);
    command.args(sandbox.pre_post());
    run(command).status(0);
    // Owned by nobody (65534), where this test may give files away (as root, as in CI).
    match std::os::unix::fs::chown(sandbox.lock(), Some(65534), Some(65534)) {
        Ok(()) => {
            let mut command = backup_run(&agent, &sandbox);
            command.args(sandbox.pre_post());
            let ran = run(command).status(2);
            assert!(ran.stderr.contains("belongs to uid 65534"), "{ran:#?}");
            assert_eq!(
                sandbox.logged(),
                ["pre freeze none", "post done job-1"],
                "no hook ran the second time"
            );
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}"),
    }
}

/// `flock` needs only a read-only descriptor: a lock file others can open, they can hold.
/// And a FIFO planted at the path must not block the tool in `open`.
#[test]
fn a_lock_file_others_can_open_or_that_is_no_regular_file_is_refused() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    // Made by the tool itself: private.
    run(backup_run(&agent, &sandbox)).status(0);
    let mode = fs::metadata(sandbox.lock()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the tool made its lock file {mode:o}");

    fs::set_permissions(sandbox.lock(), fs::Permissions::from_mode(0o644)).unwrap();
    let ran = run(backup_run(&agent, &sandbox)).status(2);
    assert!(
        ran.stderr.contains("other users can open it (mode 0644)"),
        "{ran:#?}"
    );

    fs::remove_file(sandbox.lock()).unwrap();
    let made = Command::new("mkfifo").arg(sandbox.lock()).status().unwrap();
    assert!(made.success());
    let ran = run(backup_run(&agent, &sandbox)).status(2);
    assert!(ran.stderr.contains("not a regular file"), "{ran:#?}");
    assert_eq!(posts(&agent), 1, "only the first run backed up");
}

#[test]
fn if_due_runs_when_a_backup_is_due_and_does_nothing_when_not() {
    let agent = agent_with_jobs_of(Duration::ZERO);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command.arg("--if-due").args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert_eq!(ran.json()["phase"], "done");
    assert_eq!(sandbox.logged(), ["pre freeze none", "post done job-1"]);

    // The job that just ended makes the next backup not due.
    let mut command = backup_run(&agent, &sandbox);
    command.arg("--if-due").args(sandbox.pre_post());
    let ran = run(command).status(0);
    let v = ran.json();
    assert_eq!(v["due"], false);
    assert!(v["reason"].as_str().unwrap().contains("job-1"), "{v}");
    assert_eq!(sandbox.logged().len(), 2, "no hook ran the second time");
    assert_eq!(posts(&agent), 1, "no second backup");
}

// ---- the quiesce window -------------------------------------------------------------------------

#[test]
fn thaw_after_thaws_early_and_the_wait_goes_on_to_the_end() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--thaw-after", "100ms"])
        .args(sandbox.pre_post());
    let running = Running::spawn(command);
    sandbox.wait_for_logged("post running job-1");
    // Thawed while the job runs; now let it end: the wait must see it end.
    assert_eq!(
        client(&agent).backup_status().unwrap().phase,
        BackupPhase::Running
    );
    agent.finish_backup();
    let ran = running.finish().status(0);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["stopped"]),
        (&json!("done"), &json!("done"))
    );
    assert_eq!(v["thaw"]["early"], true);
    assert_eq!(v["thaw"]["phase"], "running");
    assert_eq!(
        sandbox.logged(),
        ["pre freeze none", "post running job-1"],
        "thawed once, early"
    );
}

// ---- --hooks-dir --------------------------------------------------------------------------------

#[test]
fn hooks_dir_freezes_in_name_order_thaws_in_reverse_and_skips_leftovers() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let body = format!(
        r#"echo "$(basename "$0") $1 $FELHOM_BACKUP_PHASE ${{FELHOM_BACKUP_JOB_ID:-none}}" >> '{log}'"#
    );
    for name in ["20-fs", "10-db"] {
        sandbox.script("hooks.d", name, &body, 0o755);
    }
    for name in [
        "15-x~",
        "15-x.bak",
        "15-x.orig",
        "15-x.sample",
        "15-x.dpkg-old",
        "15-x.rpmnew",
        "15-x.rpmsave",
        ".15-hidden",
    ] {
        sandbox.script("hooks.d", name, &body, 0o755);
    }
    sandbox.script("hooks.d", "30-not-executable", &body, 0o644);
    let dir = sandbox.path("hooks.d");
    fs::create_dir(dir.join("35-a-directory")).unwrap();
    fs::set_permissions(
        dir.join("35-a-directory"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.join("10-db"), dir.join("40-link")).unwrap();
    std::os::unix::fs::symlink(dir.join("missing"), dir.join("45-dangling")).unwrap();

    let mut command = backup_run(&agent, &sandbox);
    command
        .arg("--hooks-dir")
        .arg(&dir)
        .args(sandbox.pre_post());
    let ran = run(command).status(0);
    assert!(
        ran.stderr
            .contains("30-not-executable: not executable (chmod +x"),
        "{ran:#?}"
    );
    assert_eq!(
        sandbox.logged(),
        [
            "pre freeze none",
            "10-db freeze freeze none",
            "20-fs freeze freeze none",
            "40-link freeze freeze none",
            "40-link thaw done job-1",
            "20-fs thaw done job-1",
            "10-db thaw done job-1",
            "post done job-1",
        ]
    );
}

/// A typo in `--hooks-dir` would back up without quiescing and succeed: it is refused first.
#[test]
fn a_hooks_dir_that_does_not_exist_is_refused_before_anything_runs() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = backup_run(&agent, &sandbox);
    command
        .arg("--hooks-dir")
        .arg(sandbox.path("backup-hooks.d-typo"))
        .args(sandbox.pre_post());
    let ran = run(command).status(2);
    assert!(ran.stderr.contains("no such directory"), "{ran:#?}");
    assert!(sandbox.logged().is_empty(), "no hook ran");
    assert_eq!(posts(&agent), 0);
}

#[test]
fn a_failed_directory_hook_stops_the_freeze_and_thaws_what_was_frozen() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let log = sandbox.log().display().to_string();
    let body = format!(r#"echo "$(basename "$0") $1 $FELHOM_BACKUP_PHASE" >> '{log}'"#);
    sandbox.script("hooks.d", "10-db", &body, 0o755);
    sandbox.script(
        "hooks.d",
        "20-fs",
        &format!("{body}\n[ \"$1\" = freeze ] && exit 1\nexit 0"),
        0o755,
    );
    sandbox.script("hooks.d", "30-never", &body, 0o755);
    let mut command = backup_run(&agent, &sandbox);
    command.arg("--hooks-dir").arg(sandbox.path("hooks.d"));
    let ran = run(command).status(10);
    assert_eq!(
        sandbox.logged(),
        [
            "10-db freeze freeze",
            "20-fs freeze freeze",
            "20-fs thaw error",
            "10-db thaw error",
        ]
    );
    assert_eq!(posts(&agent), 0);
    assert!(ran.stderr.contains("20-fs"), "{ran:#?}");
}

#[test]
fn hooks_are_not_given_the_token() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let env = sandbox.path("env.txt");
    let mut command = backup_run(&agent, &sandbox);
    let token_file = sandbox.path("agent.token");
    fs::write(&token_file, agent.token()).unwrap();
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).unwrap();
    command
        .env_remove("FELHOM_AGENT_TOKEN")
        .env("FELHOM_AGENT_TOKEN_FILE", &token_file)
        .args(["--post", &format!("env > '{}'", env.display())]);
    run(command).status(0);
    let seen = fs::read_to_string(&env).unwrap();
    assert!(!seen.contains(agent.token()), "a hook saw the token");
    assert!(
        !seen.contains("FELHOM_AGENT_TOKEN"),
        "a hook saw where it is: {seen}"
    );
    assert!(seen.contains("FELHOM_BACKUP_PHASE=done"), "{seen}");
    assert!(seen.contains("FELHOM_BACKUP_JOB_ID=job-1"), "{seen}");
}

/// `--token-fd N`: the descriptor was handed over for the token alone, so no hook inherits it.
#[test]
fn hooks_do_not_inherit_the_token_descriptor() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let token_file = sandbox.path("token");
    fs::write(&token_file, agent.token()).unwrap();
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).unwrap();
    let leak = sandbox.path("leak.txt");
    let fds = sandbox.path("fds.txt");
    let post = format!(
        "ls /proc/$$/fd > '{}'; (cat <&3) > '{}' 2>/dev/null; true",
        fds.display(),
        leak.display()
    );
    // As a shell passes one: `3< FILE`, then the tool.
    let script = format!(
        "exec \"$0\" --endpoint {} --fingerprint {} --token-fd 3 backup run --poll 20ms \
         --lock '{}' --post \"$1\" 3< '{}'",
        agent.endpoint(),
        agent.fingerprint(),
        sandbox.lock().display(),
        token_file.display()
    );
    let mut sh = Command::new("sh");
    sh.args(["-c", &script, BIN, &post])
        .env("STATE_DIRECTORY", crate::harness::shared_state_dir())
        .env_remove("FELHOM_AGENT_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run(sh).status(0);
    let open: Vec<String> = fs::read_to_string(&fds)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        !open.iter().any(|fd| fd == "3"),
        "the hook has fd 3: {open:?}"
    );
    let leaked = fs::read_to_string(&leak).unwrap();
    assert!(
        !leaked.contains(agent.token()),
        "a hook read the token from fd 3"
    );
}

// ---- backup wait --------------------------------------------------------------------------------

#[test]
fn backup_wait_reattaches_to_the_running_job_without_starting_one() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    client(&agent).start_backup().unwrap();
    let mut command = tool(&agent);
    command.args(["backup", "wait", "--poll", "20ms"]);
    let ran = run(command).status(0);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["job_id"]),
        (&json!("done"), &json!("job-1"))
    );
    assert_eq!(v["thaw"], Value::Null);
    assert_eq!(posts(&agent), 1, "wait started nothing");
    assert!(
        ran.stderr
            .contains("looking for the backup job that is running")
            && !ran.stderr.contains("checking that no backup job"),
        "{ran:#?}"
    );

    let idle = DevAgent::start().unwrap();
    let mut command = tool(&idle);
    command.args(["backup", "wait", "--poll", "20ms"]);
    let ran = run(command).status(1);
    assert!(ran.stderr.contains("no backup job"), "{ran:#?}");
}

#[test]
fn backup_wait_gives_up_with_9() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    client(&agent).start_backup().unwrap();
    let mut command = tool(&agent);
    command.args([
        "backup",
        "wait",
        "--poll",
        "20ms",
        "--give-up-after",
        "200ms",
    ]);
    let ran = run(command).status(9);
    assert_eq!(ran.json()["stopped"], "gave-up");
}

// ---- documentation ------------------------------------------------------------------------------

#[test]
fn help_documents_the_backup_exit_statuses_and_hooks() {
    let mut command = Command::new(BIN);
    command
        .arg("--help")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let top = run(command).status(0).stdout;
    for needle in [
        "7  'backup run': busy",
        "9  'backup run'",
        "10 'backup run'",
        "129, 130, 143",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let mut command = Command::new(BIN);
    command
        .args(["backup", "run", "--help"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let run_help = run(command).status(0).stdout;
    for needle in [
        "FELHOM_BACKUP_PHASE",
        "FELHOM_BACKUP_JOB_ID",
        "--thaw-after",
        "--if-due",
        "--lock",
    ] {
        assert!(
            run_help.contains(needle),
            "backup run --help lacks {needle:?}"
        );
    }
    let wait_help = Command::new(BIN)
        .args(["backup", "wait", "--help"])
        .output()
        .unwrap();
    assert!(wait_help.status.success());
    assert!(
        String::from_utf8(wait_help.stdout)
            .unwrap()
            .contains("--give-up-after")
    );
    let short = Command::new(BIN).arg("-h").output().unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(
        short.contains("7 busy, 8 token rejected, 9 gave up waiting, 10 hook failed"),
        "{short}"
    );
}

#[test]
fn bad_hook_settings_are_usage_errors_before_anything_runs() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let not_a_dir = sandbox.path("file");
    fs::write(&not_a_dir, "").unwrap();
    let mut command = backup_run(&agent, &sandbox);
    command.arg("--hooks-dir").arg(&not_a_dir);
    let ran = run(command).status(2);
    assert!(ran.stderr.contains("--hooks-dir"), "{ran:#?}");
    assert_eq!(calls(&agent), Vec::<String>::new());
}
