//! `felhom-agentctl backup run` and `backup wait`, spawned as a script or a timer would, with
//! hooks that write to files: the file proves which hook ran, with what, and how many times.
//!
//! These runs print progress on standard error and are signalled mid-run, so they have their own
//! runner ([`Running`], in `watched`): standard error read line by line as it comes, every child
//! killed if it has not ended within [`CHILD_LIMIT`], every wait for a line or a file bounded the
//! same way, and, as in [`crate::harness`], the token checked absent from every output. Jobs that
//! must end do so in 200 ms; jobs that must not outlast the test are ended by the test (a signal,
//! `--give-up-after`, `finish_backup`). The tests, by concern, are in the modules below.

mod builder;
mod sandbox;
mod watched;

mod failing_hooks;
mod help;
mod hook_environment;
mod hooks_dir;
mod if_due;
mod lock;
mod outcomes;
mod signals;
mod wait;

pub(crate) use builder::BackupTest;
pub(crate) use sandbox::Sandbox;
pub(crate) use watched::{
    BIN, CHILD_LIMIT, ENDLESS_JOB, Running, SHORT_JOB, agent_with_jobs_of, backup_run, backup_thaw,
    posts, run, tool,
};
