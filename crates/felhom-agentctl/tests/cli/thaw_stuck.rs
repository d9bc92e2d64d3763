//! Issue 15, case 4: a freeze hook stuck in the kernel (it writes to the filesystem it has just
//! frozen, the classic fsfreeze mistake) does not keep the tool from the thaw: after SIGKILL
//! and a short wait it is left behind, and the thaw hook, which unfreezes, releases it.
//!
//! Needs root, loop devices, `mkfs.ext4` and `fsfreeze`: a 16 MiB ext4 image is mounted on a
//! directory of the sandbox, and only that filesystem is ever frozen. Where that cannot be
//! done, the test says so and does nothing (under CI, it fails instead). Whatever happens, a guard unfreezes and unmounts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::backup_run::{SHORT_JOB, Sandbox, agent_with_jobs_of, backup_run, run};
use crate::frozen::assert_each_freeze_thawed_once;
use crate::harness::capable;

/// The loop mount: unfrozen and unmounted on drop.
struct LoopMount(PathBuf);

impl LoopMount {
    /// Mounts a fresh ext4 image on `dir/mnt`; `None` (with a note) where it cannot.
    fn new(dir: &Path) -> Option<LoopMount> {
        let image = dir.join("fs.img");
        let mnt = dir.join("mnt");
        std::fs::create_dir(&mnt).ok()?;
        let steps: [(&str, Vec<&std::ffi::OsStr>); 3] = [
            (
                "truncate",
                vec!["-s".as_ref(), "16M".as_ref(), image.as_os_str()],
            ),
            (
                "mkfs.ext4",
                vec!["-q".as_ref(), "-F".as_ref(), image.as_os_str()],
            ),
            (
                "mount",
                vec![
                    "-o".as_ref(),
                    "loop".as_ref(),
                    image.as_os_str(),
                    mnt.as_os_str(),
                ],
            ),
        ];
        for (program, args) in steps {
            if !capable(
                quietly(program, &args),
                &format!("the stuck-hook test did not run: `{program}` failed here"),
            ) {
                return None;
            }
        }
        let mount = LoopMount(mnt);
        // Never anything but the test's own mount.
        assert!(quietly("mountpoint", &[mount.0.as_os_str()]), "not mounted");
        Some(mount)
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        quietly("fsfreeze", &["-u".as_ref(), self.0.as_os_str()]);
        for _ in 0..50 {
            if quietly("umount", &[self.0.as_os_str()]) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        quietly("umount", &["-l".as_ref(), self.0.as_os_str()]);
    }
}

fn quietly(program: &str, args: &[&std::ffi::OsStr]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_freeze_hook_stuck_in_the_kernel_is_left_behind_and_the_thaw_releases_it() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    if !capable(
        root,
        "the stuck-hook test did not run: it needs root (loop devices, mount)",
    ) {
        return;
    }
    let sandbox = Sandbox::new();
    let Some(mount) = LoopMount::new(&sandbox.path("")) else {
        return;
    };
    let (mnt, log) = (
        mount.0.display().to_string(),
        sandbox.log().display().to_string(),
    );
    let body = format!(
        "case \"$1\" in\n\
         freeze) echo 'freeze 10-fs' >> '{log}'; fsfreeze -f '{mnt}' && echo x > '{mnt}/file' ;;\n\
         thaw) fsfreeze -u '{mnt}'; echo \"thaw 10-fs $FELHOM_BACKUP_PHASE\" >> '{log}' ;;\n\
         esac"
    );
    sandbox.script("hooks", "10-fs", &body, 0o755);
    let agent = agent_with_jobs_of(SHORT_JOB);
    let mut command = backup_run(&agent, &sandbox);
    command
        .args(["--hook-timeout", "1s", "--hooks-dir"])
        .arg(sandbox.path("hooks"));
    let ran = run(command).status(10);
    assert!(ran.stderr.contains("left behind"), "{ran:#?}");
    assert_eq!(sandbox.logged(), ["freeze 10-fs", "thaw 10-fs error"]);
    assert_each_freeze_thawed_once(&sandbox);
    drop(mount);
}
