//! `Client::init_disk`: format, resolve the new filesystem's UUID, assign; and where it stops.

use felhom_agentapi::{DiskInit, Error};
use felhom_devagent::{DevAgent, FORMATTED_FS_UUID, Fault};
use serde_json::Value;

use crate::common::{assert_says, paths};
use crate::{agent, client};

/// Initialises `device` through `agent` as ext4 at `/mnt/new`, mounted with `options`.
fn init_at_mnt_new(agent: &DevAgent, device: &str, options: &str) -> Result<DiskInit, Error> {
    client(agent).init_disk(device, "/mnt/new", "ext4", options)
}

#[test]
fn formats_resolves_the_uuid_and_assigns_it() {
    let agent = agent();
    let done = init_at_mnt_new(&agent, "/dev/sdc", "noatime").unwrap();
    assert_eq!(done.uuid, FORMATTED_FS_UUID);
    assert_eq!(done.where_, "/mnt/new");
    assert!(done.formatted.formatted);
    assert_eq!(
        paths(&agent),
        ["POST /disks/format", "GET /disks", "POST /disks/assign"]
    );
    let requests = agent.requests();
    let assign: Value = serde_json::from_slice(&requests[2].body).unwrap();
    assert_eq!(assign["uuid"], FORMATTED_FS_UUID);
    assert_eq!(assign["where"], "/mnt/new");
    assert_eq!(assign["options"], "noatime");
}

#[test]
fn a_refusal_stops_before_anything_is_assigned() {
    let agent = agent();
    let err = init_at_mnt_new(&agent, "/dev/sdb", "").unwrap_err();
    assert!(matches!(err, Error::FormatRefused(_)), "{err:?}");
    assert_eq!(paths(&agent), ["POST /disks/format"]);
}

#[test]
fn an_unresolvable_uuid_says_how_to_finish() {
    let agent = DevAgent::builder().formatted_fs_uuid(None).start().unwrap();
    let err = client(&agent)
        .init_disk("/dev/sdc", "/mnt/my disk", "ext4", "")
        .unwrap_err();
    let Error::DiskInitIncomplete(incomplete) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(incomplete.uuid(), None);
    assert!(incomplete.cause().is_none());
    assert_eq!(
        incomplete.assign_command(),
        "felhom-agentctl disk assign --uuid UUID --where '/mnt/my disk' --fstype ext4"
    );
    assert_says(&err, "names no filesystem UUID");
    assert!(err.may_have_reached_agent());
    assert_eq!(paths(&agent), ["POST /disks/format", "GET /disks"]);
}

#[test]
fn a_failed_assign_keeps_the_resolved_uuid() {
    let agent = agent();
    // The format and the listing are answered; the assign gets an injected HTTP 500.
    agent.set_fault(Fault::Cycle(vec![None, None, Some(Fault::Status(500))]));
    let err = init_at_mnt_new(&agent, "/dev/sdc", "").unwrap_err();
    let Error::DiskInitIncomplete(incomplete) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(incomplete.uuid(), Some(FORMATTED_FS_UUID));
    assert!(matches!(
        incomplete.cause(),
        Some(Error::Http { status: 500, .. })
    ));
    assert!(
        incomplete.assign_command().starts_with(&format!(
            "felhom-agentctl disk assign --uuid {FORMATTED_FS_UUID} "
        )),
        "{}",
        incomplete.assign_command()
    );
}

/// `/dev/nvme0n12` is another namespace, not a partition of `/dev/nvme0n1`: its filesystem
/// must never be assigned in the new one's place.
#[test]
fn another_device_whose_name_extends_the_device_is_not_taken_for_a_partition() {
    let agent = agent();
    agent.set_fault_on(
        "/disks/format",
        crate::answer(
            200,
            serde_json::json!({"ok": true, "data": {"device": "/dev/nvme0n1", "formatted": true}}),
        ),
    );
    agent.set_fault_on(
        "/disks",
        crate::answer(
            200,
            serde_json::json!({"ok": true, "data": {"disks": [
                {"backing_device": "/dev/nvme0n1", "durable_id": "byid:nvme-new-blank"},
                {"backing_device": "/dev/nvme0n12", "durable_id": "uuid:OTHER-DATA-DISK"}
            ]}}),
        ),
    );
    let err = init_at_mnt_new(&agent, "/dev/nvme0n1", "").unwrap_err();
    let Error::DiskInitIncomplete(incomplete) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(incomplete.uuid(), None, "{err}");
    assert_eq!(
        paths(&agent),
        ["POST /disks/format", "GET /disks"],
        "nothing was assigned"
    );
}

/// What `GET /disks` and the format answered reaches the error without the token and without
/// anything that could rewrite a terminal.
#[test]
fn an_incomplete_init_keeps_the_token_and_terminal_controls_out() {
    let agent = agent();
    let token = agent.token().to_string();
    agent.set_fault_on(
        "/disks/format",
        crate::answer(
            200,
            serde_json::json!({"ok": true, "data": {
                "device": "/dev/sdc", "formatted": true, "reason": format!("echo {token}")
            }}),
        ),
    );
    agent.set_fault_on(
        "/disks",
        crate::answer(
            200,
            serde_json::json!({"ok": true, "data": {"disks": [
                {"backing_device": "/dev/sdc1",
                 "durable_id": format!("uuid:\u{1b}]0;pwned\u{7}\u{1b}[2J{token}")},
                {"backing_device": "/dev/sdc2", "durable_id": "uuid:b"}
            ]}}),
        ),
    );
    let err = init_at_mnt_new(&agent, "/dev/sdc", "").unwrap_err();
    assert!(matches!(err, Error::DiskInitIncomplete(_)), "{err:?}");
    let (shown, debug) = (err.to_string(), format!("{err:?}"));
    assert!(shown.contains("2 filesystem UUIDs"), "{shown}");
    assert!(
        !shown.contains(&token) && !debug.contains(&token),
        "{debug}"
    );
    assert!(
        !shown.chars().any(felhom_agentapi::terminal::could_rewrite),
        "{shown:?}"
    );
    let Error::DiskInitIncomplete(incomplete) = &err else {
        unreachable!()
    };
    assert_eq!(incomplete.formatted().reason, "echo [redacted]");
}
