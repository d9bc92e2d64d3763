//! The connection layer under ureq: TCP, then TLS with the pinned verifier, and a resolver that
//! answers IP literals without a thread.
//!
//! ureq 3 has no setting for a custom certificate verifier, so this module plugs its own TLS
//! connector into ureq's transport API (`ureq::unversioned`, pinned to ureq 3.5 in Cargo.toml).
//! The connector completes the whole handshake before returning, so every failure it reports
//! happened before a single byte of the request was written: it wraps them in
//! [`HandshakeFailure`], which the client turns into errors that say so.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::{ClientConfig, ClientConnection, StreamOwned};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::time::{Duration, Instant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, TcpConnector, Transport,
    TransportAdapter,
};

use crate::Fingerprint;
use crate::certificate::Unusable;
use crate::observe::{Handshake, Hook, protocol_name};
use crate::pin::PinMismatch;

/// A failure before the request was sent: TCP connect or TLS handshake.
#[derive(Debug)]
pub(crate) enum HandshakeFailure {
    /// The TCP connection failed.
    Connect(io::Error),
    /// TCP connect plus handshake did not finish within the connect budget.
    Timeout,
    /// The server's leaf certificate matched no pin.
    PinMismatch(Fingerprint),
    /// Any other handshake failure.
    Tls(String),
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeFailure::Connect(e) => write!(f, "connect failed: {e}"),
            HandshakeFailure::Timeout => f.write_str("connect timed out"),
            HandshakeFailure::PinMismatch(fp) => write!(f, "pin mismatch: {fp}"),
            HandshakeFailure::Tls(m) => write!(f, "tls: {m}"),
        }
    }
}

impl std::error::Error for HandshakeFailure {}

/// A reused connection that ended before a byte of the answer arrived: the server had closed it
/// as idle (some check their idle timeout only when the next request comes, and answer it with a
/// `close_notify` alone). The request was written but never taken up, so a GET may go again on
/// a fresh connection.
#[derive(Debug)]
pub(crate) struct StaleConnection(pub(crate) io::Error);

impl fmt::Display for StaleConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a reused connection ended before any answer: {}", self.0)
    }
}

impl std::error::Error for StaleConnection {}

/// Whether `e` says that a reused connection had been closed as idle.
pub(crate) fn is_stale(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Other(inner) if inner.is::<StaleConnection>())
}

/// rustls's error, in words that say what to do where rustls's own are too terse.
fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol) => {
            "the server does not speak HTTP/1.1 (it refused the ALPN protocol http/1.1, the only \
             one the client offers): something other than the agent, speaking only HTTP/2, \
             answers at this address"
                .into()
        }
        rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature) => {
            "the server's handshake signature does not verify with the key of the certificate it \
             presented: it does not hold that certificate's private key, so something other \
             than the agent answers at this address"
                .into()
        }
        rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
            "the server demands a client certificate (TLS alert certificate_required), which the \
             agent never does: something other than the agent, set up for mutual TLS, answers \
             at this address"
                .into()
        }
        other => other.to_string(),
    }
}

/// The TLS alert in `e`, if it is one that only a server refusing the handshake sends: a
/// server that sends it never accepted the connection.
fn handshake_alert(e: &io::Error) -> Option<&rustls::Error> {
    use rustls::AlertDescription as A;
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match tls {
        rustls::Error::AlertReceived(
            A::HandshakeFailure
            | A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::DecryptError
            | A::IllegalParameter
            | A::ProtocolVersion
            | A::InsufficientSecurity
            | A::MissingExtension
            | A::UnsupportedExtension
            | A::UnknownPSKIdentity
            | A::CertificateRequired
            | A::NoApplicationProtocol,
        ) => Some(tls),
        _ => None,
    }
}

/// The ways a connection ends that ureq, reading a body delimited by the end of the connection,
/// would take for that end.
fn is_end_of_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

impl HandshakeFailure {
    fn into_ureq(self) -> ureq::Error {
        ureq::Error::Other(Box::new(self))
    }

