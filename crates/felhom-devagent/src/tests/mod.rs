//! End to end: a small rustls client speaks real TLS and HTTP/1.1 to agents on 127.0.0.1.
//!
//! Every agent here is dropped at the end of its test and has a short `max_lifetime` as a
//! backstop.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
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

/// Parses a complete answer head into its length and a [`Reply`] without a body; `None` if
/// more bytes are needed.
fn parse_reply_head(buf: &[u8]) -> io::Result<Option<(usize, Reply)>> {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(head_len) = parsed.parse(buf).map_err(io::Error::other)? else {
        return Ok(None);
    };
    let reply = Reply {
        status: parsed.code.unwrap(),
        headers: http::owned_headers(parsed.headers),
        body: Vec::new(),
    };
    Ok(Some((head_len, reply)))
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

    /// Reads more bytes, which must come: the end of the stream is an error here.
    fn fill_more(&mut self) -> io::Result<()> {
        match self.fill()? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }

    fn read_reply(&mut self) -> io::Result<Reply> {
        let (head_len, head) = loop {
            if let Some(parsed) = parse_reply_head(&self.buf)? {
                break parsed;
            }
            self.fill_more()?;
        };
        let length: usize = head
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        self.buf.drain(..head_len);
        while self.buf.len() < length {
            self.fill_more()?;
        }
        let body = self.buf.drain(..length).collect();
        Ok(Reply { body, ..head })
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

/// An agent started from [`builder`] as `configure` changes it.
fn agent_with(configure: impl FnOnce(DevAgentBuilder) -> DevAgentBuilder) -> DevAgent {
    configure(builder()).start().expect("start a dev agent")
}

fn agent() -> DevAgent {
    agent_with(|b| b)
}

/// Longer than any test runs: a fault or timeout this long cannot run out while a test
/// watches, so whatever ends it early is the agent's own doing.
const FOREVER: Duration = Duration::from_secs(3600);

/// How long a step that ends at once (or, waiting out [`FOREVER`], never) may take before it
/// counts as hung: a guard against hanging, not a measure of speed.
const HANG: Duration = Duration::from_secs(60);

/// Runs `step` on a thread of its own and returns what it returns; panics naming `what` if it
/// is still running after [`HANG`].
fn ends<T: Send + 'static>(what: &str, step: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = done.send(step());
    });
    match result.recv_timeout(HANG) {
        Ok(value) => value,
        // The step panicked (so the thread is ending): pass its panic on.
        Err(RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(handle.join().expect_err("the step panicked"))
        }
        Err(RecvTimeoutError::Timeout) => panic!("{what} hung: still running after {HANG:?}"),
    }
}

/// Asserts that a connection's end, as [`Client::read_until_closed`] or a plain read saw it,
/// came from the agent (a `close_notify`, a FIN or a reset), not from the client's own read
/// timeout while the connection stayed open.
#[track_caller]
fn closed_by_the_agent(end: io::Result<()>, what: &str) {
    if let Err(e) = end {
        assert!(
            !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{what} was still open when the client's read timed out: {e}"
        );
    }
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

mod faults;
mod handshakes;
mod lifecycle;
mod routes;
