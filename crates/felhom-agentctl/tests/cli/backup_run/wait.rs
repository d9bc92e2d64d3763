//! `backup wait`: reattaching to a running job.

use felhom_devagent::DevAgent;
use serde_json::{Value, json};

use super::{ENDLESS_JOB, SHORT_JOB, agent_with_jobs_of, posts, run, tool};
use crate::common::client;

#[test]
fn backup_wait_reattaches_to_the_running_job_without_starting_one() {
    let agent = agent_with_jobs_of(SHORT_JOB);
    client(&agent).start_backup().unwrap();
    let mut command = tool(&agent);
    command.args(["backup", "wait", "--poll", "20ms"]);
    let ran = run(command).status(0);
    let v = ran.json();
    assert_eq!(
        (&v["phase"], &v["job_id"]),
        (&json!("done"), &json!("job-1"))
    );
    assert_eq!(v["thaw"], Value::Null);
    assert_eq!(posts(&agent), 1, "wait started nothing");
    assert!(
        ran.stderr
            .contains("looking for the backup job that is running")
            && !ran.stderr.contains("checking that no backup job"),
        "{ran:#?}"
    );

    let idle = DevAgent::start().unwrap();
    let mut command = tool(&idle);
    command.args(["backup", "wait", "--poll", "20ms"]);
    let ran = run(command).status(1);
    assert!(ran.stderr.contains("no backup job"), "{ran:#?}");
}

#[test]
fn backup_wait_gives_up_with_9() {
    let agent = agent_with_jobs_of(ENDLESS_JOB);
    client(&agent).start_backup().unwrap();
    let mut command = tool(&agent);
    command.args([
        "backup",
        "wait",
        "--poll",
        "20ms",
        "--give-up-after",
        "200ms",
    ]);
    let ran = run(command).status(9);
    assert_eq!(ran.json()["stopped"], "gave-up");
}
