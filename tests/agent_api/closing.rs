//! How connections end: the client closes its own with a TLS `close_notify`, and an answer whose
//! end the agent did not mark is a broken connection, never a complete answer.

use felhom_agentapi::{Client, Error};

use crate::servers::{
    self, ClientClose, Served, TlsServer, answer, client_close, close_abruptly, read_request, send,
};

const STORAGE: &str = r#"{"ok":true,"data":{"vmid":9,"mounts":[]}}"#;

#[test]
fn a_dropped_client_closes_its_kept_alive_connection_with_close_notify() {
    let served = Served::fresh();
    let server = TlsServer::start(servers::config(&served), 1, |_, tls| {
        read_request(tls).expect("a request");
        send(tls, &answer(200, STORAGE));
        // The connection stays open for reuse until the client lets it go.
        client_close(tls)
    });
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    assert_eq!(client.storage().unwrap().vmid, 9);
    drop(client);
    assert_eq!(server.finish(), [ClientClose::CloseNotify]);
}

#[test]
fn a_connection_the_answer_closes_ends_with_the_clients_close_notify() {
    let served = Served::fresh();
    let server = TlsServer::start(servers::config(&served), 1, |_, tls| {
        read_request(tls).expect("a request");
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\
             content-length: {}\r\n\r\n{STORAGE}",
            STORAGE.len()
        );
        send(tls, head.as_bytes());
        client_close(tls)
    });
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    assert_eq!(client.storage().unwrap().vmid, 9);
    // The client is still alive: the connection was closed because the answer said so.
    assert_eq!(server.finish(), [ClientClose::CloseNotify]);
    drop(client);
}

#[test]
fn a_close_delimited_answer_cut_by_a_fin_without_close_notify_is_a_broken_connection() {
    let served = Served::fresh();
    let server = TlsServer::start(servers::config(&served), 1, |_, tls| {
        read_request(tls).expect("a request");
        // No length: the end of the connection ends the body. Half of it, then a bare FIN.
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n";
        send(tls, head.as_bytes());
        send(tls, &STORAGE.as_bytes()[..STORAGE.len() / 2]);
        close_abruptly(tls);
    });
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    let err = client.storage().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.may_have_reached_agent());
    assert!(err.to_string().contains("close_notify"), "{err}");
    server.finish();
}

#[test]
fn the_stand_in_agents_cut_answer_is_io_for_every_call() {
    let agent = crate::agent();
    let client = crate::client(&agent);
    agent.set_fault(felhom_devagent::Fault::CutWithoutCloseNotify);
    for (name, result) in [
        ("storage", client.storage().map(drop)),
        ("start_backup", client.start_backup().map(drop)),
        (
            "format_disk",
            client.format_disk("/dev/sdc", "ext4").map(drop),
        ),
    ] {
        let err = result.expect_err(name);
        assert!(matches!(err, Error::Io { .. }), "{name}: {err:?}");
        assert!(err.may_have_reached_agent(), "{name}: {err}");
    }
}
