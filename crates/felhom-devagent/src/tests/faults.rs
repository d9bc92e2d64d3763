//! Faults on demand: what each does to a request and a connection.

use super::*;

#[test]
fn a_path_fault_breaks_that_path_and_no_other() {
    let agent = agent();
    agent.set_fault_on("/backup/status", Fault::Status(503));
    let mut c = connect(&agent);
    assert_eq!(c.get(&agent, "/backup/status").status, 503);
    assert_eq!(c.get(&agent, "/backup/status?x=1").status, 503);
    assert_eq!(c.post(&agent, "/backup", json!({})).status, 202);
    assert_eq!(c.get(&agent, "/backup/due").status, 200);
    agent.clear_fault();
    assert_eq!(c.get(&agent, "/backup/status").status, 200);
}

#[test]
fn keep_alive_reuses_one_connection_and_honours_close() {
    let agent = agent();
    let mut c = connect(&agent);
    for _ in 0..3 {
        let reply = c.get(&agent, "/backup/due");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), None);
    }
    c.send_raw(
        format!(
            "GET /storage HTTP/1.1\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            agent.token()
        )
        .as_bytes(),
    )
    .unwrap();
    let reply = c.read_reply().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("connection"), Some("close"));
    let (rest, end) = c.read_until_closed();
    assert!(rest.is_empty());
    end.expect("a clean close_notify");

    let requests = agent.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests.iter().all(|r| r.connection == 1));
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].header("Host"), Some("localhost"));
    let bearer = format!("Bearer {}", agent.token());
    assert_eq!(requests[3].header("authorization"), Some(bearer.as_str()));
    let names: Vec<&str> = requests[0]
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["host", "authorization"], "lowercased, in order");
    wait_for("the connection to close", || {
        agent.stats().open_connections == 0
    });
    assert_eq!(
        agent.stats(),
        Stats {
            connections: 1,
            handshakes: 1,
            requests: 4,
            open_connections: 0
        }
    );

    // A second connection gets the next number.
    let mut c = connect(&agent);
    c.post(&agent, "/backup", json!({}));
    let last = agent.requests().pop().unwrap();
    assert_eq!((last.connection, &last.body[..]), (2, &b"{}"[..]));
}

/// The `/storage` body as an agent serves it, then all that a `GET /storage` on the same
/// connection receives once `fault` is set, and how the connection ended.
fn storage_under_fault(fault: Fault) -> (Vec<u8>, Vec<u8>, io::Result<()>) {
    let agent = agent();
    let mut c = connect(&agent);
    let full = c.get(&agent, "/storage").body;
    agent.set_fault(fault);
    c.send("GET", "/storage", Some(agent.token()), None);
    let (raw, end) = c.read_until_closed();
    (full, raw, end)
}

#[test]
fn truncate_sends_fewer_bytes_than_announced() {
    let (full, raw, end) = storage_under_fault(Fault::Truncate);
    end.expect("closed with close_notify, so only HTTP framing shows the loss");
    let (n, head) = parse_reply_head(&raw).unwrap().expect("a complete head");
    let announced: usize = head.header("content-length").unwrap().parse().unwrap();
    assert_eq!(announced, full.len());
    assert_eq!(&raw[n..], &full[..full.len() / 2]);
}

#[test]
fn drop_closes_without_an_answer() {
    let agent = agent();
    agent.set_fault(Fault::Drop);
    let mut c = connect(&agent);
    c.send("GET", "/storage", Some(agent.token()), None);
    let (raw, _) = c.read_until_closed();
    assert!(raw.is_empty());
    assert_eq!(agent.stats().requests, 1);
    assert_eq!(agent.requests()[0].path, "/storage");
}

