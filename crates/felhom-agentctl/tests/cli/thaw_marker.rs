//! Issue 15, case 6: a run killed with SIGKILL (or crashed) leaves its thaw marker, and the
//! hooks it froze are thawed exactly once later: by `backup thaw` (the unit's
//! `ExecStopPost=`), or by the next `backup run` before it asks the agent anything.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::backup_run::{ENDLESS_JOB, Running, Sandbox, agent_with_jobs_of, backup_thaw, run};
use crate::frozen::{assert_each_freeze_thawed_once, like, marker, run_with_hooks};

const HOOKS: [(&str, &str); 2] = [("10-a", ""), ("20-b", "")];

/// Starts a run, SIGKILLs it once the job runs: both hooks frozen, none thawed.
fn killed_mid_run(sandbox: &Sandbox) -> felhom_devagent::DevAgent {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let mut running = Running::spawn(run_with_hooks(&agent, sandbox, &HOOKS));
    running.wait_for_stderr("backup job job-1 started");
    running.child.kill().unwrap();
    let ran = running.finish();
    assert_eq!(ran.code, None, "killed: {ran:#?}");
    assert_eq!(sandbox.logged(), ["freeze 10-a", "freeze 20-b"]);
    assert!(marker(sandbox).exists(), "the marker outlives the run");
    agent
}

#[test]
fn sigkill_then_backup_thaw_thaws_once_and_a_second_backup_thaw_does_nothing() {
    let sandbox = Sandbox::new();
    let _agent = killed_mid_run(&sandbox);
    let ran = run(backup_thaw(&sandbox)).status(0);
    assert!(ran.stderr.contains("ended without thawing"), "{ran:#?}");
    assert_eq!(
        sandbox.logged()[2..],
        ["thaw 20-b interrupted", "thaw 10-a interrupted"]
    );
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
    assert!(!marker(&sandbox).exists());

    let ran = run(backup_thaw(&sandbox)).status(0);
    assert_eq!(ran.stderr, "", "silent when there is nothing to thaw");
    assert_eq!(sandbox.logged().len(), 4, "nothing ran the second time");
}

#[test]
fn sigkill_then_a_new_run_thaws_the_leftover_before_asking_the_agent_anything() {
    let sandbox = Sandbox::new();
    let agent = killed_mid_run(&sandbox);
    let before = crate::harness::calls(&agent).len();
    // Pointed at a port where nothing listens: the leftover is thawed before any call.
    let mut command = backup_thaw(&sandbox);
    command
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .env("FELHOM_AGENT_ENDPOINT", crate::harness::dead_endpoint())
        .env("FELHOM_AGENT_FINGERPRINT", agent.fingerprint().to_string());
    let args = command
        .get_args()
        .map(|a| if a == "thaw" { "run".as_ref() } else { a });
    let mut command = like(&command, command.get_program(), args);
    command.arg("--hooks-dir").arg(sandbox.path("hooks"));
    let ran = run(command).status(5);
    assert!(ran.stderr.contains("ended without thawing"), "{ran:#?}");
    assert_eq!(
        sandbox.logged()[2..],
        ["thaw 20-b interrupted", "thaw 10-a interrupted"],
        "thawed first, then nothing froze: the agent could not be reached"
    );
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
    assert_eq!(crate::harness::calls(&agent).len(), before);
    assert!(!marker(&sandbox).exists());
}

#[test]
fn a_marker_another_user_could_have_written_is_not_run() {
    let sandbox = Sandbox::new();
    let _agent = killed_mid_run(&sandbox);
    fs::set_permissions(marker(&sandbox), fs::Permissions::from_mode(0o666)).unwrap();
    let ran = run(backup_thaw(&sandbox)).status(10);
    assert!(
        ran.stderr.contains("cannot read the thaw marker"),
        "{ran:#?}"
    );
    assert!(ran.stderr.contains("may still be frozen"), "{ran:#?}");
    assert_eq!(sandbox.logged().len(), 2, "no hook ran");
}

#[test]
fn backup_thaw_waits_for_no_run_that_holds_the_lock() {
    let sandbox = Sandbox::new();
    let _held = sandbox.private_lock();
    let file = fs::File::open(sandbox.lock()).unwrap();
    file.try_lock().unwrap();
    let ran = run(backup_thaw(&sandbox)).status(7);
    assert!(
        ran.stderr.contains("it thaws what it froze itself"),
        "{ran:#?}"
    );
}

/// `backup thaw` reads no token: a `--token-fd` given to it (global flags copied from the
/// unit's `ExecStart=` into `ExecStopPost=`) is closed, not handed to the hooks it thaws.
#[test]
fn backup_thaw_hands_no_token_descriptor_to_the_hooks_it_thaws() {
    let sandbox = Sandbox::new();
    let agent = killed_mid_run(&sandbox);
    let token = sandbox.path("agent.token");
    fs::write(&token, agent.token()).unwrap();
    fs::set_permissions(&token, fs::Permissions::from_mode(0o600)).unwrap();
    // 20-b thaws first: it lists its own descriptors, then logs as before.
    let fds = sandbox.path("fds.txt");
    let body = format!(
        "ls /proc/$$/fd > '{}'; echo \"thaw 20-b $FELHOM_BACKUP_PHASE\" >> '{}'",
        fds.display(),
        sandbox.log().display()
    );
    sandbox.script("hooks", "20-b", &body, 0o755);
    let thaw = backup_thaw(&sandbox);
    // As a shell passes one: `3< FILE`, then the tool.
    let script = [
        OsStr::new("-c"),
        "exec \"$@\" 3< \"$0\"".as_ref(),
        token.as_ref(),
    ];
    let tool = [thaw.get_program()].into_iter().chain(thaw.get_args());
    let args = script
        .into_iter()
        .chain(tool)
        .chain(["--token-fd", "3"].map(OsStr::new));
    run(like(&thaw, "sh", args)).status(0);
    let open = fs::read_to_string(&fds).unwrap();
    assert!(
        !open.lines().any(|fd| fd == "3"),
        "the hook has fd 3: {open}"
    );
    assert_eq!(
        sandbox.logged()[2..],
        ["thaw 20-b interrupted", "thaw 10-a interrupted"]
    );
}

/// A hook refused at the thaw (here made group-writable after the kill) never ran: the marker
/// keeps it for the next `backup thaw` even when the hook thawed before it was started, and
/// that thaw runs it once it is trusted again.
#[test]
fn a_hook_refused_at_the_thaw_stays_in_the_marker_whatever_ran_before_it() {
    let sandbox = Sandbox::new();
    let _agent = killed_mid_run(&sandbox);
    // 20-b thaws first and runs; 10-a comes after it, refused.
    let refused = sandbox.path("hooks").join("10-a");
    fs::set_permissions(&refused, fs::Permissions::from_mode(0o775)).unwrap();
    let ran = run(backup_thaw(&sandbox)).status(10);
    assert!(ran.stderr.contains("could not be started"), "{ran:#?}");
    let kept = fs::read_to_string(marker(&sandbox)).unwrap();
    assert!(kept.contains("10-a") && !kept.contains("20-b"), "{kept}");

    fs::set_permissions(&refused, fs::Permissions::from_mode(0o755)).unwrap();
    run(backup_thaw(&sandbox)).status(0);
    assert_eq!(
        sandbox.logged()[2..],
        ["thaw 20-b interrupted", "thaw 10-a interrupted"]
    );
    assert_eq!(assert_each_freeze_thawed_once(&sandbox).len(), 2);
    assert!(!marker(&sandbox).exists());
}
