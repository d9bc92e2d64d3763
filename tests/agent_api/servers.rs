//! Small HTTPS servers on 127.0.0.1 written inside the tests, for what the stand-in agent does
//! not play: TLS servers that behave like other people's (ALPN, client certificates, unusable
//! certificates) and answers scripted byte for byte.
//!
//! Every server serves a fixed number of connections and stops by itself: it waits at most
//! [`BOUND`] for each connection, and its sockets time out after [`BOUND`].

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use felhom_agentapi::Fingerprint;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

/// How long a server waits for a connection, and a socket for a byte.
pub const BOUND: Duration = Duration::from_secs(5);

/// A server-side TLS stream.
pub type Tls = StreamOwned<ServerConnection, TcpStream>;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate and the key the server signs its handshakes with. They need not belong
/// together: a certificate whose own key cannot sign (RSA-1024) is served with another.
#[derive(Clone)]
pub struct Served {
    pub cert: CertificateDer<'static>,
    key: Arc<[u8]>,
}

impl Served {
    /// A fresh self-signed ECDSA P-256 certificate for `127.0.0.1`, with its key.
    pub fn fresh() -> Served {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        Served {
            cert: CertificateDer::from(made.cert.der().to_vec()),
            key: made.key_pair.serialize_der().into(),
        }
    }

    /// A certificate from DER, served with the PKCS#8 key `key`.
    pub fn from_der(cert: &[u8], key: &[u8]) -> Served {
        Served {
            cert: CertificateDer::from(cert.to_vec()),
            key: key.into(),
        }
    }

    /// The pin of the certificate.
    pub fn pin(&self) -> Fingerprint {
        Fingerprint::of_der(self.cert.as_ref())
    }

    fn certified(&self) -> Arc<CertifiedKey> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.to_vec()));
        let signer = provider().key_provider.load_private_key(key).unwrap();
        // `CertifiedKey::new` does not check that key and certificate match, on purpose here.
        Arc::new(CertifiedKey::new(vec![self.cert.clone()], signer))
    }
}

impl fmt::Debug for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served").field("pin", &self.pin()).finish()
    }
}

/// Serves one certificate to every handshake, whatever the client asks for.
#[derive(Debug)]
struct Always(Arc<CertifiedKey>);

impl ResolvesServerCert for Always {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// A TLS 1.2 + 1.3 server configuration serving `served`, with no client authentication.
pub fn config(served: &Served) -> ServerConfig {
    config_for(served, rustls::DEFAULT_VERSIONS)
}

/// [`config`] for these TLS versions only.
pub fn config_for(
    served: &Served,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ServerConfig {
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Always(served.certified())))
}

/// A TLS 1.3-only configuration that demands a client certificate issued by a CA of its own,
/// as a server set up for mutual TLS does. In TLS 1.3 the client learns of the refusal only
/// after its Finished, when it has already written its request.
pub fn config_requiring_client_cert(served: &Served) -> ServerConfig {
    let ca = rcgen::generate_simple_self_signed(vec!["client-ca.invalid".to_string()]).unwrap();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert.der().to_vec()))
        .unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(Always(served.certified())))
}

/// A running server; [`TlsServer::finish`] joins it and returns what each connection's script
/// returned (a connection that never came, or whose handshake failed, returns nothing).
pub struct TlsServer<T> {
    pub endpoint: String,
    thread: Option<JoinHandle<Vec<T>>>,
}

impl<T: Send + 'static> TlsServer<T> {
    /// Serves `connections` connections, one after the other, with `config`. Each runs
    /// `script` with its number (from 0) once its handshake is complete.
    pub fn start(
        config: ServerConfig,
        connections: usize,
        script: impl Fn(usize, &mut Tls) -> T + Send + 'static,
    ) -> TlsServer<T> {
        TlsServer::start_raw(connections, Arc::new(config), move |i, config, socket| {
            let conn = ServerConnection::new(config).unwrap();
            let mut tls = StreamOwned::new(conn, socket);
            while tls.conn.is_handshaking() {
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    return None;
                }
            }
            Some(script(i, &mut tls))
        })
    }

    /// Like [`TlsServer::start`], but the script drives the TLS session from the first byte.
    pub fn start_raw(
        connections: usize,
        config: Arc<ServerConfig>,
        script: impl Fn(usize, Arc<ServerConfig>, TcpStream) -> Option<T> + Send + 'static,
    ) -> TlsServer<T> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let thread = thread::spawn(move || {
            let mut results = Vec::new();
            for i in 0..connections {
                let Some(socket) = accept(&listener) else {
                    break;
                };
                socket.set_nonblocking(false).unwrap();
                socket.set_read_timeout(Some(BOUND)).unwrap();
                socket.set_write_timeout(Some(BOUND)).unwrap();
                results.extend(script(i, Arc::clone(&config), socket));
            }
            results
        });
        TlsServer {
            endpoint,
            thread: Some(thread),
        }
    }

    /// Waits for the server to end and returns the scripts' results.
    pub fn finish(mut self) -> Vec<T> {
        self.thread.take().unwrap().join().unwrap()
    }
}

fn accept(listener: &TcpListener) -> Option<TcpStream> {
    let deadline = Instant::now() + BOUND;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((socket, _)) => return Some(socket),
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}

/// Reads one request (head and `Content-Length` body) and returns its head; `None` if the
/// stream ended or failed first.
pub fn read_request(tls: &mut Tls) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    tls.read_exact(&mut body).ok()?;
    Some(head)
}

/// Writes `bytes` and flushes them onto the socket.
pub fn send(tls: &mut Tls, bytes: &[u8]) {
    tls.write_all(bytes).unwrap();
    tls.flush().unwrap();
}

/// Ends the TLS session politely: `close_notify`, then TCP FIN.
pub fn close_politely(tls: &mut Tls) {
    tls.conn.send_close_notify();
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Write);
}

/// Ends the connection with a TCP FIN and no `close_notify`, as a crashed or careless server.
pub fn close_abruptly(tls: &mut Tls) {
    let _ = tls.flush();
    let _ = tls.sock.shutdown(Shutdown::Write);
}

/// How the client ended the connection, as the server saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientClose {
    /// A TLS `close_notify`, then the end of the stream.
    CloseNotify,
    /// The end of the TCP stream without a `close_notify`.
    FinOnly,
    /// Application data, or nothing within [`BOUND`].
    Other(String),
}

/// Waits for the client to end the connection, and says how it did.
pub fn client_close(tls: &mut Tls) -> ClientClose {
    let mut buf = [0u8; 512];
    match tls.read(&mut buf) {
        Ok(0) => ClientClose::CloseNotify,
        Ok(n) => ClientClose::Other(format!("{n} more bytes")),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => ClientClose::FinOnly,
        Err(e) => ClientClose::Other(e.to_string()),
    }
}

/// An answer with a `Content-Length`.
pub fn answer(status: u16, json: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
        json.len()
    )
    .into_bytes()
}

/// The envelope of a `GET /storage` answer, padded with white space to exactly `size` bytes.
pub fn storage_envelope(size: usize) -> Vec<u8> {
    let mut body = br#"{"ok":true,"data":{"vmid":7,"mounts":[]}"#.to_vec();
    assert!(size > body.len(), "{size} is too small for an envelope");
    body.resize(size - 1, b' ');
    body.push(b'}');
    body
}
