//! Trust on first use: learning the agent's pin from one full TLS handshake that sends nothing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rustls::ClientConnection;
use rustls::client::Resumption;

use crate::Fingerprint;
use crate::call::Call;
use crate::endpoint;
use crate::error::Error;
use crate::pin::PinnedVerifier;
use crate::request::handshake_error;
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
/// `endpoint` is written as for [`Client::new`](crate::Client::new). `timeout` bounds the whole
/// of it: looking up a host name (an IP address needs no lookup), the TCP connect and every
/// read and write of the handshake together, so a server that sends its handshake a byte at a
/// time cannot hold the caller past it.
///
/// # Errors
///
/// [`Error::Config`] for a bad endpoint or a zero timeout; otherwise [`Error::Connect`],
/// [`Error::Timeout`] (stage [`TimeoutStage::Connect`](crate::TimeoutStage::Connect)) or
/// [`Error::Tls`], each naming the handshake ([`Call::handshake`]) as its call. None of them
/// can have reached the agent.
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
        // A first-use verifier has no pins to miss.
        HandshakeFailure::PinMismatch(presented) => Error::Tls {
            call: call.clone(),
            message: format!("the certificate {presented} was refused"),
        },
        other => handshake_error(&call, &endpoint.authority, timeout, &[], other),
    };

    let deadline = Instant::now() + timeout;
    let socket = connect(&endpoint.authority, deadline).map_err(fail)?;

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

    // One deadline for the whole handshake: every read and write gets only what is left of it,
    // so a server that trickles a byte at a time cannot stretch it.
    let mut socket = Deadlined { socket, deadline };
    while tls.is_handshaking() {
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
    let addrs = resolve(authority, deadline)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, time_left(deadline)?) {
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

/// The addresses of `authority`, looked up by the system before `deadline`. An IP address is
/// taken as it is; a name is looked up on a thread of its own, so that a resolver that does not
/// answer cannot hold the caller past the deadline (the thread ends when the lookup does).
fn resolve(authority: &str, deadline: Instant) -> Result<Vec<SocketAddr>, HandshakeFailure> {
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let left = time_left(deadline)?;
    let (tx, rx) = mpsc::channel();
    let name = authority.to_string();
    thread::Builder::new()
        .name("felhom-resolve".into())
        .spawn(move || {
            let addrs = name.to_socket_addrs().map(Iterator::collect::<Vec<_>>);
            let _ = tx.send(addrs);
        })
        .map_err(HandshakeFailure::Connect)?;
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(HandshakeFailure::unresolved(&e)),
        Err(_) => Err(HandshakeFailure::Timeout),
    }
}

/// What is left until `deadline`, or the time-out if nothing is.
fn time_left(deadline: Instant) -> Result<Duration, HandshakeFailure> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or(HandshakeFailure::Timeout)
}

/// A socket whose every read and write may take only what is left until `deadline`.
struct Deadlined {
    socket: TcpStream,
    deadline: Instant,
}

impl Deadlined {
    fn limit(&self) -> io::Result<()> {
        let left = time_left(self.deadline)
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the handshake took too long"))?;
        self.socket.set_read_timeout(Some(left))?;
        self.socket.set_write_timeout(Some(left))
    }
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.limit()?;
        self.socket.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.limit()?;
        self.socket.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}
