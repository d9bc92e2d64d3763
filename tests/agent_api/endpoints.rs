//! Every endpoint, and what goes over the wire for it.

use felhom_agentapi::wire::BackupPhase;
use felhom_devagent::DevAgent;
use serde_json::{Value, json};

use crate::Pinned;
use crate::{agent, client};

#[test]
fn storage_decodes_the_mounts() {
    let agent = agent();
    let storage = client(&agent).storage().unwrap();
    assert_eq!(storage.vmid, 101);
    assert_eq!(storage.mounts.len(), 2);
    let fast = &storage.mounts[0];
    assert_eq!(
        (
            fast.key.as_str(),
            fast.storage.as_str(),
            fast.mount_point.as_str()
        ),
        ("mp0", "fast-nvme", "/mnt/fast")
    );
    assert_eq!(fast.class, "fast");
    assert!(fast.backup);
    assert_eq!(storage.mounts[1].class, "");
    assert!(!storage.mounts[1].backup);
}

#[test]
fn backup_due_decodes() {
    let agent = agent();
    let due = client(&agent).backup_due().unwrap();
    assert_eq!(due.vmid, 101);
    assert!(due.due);
    assert!(due.reason.contains("26h"), "{due:?}");
}

#[test]
fn start_backup_posts_an_empty_object_and_accepts_202() {
    let agent = agent();
    let started = client(&agent).start_backup().unwrap();
    assert_eq!(started.vmid, 101);
    assert!(started.job_id.starts_with("job-"), "{started:?}");
    assert_eq!(started.phase, BackupPhase::Running);

    let request = agent.requests().pop().unwrap();
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/backup")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<Value>(&request.body).unwrap(),
        json!({})
    );
}

#[test]
fn backup_status_follows_the_job() {
    let agent = DevAgent::builder()
        .backup_duration(std::time::Duration::from_secs(600))
        .start()
        .unwrap();
    let client = client(&agent);
    let before = client.backup_status().unwrap();
    assert_eq!(before.phase, BackupPhase::Idle);
    assert_eq!(before.job_id, "");
    let job = client.start_backup().unwrap();
    let running = client.backup_status().unwrap();
    assert_eq!(
        (running.phase, running.job_id.as_str()),
        (BackupPhase::Running, job.job_id.as_str())
    );
    agent.finish_backup();
    let done = client.backup_status().unwrap();
    assert_eq!(done.phase, BackupPhase::Done);
}

#[test]
fn disks_decode_with_type_as_kind_and_fs_uuid() {
    let agent = agent();
    let disks = client(&agent).disks().unwrap();
    assert_eq!(disks.vmid, 101);
    assert_eq!(disks.disks.len(), 3);
    let archive = &disks.disks[0];
    assert_eq!(archive.kind, "usb");
    assert!(archive.data_bearing);
    assert_eq!(
        archive.fs_uuid(),
        Some("3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c")
    );
    assert_eq!(archive.mount_path, "/mnt/usb-archive");
    let blank = &disks.disks[1];
    assert!(!blank.data_bearing);
    assert_eq!(
        blank.fs_uuid(),
        None,
        "a byid: identity is not a filesystem uuid"
    );
    assert_eq!(disks.disks[2].kind, "nfs");
    assert_eq!(disks.disks[2].fs_uuid(), None);
}

#[test]
fn assign_disk_sends_all_four_fields() {
    let agent = agent();
    let client = client(&agent);
    client
        .assign_disk(
            "3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c",
            "/mnt/new",
            "ext4",
            "noatime",
        )
        .unwrap();
    let request = agent.requests().pop().unwrap();
    assert_eq!(request.path, "/disks/assign");
    assert_eq!(
        serde_json::from_slice::<Value>(&request.body).unwrap(),
        json!({"uuid": "3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c", "where": "/mnt/new",
               "fstype": "ext4", "options": "noatime"})
    );

    let err = client
        .assign_disk("no-such-uuid", "/mnt/new", "ext4", "")
        .unwrap_err();
    assert!(
        matches!(err, felhom_agentapi::Error::Http { status: 404, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("POST /disks/assign: "), "{err}");
}

#[test]
fn eject_disk_names_the_dependent_guests() {
    let agent = agent();
    let client = client(&agent);
    let ejected = client.eject_disk("/mnt/usb-archive").unwrap();
    assert_eq!(ejected.ejected, "/mnt/usb-archive");
    assert_eq!(ejected.dependent_guests, vec![101, 102]);
    let request = agent.requests().pop().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&request.body).unwrap(),
        json!({"where": "/mnt/usb-archive"})
    );
}

#[test]
fn host_metrics_keep_null_apart_from_zero() {
    let agent = agent();
    let metrics = client(&agent).host_metrics().unwrap();
    assert_eq!(metrics.vmid, 101);
    assert_eq!(metrics.host.node, "pve-dev-1");
    assert_eq!(metrics.host.loadavg.len(), 3);
    assert_eq!(
        metrics.host.cpu_temp_c, None,
        "the agent sends null: no sensor"
    );
    let thin = metrics
        .storage_targets
        .iter()
        .find_map(|t| t.thin_pool.as_ref())
        .expect("an lvmthin target with a thin pool");
    assert!(thin.data_used_fraction > 0.0);
    assert_eq!(thin.metadata_used_fraction, None);
    assert!(
        metrics
            .storage_targets
            .iter()
            .any(|t| t.thin_pool.is_none())
    );
    assert!(
        metrics
            .storage_targets
            .iter()
            .any(|t| t.smart.temperature_c.is_some())
    );
    assert!(
        metrics
            .storage_targets
            .iter()
            .any(|t| t.smart.percentage_used.is_none())
    );
}

#[test]
fn every_request_carries_the_token_and_user_agent() {
    let agent = agent();
    let client = client(&agent);
    client.storage().unwrap();
    client.backup_due().unwrap();
    client.start_backup().unwrap();
    client.eject_disk("/mnt/usb-archive").unwrap();
    let requests = agent.requests();
    assert_eq!(requests.len(), 4);
    let bearer = format!("Bearer {}", agent.token());
    let user_agent = format!("felhom-agentapi/{}", env!("CARGO_PKG_VERSION"));
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some(bearer.as_str()),
            "{}",
            request.path
        );
        assert_eq!(request.header("user-agent"), Some(user_agent.as_str()));
        if request.method == "POST" {
            assert_eq!(request.header("content-type"), Some("application/json"));
        }
    }
}

#[test]
fn a_wrong_token_is_http_401_with_advice() {
    let agent = agent();
    let client =
        felhom_agentapi::Client::new(&agent.endpoint(), "not-the-token", agent.pin().to_string())
            .unwrap();
    let err = client.storage().unwrap_err();
    assert!(
        matches!(err, felhom_agentapi::Error::Http { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("check the bearer token"), "{err}");
}
