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

impl HandshakeFailure {
    fn into_ureq(self) -> ureq::Error {
        ureq::Error::Other(Box::new(self))
    }

    /// Classifies an error from the handshake's I/O.
    fn from_handshake_io(e: io::Error) -> HandshakeFailure {
        if let Some(inner) = e.get_ref() {
            if let Some(ureq::Error::Timeout(_)) = inner.downcast_ref::<ureq::Error>() {
                return HandshakeFailure::Timeout;
            }
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return HandshakeFailure::from_rustls(tls);
            }
        }
        match e.kind() {
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
        }
        HandshakeFailure::Tls(e.to_string())
    }
}

/// Makes the TCP connection and the pinned TLS session over it, in one step.
pub(crate) struct PinnedTlsConnector {
    config: Arc<ClientConfig>,
}

impl PinnedTlsConnector {
    pub(crate) fn new(config: Arc<ClientConfig>) -> PinnedTlsConnector {
        PinnedTlsConnector { config }
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

        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(TlsTransport {
            buffers,
            stream: StreamOwned::new(conn, sock),
        }))
    }
}

/// The TLS server name for the URI's host. IP addresses are not sent as SNI; names are, though
/// the verifier ignores names either way (the pin is the anchor).
fn server_name(uri: &Uri) -> Result<rustls::pki_types::ServerName<'static>, &'static str> {
    let host = uri.host().ok_or("the URL has no host")?;
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

/// A TLS session over ureq's TCP transport.
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
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
        self.stream.sock.set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
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
            None => self.names.resolve(uri, config, timeout),
        }
    }
}