#[test]
fn close_reused_answers_a_connections_first_request_and_drops_the_next() {
    let agent = agent();
    agent.set_fault(Fault::CloseReused);
    let mut c = connect(&agent);
    assert_eq!(c.get(&agent, "/storage").status, 200);
    c.send("POST", "/backup", Some(agent.token()), Some("{}"));
    let (raw, end) = c.read_until_closed();
    assert!(raw.is_empty(), "no answer on the reused connection");
    end.expect("closed with close_notify, as lighttpd does");
    // The request was received but not acted on: no job started.
    assert_eq!(agent.requests().len(), 2);
    let mut fresh = connect(&agent);
    assert_eq!(
        fresh.get(&agent, "/backup/status").json()["data"]["job_id"],
        ""
    );
}

#[test]
fn cut_without_close_notify_ends_an_undelimited_body_with_a_bare_fin() {
    let (full, raw, end) = storage_under_fault(Fault::CutWithoutCloseNotify);
    let err = end.expect_err("a FIN without close_notify");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    let (n, head) = parse_reply_head(&raw).unwrap().expect("a complete head");
    assert_eq!(
        head.header("content-length"),
        None,
        "the end of the connection must be what ends the body"
    );
    assert_eq!(&raw[n..], &full[..full.len() / 2]);
}

#[test]
fn oversized_bodies_have_the_exact_size_and_stay_valid() {
    let agent = agent();
    let mut c = connect(&agent);
    let real = c.get(&agent, "/storage").json();
    for size in [1_048_576, 1_048_577, 300] {
        agent.set_fault(Fault::Oversized(size));
        let reply = c.get(&agent, "/storage");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.len(), size);
        assert_eq!(
            reply.header("content-length"),
            Some(size.to_string().as_str())
        );
        let value = reply.json();
        assert_eq!(value["ok"], true);
        assert_eq!(value["data"], real["data"]);
    }
    // Smaller than the real answer: the real answer.
    agent.set_fault(Fault::Oversized(10));
    assert_eq!(c.get(&agent, "/storage").json(), real);
}

#[test]
fn replacing_faults_and_cycles() {
    let agent = agent();
    let mut c = connect(&agent);
    agent.set_fault(Fault::Cycle(vec![
        None,
        Some(Fault::Status(503)),
        Some(Fault::NotOk("disk on fire".into())),
        Some(Fault::Garbage),
        Some(Fault::WrongType),
        Some(Fault::Redirect(
            "https://elsewhere.invalid/\r\nX-Evil: 1".into(),
        )),
        Some(Fault::StatusWithoutEnvelope(500)),
        Some(Fault::Status(204)),
        Some(Fault::OtherCert), // a handshake fault: requests are answered normally
    ]));
    let replies: Vec<Reply> = (0..10).map(|_| c.get(&agent, "/backup/due")).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 503, 200, 200, 200, 302, 500, 204, 200, 200]);
    assert_eq!(
        replies[1].body,
        br#"{"ok":false,"error":"injected HTTP 503"}"#
    );
    assert_eq!(
        replies[2].json(),
        json!({"ok": false, "error": "disk on fire"})
    );
    assert!(serde_json::from_slice::<Value>(&replies[3].body).is_err());
    let wrong = replies[4].json();
    assert_eq!(wrong["ok"], true);
    assert_eq!(wrong["data"]["vmid"], "one hundred");
    assert_eq!(wrong["data"]["mounts"], 7);
    assert_eq!(
        replies[5].header("location"),
        Some("https://elsewhere.invalid/X-Evil: 1")
    );
    assert_eq!(replies[5].json(), json!({"ok": false, "error": "moved"}));
    assert!(
        replies[6]
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(serde_json::from_slice::<Value>(&replies[6].body).is_err());
    assert!(replies[7].body.is_empty());
    assert_eq!(replies[9].json()["data"]["vmid"], 101);

    // Injected answers leave the state alone: no job was started here.
    agent.set_fault(Fault::Status(500));
    assert_eq!(c.post(&agent, "/backup", json!({})).status, 500);
    agent.clear_fault();
    assert_eq!(
        c.get(&agent, "/backup/status").json()["data"]["phase"],
        "idle"
    );
    assert_eq!(agent.stats().connections, 1);
}
