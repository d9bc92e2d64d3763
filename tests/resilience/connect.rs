//! The connect phase: a refused port, a server that accepts TCP but never completes the TLS
//! handshake, an agent replaced by one. Whichever limit fires, the error says that nothing was
//! sent, and nothing was.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use felhom_agentapi::{Client, Error, TimeoutStage};

use crate::{any_pin, shared};

/// How long a raw server lives at most, whatever the test does.
const RAW_SERVER_LIFETIME: Duration = Duration::from_secs(8);

/// The token of the clients that talk to a raw server.
const TOKEN: &str = "s3cret-token";

/// What a [`RawServer`] does with each connection it accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Keeps it open and never says a word: a TLS handshake never completes.
    Silent,
    /// Reads the ClientHello, then hangs up, as an agent that is going down.
    HangUp,
}

/// A loopback server that never completes a TLS handshake. It keeps what clients send, and
/// stops when dropped or after [`RAW_SERVER_LIFETIME`].
struct RawServer {
    endpoint: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<Vec<u8>>>,
}

impl RawServer {
    fn start(behaviour: Behaviour) -> RawServer {
        RawServer::serve(TcpListener::bind("127.0.0.1:0").unwrap(), behaviour)
    }

    /// Listens at `addr`, which an agent just gave up: retries while the port is still taken.
    fn start_at(addr: SocketAddr, behaviour: Behaviour) -> RawServer {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            match TcpListener::bind(addr) {
                Ok(listener) => return RawServer::serve(listener, behaviour),
                Err(e) if e.kind() == ErrorKind::AddrInUse && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("binding {addr}: {e}"),
            }
        }
    }

    fn serve(listener: TcpListener, behaviour: Behaviour) -> RawServer {
        listener.set_nonblocking(true).unwrap();
        let endpoint = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + RAW_SERVER_LIFETIME;
            // Each socket, with whether it has sent anything yet.
            let mut held: Vec<(TcpStream, bool)> = Vec::new();
            let mut received = Vec::new();
            while Instant::now() < deadline {
                while let Ok((socket, _)) = listener.accept() {
                    socket.set_nonblocking(true).unwrap();
                    held.push((socket, false));
                }
                for (socket, spoke) in &mut held {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = socket.read(&mut buf) {
                        received.extend_from_slice(&buf[..n]);
                        *spoke = true;
                    }
                }
                if behaviour == Behaviour::HangUp {
                    // Hang up once the ClientHello is in, and read: a clean FIN, no RST.
                    held.retain(|(_, spoke)| !spoke);
                }
                match stopped.recv_timeout(Duration::from_millis(10)) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            }
            received
        });
        RawServer {
            endpoint,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the server; returns every byte clients sent it.
    fn finish(mut self) -> Vec<u8> {
        self.stop.take();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Asserts that what the client sent is TLS handshake records only: no byte of a request.
fn assert_only_a_client_hello(received: &[u8], token: &str) {
    assert!(
        !received.is_empty(),
        "the client sent no ClientHello at all"
    );
    assert_eq!(received[0], 0x16, "a TLS handshake record comes first");
    let text = String::from_utf8_lossy(received);
    assert!(
        !text.contains(token) && !text.contains("HTTP/1.1"),
        "no request may be sent before the handshake completes"
    );
}

/// A client's two time limits.
#[derive(Clone, Copy)]
struct Limits {
    connect: Duration,
    call: Duration,
}

impl Limits {
    fn new(connect: Duration, call: Duration) -> Limits {
        Limits { connect, call }
    }
}

/// Makes `call` against a silent server, from a client with `limits`, and checks that it is a
/// connect-stage timeout with `limit` (the shorter of the two limits, which must be the one that
/// fired), and that sent nothing.
fn expect_connect_timeout(
    limits: Limits,
    call: impl FnOnce(&Client) -> Result<(), Error>,
    (method, path): (&str, &str),
    limit: Duration,
) {
    let server = RawServer::start(Behaviour::Silent);
    let client = Client::builder(&server.endpoint, TOKEN, any_pin())
        .connect_timeout(limits.connect)
        .timeout(limits.call)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = call(&client).unwrap_err();
    let took = started.elapsed();
    match &err {
        Error::Timeout {
            call: c,
            stage: TimeoutStage::Connect,
            limit: l,
        } => {
            assert_eq!((c.method(), c.path()), (Some(method), Some(path)));
            assert_eq!(*l, limit, "the limit reported is the one that fired");
        }
        other => panic!("{method} {path}: expected a connect timeout, got {other:?}"),
    }
    assert!(!err.may_have_reached_agent(), "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    // Which limit fired is asserted above through `limit`; here only that the client did wait
    // for it (a lower bound, which a slow machine cannot break).
    assert!(took >= limit / 2, "gave up after {took:?}");
    assert_only_a_client_hello(&server.finish(), TOKEN);
}

/// A call under test and the `(method, path)` its error must name.
type Call = (
    fn(&Client) -> Result<(), Error>,
    (&'static str, &'static str),
);

const STORAGE: Call = (|c| c.storage().map(drop), ("GET", "/storage"));
const START_BACKUP: Call = (|c| c.start_backup().map(drop), ("POST", "/backup"));
const FORMAT_DISK: Call = (
    |c| c.format_disk("/dev/sdc", "ext4").map(drop),
    ("POST", "/disks/format"),
);
const DISKS: Call = (|c| c.disks().map(drop), ("GET", "/disks"));

/// [`expect_connect_timeout`] for each of `calls` in turn; not while the soak runs.
fn expect_connect_timeouts(limits: Limits, limit: Duration, calls: [Call; 2]) {
    let _serial = shared();
    for (call, route) in calls {
        expect_connect_timeout(limits, call, route, limit);
    }
}

#[test]
fn a_handshake_that_never_completes_is_a_connect_timeout() {
    let limits = Limits::new(Duration::from_millis(300), Duration::from_secs(6));
    expect_connect_timeouts(limits, limits.connect, [STORAGE, START_BACKUP]);
}

#[test]
fn a_call_timeout_shorter_than_the_connect_timeout_fires_in_the_handshake_as_connect() {
    let limits = Limits::new(Duration::from_secs(6), Duration::from_millis(300));
    expect_connect_timeouts(limits, limits.call, [FORMAT_DISK, DISKS]);
}

#[test]
fn a_refused_port_is_connect_for_every_kind_of_call() {
    let _serial = shared();
    // A port that was just free: nothing listens there now.
    let endpoint = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let client = Client::builder(&endpoint, TOKEN, any_pin())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let calls: [(&str, Result<(), Error>); 3] = [
        ("GET", client.backup_status().map(drop)),
        ("POST", client.eject_disk("/mnt/usb-archive").map(drop)),
        ("POST", client.format_disk("/dev/sdc", "ext4").map(drop)),
    ];
    for (method, result) in calls {
        let err = result.unwrap_err();
        match &err {
            Error::Connect { call, error, .. } => {
                assert_eq!(call.method(), Some(method));
                assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{err:?}");
            }
            other => panic!("expected Connect, got {other:?}"),
        }
        assert!(!err.may_have_reached_agent());
    }
}

#[test]
fn an_agent_replaced_by_a_silent_listener_is_a_connect_timeout_not_the_dead_connection() {
    // The client holds a kept-alive connection when the agent goes away; something comes up on
    // its port that accepts TCP but never finishes a handshake (an agent stuck starting up).
    let _serial = shared();
    let agent = crate::agent();
    let connect = Duration::from_millis(300);
    let client = crate::builder(&agent)
        .connect_timeout(connect)
        .build()
        .unwrap();
    client.storage().unwrap();
    let addr = agent.addr();
    let token = agent.token().to_string();
    drop(agent);

    let server = RawServer::start_at(addr, Behaviour::Silent);
    let err = client.start_backup().unwrap_err();
    assert!(
        matches!(err, Error::Timeout { stage: TimeoutStage::Connect, limit, .. } if limit == connect),
        "{err:?}"
    );
    assert!(!err.may_have_reached_agent());
    assert_only_a_client_hello(&server.finish(), &token);
}

#[test]
fn an_agent_that_hangs_up_during_the_handshake_is_tls_and_sent_nothing() {
    let _serial = shared();
    let agent = crate::agent();
    let client = crate::client(&agent);
    client.storage().unwrap();
    let addr = agent.addr();
    let token = agent.token().to_string();
    drop(agent);

    let server = RawServer::start_at(addr, Behaviour::HangUp);
    for result in [
        client.start_backup().map(drop),
        client.format_disk("/dev/sdc", "ext4").map(drop),
        client.storage().map(drop),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(!err.may_have_reached_agent(), "{err}");
    }
    assert_only_a_client_hello(&server.finish(), &token);
}
