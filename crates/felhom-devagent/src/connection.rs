//! One connection's thread: the TLS handshake, then requests in a keep-alive loop, each
//! answered normally or as the current fault says.
//!
//! The socket has a short read and write timeout ([`POLL`]) so that a thread blocked on a quiet
//! client still notices shutdown, its idle timeout and `close_idle_connections` promptly. rustls
//! is driven directly (`read_tls`/`write_tls`) rather than through `StreamOwned`, whose `Write`
//! cannot tell a timeout from a failure halfway through a response.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use rustls::ServerConnection;

use super::control::{ConnCtl, POLL, Phase, lock};
use super::envelope;
use super::fault::{self, Delivery, Plan};
use super::http::{self, Fill, ReadError, Request, Response};
use super::record::RecordedRequest;
use super::shared::Shared;

/// How long a closed connection keeps reading what the peer still sends (typically its own
/// `close_notify`), so that dropping the socket with unread data does not turn the FIN into an
/// RST.
const LINGER: Duration = Duration::from_millis(200);

/// Serves connection number `id` until it ends.
pub(crate) fn serve(shared: &Shared, id: u64, ctl: &ConnCtl, socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    if socket.set_read_timeout(Some(POLL)).is_err() || socket.set_write_timeout(Some(POLL)).is_err()
    {
        return;
    }
    let Ok(tls) = ServerConnection::new(shared.tls.clone()) else {
        return;
    };
    let mut conn = TlsConn {
        tls,
        socket,
        shared,
        ctl,
        carried: 0,
    };
    if conn.handshake().is_err() {
        // rustls has already sent any alert it had; there is no session to close politely.
        return;
    }
    shared.count_handshake();

    let mut buf = Vec::new();
    loop {
        if buf.is_empty() {
            ctl.enter_idle();
        }
        match http::read_request(&mut conn, &mut buf) {
            Err(ReadError::Closed) => break,
            Err(ReadError::Rejected(rejection)) => {
                if let Some(request) = rejection.request {
                    shared.record(RecordedRequest::new(id, request));
                }
                let response = envelope::error(rejection.status, rejection.message);
                let _ = conn.send(&response, Framing::CLOSE);
                break;
            }
            Ok(request) => {
                // Logged before answering, so a test can see a request that is still in flight.
                shared.record(RecordedRequest::new(id, request.clone()));
                let plan = Plan::for_fault(shared.faults.for_request(request.path()).as_ref());
                let reusable = conn.answer(&request, plan, buf.is_empty());
                if !matches!(reusable, Ok(true)) || !request.keep_alive {
                    break;
                }
            }
        }
    }
    conn.close();
}

/// How to frame one answer.
#[derive(Clone, Copy, Debug)]
struct Framing {
    /// Announce `Connection: close` (the connection ends after this answer).
    close: bool,
    /// Send the head only (the request was `HEAD`).
    head_only: bool,
    /// The connection waits for the next request once this answer is out.
    idle_after: bool,
}

impl Framing {
    /// For a request refused before its body was read: the stream cannot be framed any more.
    const CLOSE: Framing = Framing {
        close: true,
        head_only: false,
        idle_after: false,
    };
}

