//! Starting, stopping and limits: shutdown, lifetime, loopback only, idle connections, restarts.

use super::*;

#[test]
fn shutdown_is_prompt_with_a_slow_request_in_flight() {
    // Only stopping can end this request: its wait, the idle timeout and the lifetime all
    // outlast the test.
    let agent = agent_with(|b| b.idle_timeout(FOREVER).max_lifetime(FOREVER));
    agent.set_fault(Fault::Slow(FOREVER));
    let mut c = connect(&agent);
    c.send("GET", "/storage", Some(agent.token()), None);
    let client = thread::spawn(move || c.read_until_closed());
    wait_for("the slow request to arrive", || agent.stats().requests == 1);

    // Dropping the agent cuts the wait short: waiting it out would hang.
    ends("dropping the agent with a slow request in flight", || {
        drop(agent)
    });
    let (received, end) = client.join().unwrap();
    assert!(received.is_empty(), "no answer after shutdown");
    closed_by_the_agent(end, "the slow request's connection");
}

#[test]
fn shutdown_is_prompt_with_a_stalled_body_and_quiet_clients() {
    // As above: only stopping can end the stall, the quiet handshake or the idle connection.
    let agent = agent_with(|b| b.idle_timeout(FOREVER).max_lifetime(FOREVER));
    let mut quiet = TcpStream::connect(agent.addr()).unwrap(); // never says hello
    quiet
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut idle = connect(&agent);
    agent.set_fault(Fault::StallBody(FOREVER));
    let mut c = connect(&agent);
    c.send("GET", "/storage", Some(agent.token()), None);
    wait_for("the stalled request", || agent.stats().requests == 1);

    ends(
        "shutting down with a stalled body and quiet clients",
        || {
            agent.shutdown();
        },
    );
    let (raw, end) = c.read_until_closed();
    assert!(
        raw.starts_with(b"HTTP/1.1 200 "),
        "the head before the stall"
    );
    closed_by_the_agent(end, "the stalled connection");
    let (rest, end) = idle.read_until_closed();
    assert!(rest.is_empty());
    closed_by_the_agent(end, "the idle connection");
    let end = quiet
        .read(&mut [0; 1])
        .map(|n| assert_eq!(n, 0, "nothing to a quiet client"));
    closed_by_the_agent(end, "the quiet connection");
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
    let agent = agent_with(|b| b.max_lifetime(Duration::from_millis(200)));
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
    // A loopback address is all it takes (the tests bind none but 127.0.0.1).
    let loopback = builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .start()
        .unwrap();
    assert_eq!(loopback.addr().ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(loopback.addr().port(), 0);
    assert_eq!(connect(&loopback).get(&loopback, "/backup/due").status, 200);
}

#[test]
fn close_idle_connections_closes_only_idle_ones_politely() {
    let agent = Arc::new(agent_with(|b| b.idle_timeout(FOREVER)));
    let mut idle = connect(&agent);
    assert_eq!(idle.get(&agent, "/storage").status, 200);
    // A request whose body the test holds back keeps its connection busy until the test sends
    // the rest (the idle timeout outlasts the test).
    let mut busy = connect(&agent);
    let head = format!(
        "POST /backup HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Length: 2\r\n\r\n{{",
        agent.token()
    );
    busy.send_raw(head.as_bytes()).unwrap();
    wait_for("the busy request", || agent.stats().requests == 2);

    // close_idle_connections returns without waiting for the busy connection: it returns
    // while that request is still held back, which the test only lets go after it returned
    // (waiting for that connection would hang).
    let closer = Arc::clone(&agent);
    ends("close_idle_connections with a busy connection", move || {
        closer.close_idle_connections();
    });
    let (rest, end) = idle.read_until_closed();
    assert!(rest.is_empty());
    end.expect("close_notify before the FIN");

    // The busy connection was left alone: it gets its answer and carries the next request.
    busy.send_raw(b"}").unwrap();
    let reply = busy.read_reply().unwrap();
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json()["data"]["job_id"], "job-1");
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
    let agent = agent_with(|b| b.idle_timeout(Duration::from_millis(200)));
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
    let first = agent_with(|b| b.key_kind(KeyKind::Rsa2048));
    let (addr, identity, token) = (first.addr(), first.identity(), first.token().to_owned());
    first.shutdown();
    let second = agent_with(|b| b.bind(addr).identity(identity.clone()).token(token));
    assert_eq!(second.addr(), addr);
    assert_eq!(second.fingerprint(), identity.fingerprint());
    let mut c = connect(&second);
    assert_eq!(c.peer_fingerprint(), identity.fingerprint());
    assert_eq!(c.get(&second, "/storage").status, 200);
}

#[test]
fn debug_never_shows_the_token_or_key() {
    let agent = agent_with(|b| b.token("super-secret-token"));
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
