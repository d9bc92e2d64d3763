//! The read-only calls: `storage`, `disks`, `metrics`.

use serde_json::{Value, json};

use crate::common::agent;
use crate::harness::{Invocation, USB_UUID, calls};

#[test]
fn storage_prints_the_mounts_as_json() {
    let agent = agent();
    let out = Invocation::to(&agent).args(["storage"]).run().status(0);
    let v = out.json();
    assert_eq!(v["vmid"], 101);
    assert_eq!(v["mounts"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["mounts"][0],
        json!({
            "key": "mp0", "storage": "fast-nvme", "mount_point": "/mnt/fast",
            "class": "fast", "backup": true,
        })
    );
    assert_eq!(v["mounts"][1]["mount_point"], "/mnt/archive");
    assert_eq!(v["mounts"][1]["backup"], false);
    // The token from the environment is what authenticated the call.
    let requests = agent.requests();
    assert_eq!(requests.len(), 1);
    let expected = format!("Bearer {}", agent.token());
    assert_eq!(requests[0].header("authorization"), Some(expected.as_str()));
}

#[test]
fn disks_lists_the_drives() {
    let agent = agent();
    let v = Invocation::to(&agent).args(["disks"]).ok_json();
    assert_eq!(v["vmid"], 101);
    let disks = v["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 3);
    assert_eq!(disks[0]["durable_id"], format!("uuid:{USB_UUID}"));
    assert_eq!(disks[0]["mount_path"], "/mnt/usb-archive");
    assert_eq!(disks[0]["backing_device"], "/dev/sdb1");
    assert_eq!(disks[0]["type"], "usb");
    assert_eq!(disks[0]["data_bearing"], true);
    assert_eq!(disks[1]["backing_device"], "/dev/sdc");
    assert_eq!(disks[1]["data_bearing"], false);
    assert_eq!(disks[2]["type"], "nfs");
    assert_eq!(calls(&agent), ["GET /disks"]);
}

#[test]
fn metrics_shows_host_and_storage_targets() {
    let agent = agent();
    let v = Invocation::to(&agent).args(["metrics"]).ok_json();
    assert_eq!(v["vmid"], 101);
    assert_eq!(v["host"]["node"], "pve-dev-1");
    assert_eq!(v["host"]["cpu_percent"], 12.5);
    assert_eq!(v["host"]["memory_total_bytes"], 64_i64 << 30);
    assert_eq!(v["host"]["loadavg"], json!(["0.42", "0.37", "0.30"]));
    // No sensor: null, not 0.
    assert_eq!(v["host"]["cpu_temp_c"], Value::Null);
    let targets = v["storage_targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets[0]["name"], "local-lvm");
    assert_eq!(targets[0]["thin_pool"]["data_used_fraction"], 0.61);
    assert_eq!(targets[0]["smart"]["health"], "PASSED");
    // Only lvmthin storage has a thin pool; the member is left out for the others.
    assert!(targets[1].get("thin_pool").is_none());
    assert_eq!(calls(&agent), ["GET /host/metrics"]);
}
