//! `disk assign`, `disk eject` and `disk format`, including a refused format (exit status 3).

use felhom_devagent::DevAgent;
use serde_json::{Value, json};

use crate::common::agent;
use crate::harness::{Invocation, USB_UUID, request_body};

/// `disk <args>` against `agent`, asserted to succeed: its JSON.
fn disk(agent: &DevAgent, args: &[&str]) -> Value {
    Invocation::to(agent).arg("disk").args(args).ok_json()
}

#[test]
fn disk_assign_echoes_the_request() {
    let agent = agent();
    let v = disk(
        &agent,
        &["assign", "--uuid", USB_UUID, "--where", "/mnt/new"],
    );
    assert_eq!(
        v,
        json!({
            "assigned": true, "uuid": USB_UUID, "where": "/mnt/new", "fstype": "", "options": "",
        })
    );
    assert_eq!(
        request_body(&agent, "/disks/assign"),
        json!({"uuid": USB_UUID, "where": "/mnt/new", "fstype": "", "options": ""})
    );

    let v = Invocation::to(&agent)
        .args(["disk", "assign", "--uuid", USB_UUID, "--where", "/mnt/b"])
        .args(["--fstype", "ext4", "--options", "noatime,nofail"])
        .ok_json();
    assert_eq!(v["options"], "noatime,nofail");
    assert_eq!(request_body(&agent, "/disks/assign")["fstype"], "ext4");
    assert_eq!(
        request_body(&agent, "/disks/assign")["options"],
        "noatime,nofail"
    );

    // The UUID as `disks` shows it, `durable_id` with its prefix: sent bare.
    let durable_id = format!("uuid:{USB_UUID}");
    let v = disk(
        &agent,
        &["assign", "--uuid", &durable_id, "--where", "/mnt/c"],
    );
    assert_eq!(v["uuid"], USB_UUID);
    assert_eq!(request_body(&agent, "/disks/assign")["uuid"], USB_UUID);
}

#[test]
fn disk_assign_of_an_unknown_drive_is_an_agent_error() {
    let agent = agent();
    let out = Invocation::to(&agent)
        .args([
            "disk",
            "assign",
            "--uuid",
            "no-such-uuid",
            "--where",
            "/mnt/x",
        ])
        .run()
        .failure(1);
    assert_eq!(out.stdout, "");
    out.stderr_has("HTTP 404")
        .stderr_has("no disk with filesystem uuid no-such-uuid");
}

#[test]
fn disk_eject_names_the_dependent_guests() {
    let agent = agent();
    let v = disk(&agent, &["eject", "--where", "/mnt/usb-archive"]);
    assert_eq!(
        v,
        json!({"vmid": 101, "ejected": "/mnt/usb-archive", "dependent_guests": [101, 102]})
    );
    assert_eq!(
        request_body(&agent, "/disks/eject"),
        json!({"where": "/mnt/usb-archive"})
    );
}

#[test]
fn disk_format_of_a_blank_device_formats_it_as_ext4_by_default() {
    let agent = agent();
    let v = disk(&agent, &["format", "--device", "/dev/sdc"]);
    assert_eq!(v["device"], "/dev/sdc");
    assert_eq!(v["formatted"], true);
    assert_eq!(v["data_bearing"], false);
    assert_eq!(
        request_body(&agent, "/disks/format"),
        json!({"device": "/dev/sdc", "fstype": "ext4"})
    );

    Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdc", "--fstype", "xfs"])
        .run()
        .status(0);
    assert_eq!(request_body(&agent, "/disks/format")["fstype"], "xfs");
}

#[test]
fn formatting_a_data_bearing_device_exits_3_with_the_refusal() {
    let agent = DevAgent::builder()
        .host_scope("pve-test-7")
        .start()
        .unwrap();
    let out = Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdb"])
        .run()
        .failure(3);
    let v = out.json();
    let command = "felhom-opsign -op storage_wipe -host pve-test-7 \
                   -durable-id byid:usb-WD_Elements_575834314134";
    assert_eq!(v["opsign_command"], command);
    assert_eq!(
        v["pending_op"],
        json!({"op": "storage_wipe", "host_scope": "pve-test-7",
               "durable_id": "byid:usb-WD_Elements_575834314134", "fstype": "ext4"})
    );
    assert_eq!(v["result"]["device"], "/dev/sdb");
    assert_eq!(v["result"]["formatted"], false);
    assert_eq!(v["result"]["data_bearing"], true);
    assert_eq!(v["result"]["pending_op"], v["pending_op"]);
    // Standard error tells the person what to run, on a line of its own.
    out.stderr_has("refused to format \"/dev/sdb\"");
    assert!(out.stderr.lines().any(|l| l.trim() == command), "{out:#?}");
}

#[test]
fn an_opsign_command_with_control_characters_is_not_printed_raw() {
    let hostile = "pve\u{1b}]0;owned\u{7}\u{1b}[2J";
    let agent = DevAgent::builder().host_scope(hostile).start().unwrap();
    // --human applies to the refusal too: its stdout is for people, and just as safe.
    let human = Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdb", "--human"])
        .run()
        .failure(3);
    assert!(
        !human.stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{human:#?}"
    );
    assert!(human.stdout.contains("not shown"), "{human:#?}");
    let out = Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdb"])
        .run()
        .failure(3);
    assert!(
        !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{out:#?}"
    );
    out.stderr_has("control characters");
    out.stderr_has("opsign_command");
    // The JSON keeps the exact value (escaped by JSON, so stdout is safe too).
    assert!(!out.stdout.contains('\u{1b}'), "{out:#?}");
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["pending_op"]["host_scope"], hostile);
    assert!(v["opsign_command"].as_str().unwrap().contains(hostile));
}
