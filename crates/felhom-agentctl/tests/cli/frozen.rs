//! Shared by the thaw tests (`thaw_signals`, `thaw_marker`, `thaw_faults`, `thaw_stuck`): hooks
//! that log each freeze and each thaw to the sandbox's log, and the invariant every run must
//! keep, read from that log: every hook that froze was thawed exactly once, after its freeze,
//! and no hook was thawed that had not frozen.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::backup_run::{Sandbox, backup_run};
use felhom_devagent::DevAgent;

/// The hooks directory of `sandbox`: one executable per `(name, extra)`, which logs
/// `freeze NAME` and then runs `extra` (shell) when called with `freeze`, and logs
/// `thaw NAME $FELHOM_BACKUP_PHASE` when called with `thaw`.
pub fn logging_hooks(sandbox: &Sandbox, hooks: &[(&str, &str)]) -> PathBuf {
    let log = sandbox.log().display().to_string();
    for (name, extra) in hooks {
        let body = format!(
            "case \"$1\" in\n\
             freeze) echo \"freeze {name}\" >> '{log}'; {extra} ;;\n\
             thaw) echo \"thaw {name} $FELHOM_BACKUP_PHASE\" >> '{log}' ;;\n\
             esac"
        );
        sandbox.script("hooks", name, &body, 0o755);
    }
    sandbox.path("hooks")
}

/// `backup run` against `agent` with the hooks of [`logging_hooks`].
pub fn run_with_hooks(agent: &DevAgent, sandbox: &Sandbox, hooks: &[(&str, &str)]) -> Command {
    let dir = logging_hooks(sandbox, hooks);
    let mut command = backup_run(agent, sandbox);
    command.arg("--hooks-dir").arg(dir);
    command
}

/// Asserts the invariant on the log; returns the names of the hooks that froze.
#[track_caller]
pub fn assert_each_freeze_thawed_once(sandbox: &Sandbox) -> BTreeSet<String> {
    let log = sandbox.logged();
    let mut frozen = BTreeSet::new();
    let mut thawed = BTreeSet::new();
    for line in &log {
        let mut words = line.split(' ');
        let (Some(what), Some(name)) = (words.next(), words.next()) else {
            panic!("a line no hook wrote: {line:?} in {log:?}");
        };
        let name = name.to_string();
        match what {
            "freeze" => assert!(frozen.insert(name), "frozen twice: {log:?}"),
            "thaw" => {
                assert!(frozen.contains(&name), "thawed, never frozen: {log:?}");
                assert!(thawed.insert(name), "thawed twice: {log:?}");
            }
            _ => panic!("a line no hook wrote: {line:?} in {log:?}"),
        }
    }
    assert_eq!(frozen, thawed, "frozen and never thawed: {log:?}");
    frozen
}

/// The marker `backup run` keeps next to the sandbox's lock.
pub fn marker(sandbox: &Sandbox) -> PathBuf {
    sandbox.path("backup.lock.frozen")
}

/// A command that runs `program` with `args` in `from`'s environment (its variables set and
/// removed), with no standard input and piped output.
pub fn like<I, S>(from: &Command, program: impl AsRef<OsStr>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args);
    for (key, value) in from.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// `command` with `arg` added.
pub fn with_arg(mut command: Command, arg: impl AsRef<OsStr>) -> Command {
    command.arg(arg);
    command
}
