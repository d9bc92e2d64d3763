//! The agent's API: the token, every route, and backup jobs as time passes.

use super::*;

#[test]
fn only_the_exact_bearer_token_gets_in() {
    let agent = agent_with(|b| b.token("right-token"));
    let mut c = connect(&agent);
    let unauthorized = br#"{"ok":false,"error":"unauthorized: missing or wrong bearer token"}"#;

    c.send("GET", "/storage", None, None);
    let reply = c.read_reply().unwrap();
    assert_eq!((reply.status, &reply.body[..]), (401, &unauthorized[..]));
    assert_eq!(reply.header("content-type"), Some("application/json"));

    for wrong in ["wrong-token", "Right-token", "right-tokenx", "right", ""] {
        assert_eq!(
            c.request("GET", "/storage", wrong, None).status,
            401,
            "{wrong:?}"
        );
    }
    c.send_raw(b"GET /storage HTTP/1.1\r\nAuthorization: bearer right-token\r\n\r\n")
        .unwrap();
    assert_eq!(c.read_reply().unwrap().status, 401);
    // Authentication comes before routing, so nothing leaks about which paths exist.
    assert_eq!(c.request("GET", "/nope", "wrong", None).status, 401);

    assert_eq!(
        c.request("GET", "/storage", "right-token", None).status,
        200
    );
    assert_eq!(agent.stats().requests, 9);
}

#[test]
fn every_route_answers_like_the_agent() {
    let agent = agent_with(|b| b.host_scope("x'; rm -rf /"));
    let mut c = connect(&agent);

    let storage = c.get(&agent, "/storage");
    assert_eq!(storage.status, 200);
    assert_eq!(
        storage.body,
        br#"{"ok":true,"data":{"vmid":101,"mounts":[{"key":"mp0","storage":"fast-nvme","mount_point":"/mnt/fast","class":"fast","backup":true},{"key":"mp1","storage":"archive","mount_point":"/mnt/archive","class":"","backup":false}]}}"#
    );

    let due = c.get(&agent, "/backup/due").json();
    assert_eq!(
        due,
        json!({"ok": true, "data": {"vmid": 101, "due": true,
               "reason": "policy daily-0200: last backup 26h ago"}})
    );

    let disks = c.get(&agent, "/disks").json();
    let disks = disks["data"]["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 3);
    assert_eq!(
        disks[0]["durable_id"],
        "uuid:3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c"
    );
    assert_eq!(disks[0]["data_bearing"], true);
    assert_eq!(disks[1]["state"], "unassigned");
    assert_eq!(disks[2]["type"], "nfs");
    assert_eq!(disks[2]["durable_id"], "nfs:192.0.2.10:/export/backup");

    let uuid = "3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c";
    let assign = |c: &mut Client, uuid: &str, place: &str| {
        let body = json!({"uuid": uuid, "where": place, "fstype": "ext4", "options": ""});
        c.post(&agent, "/disks/assign", body)
    };
    let reply = assign(&mut c, "0000", "/mnt/x");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "no disk with filesystem uuid 0000");
    assert_eq!(assign(&mut c, uuid, "mnt/relative").status, 400);
    let reply = assign(&mut c, uuid, "/mnt/new");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"ok": true, "data": {"vmid": 101, "assigned": "/mnt/new"}})
    );

    let eject =
        |c: &mut Client, place: &str| c.post(&agent, "/disks/eject", json!({"where": place}));
    let reply = eject(&mut c, "/mnt/usb-archive");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["dependent_guests"], json!([101, 102]));
    let reply = eject(&mut c, "/mnt/new");
    assert_eq!(reply.status, 200);
    assert!(reply.json()["data"]["dependent_guests"].is_null());
    assert!(
        String::from_utf8(reply.body)
            .unwrap()
            .contains(r#""dependent_guests":null"#)
    );
    assert_eq!(eject(&mut c, "/mnt/unknown").status, 404);

    let format = |c: &mut Client, device: &str, fstype: &str| {
        c.post(
            &agent,
            "/disks/format",
            json!({"device": device, "fstype": fstype}),
        )
    };
    let refused = format(&mut c, "/dev/sdb1", "xfs");
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!({"ok": false,
               "error": "device /dev/sdb is data-bearing: operator authorization required",
               "data": {"vmid": 101, "device": "/dev/sdb", "formatted": false,
                        "data_bearing": true, "reason": "ext4 filesystem holding files",
                        "pending_op": {"op": "storage_wipe", "host_scope": "x'; rm -rf /",
                                       "durable_id": "byid:usb-WD_Elements_575834314134",
                                       "fstype": "xfs"}}})
    );
    let refused = format(&mut c, "/dev/sdb", "").json();
    assert_eq!(refused["data"]["pending_op"]["fstype"], "ext4");
    let blank = format(&mut c, "/dev/sdc", "ext4");
    assert_eq!(blank.status, 200);
    assert_eq!(
        blank.json(),
        json!({"ok": true, "data": {"vmid": 101, "device": "/dev/sdc", "formatted": true,
                                    "data_bearing": false, "reason": ""}})
    );
    assert_eq!(format(&mut c, "/dev/sdz", "ext4").status, 404);
    let garbled = c.request("POST", "/disks/format", agent.token(), Some("{not json"));
    assert_eq!(garbled.status, 400);

    let metrics = c.get(&agent, "/host/metrics");
    assert_eq!(metrics.status, 200);
    let metrics = metrics.json();
    let host = &metrics["data"]["host"];
    assert_eq!(host["loadavg"], json!(["0.42", "0.37", "0.30"]));
    assert!(host["cpu_temp_c"].is_null());
    assert_eq!(host["uptime_seconds"], 864_000);
    let targets = metrics["data"]["storage_targets"].as_array().unwrap();
    assert_eq!(targets[0]["type"], "lvmthin");
    assert_eq!(
        targets[0]["thin_pool"],
        json!({"data_used_fraction": 0.61, "metadata_used_fraction": null})
    );
    assert_eq!(
        targets[0]["smart"],
        json!({"health": "PASSED", "temperature_c": 41, "percentage_used": 3})
    );
    assert!(targets[1].get("thin_pool").is_none());
    assert_eq!(
        targets[1]["smart"],
        json!({"health": "UNKNOWN", "temperature_c": null, "percentage_used": null})
    );
    for t in targets {
        let (total, used, avail) = (&t["total_bytes"], &t["used_bytes"], &t["avail_bytes"]);
        assert_eq!(
            total.as_u64(),
            Some(used.as_u64().unwrap() + avail.as_u64().unwrap())
        );
        for key in [
            "name",
            "state",
            "reachable",
            "used_fraction",
            "content",
            "mount_path",
            "class_hint",
        ] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
    }

    let missing = c.get(&agent, "/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["ok"], false);
    let wrong_method = c.request("DELETE", "/storage", agent.token(), None);
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET"));
    assert_eq!(c.get(&agent, "/disks/format").status, 405);
    // HEAD is not a route, and its answer announces a body without sending it, so the
    // connection stays usable.
    c.send("HEAD", "/storage", Some(agent.token()), None);
    loop {
        let mut fields = [httparse::EMPTY_HEADER; 16];
        let parsed = httparse::Response::new(&mut fields).parse(&c.buf);
        if matches!(parsed, Ok(httparse::Status::Complete(_))) {
            break;
        }
        c.fill_more()
            .expect("the whole head of the HEAD answer before the connection ends");
    }
    let head = String::from_utf8(std::mem::take(&mut c.buf)).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 405 ") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    assert_eq!(c.get(&agent, "/backup/due").status, 200);
    // Routing ignores a query string; the log keeps it.
    assert_eq!(c.get(&agent, "/storage?verbose=1").status, 200);
    assert_eq!(agent.requests().last().unwrap().path, "/storage?verbose=1");
}

