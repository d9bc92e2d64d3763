//! A sandbox for one `backup run` test: hooks that write to files, their log, and the lock.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use super::CHILD_LIMIT;

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
