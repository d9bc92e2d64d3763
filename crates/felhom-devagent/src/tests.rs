//! End to end: a small rustls client speaks real TLS and HTTP/1.1 to agents on 127.0.0.1.
//!
//! Every agent here is dropped at the end of its test and has a short `max_lifetime` as a
//! backstop.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, SignatureScheme,
    StreamOwned, SupportedProtocolVersion,
};
use serde_json::{Value, json};

use super::*;

/// Accepts any certificate (the tests check the pin themselves) but, unlike a blind verifier,
/// still checks the handshake signature against it: that is what `Fault::WrongKey` breaks.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client_config(versions: &[&'static SupportedProtocolVersion]) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

struct Client {
    tls: StreamOwned<ClientConnection, TcpStream>,
    buf: Vec<u8>,
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let found = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

fn connect_with(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<Client> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    Ok(Client {
        tls: StreamOwned::new(conn, tcp),
        buf: Vec::new(),
    })
}

fn connect(agent: &DevAgent) -> Client {
    connect_with(agent.addr(), client_config(rustls::ALL_VERSIONS)).expect("connect")
}

impl Client {
    fn peer_fingerprint(&self) -> CertFingerprint {
        let certs = self.tls.conn.peer_certificates().expect("a certificate");
        CertFingerprint::of_der(&certs[0])
    }

    fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tls.write_all(bytes)?;
        self.tls.flush()
    }

