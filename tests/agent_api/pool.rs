//! What the pool may reuse: never a connection holding bytes the agent sent after an answer.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use felhom_agentapi::{Client, Fingerprint};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConnection, StreamOwned};

use crate::servers::read_request;

type Tls = StreamOwned<ServerConnection, TcpStream>;

/// A one-connection HTTPS server on 127.0.0.1 running `script` on the accepted TLS stream.
/// Returns the endpoint and the pin of its fresh self-signed certificate.
fn scripted_tls_server(script: impl FnOnce(&mut Tls) + Send + 'static) -> (String, String) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = CertificateDer::from(generated.cert.der().to_vec());
    let pin = Fingerprint::of_der(cert.as_ref()).to_string();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut tls = StreamOwned::new(ServerConnection::new(Arc::new(config)).unwrap(), socket);
        script(&mut tls);
        thread::sleep(Duration::from_millis(200));
    });
    (endpoint, pin)
}

fn http(status: u16, json: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
        json.len()
    )
    .into_bytes()
}

#[test]
fn bytes_after_an_answer_are_never_read_as_the_next_answer() {
    let (endpoint, pin) = scripted_tls_server(|tls| {
        read_request(tls).expect("a whole request, head and body");
        // The answer, then an unsolicited "success" large enough that rustls reads only its
        // start with the answer: two records flushed in one TCP write.
        let answer = http(200, r#"{"ok":true,"data":{"vmid":1}}"#);
        let stale = http(
            200,
            &format!(
                r#"{{"ok":true,"data":{{"device":"/dev/sdb","formatted":true,"pad":"{}"}}}}"#,
                "x".repeat(6000)
            ),
        );
        tls.conn.writer().write_all(&answer).unwrap();
        tls.conn.writer().write_all(&stale).unwrap();
        while tls.conn.wants_write() {
            tls.conn.write_tls(&mut tls.sock).unwrap();
        }
        // If the client reused this connection, the agent's real answer is a refusal.
        read_request(tls).expect("a whole request, head and body");
        let _ = tls.write_all(&http(403, r#"{"ok":false,"data":{"data_bearing":true}}"#));
    });
    let client = Client::new(&endpoint, "token", &pin).unwrap();
    assert_eq!(client.storage().unwrap().vmid, 1);
    let verdict = client.format_disk("/dev/sdb", "ext4");
    assert!(
        verdict.is_err(),
        "a stale record was read as the answer to the format: {verdict:?}"
    );
}
