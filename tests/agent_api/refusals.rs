//! Servers that refuse the client in the TLS handshake, as other people's servers do: the call is
//! `Error::Tls`, and it says that nothing reached the agent, even when TLS 1.3 lets the refusal
//! arrive after the request was written.

use felhom_agentapi::{Client, Error};

use crate::servers::{self, Served, TlsServer, answer, close_politely, read_request, send};

#[test]
fn a_server_that_refuses_the_client_after_its_finished_is_tls_and_nothing_reached_it() {
    // TLS 1.3 with a mandatory client certificate: the client's handshake completes, the
    // request goes out, and only then comes the certificate_required alert.
    let served = Served::fresh();
    let server = TlsServer::start(
        servers::config_requiring_client_cert(&served),
        2,
        |_, _tls| "a handshake that should have failed",
    );
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    let results = [
        client.start_backup().map(drop),
        client.format_disk("/dev/sdb", "ext4").map(drop),
    ];
    for result in results {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(!err.may_have_reached_agent(), "{err}");
        let message = err.to_string();
        assert!(message.contains("client certificate"), "{message}");
        assert!(message.contains("never reached the agent"), "{message}");
    }
    assert!(
        server.finish().is_empty(),
        "the server never accepted a connection"
    );
}

#[test]
fn the_client_offers_http_1_1_by_alpn() {
    let served = Served::fresh();
    let mut config = servers::config(&served);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server = TlsServer::start(config, 1, |_, tls| {
        let negotiated = tls.conn.alpn_protocol().map(<[u8]>::to_vec);
        read_request(tls).expect("a request");
        send(
            tls,
            &answer(200, r#"{"ok":true,"data":{"vmid":5,"mounts":[]}}"#),
        );
        close_politely(tls);
        negotiated
    });
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    assert_eq!(client.storage().unwrap().vmid, 5);
    assert_eq!(server.finish(), vec![Some(b"http/1.1".to_vec())]);
}

#[test]
fn an_h2_only_server_fails_the_handshake_cleanly() {
    // Like nghttpd: it speaks HTTP/2 alone. A client that negotiated nothing would have its
    // HTTP/1.1 request answered with an HTTP/2 GOAWAY frame and a closed connection.
    let served = Served::fresh();
    let mut config = servers::config(&served);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let server = TlsServer::start(config, 2, |_, tls| {
        let _ = read_request(tls);
        // GOAWAY: length 8, type 7, no flags, stream 0; last stream 0, PROTOCOL_ERROR.
        send(tls, &[0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        close_politely(tls);
        "a request was read"
    });
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    for result in [client.storage().map(drop), client.start_backup().map(drop)] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(!err.may_have_reached_agent(), "{err}");
        assert!(err.to_string().contains("HTTP/1.1"), "{err}");
    }
    assert!(
        server.finish().is_empty(),
        "no request may reach an h2-only server"
    );
}
