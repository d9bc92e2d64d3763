//! Issue 15, cases 1 and 2, and the anomaly test: every I/O call of the tool failed in turn
//! with `strace`'s fault injection, the invariant checked after each run (every hook that froze
//! was thawed exactly once; no exit 101; no death by a signal).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use felhom_devagent::{DevAgent, Fault};
use serde_json::json;

use crate::backup_run::{CHILD_LIMIT, SHORT_JOB, Sandbox, agent_with_jobs_of, run};
use crate::bounded::{KillOnDrop, wait_within};
use crate::frozen::{assert_each_freeze_thawed_once, like, run_with_hooks};
use crate::harness::capable;

const HOOKS: [(&str, &str); 2] = [("10-a", ""), ("20-b", "")];

/// Waits for `child`, killing its process group past [`CHILD_LIMIT`] (strace and the tool it
/// traces, which a kill of strace alone would leave running; [`crate::bounded::kill`]); its exit
/// code (`None`: a signal).
fn wait(mut child: KillOnDrop, what: &dyn std::fmt::Debug) -> Option<i32> {
    wait_within(&mut child, CHILD_LIMIT)
        .unwrap_or_else(|| panic!("felhom-agentctl did not end and was killed: {what:?}"))
        .code()
}

#[test]
fn standard_error_that_goes_away_mid_run_still_thaws_every_hook() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut child = KillOnDrop(run_with_hooks(&agent, &sandbox, &HOOKS).spawn().unwrap());
    // The reader goes once the backup has started, as a `| logger` that died: every later
    // line meets EPIPE. It reads on a thread of its own, so that the wait for that line is
    // bounded; the thread drops the pipe the moment it has read it.
    let err = BufReader::new(child.stderr.take().unwrap());
    let (tx, seen) = mpsc::channel();
    thread::spawn(move || {
        let mut err = err;
        let mut read = String::new();
        let found = loop {
            let mut line = String::new();
            match err.read_line(&mut line) {
                Ok(0) | Err(_) => break false,
                Ok(_) => read.push_str(&line),
            }
            if line.contains("starting the backup") {
                break true;
            }
        };
        drop(err);
        let _ = tx.send((found, read));
    });
    match seen.recv_timeout(CHILD_LIMIT) {
        Ok((true, _)) => {}
        Ok((false, read)) => panic!("stderr ended early: {read:?}"),
        Err(_) => panic!("no \"starting the backup\" on stderr within {CHILD_LIMIT:?}"),
    }
    assert_eq!(
        wait(child, &"stderr closed"),
        Some(0),
        "the backup went well"
    );
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
}

#[test]
fn standard_error_on_dev_full_still_thaws_every_hook() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    let sandbox = Sandbox::new();
    let mut command = run_with_hooks(&agent, &sandbox, &HOOKS);
    command.stderr(File::options().write(true).open("/dev/full").unwrap());
    assert_eq!(
        wait(KillOnDrop(command.spawn().unwrap()), &"/dev/full"),
        Some(0)
    );
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
}

#[test]
fn a_hostile_job_id_is_refused_and_every_hook_is_thawed() {
    for id in ["job\u{0}1".to_string(), "j".repeat(200 * 1024)] {
        let agent = agent_with_jobs_of(SHORT_JOB);
        let body = json!({"ok": true, "data": {"vmid": 101, "job_id": id, "phase": "running"}});
        agent.set_fault_on(
            "/backup",
            Fault::Answer {
                status: 200,
                body: body.to_string(),
            },
        );
        let sandbox = Sandbox::new();
        let mut command = run_with_hooks(&agent, &sandbox, &HOOKS);
        command.args(["--give-up-after", "1s"]);
        let ran = run(command).status(1);
        assert!(ran.stderr.contains("job_id"), "{ran:#?}");
        let log = sandbox.logged();
        assert_eq!(log[2..], ["thaw 20-b error", "thaw 10-a error"], "{log:?}");
        assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
    }
}

// ---- strace fault injection ---------------------------------------------------------------------

/// The calls failed in turn, and how: the tool's I/O, and its watch on the hooks; and whether
/// every call from the N-th on is failed too (not for EINTR: a kernel cannot interrupt every
/// call forever, and std retries `wait4` on EINTR without end).
const KINDS: [(&str, &str, bool); 7] = [
    ("write", "EIO", true),
    ("writev", "EIO", true),
    ("sendto", "EPIPE", true),
    ("read", "EIO", true),
    ("recvfrom", "ECONNRESET", true),
    ("waitid", "EINTR", false),
    ("wait4", "EINTR", false),
];
/// Runs per kind at most: an even sample when the reference run made more calls.
const SAMPLE: usize = 25;

/// `strace` and its arguments, then the run; `None` (with a note) where there is no strace,
/// unless under CI, where its absence fails the test.
fn strace() -> Option<()> {
    let found = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    capable(
        found,
        "strace is missing (.ci/run installs it: apt-get install -y strace): the \
         fault-injection test did not run",
    )
    .then_some(())
}

/// One traced run against `agent`: `strace_args` before the tool. Returns the exit code.
fn traced(agent: &DevAgent, strace_args: &[String], check: impl Fn(&Sandbox)) -> Option<i32> {
    traced_in(&Sandbox::new(), agent, strace_args, check)
}