    /// The system resolver found no address for the host: nothing was sent, so this is a
    /// connect failure, never one that may have reached the agent.
    pub(crate) fn unresolved(e: &dyn fmt::Display) -> HandshakeFailure {
        HandshakeFailure::Connect(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the host name did not resolve: {e}"),
        ))
    }

    /// Classifies an error from the handshake's I/O (over ureq's transport or a plain socket).
    pub(crate) fn from_handshake_io(e: io::Error) -> HandshakeFailure {
        if let Some(inner) = e.get_ref() {
            if let Some(ureq::Error::Timeout(_)) = inner.downcast_ref::<ureq::Error>() {
                return HandshakeFailure::Timeout;
            }
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return HandshakeFailure::from_rustls(tls);
            }
        }
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => HandshakeFailure::Timeout,
            io::ErrorKind::UnexpectedEof => HandshakeFailure::Tls(
                "the server closed the connection during the handshake".into(),
            ),
            _ => HandshakeFailure::Tls(format!("I/O error during the handshake: {e}")),
        }
    }

    fn from_rustls(e: &rustls::Error) -> HandshakeFailure {
        if let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) = e {
            if let Some(mismatch) = other.0.downcast_ref::<PinMismatch>() {
                return HandshakeFailure::PinMismatch(mismatch.presented);
            }
            if let Some(problem) = other.0.downcast_ref::<Unusable>() {
                return HandshakeFailure::Tls(problem.to_string());
            }
        }
        HandshakeFailure::Tls(describe(e))
    }
}

/// The TLS configuration of every connection: the ring provider (chosen explicitly: the
/// process-wide default panics where both ring and aws-lc-rs are linked), TLS 1.2 and 1.3,
/// `verifier` as the only trust, and HTTP/1.1 offered by ALPN, so that a server that cannot
/// speak it refuses the handshake instead of failing the request after it was sent.
pub(crate) fn client_config(
    provider: Arc<rustls::crypto::CryptoProvider>,
    verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>,
) -> Result<ClientConfig, rustls::Error> {
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Makes the TCP connection and the pinned TLS session over it, in one step.
pub(crate) struct PinnedTlsConnector {
    config: Arc<ClientConfig>,
    hook: Hook,
}

impl PinnedTlsConnector {
    pub(crate) fn new(config: Arc<ClientConfig>, hook: Hook) -> PinnedTlsConnector {
        PinnedTlsConnector { config, hook }
    }
}

impl fmt::Debug for PinnedTlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinnedTlsConnector").finish_non_exhaustive()
    }
}

impl Connector<()> for PinnedTlsConnector {
    type Out = TlsTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<TlsTransport>, ureq::Error> {
        // The pin and the token only make sense over TLS: a plain-http URL must fail loudly,
        // never quietly use the pinned TLS session anyway.
        if !details.needs_tls() {
            let message = "refusing a URL that is not https";
            return Err(HandshakeFailure::Tls(message.into()).into_ureq());
        }
        let started = std::time::Instant::now();
        let tcp = match Connector::<()>::connect(&TcpConnector::default(), details, None) {
            Ok(Some(tcp)) => tcp,
            Ok(None) => {
                let e = io::Error::new(io::ErrorKind::NotConnected, "no address to connect to");
                return Err(HandshakeFailure::Connect(e).into_ureq());
            }
            Err(ureq::Error::Timeout(_)) => return Err(HandshakeFailure::Timeout.into_ureq()),
            Err(ureq::Error::Io(e)) => return Err(HandshakeFailure::Connect(e).into_ureq()),
            Err(other) => {
                let e = io::Error::other(other.to_string());
                return Err(HandshakeFailure::Connect(e).into_ureq());
            }
        };

        let name = server_name(details.uri)
            .map_err(|m| HandshakeFailure::Tls(m.to_string()).into_ureq())?;
        let mut conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| HandshakeFailure::from_rustls(&e).into_ureq())?;

