//! Time limits and broken connections: which error each is, and whether the request may have
//! reached the agent.

use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use felhom_agentapi::{Call, Client, Error, TimeoutStage};
use felhom_devagent::Fault;

use crate::common::{assert_says, assert_timeout, client_with_timeout};
use crate::{agent, any_pin, client};

/// A loopback listener that hands each accepted socket to `serve`, for one connection, and
/// stops by itself when `serve` returns or after five seconds.
fn raw_server(
    serve: impl FnOnce(TcpStream, mpsc::Receiver<()>) + Send + 'static,
) -> (String, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = mpsc::channel();
    thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        for _ in 0..500 {
            match listener.accept() {
                Ok((socket, _)) => {
                    socket.set_nonblocking(false).unwrap();
                    return serve(socket, stopped);
                }
                Err(_) => thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (endpoint, stop)
}

#[test]
fn a_refused_port_is_connect_and_never_reached_the_agent() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("127.0.0.1:{port}"), "token", any_pin()).unwrap();
    let err = client.start_backup().unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(err.call(), Some(&Call::request("POST", "/backup")));
    assert!(!err.may_have_reached_agent());
    assert_says(&err, &format!("127.0.0.1:{port}"));
}

#[test]
fn a_server_that_never_finishes_the_handshake_is_a_connect_timeout() {
    // Accepts TCP, then says nothing until the test is over.
    let (endpoint, stop) = raw_server(|_socket, stopped| {
        let _ = stopped.recv_timeout(Duration::from_secs(5));
    });
    let client = Client::builder(&endpoint, "token", any_pin())
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.format_disk("/dev/sdc", "ext4").unwrap_err();
    let _ = stop.send(());
    assert_timeout(&err, TimeoutStage::Connect, Duration::from_millis(200));
    assert!(
        !err.may_have_reached_agent(),
        "a handshake timeout certainly sent nothing"
    );
}

#[test]
fn a_server_that_does_not_speak_tls_is_a_tls_error() {
    let (endpoint, _stop) = raw_server(|mut socket, _| {
        let mut buf = [0u8; 512];
        let _ = socket.read(&mut buf);
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    });
    let client = Client::new(&endpoint, "token", any_pin()).unwrap();
    let err = client.storage().unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(!err.may_have_reached_agent());
}

/// How long the clients of the exchange-timeout tests wait for an answer.
const EXCHANGE_LIMIT: Duration = Duration::from_millis(300);

/// What `call` fails with, from a client that gives up after [`EXCHANGE_LIMIT`], when the agent
/// has `fault`.
fn failure_under<T: Debug>(fault: Fault, call: impl FnOnce(&Client) -> Result<T, Error>) -> Error {
    let agent = agent();
    let client = client_with_timeout(&agent, EXCHANGE_LIMIT);
    agent.set_fault(fault);
    call(&client).unwrap_err()
}

#[test]
fn a_slow_answer_is_an_exchange_timeout_that_may_have_reached_the_agent() {
    let err = failure_under(Fault::Slow(Duration::from_secs(10)), Client::start_backup);
    assert_timeout(&err, TimeoutStage::Exchange, EXCHANGE_LIMIT);
    assert!(err.may_have_reached_agent());
}

#[test]
fn a_body_that_stalls_is_an_exchange_timeout() {
    let err = failure_under(
        Fault::StallBody(Duration::from_secs(10)),
        Client::host_metrics,
    );
    assert!(
        matches!(
            err,
            Error::Timeout {
                stage: TimeoutStage::Exchange,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_truncated_body_or_a_dropped_connection_is_io_and_may_have_reached_the_agent() {
    let agent = agent();
    let client = client(&agent);
    for fault in [Fault::Truncate, Fault::Drop] {
        agent.set_fault(fault.clone());
        let err = client.disks().unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{fault:?}: {err:?}");
        assert_eq!(
            err.call(),
            Some(&Call::request("GET", "/disks")),
            "{fault:?}"
        );
        assert!(err.may_have_reached_agent());
        assert!(err.to_string().starts_with("GET /disks: "), "{err}");
    }
    agent.clear_fault();
    client
        .disks()
        .expect("the client works again once the agent does");
}
