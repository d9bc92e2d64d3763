//! Guided `disk init`: format, resolve the UUID, assign; the refusal and the unresolved UUID,
//! proved with the agent's request log.

use felhom_devagent::{DevAgent, FORMATTED_FS_UUID};
use serde_json::{Value, json};

use crate::common::agent;
use crate::harness::{Invocation, calls};

fn body(agent: &DevAgent, index: usize) -> Value {
    serde_json::from_slice(&agent.requests()[index].body).expect("a JSON request body")
}

#[test]
fn disk_init_formats_resolves_the_uuid_and_assigns_it() {
    let agent = agent();
    let out = Invocation::to(&agent)
        .args([
            "-q", "disk", "init", "--device", "/dev/sdc", "--where", "/mnt/new",
        ])
        .args(["--options", "noatime"])
        .run()
        .status(0);
    let v = out.json();
    assert_eq!(v["uuid"], FORMATTED_FS_UUID);
    assert_eq!(v["where"], "/mnt/new");
    assert_eq!(v["assigned"], true);
    assert_eq!(v["formatted"]["formatted"], true);
    assert_eq!(
        calls(&agent),
        ["POST /disks/format", "GET /disks", "POST /disks/assign"]
    );
    assert_eq!(
        body(&agent, 0),
        json!({"device": "/dev/sdc", "fstype": "ext4"})
    );
    assert_eq!(
        body(&agent, 2),
        json!({"uuid": FORMATTED_FS_UUID, "where": "/mnt/new", "fstype": "ext4",
               "options": "noatime"})
    );
}

#[test]
fn disk_init_of_a_data_bearing_device_stops_at_the_refusal() {
    let agent = agent();
    let out = Invocation::to(&agent)
        .args([
            "disk", "init", "--device", "/dev/sdb", "--where", "/mnt/new",
        ])
        .run()
        .failure(3);
    assert!(
        out.json()["opsign_command"]
            .as_str()
            .unwrap()
            .starts_with("felhom-opsign -op storage_wipe ")
    );
    assert!(out.stderr.contains("felhom-opsign"), "{out:#?}");
    // Nothing was assigned: the format was the only call.
    assert_eq!(calls(&agent), ["POST /disks/format"]);
}

#[test]
fn disk_init_without_a_resolvable_uuid_prints_the_command_to_finish() {
    let agent = DevAgent::builder().formatted_fs_uuid(None).start().unwrap();
    let out = Invocation::to(&agent)
        .args([
            "disk",
            "init",
            "--device",
            "/dev/sdc",
            "--where",
            "/mnt/my disk",
        ])
        .run()
        .failure(1);
    let v = out.json();
    assert_eq!(v["assigned"], false);
    assert_eq!(v["uuid"], json!(null));
    assert_eq!(v["formatted"]["device"], "/dev/sdc");
    let command = "felhom-agentctl disk assign --uuid UUID --where '/mnt/my disk' --fstype ext4";
    assert_eq!(v["assign_command"], command);
    assert!(out.stderr.contains("names no filesystem UUID"), "{out:#?}");
    assert!(out.stderr.contains(command), "{out:#?}");
    assert_eq!(calls(&agent), ["POST /disks/format", "GET /disks"]);

    let human = DevAgent::builder().formatted_fs_uuid(None).start().unwrap();
    let out = Invocation::to(&human)
        .args([
            "--human", "disk", "init", "--device", "/dev/sdc", "--where", "/mnt/x",
        ])
        .run()
        .failure(1);
    assert!(out.stdout.contains("finish with:"), "{out:#?}");
    assert!(out.stdout.contains("--where /mnt/x"), "{out:#?}");
}