    fn send(&mut self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
        if let Some(token) = token {
            head += &format!("Authorization: Bearer {token}\r\n");
        }
        if let Some(body) = body {
            head += &format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        head += "\r\n";
        head += body.unwrap_or_default();
        self.send_raw(head.as_bytes()).expect("send");
    }

    fn request(&mut self, method: &str, path: &str, token: &str, body: Option<&str>) -> Reply {
        self.send(method, path, Some(token), body);
        self.read_reply().expect("a reply")
    }

    fn get(&mut self, agent: &DevAgent, path: &str) -> Reply {
        self.request("GET", path, agent.token(), None)
    }

    fn post(&mut self, agent: &DevAgent, path: &str, body: Value) -> Reply {
        self.request("POST", path, agent.token(), Some(&body.to_string()))
    }

    /// Reads more bytes: 0 at a clean end (close_notify).
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0; 16 * 1024];
        let n = self.tls.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn read_reply(&mut self) -> io::Result<Reply> {
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut fields);
            if let httparse::Status::Complete(n) =
                parsed.parse(&self.buf).map_err(io::Error::other)?
            {
                let status = parsed.code.unwrap();
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let reply = Reply {
                    status,
                    headers,
                    body: Vec::new(),
                };
                let length: usize = reply
                    .header("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                self.buf.drain(..n);
                while self.buf.len() < length {
                    if self.fill()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                let body = self.buf.drain(..length).collect();
                return Ok(Reply { body, ..reply });
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads until the server closes: everything received, and whether it closed cleanly.
    fn read_until_closed(&mut self) -> (Vec<u8>, io::Result<()>) {
        let end = loop {
            match self.fill() {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        (std::mem::take(&mut self.buf), end)
    }
}

fn builder() -> DevAgentBuilder {
    DevAgent::builder().max_lifetime(Duration::from_secs(120))
}

fn agent() -> DevAgent {
    builder().start().expect("start a dev agent")
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "timed out waiting for {what}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn only_the_exact_bearer_token_gets_in() {
    let agent = builder().token("right-token").start().unwrap();
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
    let agent = builder().host_scope("x'; rm -rf /").start().unwrap();
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
        c.fill().unwrap();
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
    let agent = builder()
        .backup_duration(Duration::from_secs(600))
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
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
    let agent = builder()
        .backup_duration(Duration::from_millis(200))
        .start()
        .unwrap();
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
    let agent = builder().backup_duration(Duration::ZERO).start().unwrap();
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

    let never = builder().backup_due(false).start().unwrap();
    let mut c = connect(&never);
    assert_eq!(c.get(&never, "/backup/due").json()["data"]["due"], false);
}

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

#[test]
fn truncate_sends_fewer_bytes_than_announced() {
    let agent = agent();
    let mut c = connect(&agent);
    let full = c.get(&agent, "/storage").body;
    agent.set_fault(Fault::Truncate);
    c.send("GET", "/storage", Some(agent.token()), None);
    let (raw, end) = c.read_until_closed();
    end.expect("closed with close_notify, so only HTTP framing shows the loss");
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let mut head = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(n) = head.parse(&raw).unwrap() else {
        panic!("no complete head");
    };
    let announced: usize = head
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
        .unwrap();
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
    let agent = agent();
    let mut c = connect(&agent);
    let full = c.get(&agent, "/storage").body;
    agent.set_fault(Fault::CutWithoutCloseNotify);
    c.send("GET", "/storage", Some(agent.token()), None);
    let (raw, end) = c.read_until_closed();
    let err = end.expect_err("a FIN without close_notify");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let mut head = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(n) = head.parse(&raw).unwrap() else {
        panic!("no complete head");
    };
    assert!(
        !head
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("content-length")),
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

#[test]
fn other_cert_changes_the_pin_even_for_resuming_clients() {
    let agent = agent();
    let config = client_config(&[&rustls::version::TLS13]);
    let first = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    assert_eq!(first.peer_fingerprint(), agent.fingerprint());
    assert_eq!(
        CertFingerprint::of_der(agent.identity().cert_der()),
        agent.fingerprint()
    );

    // Without a fault the client resumes its session (no certificate is presented then)...
    let mut second = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    second.get(&agent, "/storage"); // makes sure the session ticket has arrived
    let resumed = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    assert_eq!(
        resumed.tls.conn.handshake_kind(),
        Some(HandshakeKind::Resumed)
    );

    // ...but while a handshake fault is set every handshake is a full one that shows it.
    agent.set_fault(Fault::OtherCert);
    let mut faulty = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    assert_eq!(faulty.tls.conn.handshake_kind(), Some(HandshakeKind::Full));
    assert_ne!(faulty.peer_fingerprint(), agent.fingerprint());
    // Requests are not affected, on old and new connections alike.
    assert_eq!(faulty.get(&agent, "/storage").status, 200);
    assert_eq!(second.get(&agent, "/storage").status, 200);

    agent.set_fault(Fault::Cycle(vec![None, Some(Fault::OtherCert)]));
    let pins: Vec<bool> = (0..4)
        .map(|_| {
            let c = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
            c.peer_fingerprint() == agent.fingerprint()
        })
        .collect();
    assert_eq!(pins, [true, false, true, false]);

    agent.clear_fault();
    let fresh = connect(&agent);
    assert_eq!(fresh.peer_fingerprint(), agent.fingerprint());
}

#[test]
fn wrong_key_fails_the_handshake_signature_for_every_kind_and_version() {
    let versions: [&[&'static SupportedProtocolVersion]; 2] =
        [&[&rustls::version::TLS12], &[&rustls::version::TLS13]];
    for kind in [
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Ed25519,
        KeyKind::Rsa2048,
    ] {
        let agent = builder().key_kind(kind).start().unwrap();
        for version in versions {
            let mut c = connect_with(agent.addr(), client_config(version)).unwrap();
            assert_eq!(c.peer_fingerprint(), agent.fingerprint());
            assert_eq!(
                c.get(&agent, "/storage").status,
                200,
                "{kind:?} {version:?}"
            );

            agent.set_fault(Fault::WrongKey);
            let err = connect_with(agent.addr(), client_config(version))
                .err()
                .unwrap_or_else(|| panic!("{kind:?} {version:?}: handshake succeeded"));
            let message = err.to_string();
            assert!(
                message.contains("BadSignature"),
                "{kind:?} {version:?}: {message}"
            );
            agent.clear_fault();
        }
    }
}

#[test]
fn tls_versions_are_enforced() {
    let tls12 = builder()
        .tls_versions(TlsVersions::Tls12Only)
        .start()
        .unwrap();
    let tls13 = builder()
        .tls_versions(TlsVersions::Tls13Only)
        .start()
        .unwrap();
    let only12 = client_config(&[&rustls::version::TLS12]);
    let only13 = client_config(&[&rustls::version::TLS13]);
    assert!(connect_with(tls12.addr(), Arc::clone(&only12)).is_ok());
    assert!(connect_with(tls12.addr(), Arc::clone(&only13)).is_err());
    assert!(connect_with(tls13.addr(), only13).is_ok());
    assert!(connect_with(tls13.addr(), only12).is_err());
    let c = connect(&tls12);
    assert_eq!(
        c.tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}

#[test]
fn shutdown_is_prompt_with_a_slow_request_in_flight() {
    let agent = agent();
    agent.set_fault(Fault::Slow(Duration::from_secs(60)));
    let mut c = connect(&agent);
    c.send("GET", "/storage", Some(agent.token()), None);
    let client = thread::spawn(move || c.read_until_closed().0);
    wait_for("the slow request to arrive", || agent.stats().requests == 1);

    // The 60 s wait is cut short: drop must not wait it out (half of it is a bound no loaded
    // machine reaches, so this checks the behaviour, not the speed).
    let started = Instant::now();
    drop(agent);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "drop waited out the slow answer: {took:?}"
    );
    assert!(
        client.join().unwrap().is_empty(),
        "no answer after shutdown"
    );
}

#[test]
fn shutdown_is_prompt_with_a_stalled_body_and_quiet_clients() {
    let agent = agent();
    let _quiet = TcpStream::connect(agent.addr()).unwrap(); // never says hello
    let _idle = connect(&agent);
    agent.set_fault(Fault::StallBody(Duration::from_secs(60)));
    let mut c = connect(&agent);
    c.send("GET", "/storage", Some(agent.token()), None);
    wait_for("the stalled request", || agent.stats().requests == 1);
    // As above: the 60 s stall is cut short, not waited out.
    let started = Instant::now();
    agent.shutdown();
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn stall_body_sends_half_then_waits_then_closes() {
    let agent = agent();
    let mut c = connect(&agent);
    let full = c.get(&agent, "/storage").body;
    agent.set_fault(Fault::StallBody(Duration::from_millis(300)));
    c.send("GET", "/storage", Some(agent.token()), None);
    let started = Instant::now();
    let (raw, _) = c.read_until_closed();
    assert!(started.elapsed() >= Duration::from_millis(250));
    let half = &full[..full.len() / 2];
    assert!(raw.ends_with(half));
    let head = String::from_utf8_lossy(&raw[..raw.len() - half.len()]).into_owned();
    assert!(
        head.contains(&format!("Content-Length: {}", full.len())),
        "{head}"
    );
}

#[test]
fn stops_by_itself_after_max_lifetime() {
    let agent = DevAgent::builder()
        .max_lifetime(Duration::from_millis(200))
        .start()
        .unwrap();
    let addr = agent.addr();
    let mut c = connect(&agent);
    wait_for("the listener to close", || {
        TcpStream::connect(addr).is_err()
    });
    let (_, _) = c.read_until_closed();
    wait_for("connections to close", || {
        agent.stats().open_connections == 0
    });
    // Dropping a server that already stopped is harmless.
    drop(agent);
}

#[test]
fn refuses_anything_but_loopback() {
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0", "[::ffff:127.0.0.1]:0"] {
        let err = DevAgent::builder()
            .bind(addr.parse().unwrap())
            .start()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{addr}");
    }
    for token in ["", " padded", "line\nbreak"] {
        let err = DevAgent::builder().token(token).start().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{token:?}");
    }
    let other_loopback = DevAgent::builder()
        .bind("127.0.0.2:0".parse().unwrap())
        .start();
    if let Ok(agent) = other_loopback {
        assert_eq!(agent.addr().ip().to_string(), "127.0.0.2");
    }
}

#[test]
fn close_idle_connections_closes_only_idle_ones_politely() {
    let agent = agent();
    let mut idle = connect(&agent);
    assert_eq!(idle.get(&agent, "/storage").status, 200);
    let mut busy = connect(&agent);
    agent.set_fault(Fault::Slow(Duration::from_millis(500)));
    busy.send("GET", "/storage", Some(agent.token()), None);
    wait_for("the busy request", || agent.stats().requests == 2);

    // close_idle_connections returns without waiting for the busy connection: it is back
    // before that connection's slow answer arrives.
    let busy_reader = thread::spawn(move || {
        let status = busy.read_reply().unwrap().status;
        (status, Instant::now(), busy)
    });
    agent.close_idle_connections();
    let returned = Instant::now();
    let (rest, end) = idle.read_until_closed();
    assert!(rest.is_empty());
    end.expect("close_notify before the FIN");

    let (status, answered, mut busy) = busy_reader.join().unwrap();
    assert_eq!(status, 200);
    assert!(
        returned < answered,
        "close_idle_connections waited for a busy connection"
    );
    agent.clear_fault();
    assert_eq!(busy.get(&agent, "/storage").status, 200);
    wait_for("one connection left", || {
        agent.stats().open_connections == 1
    });

    // A connection counts as idle as soon as the client has its whole answer, with no window
    // in which it is still "busy" on the server's side.
    for _ in 0..20 {
        let mut c = connect(&agent);
        assert_eq!(c.get(&agent, "/backup/due").status, 200);
        agent.close_idle_connections();
        let (rest, end) = c.read_until_closed();
        assert!(rest.is_empty());
        end.expect("close_notify before the FIN");
    }
}

#[test]
fn idle_timeout_closes_quiet_connections() {
    let agent = builder()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .unwrap();
    let mut c = connect(&agent);
    assert_eq!(c.get(&agent, "/storage").status, 200);
    let started = Instant::now();
    let (_, end) = c.read_until_closed();
    end.unwrap();
    let waited = started.elapsed();
    // Not closed before the idle timeout (a lower bound: a slow machine only waits longer).
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
}

#[test]
fn oversized_requests_are_refused() {
    let agent = agent();
    let mut c = connect(&agent);
    let head = format!(
        "GET /storage HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(17 * 1024)
    );
    c.send_raw(head.as_bytes()).unwrap();
    assert_eq!(c.read_reply().unwrap().status, 400);

    let mut c = connect(&agent);
    let head = format!(
        "POST /disks/eject HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Length: 2000000\r\n\r\n",
        agent.token()
    );
    c.send_raw(head.as_bytes()).unwrap();
    let reply = c.read_reply().unwrap();
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(agent.requests().len(), 1, "the refused head is logged");
}

#[test]
fn restarts_on_the_same_port_with_the_same_identity() {
    let first = builder().key_kind(KeyKind::Rsa2048).start().unwrap();
    let (addr, identity, token) = (first.addr(), first.identity(), first.token().to_owned());
    first.shutdown();
    let second = builder()
        .bind(addr)
        .identity(identity.clone())
        .token(token)
        .start()
        .unwrap();
    assert_eq!(second.addr(), addr);
    assert_eq!(second.fingerprint(), identity.fingerprint());
    let mut c = connect(&second);
    assert_eq!(c.peer_fingerprint(), identity.fingerprint());
    assert_eq!(c.get(&second, "/storage").status, 200);
}

#[test]
fn debug_never_shows_the_token_or_key() {
    let agent = builder().token("super-secret-token").start().unwrap();
    let shown = format!(
        "{agent:?} {:?}",
        DevAgent::builder().token("super-secret-token")
    );
    assert!(!shown.contains("super-secret-token"), "{shown}");
    assert!(shown.contains(&agent.fingerprint().to_string()));
    let id = format!("{:?}", agent.identity());
    assert!(id.contains("EcdsaP256") && id.len() < 200, "{id}");
    assert!(DevAgent::start().unwrap().token().starts_with("devagent-"));
}
