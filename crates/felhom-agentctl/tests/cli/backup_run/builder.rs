//! One `backup run` test, set up in a line or two: a stand-in agent, a sandbox for hooks and the
//! lock, and a run of the tool built flag by flag and checked for its exit status. Modelled on
//! just's `Test` (the test owns its scene; a builder collects what differs; one call runs and
//! checks); runs go through [`super::watched`], so every one keeps its bounded wait and its
//! token and panic checks.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use felhom_devagent::DevAgent;

use super::watched::Ran;
use super::{Running, Sandbox, agent_with_jobs_of, backup_run, posts};
use crate::common::failing_agent;

/// A stand-in agent and a sandbox, for one or more runs of `backup run`.
pub(crate) struct BackupTest {
    pub(crate) agent: DevAgent,
    pub(crate) sandbox: Sandbox,
}

/// A run of `backup run` being given its flags.
#[must_use]
pub(crate) struct Flags<'t> {
    test: &'t BackupTest,
    command: Command,
}

impl BackupTest {
    /// An agent whose backup jobs take `jobs` ([`super::SHORT_JOB`], [`super::ENDLESS_JOB`]).
    pub(crate) fn new(jobs: Duration) -> BackupTest {
        BackupTest::of(agent_with_jobs_of(jobs))
    }

    /// An agent whose jobs end quickly, failed with `error`.
    pub(crate) fn failing(error: &str) -> BackupTest {
        BackupTest::of(failing_agent(super::SHORT_JOB, error))
    }

    /// `agent`, set up by the test.
    pub(crate) fn of(agent: DevAgent) -> BackupTest {
        BackupTest {
            agent,
            sandbox: Sandbox::new(),
        }
    }

    /// `backup run` against the agent, polling fast, with the sandbox's lock.
    pub(crate) fn backup_run(&self) -> Flags<'_> {
        Flags {
            test: self,
            command: backup_run(&self.agent, &self.sandbox),
        }
    }

    /// The hook log's path, for hooks written in the test.
    pub(crate) fn log(&self) -> String {
        self.sandbox.log().display().to_string()
    }

    /// The lines the hooks wrote.
    pub(crate) fn logged(&self) -> Vec<String> {
        self.sandbox.logged()
    }

    /// How many backups the agent was asked to start.
    pub(crate) fn posts(&self) -> usize {
        posts(&self.agent)
    }
}

impl Flags<'_> {
    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// The sandbox's `--pre` and `--post` hooks, which log their phase and job id.
    pub(crate) fn pre_post(self) -> Self {
        let hooks = self.test.sandbox.pre_post();
        self.args(hooks)
    }

    /// The token read from `path` (`FELHOM_AGENT_TOKEN_FILE`), not from the environment.
    pub(crate) fn token_file(mut self, path: &Path) -> Self {
        self.command
            .env_remove("FELHOM_AGENT_TOKEN")
            .env("FELHOM_AGENT_TOKEN_FILE", path);
        self
    }

    /// A `--pre` hook: `shell`, run by `sh -c`.
    pub(crate) fn pre(self, shell: &str) -> Self {
        self.args(["--pre", shell])
    }

    /// A `--post` hook: `shell`, run by `sh -c`.
    pub(crate) fn post(self, shell: &str) -> Self {
        self.args(["--post", shell])
    }

    /// A `--post` hook that logs `post $FELHOM_BACKUP_PHASE`.
    pub(crate) fn post_logs_phase(self) -> Self {
        let log = self.test.log();
        self.args([
            "--post",
            &format!("echo post $FELHOM_BACKUP_PHASE >> '{log}'"),
        ])
    }

    /// `--hooks-dir dir`: the directory of executable hooks.
    pub(crate) fn hooks_dir(self, dir: &Path) -> Self {
        self.arg("--hooks-dir").arg(dir)
    }

    /// `--hook-timeout limit`: how long each hook may run.
    pub(crate) fn hook_timeout(self, limit: &str) -> Self {
        self.args(["--hook-timeout", limit])
    }

    /// `--give-up-after limit`: how long the run waits for the job.
    pub(crate) fn give_up_after(self, limit: &str) -> Self {
        self.args(["--give-up-after", limit])
    }

    /// `--thaw-after limit`: how long the guest may stay quiesced.
    pub(crate) fn thaw_after(self, limit: &str) -> Self {
        self.args(["--thaw-after", limit])
    }

    /// Runs to the end and asserts the exit status.
    pub(crate) fn exits(self, code: i32) -> Ran {
        self.spawn().finish().status(code)
    }

    /// Starts the run, for a test that acts on it before it ends.
    /// The agent's token is checked absent from the output however the run is given it.
    pub(crate) fn spawn(self) -> Running {
        Running::spawn(self.command).secret(self.test.agent.token())
    }
}