/// [`traced`] in `sandbox`.
fn traced_in(
    sandbox: &Sandbox,
    agent: &DevAgent,
    strace_args: &[String],
    check: impl Fn(&Sandbox),
) -> Option<i32> {
    let tool = run_with_hooks(agent, sandbox, &HOOKS);
    let args = strace_args
        .iter()
        .map(|a| a.as_ref())
        .chain([tool.get_program()])
        .chain(tool.get_args());
    let mut command = like(&tool, "strace", args);
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let code = wait(KillOnDrop(command.spawn().unwrap()), &strace_args);
    assert_ne!(code, Some(101), "panicked with {strace_args:?}");
    assert!(code.is_some(), "killed by a signal with {strace_args:?}");
    check(sandbox);
    code
}

/// The tool's own calls of each kind in a run without faults (its main thread: the hooks and
/// the signal thread are not followed without -f).
fn reference_counts(agent: &DevAgent) -> Vec<usize> {
    let out = std::env::temp_dir().join(format!("felhom-strace-{}", std::process::id()));
    let args = ["-o".to_string(), out.display().to_string()];
    assert_eq!(traced(agent, &args, |_| {}), Some(0), "the reference run");
    let trace = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let count = |name: &str| {
        trace
            .lines()
            .filter(|l| l.starts_with(&format!("{name}(")))
            .count()
    };
    let counts = KINDS.iter().map(|(name, ..)| count(name)).collect();
    println!(
        "reference run: {:?} = {counts:?}, clone3: {}",
        KINDS,
        count("clone3")
    );
    counts
}

/// 1..=count, or [`SAMPLE`] of them spread evenly.
fn sample(count: usize) -> Vec<usize> {
    if count <= SAMPLE {
        return (1..=count).collect();
    }
    (0..SAMPLE)
        .map(|i| 1 + i * (count - 1) / (SAMPLE - 1))
        .collect()
}

fn inject(name: &str, error: &str, when: &str) -> Vec<String> {
    ["-o", "/dev/null", "-e"]
        .map(String::from)
        .into_iter()
        .chain([format!("inject={name}:error={error}:when={when}")])
        .collect()
}

#[test]
fn every_io_call_failed_in_turn_still_thaws_each_hook_exactly_once() {
    let Some(()) = strace() else { return };
    let agent = agent_with_jobs_of(Duration::ZERO);
    let counts = reference_counts(&agent);
    let mut runs = Vec::new();
    for ((name, error, persistent), count) in KINDS.iter().zip(counts) {
        for n in sample(count) {
            // The N-th call alone, then every call from the N-th on (a pipe or a link that
            // died for good).
            runs.push(inject(name, error, &n.to_string()));
            if *persistent {
                runs.push(inject(name, error, &format!("{n}+")));
            }
        }
    }
    println!("{} runs with calls failed", runs.len());
    // Two at a time: the machine has two cores.
    thread::scope(|scope| {
        for half in runs.chunks(runs.len().div_ceil(2).max(1)) {
            let agent = &agent;
            scope.spawn(move || {
                for args in half {
                    let code = traced(agent, args, |sandbox| {
                        assert_each_freeze_thawed_once(sandbox);
                    });
                    println!("{}: exit {code:?}", args[3]);
                }
            });
        }
    });
}

#[test]
fn hooks_that_cannot_be_started_are_reported_and_nothing_is_left_frozen() {
    let Some(()) = strace() else { return };
    let agent = agent_with_jobs_of(Duration::ZERO);
    // The hooks are started by clone3 (glibc's posix_spawn); the first is the signal thread.
    for when in ["2", "3", "4", "5", "2+"] {
        let code = traced(&agent, &inject("clone3", "EAGAIN", when), |sandbox| {
            assert_each_freeze_thawed_once(sandbox);
        });
        println!("clone3 failed at call {when}: exit {code:?}");
        assert!(matches!(code, Some(0 | 10)), "{when}: {code:?}");
    }
    // From the fourth on, after both freezes: no thaw hook can start. The marker keeps them,
    // and `backup thaw` starts them once processes can be made again.
    let code = traced(&agent, &inject("clone3", "EAGAIN", "4+"), |sandbox| {
        assert_eq!(sandbox.logged(), ["freeze 10-a", "freeze 20-b"]);
        assert!(crate::frozen::marker(sandbox).exists());
        let thaw = like(
            &Command::new("true"),
            crate::backup_run::BIN,
            ["backup", "thaw", "--lock"],
        );
        let ran = run(crate::frozen::with_arg(thaw, sandbox.lock())).status(0);
        assert!(ran.stderr.contains("ended without thawing"), "{ran:#?}");
        assert_each_freeze_thawed_once(sandbox);
    });
    assert_eq!(code, Some(10), "clone3 failed from call 4 on");
    // Every exec of one hook fails (a hook the kernel cannot run): it never froze, the other
    // is thawed, exit 10.
    let sandbox = Sandbox::new();
    let hook = sandbox.path("hooks").join("20-b");
    let args = ["-f", "-o", "/dev/null", "-P"]
        .map(String::from)
        .into_iter()
        .chain([hook.display().to_string(), "-e".into()])
        .chain(["inject=execve:error=ENOENT".to_string()])
        .collect::<Vec<_>>();
    let code = traced_in(&sandbox, &agent, &args, |sandbox| {
        assert_eq!(
            sandbox.logged(),
            ["freeze 10-a", "thaw 10-a error"],
            "20-b never ran"
        );
    });
    assert_eq!(code, Some(10));
}