/// A server-side TLS connection over its socket.
struct TlsConn<'a> {
    tls: ServerConnection,
    socket: TcpStream,
    shared: &'a Shared,
    ctl: &'a ConnCtl,
    /// Requests answered (or refused an answer) on this connection so far.
    carried: u64,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl TlsConn<'_> {
    /// Completes the handshake, giving up after the idle timeout or on shutdown.
    fn handshake(&mut self) -> io::Result<()> {
        let started = Instant::now();
        while self.tls.is_handshaking() {
            self.flush()?;
            match self.tls.read_tls(&mut self.socket) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => self.process()?,
                Err(e) if is_timeout(&e) => {
                    if self.shared.stop.is_set() || started.elapsed() >= self.shared.idle_timeout {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // The last flight: TLS 1.2's Finished, TLS 1.3's session tickets.
        self.flush()
    }

    /// Processes received TLS records; on a TLS error, sends rustls's alert and fails.
    fn process(&mut self) -> io::Result<()> {
        if let Err(e) = self.tls.process_new_packets() {
            let _ = self.flush();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        Ok(())
    }

    /// Writes out everything rustls has queued.
    fn flush(&mut self) -> io::Result<()> {
        let mut progress = Instant::now();
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => progress = Instant::now(),
                Err(e) if is_timeout(&e) => {
                    // A client that stops reading holds the write for at most the idle timeout.
                    if self.shared.stop.is_set() || progress.elapsed() >= self.shared.idle_timeout {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.socket.flush()
    }

    /// Appends received plaintext to `buf`: `Some(n)` bytes (0 at the end of the stream), or
    /// `None` if nothing came within one [`POLL`].
    fn read_some(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
        let mut chunk = [0; 16 * 1024];
        loop {
            match self.tls.reader().read(&mut chunk) {
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(Some(n));
                }
                // No plaintext buffered yet: more records are needed.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Includes a TCP FIN without close_notify (UnexpectedEof).
                Err(e) => return Err(e),
            }
            match self.tls.read_tls(&mut self.socket) {
                // rustls notes the end of the stream; the reader reports it next time round.
                Ok(0) => {}
                Ok(_) => {
                    self.process()?;
                    self.flush()?; // e.g. an answer to a TLS 1.3 KeyUpdate
                }
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Queues `data` for sending, flushing whenever rustls's buffer is full.
    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.tls.writer().write(data)?;
            data = &data[n..];
            if !data.is_empty() {
                if n == 0 && !self.tls.wants_write() {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Sends a whole response.
    fn send(&mut self, response: &Response, framing: Framing) -> io::Result<()> {
        self.write_all(&response.head(framing.close))?;
        if !framing.head_only {
            self.write_all(response.sent_body())?;
        }
        if framing.idle_after {
            // Idle before the last bytes leave: a client that has the whole answer and then
            // calls `close_idle_connections` must find this connection idle, not still busy.
            self.ctl.enter_idle();
        }
        self.flush()
    }

    /// Sends the head and only the first half of the body, as a server that dies mid-answer.
    fn send_half(&mut self, response: &Response) -> io::Result<()> {
        let body = response.sent_body();
        self.write_all(&response.head(false))?;
        self.write_all(&body[..body.len() / 2])?;
        self.flush()
    }

    /// Answers one request as `plan` says. `Ok(true)` if the connection can carry another.
    /// `nothing_pipelined`: no byte of a further request has arrived yet.
    fn answer(
        &mut self,
        request: &Request,
        plan: Plan,
        nothing_pipelined: bool,
    ) -> io::Result<bool> {
        let framing = Framing {
            close: !request.keep_alive,
            // The answer to HEAD announces a body but must not carry it.
            head_only: request.method == "HEAD",
            idle_after: request.keep_alive && nothing_pipelined,
        };
        let reused = self.carried > 0;
        self.carried += 1;
        let delivery = match plan {
            Plan::Replace(canned) => {
                self.send(&canned, framing)?;
                return Ok(true);
            }
            Plan::Close => return Ok(false),
            Plan::CloseReused if reused => return Ok(false),
            Plan::CloseReused => Delivery::Whole,
            Plan::Endpoint(delivery) => delivery,
        };
        if let Delivery::Delayed(delay) = delivery
            && !self.shared.stop.sleep(delay)
        {
            return Ok(false);
        }
        let mut response = self.route(request);
        match delivery {
            // Every route answers with a non-empty envelope, so half of it is fewer bytes.
            Delivery::Half(stall) => {
                self.send_half(&response)?;
                if let Some(stall) = stall {
                    self.shared.stop.sleep(stall);
                }
                Ok(false)
            }
            Delivery::Cut => {
                let body = response.sent_body();
                self.write_all(&response.head_until_close())?;
                self.write_all(&body[..body.len() / 2])?;
                self.flush()?;
                // After this, `close` cannot get its close_notify out: the FIN is the end.
                self.socket.shutdown(Shutdown::Write)?;
                Ok(false)
            }
            Delivery::Padded(size) => {
                response.body = fault::pad(response.body, size);
                self.send(&response, framing)?;
                Ok(true)
            }
            Delivery::Whole | Delivery::Delayed(_) => {
                self.send(&response, framing)?;
                Ok(true)
            }
        }
    }

    /// The agent's real answer.
    fn route(&self, request: &Request) -> Response {
        lock(&self.shared.agent).handle(request)
    }

    /// Ends the connection politely: TLS `close_notify`, TCP FIN, then a short linger.
    fn close(&mut self) {
        self.tls.send_close_notify();
        let _ = self.flush();
        let _ = self.socket.shutdown(Shutdown::Write);
        self.ctl.set(Phase::Closed);
        let started = Instant::now();
        let mut scratch = [0; 4096];
        while started.elapsed() < LINGER && !self.shared.stop.is_set() {
            match self.socket.read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

impl http::Source for TlsConn<'_> {
    fn fill(&mut self, buf: &mut Vec<u8>, idle: bool) -> Fill {
        let started = Instant::now();
        loop {
            if idle && self.ctl.close_requested() {
                return Fill::Closed;
            }
            match self.read_some(buf) {
                Ok(Some(0)) | Err(_) => return Fill::Closed,
                Ok(Some(_)) => {
                    if idle && !self.ctl.claim_busy() {
                        return Fill::Closed;
                    }
                    return Fill::Data;
                }
                Ok(None) => {
                    if self.shared.stop.is_set() || started.elapsed() >= self.shared.idle_timeout {
                        return Fill::Closed;
                    }
                }
            }
        }
    }

    fn head_parsed(&mut self) {
        self.shared.count_request();
    }
}
