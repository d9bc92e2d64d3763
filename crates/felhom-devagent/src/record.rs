//! What the agent saw, for tests to read: counters ([`Stats`]) and a bounded log of the
//! requests ([`RecordedRequest`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use super::http::Request;

/// Request log bounds: entries, and body bytes across entries.
const LOG_MAX_REQUESTS: usize = 10_000;
const LOG_MAX_BODY_BYTES: usize = 64 << 20;

/// Counters since the agent started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// TLS handshakes completed (full or resumed).
    pub handshakes: u64,
    /// HTTP request heads read (including requests refused for their size or framing).
    pub requests: u64,
    /// Connections open now.
    pub open_connections: u64,
}

/// One request as the agent received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Which connection carried it: 1 for the first one accepted, 2 for the next, and so on.
    /// Equal numbers on two requests prove that the client kept the connection alive.
    pub connection: u64,
    /// The method, e.g. `GET`.
    pub method: String,
    /// The request target as sent, e.g. `/backup/status` (including any `?query`).
    pub path: String,
    /// The header fields in the order received, names lowercased, values as sent (invalid UTF-8
    /// replaced by U+FFFD).
    pub headers: Vec<(String, String)>,
    /// The body (empty when the request was refused before its body was read).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The value of the first header field with this name (any case).
    ///
    /// ```
    /// use felhom_devagent::RecordedRequest;
    ///
    /// let req = RecordedRequest {
    ///     connection: 1,
    ///     method: "GET".into(),
    ///     path: "/storage".into(),
    ///     headers: vec![("authorization".into(), "Bearer t".into())],
    ///     body: Vec::new(),
    /// };
    /// assert_eq!(req.header("Authorization"), Some("Bearer t"));
    /// assert_eq!(req.header("content-type"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RecordedRequest {
    /// Request `request` as it arrived on connection number `connection`.
    pub(crate) fn new(connection: u64, request: Request) -> RecordedRequest {
        RecordedRequest {
            connection,
            method: request.method,
            path: request.target,
            headers: request.headers,
            body: request.body,
        }
    }
}

/// The live counters behind [`Stats`], updated by the server's threads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    connections: AtomicU64,
    handshakes: AtomicU64,
    requests: AtomicU64,
    open: AtomicU64,
}

impl Counters {
    pub(crate) fn count_connection(&self) {
        self.connections.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_handshake(&self) {
        self.handshakes.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }

    /// A connection's thread starts serving it.
    pub(crate) fn opened(&self) {
        self.open.fetch_add(1, Ordering::SeqCst);
    }

    /// A connection's thread is done with it.
    pub(crate) fn closed(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.load(Ordering::SeqCst),
            handshakes: self.handshakes.load(Ordering::SeqCst),
            requests: self.requests.load(Ordering::SeqCst),
            open_connections: self.open.load(Ordering::SeqCst),
        }
    }
}

/// The requests received, oldest first, within [`LOG_MAX_REQUESTS`] and [`LOG_MAX_BODY_BYTES`].
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    body_bytes: usize,
}

impl RequestLog {
    /// Appends `request`, dropping the oldest entries beyond the bounds (but never the newest).
    pub(crate) fn push(&mut self, request: RecordedRequest) {
        self.body_bytes += request.body.len();
        self.entries.push_back(request);
        while self.entries.len() > LOG_MAX_REQUESTS
            || (self.body_bytes > LOG_MAX_BODY_BYTES && self.entries.len() > 1)
        {
            if let Some(old) = self.entries.pop_front() {
                self.body_bytes -= old.body.len();
            }
        }
    }

    pub(crate) fn to_vec(&self) -> Vec<RecordedRequest> {
        self.entries.iter().cloned().collect()
    }
}