        let mut sock = TransportAdapter::new(tcp.boxed(), details.current_time.clone());
        // The connect budget started before the TCP connect: the handshake gets what is left.
        sock.set_timeout(remaining(
            details.timeout,
            details.now,
            (details.current_time)(),
        ));
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)
                .map_err(|e| HandshakeFailure::from_handshake_io(e).into_ureq())?;
        }
        if let Some(observer) = &self.hook.0 {
            observer.handshake(&Handshake {
                endpoint: details
                    .uri
                    .authority()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                protocol: protocol_name(conn.protocol_version()),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .map(|s| {
                        let suite = s.suite();
                        suite
                            .as_str()
                            .map_or_else(|| format!("{suite:?}"), str::to_string)
                    })
                    .unwrap_or_default(),
                fingerprint: conn
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|leaf| Fingerprint::of_der(leaf.as_ref())),
                resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
                took: started.elapsed(),
            });
        }

        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(TlsTransport {
            buffers,
            stream: StreamOwned::new(conn, sock),
            requests: 0,
            writing: false,
            answered: false,
            last_timeout: details.timeout,
        }))
    }
}

/// The TLS server name for the URI's host. IP addresses are not sent as SNI; names are, though
/// the verifier ignores names either way (the pin is the anchor).
fn server_name(uri: &Uri) -> Result<rustls::pki_types::ServerName<'static>, &'static str> {
    server_name_of(uri.host().ok_or("the URL has no host")?)
}

/// The TLS server name for `host` as written in an authority (`[v6]` in brackets or not).
pub(crate) fn server_name_of(
    host: &str,
) -> Result<rustls::pki_types::ServerName<'static>, &'static str> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(bare)
        .map(|n| n.to_owned())
        .map_err(|_| "the host is neither an IP address nor a valid DNS name")
}

/// What is left of `timeout`, set at `started`, at `now`.
fn remaining(timeout: NextTimeout, started: Instant, now: Instant) -> NextTimeout {
    let after = match (timeout.after, started, now) {
        (Duration::Exact(limit), Instant::Exact(started), Instant::Exact(now)) => {
            Duration::Exact(limit.saturating_sub(now.saturating_duration_since(started)))
        }
        (after, _, _) => after,
    };
    NextTimeout { after, ..timeout }
}

/// How long dropping a connection may wait to hand its `close_notify` to the socket.
const CLOSE_NOTIFY_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// A TLS session over ureq's TCP transport.
///
/// It follows the exchanges on the connection (ureq writes a request, then awaits its answer),
/// so that a failure can say what the agent can have seen of the request.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
    /// Requests started on this connection: more than one means it was reused.
    requests: u32,
    /// A request is being written: the next write continues it rather than starting another.
    writing: bool,
    /// A byte of the answer to the current request has arrived.
    answered: bool,
    /// The last time limit ureq set, the base for the bound on the `close_notify` at drop.
    last_timeout: NextTimeout,
}

impl TlsTransport {
    fn set_timeout(&mut self, timeout: NextTimeout) {
        self.last_timeout = timeout;
        self.stream.sock.set_timeout(timeout);
    }

    /// Turns an I/O failure of the current exchange into what it means for the request.
    fn failure(&mut self, e: io::Error) -> ureq::Error {
        // A server that refused the handshake after the client's Finished may have closed
        // before the request was out: the write fails, and its alert still waits in the socket.
        if let Some(alert) = self.pending_alert(&e) {
            return HandshakeFailure::Tls(describe(&alert)).into_ureq();
        }
        if !self.answered {
            // Only the first exchange can meet the end of a handshake: TLS 1.3 lets a server
            // refuse the client (a missing client certificate, say) after the client's Finished,
            // when the request is already written. The server never took it up.
            if let Some(alert) = handshake_alert(&e).filter(|_| self.requests <= 1) {
                return HandshakeFailure::Tls(describe(alert)).into_ureq();
            }
            if self.requests > 1 && is_end_of_connection(&e) {
                return ureq::Error::Other(Box::new(StaleConnection(e)));
            }
        }
        if is_end_of_connection(&e) {
            // ureq takes these for the end of a body delimited by the end of the connection; a
            // body cut short must never read as complete.
            let message = if e.kind() == io::ErrorKind::UnexpectedEof {
                "the agent closed the connection without a TLS close_notify, so what it sent may \
                 be cut short"
                    .to_string()
            } else {
                format!("the connection broke ({e}), so what the agent sent may be cut short")
            };
            return ureq::Error::Io(io::Error::other(message));
        }
        e.into()
    }
}

