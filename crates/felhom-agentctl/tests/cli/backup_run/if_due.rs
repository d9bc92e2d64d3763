//! `backup run --if-due`: a backup when one is due, nothing when not.

use std::time::Duration;

use super::{Sandbox, agent_with_jobs_of, backup_run, posts, run};

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