#[test]
fn backup_jobs_run_for_their_duration_however_often_polled() {
    let agent = agent_with(|b| {
        b.backup_duration(Duration::from_secs(600))
            .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
    });
    let mut c = connect(&agent);
    let status = |c: &mut Client| c.get(&agent, "/backup/status").json()["data"].clone();

    assert_eq!(
        status(&mut c),
        json!({"vmid": 101, "phase": "idle", "job_id": "", "error": ""})
    );
    let started = c.post(&agent, "/backup", json!({}));
    assert_eq!(started.status, 202);
    assert_eq!(
        started.json()["data"],
        json!({"vmid": 101, "job_id": "job-1", "phase": "running"})
    );
    let again = c.post(&agent, "/backup", json!({}));
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        br#"{"ok":false,"error":"a backup job is already running"}"#
    );
    // Polls do not move a job on: only time does.
    for _ in 0..20 {
        assert_eq!(status(&mut c)["phase"], "running");
    }
    assert_eq!(c.get(&agent, "/backup/due").json()["data"]["due"], true);
}

#[test]
fn a_job_ends_once_its_time_is_up_as_its_outcome_says() {
    let agent = agent_with(|b| b.backup_duration(Duration::from_millis(200)));
    agent.set_backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()));
    let mut c = connect(&agent);
    let status = |c: &mut Client| c.get(&agent, "/backup/status").json()["data"].clone();
    assert_eq!(c.post(&agent, "/backup", json!({})).status, 202);
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&mut c)["phase"] == "running" && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..2 {
        assert_eq!(
            status(&mut c),
            json!({"vmid": 101, "phase": "failed", "job_id": "job-1",
                   "error": "vzdump exited with status 2"})
        );
    }
    // A failed backup leaves the backup due; the next job may start at once.
    assert_eq!(c.get(&agent, "/backup/due").json()["data"]["due"], true);
    assert_eq!(
        c.post(&agent, "/backup", json!({})).json()["data"]["job_id"],
        "job-2"
    );
}

#[test]
fn a_finished_backup_is_not_due_until_the_schedule_is_reset() {
    let agent = agent_with(|b| b.backup_duration(Duration::ZERO));
    let mut c = connect(&agent);
    let due = |c: &mut Client| c.get(&agent, "/backup/due").json()["data"].clone();
    assert_eq!(
        due(&mut c),
        json!({"vmid": 101, "due": true, "reason": "policy daily-0200: last backup 26h ago"})
    );
    assert_eq!(c.post(&agent, "/backup", json!({})).status, 202);
    let done = c.get(&agent, "/backup/status").json();
    assert_eq!(done["data"]["phase"], "done");
    assert_eq!(done["data"]["error"], "");
    let not_due = due(&mut c);
    assert_eq!(not_due["due"], false);
    assert!(
        not_due["reason"].as_str().unwrap().contains("job-1"),
        "{not_due}"
    );
    assert_eq!(due(&mut c)["due"], false);
    agent.set_backup_due(true);
    assert_eq!(due(&mut c)["due"], true);
    agent.set_backup_due(false);
    assert_eq!(due(&mut c)["due"], false);

    let never = agent_with(|b| b.backup_due(false));
    let mut c = connect(&never);
    assert_eq!(c.get(&never, "/backup/due").json()["data"]["due"], false);
}