impl TlsTransport {
    /// After a write failed with `e` on the first exchange: a handshake-class alert the server
    /// sent before it closed, if one is waiting to be read.
    fn pending_alert(&mut self, e: &io::Error) -> Option<rustls::Error> {
        if self.answered || self.requests > 1 || !is_end_of_connection(e) {
            return None;
        }
        // rustls may have read the alert already, while it tried to write.
        let error = match self.stream.conn.process_new_packets() {
            Err(error) => error,
            Ok(_) => {
                self.stream.sock.set_timeout(NextTimeout {
                    after: Duration::Exact(CLOSE_NOTIFY_WAIT),
                    ..self.last_timeout
                });
                self.stream.conn.read_tls(&mut self.stream.sock).ok()?;
                self.stream.conn.process_new_packets().err()?
            }
        };
        let as_io = io::Error::new(io::ErrorKind::InvalidData, error.clone());
        handshake_alert(&as_io).is_some().then_some(error)
    }
}

impl Drop for TlsTransport {
    /// Ends the session with a `close_notify`, so the agent can tell a connection the client
    /// closed on purpose from one that was cut. Bounded: a peer that stopped reading gets no
    /// more than [`CLOSE_NOTIFY_WAIT`].
    fn drop(&mut self) {
        self.stream.conn.send_close_notify();
        self.stream.sock.set_timeout(NextTimeout {
            after: Duration::Exact(CLOSE_NOTIFY_WAIT),
            ..self.last_timeout
        });
        while self.stream.conn.wants_write() {
            match self.stream.conn.write_tls(&mut self.stream.sock) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport")
            .field("tcp", &self.stream.sock.inner())
            .finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if !self.writing {
            self.writing = true;
            self.requests = self.requests.saturating_add(1);
            self.answered = false;
        }
        self.set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        let written = self.stream.write_all(output);
        written.map_err(|e| self.failure(e))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.writing = false;
        self.set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        match self.stream.read(input) {
            Ok(0) if !self.answered && self.requests > 1 => {
                let e = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the agent closed the connection (close_notify) without answering",
                );
                Err(ureq::Error::Other(Box::new(StaleConnection(e))))
            }
            Ok(amount) => {
                self.buffers.input_appended(amount);
                self.answered |= amount > 0;
                Ok(amount > 0)
            }
            Err(e) => Err(self.failure(e)),
        }
    }

    /// Asked by the pool before reusing an idle connection. Anything the agent sent after the
    /// last answer (bytes in ureq's buffer, records inside rustls, a close_notify, a FIN, or
    /// bytes waiting in the socket) makes the connection unusable: those bytes must never be
    /// read as the answer to the next request.
    fn is_open(&mut self) -> bool {
        // Bytes already pulled out of the socket are invisible to the TCP probe: ureq's TCP
        // buffer, and records rustls holds (decrypted or not), count as unsolicited bytes too.
        if !self.stream.sock.get_mut().buffers().input().is_empty() {
            return false;
        }
        match self.stream.conn.process_new_packets() {
            Ok(state)
                if state.plaintext_bytes_to_read() == 0
                    && state.tls_bytes_to_write() == 0
                    && !state.peer_has_closed() => {}
            _ => return false,
        }
        self.stream.sock.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// Answers IP-literal hosts directly and defers names to ureq's resolver.
///
/// ureq's default resolver starts a thread for every call that has a timeout, even for an IP
/// address and a pooled connection; the agent's endpoint is nearly always an IP on the bridge.
#[derive(Debug, Default)]
pub(crate) struct LiteralResolver {
    names: DefaultResolver,
}

impl Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.authority().and_then(|authority| {
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let ip: IpAddr = host.parse().ok()?;
            Some(SocketAddr::new(ip, authority.port_u16()?))
        });
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            // ureq hands the system resolver's failure on as a plain I/O error, which would
            // read as a failure mid-exchange: the lookup happens before any byte is sent.
            None => match self.names.resolve(uri, config, timeout) {
                Err(ureq::Error::Io(e)) => Err(HandshakeFailure::unresolved(&e).into_ureq()),
                other => other,
            },
        }
    }
}
