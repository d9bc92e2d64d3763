//! Issue 16 meets issue 15: the hooks a thaw marker names are held to the local trust rules
//! again when `backup thaw` runs them, since another user may have changed one in between.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::backup_run::{ENDLESS_JOB, Running, Sandbox, agent_with_jobs_of, backup_thaw, run};
use crate::frozen::run_with_hooks;

#[test]
fn a_hook_changed_to_world_writable_after_the_freeze_is_not_run_by_the_thaw() {
    let sandbox = Sandbox::new();
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    let mut running = Running::spawn(run_with_hooks(
        &agent,
        &sandbox,
        &[("10-a", ""), ("20-b", "")],
    ));
    running.wait_for_stderr("backup job job-1 started");
    running.child.kill().unwrap();
    running.finish();
    assert_eq!(sandbox.logged(), ["freeze 10-a", "freeze 20-b"]);

    let changed = sandbox.path("hooks").join("20-b");
    fs::set_permissions(&changed, fs::Permissions::from_mode(0o777)).unwrap();
    let ran = run(backup_thaw(&sandbox)).status(10);
    assert!(
        ran.stderr
            .contains(&format!("hook {} has mode 0777", changed.display())),
        "{ran:#?}"
    );
    assert!(ran.stderr.contains("not run"), "{ran:#?}");
    // The other hook still thaws; the changed one never ran again.
    assert_eq!(
        sandbox.logged(),
        ["freeze 10-a", "freeze 20-b", "thaw 10-a interrupted"]
    );
}
