//! Trust on first use: `presented_fingerprint` completes a real handshake (the server proves it
//! holds the key), refuses certificates no client can use, sends nothing, and its errors name
//! the handshake.

use std::net::TcpListener;
use std::time::Duration;

use felhom_agentapi::{Call, Error, TimeoutStage, presented_fingerprint};
use felhom_devagent::Fault;

use crate::Pinned;
use crate::agent;
use crate::common::assert_timeout;
use crate::servers::{self, ClientClose, Served, TlsServer, client_close};

const LIMIT: Duration = Duration::from_secs(5);

const V1_CERT: &[u8] = include_bytes!("../fixtures/v1-p256.cert.der");
const V1_KEY: &[u8] = include_bytes!("../fixtures/v1-p256.key.pk8.der");

#[test]
fn the_presented_fingerprint_comes_from_a_completed_handshake_and_nothing_is_sent() {
    let agent = agent();
    let fp = presented_fingerprint(&agent.endpoint(), LIMIT).unwrap();
    assert_eq!(fp, agent.pin());
    // The agent counts the handshake once its last flight is out, just after the client's end.
    let deadline = std::time::Instant::now() + LIMIT;
    while agent.stats().handshakes == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(agent.stats().handshakes, 1, "the handshake was completed");
    assert!(agent.requests().is_empty(), "{:?}", agent.requests());
    // The pin it gives works.
    let client = felhom_agentapi::Client::new(&agent.endpoint(), agent.token(), fp).unwrap();
    client.storage().unwrap();
}

#[test]
fn after_the_handshake_only_a_close_notify_is_sent() {
    let served = Served::fresh();
    let server = TlsServer::start(servers::config(&served), 1, |_, tls| client_close(tls));
    assert_eq!(
        presented_fingerprint(&server.endpoint, LIMIT).unwrap(),
        served.pin()
    );
    assert_eq!(server.finish(), [ClientClose::CloseNotify]);
}

#[test]
fn a_server_that_does_not_hold_the_certificates_key_gets_no_pin() {
    let agent = agent();
    agent.set_fault(Fault::WrongKey);
    let err = presented_fingerprint(&agent.endpoint(), LIMIT).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert_eq!(err.call(), Some(&Call::handshake(&agent.endpoint())));
    assert!(!err.may_have_reached_agent());
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("TLS handshake with {}: ", agent.endpoint())),
        "{message}"
    );
    assert!(message.contains("does not hold"), "{message}");
    assert!(agent.requests().is_empty());
}

#[test]
fn a_certificate_no_client_can_use_gets_no_pin_and_says_how_to_reissue_it() {
    let served = Served::from_der(V1_CERT, V1_KEY);
    let server = TlsServer::start(servers::config(&served), 1, |_, _| ());
    let err = presented_fingerprint(&server.endpoint, LIMIT).unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("X.509 v1"), "{message}");
    assert!(message.contains("re-issue"), "{message}");
    assert!(!message.contains("UnsupportedCertVersion"), "{message}");
    assert!(server.finish().is_empty(), "the handshake must fail");
}

#[test]
fn errors_name_the_handshake_not_a_request() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("127.0.0.1:{port}");
    let err = presented_fingerprint(&endpoint, LIMIT).unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(err.call(), Some(&Call::handshake(&endpoint)));
    let message = err.to_string();
    assert!(message.starts_with("TLS handshake with "), "{message}");
    assert!(
        !message.contains("GET") && !message.contains("/storage"),
        "{message}"
    );

    // A server that accepts TCP and never answers the ClientHello.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = silent.local_addr().unwrap().to_string();
    let limit = Duration::from_millis(200);
    let err = presented_fingerprint(&endpoint, limit).unwrap_err();
    assert_timeout(&err, TimeoutStage::Connect, limit);
    assert!(err.call().is_some_and(Call::is_handshake), "{err:?}");
    drop(silent);
}

#[test]
fn a_bad_endpoint_or_a_zero_timeout_is_a_config_error() {
    for (endpoint, timeout) in [
        ("http://127.0.0.1:8443", LIMIT),
        ("127.0.0.1", LIMIT),
        ("127.0.0.1:8443", Duration::ZERO),
    ] {
        let err = presented_fingerprint(endpoint, timeout).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{endpoint}: {err:?}");
    }
}
