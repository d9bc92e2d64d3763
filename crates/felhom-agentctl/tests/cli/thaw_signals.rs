//! Issue 15, cases 3, 5 and 7: every signal that would end the tool thaws first, a stop during
//! a freeze hook interrupts it and starts no further freeze hook, and a signal ignored at start
//! (`nohup`) stays ignored. Each run's hooks log every freeze and thaw ([`crate::frozen`]).

use std::ffi::OsStr;

use crate::backup_run::{ENDLESS_JOB, Running, Sandbox, agent_with_jobs_of};
use crate::frozen::{assert_each_freeze_thawed_once, like, marker, run_with_hooks};

const TWO_HOOKS: [(&str, &str); 2] = [("10-a", ""), ("20-b", "")];

/// Sends `signal` (a name `kill -s` knows) once the job runs: both hooks thawed once, exit
/// 128 + `number`.
fn interrupted_by(signal: &str, number: i32) {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let mut running = Running::spawn(run_with_hooks(&agent, &sandbox, &TWO_HOOKS));
    running.wait_for_stderr("backup job job-1 started");
    running.signal(signal);
    let ran = running.finish().status(128 + number);
    assert_eq!(
        assert_each_freeze_thawed_once(&sandbox).len(),
        2,
        "{signal}"
    );
    assert!(
        sandbox
            .logged()
            .contains(&"thaw 20-b interrupted".to_string()),
        "{signal}: {:?}",
        sandbox.logged()
    );
    assert!(
        ran.stderr.contains("the application was thawed"),
        "{ran:#?}"
    );
    assert!(
        !marker(&sandbox).exists(),
        "the thaw ran: no marker is left"
    );
}

#[test]
fn every_signal_that_would_end_the_tool_thaws_once_and_exits_128_plus_its_number() {
    for (signal, number) in [
        ("QUIT", 3),
        ("USR1", 10),
        ("USR2", 12),
        ("ALRM", 14),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("PROF", 27),
        ("PWR", 30),
        ("RTMIN+1", 35),
    ] {
        interrupted_by(signal, number);
    }
}

#[test]
fn a_sighup_ignored_at_start_stays_ignored_as_under_nohup() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let tool = run_with_hooks(&agent, &sandbox, &TWO_HOOKS);
    // `trap '' HUP` is what nohup does: SIGHUP ignored, across exec.
    let script = ["-c", "trap '' HUP; exec \"$@\"", "sh"].map(OsStr::new);
    let args = script
        .into_iter()
        .chain([tool.get_program()])
        .chain(tool.get_args());
    let command = like(&tool, "sh", args);
    let mut running = Running::spawn(command);
    running.wait_for_stderr("backup job job-1 started");
    // Pending together, SIGHUP (1) would be taken before SIGTERM (15): 129 if it were caught.
    running.signal("HUP");
    running.signal("TERM");
    let ran = running.finish().status(143);
    assert!(ran.stderr.contains("interrupted by SIGTERM"), "{ran:#?}");
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
}

#[test]
fn a_stop_during_a_freeze_hook_interrupts_it_and_no_further_freeze_hook_starts() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let hooks = [("10-a", ""), ("20-slow", "sleep 30"), ("30-c", "")];
    let running = Running::spawn(run_with_hooks(&agent, &sandbox, &hooks));
    sandbox.wait_for_logged("freeze 20-slow");
    running.signal("TERM");
    let ran = running.finish().status(143);
    assert!(
        ran.stderr
            .contains("interrupted: stopping the freeze hook, then thawing"),
        "{ran:#?}"
    );
    assert!(
        ran.stderr
            .contains("interrupted by SIGTERM during the freeze"),
        "{ran:#?}"
    );
    let frozen = assert_each_freeze_thawed_once(&sandbox);
    assert_eq!(
        frozen.into_iter().collect::<Vec<_>>(),
        ["10-a", "20-slow"],
        "30-c never froze"
    );
    assert_eq!(
        sandbox.logged()[2..],
        ["thaw 20-slow interrupted", "thaw 10-a interrupted"]
    );
    assert!(
        !crate::harness::calls(&agent).contains(&"POST /backup".to_string()),
        "no backup was started"
    );
}

#[test]
fn an_interrupted_freeze_is_kind_interrupted_in_json_errors() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let sandbox = Sandbox::new();
    let hooks = [("10-slow", "sleep 30")];
    let mut command = run_with_hooks(&agent, &sandbox, &hooks);
    command.args(["--error-format", "json"]);
    let running = Running::spawn(command);
    sandbox.wait_for_logged("freeze 10-slow");
    running.signal("INT");
    let ran = running.finish().status(130);
    let line: serde_json::Value = serde_json::from_str(ran.stderr.trim()).unwrap();
    assert_eq!(line["kind"], "interrupted", "{ran:#?}");
    assert_eq!(line["exit"], 130);
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 1);
}
