//! Trust on first use: learning the agent's pin from one full TLS handshake that sends nothing.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use rustls::client::Resumption;

use crate::Fingerprint;
use crate::call::Call;
use crate::endpoint;
use crate::error::{Error, TimeoutStage};
use crate::pin::PinnedVerifier;
use crate::transport::{self, HandshakeFailure};

/// The fingerprint of the certificate the agent at `endpoint` presents: the bootstrap step of
/// trust on first use, before any pin is known.
///
/// It completes a full TLS handshake that trusts the presented leaf certificate for this one
/// connection only, so the server must prove that it holds the certificate's private key, and a
/// certificate no client could ever use (X.509 v1, RSA-1024, …) is refused with a message that
/// says how to re-issue it. It sends nothing: no request, no token. Then it closes the
/// connection with a TLS `close_notify`.
///
/// Learn the pin this way only over a path you trust (a console on the host, a network no one
/// else reaches), and compare it with what the agent's operator shows you when you can: whoever
/// answers at `endpoint` gets pinned.
///
/// `endpoint` is written as for [`Client::new`](crate::Client::new). `timeout` bounds the TCP
/// connect plus the handshake; a host name (rather than an IP address) is resolved by the
/// system before it starts.
///
/// # Errors
///
/// [`Error::Config`] for a bad endpoint or a zero timeout; otherwise [`Error::Connect`],
/// [`Error::Timeout`] (stage [`TimeoutStage::Connect`]) or [`Error::Tls`], each naming the
/// handshake ([`Call::handshake`]) as its call. None of them can have reached the agent.
///
/// ```
/// use std::time::Duration;
///
/// use felhom_agentapi::{Client, presented_fingerprint};
///
/// # let agent = felhom_devagent::DevAgent::start()?;
/// # let endpoint = agent.endpoint();
/// let pin = presented_fingerprint(&endpoint, Duration::from_secs(5))?;
/// # assert_eq!(pin.to_string(), agent.fingerprint().to_string());
/// // Keep the pin; from now on, only this certificate is trusted.
/// let client = Client::new(&endpoint, agent.token(), pin)?;
/// client.storage()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn presented_fingerprint(endpoint: &str, timeout: Duration) -> Result<Fingerprint, Error> {
    let config_error = |message: String| Error::Config { message };
    let endpoint = endpoint::parse(endpoint).map_err(config_error)?;
    if timeout.is_zero() {
        return Err(config_error("the timeout must be longer than zero".into()));
    }
    let call = Call::handshake(&endpoint.authority);
    let fail = |failure: HandshakeFailure| match failure {
        HandshakeFailure::Connect(error) => Error::Connect {
            call: call.clone(),
            endpoint: endpoint.authority.clone(),
            error,
        },
        HandshakeFailure::Timeout => Error::Timeout {
            call: call.clone(),
            stage: TimeoutStage::Connect,
            limit: timeout,
        },
        // A first-use verifier has no pins to miss.
        HandshakeFailure::PinMismatch(presented) => Error::Tls {
            call: call.clone(),
            message: format!("the certificate {presented} was refused"),
        },
        HandshakeFailure::Tls(message) => Error::Tls {
            call: call.clone(),
            message,
        },
    };

    let deadline = Instant::now() + timeout;
    let mut socket = connect(&endpoint.authority, deadline).map_err(fail)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PinnedVerifier::first_use(&provider));
    let mut config = transport::client_config(provider, verifier.clone())
        .map_err(|e| config_error(format!("TLS setup failed: {e}")))?;
    // A resumed handshake presents no certificate.
    config.resumption = Resumption::disabled();
    let host = endpoint
        .authority
        .rsplit_once(':')
        .map_or(endpoint.authority.as_str(), |(host, _)| host);
    let name =
        transport::server_name_of(host).map_err(|m| fail(HandshakeFailure::Tls(m.to_string())))?;
    let mut tls = ClientConnection::new(Arc::new(config), name)
        .map_err(|e| fail(HandshakeFailure::Tls(e.to_string())))?;

    while tls.is_handshaking() {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| fail(HandshakeFailure::Timeout))?;
        let timeouts = socket
            .set_read_timeout(Some(left))
            .and_then(|()| socket.set_write_timeout(Some(left)));
        timeouts.map_err(|e| fail(HandshakeFailure::Connect(e)))?;
        tls.complete_io(&mut socket)
            .map_err(|e| fail(HandshakeFailure::from_handshake_io(e)))?;
    }
    let presented = verifier.presented().ok_or_else(|| {
        fail(HandshakeFailure::Tls(
            "the server completed the handshake without presenting a certificate".into(),
        ))
    })?;
    tls.send_close_notify();
    while tls.wants_write() {
        if !matches!(tls.write_tls(&mut socket), Ok(n) if n > 0) {
            break;
        }
    }
    Ok(presented)
}

/// A TCP connection to `authority`, trying each of its addresses until `deadline`.
fn connect(authority: &str, deadline: Instant) -> Result<TcpStream, HandshakeFailure> {
    let addrs: Vec<SocketAddr> = authority
        .to_socket_addrs()
        .map_err(|e| {
            HandshakeFailure::Connect(io::Error::new(
                io::ErrorKind::NotFound,
                format!("the host name did not resolve: {e}"),
            ))
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for addr in addrs {
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
        else {
            return Err(HandshakeFailure::Timeout);
        };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(socket) => {
                let _ = socket.set_nodelay(true);
                return Ok(socket);
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(HandshakeFailure::Timeout),
            Err(e) => last = e,
        }
    }
    Err(HandshakeFailure::Connect(last))
}
