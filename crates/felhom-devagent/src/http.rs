//! HTTP/1.1 over a byte stream: request heads parsed by `httparse`, bodies framed by
//! `Content-Length`, responses written with exact framing.

use std::fmt::Write as _;

/// The largest request head accepted; larger ones get HTTP 400.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// The largest request body accepted; larger ones get HTTP 413.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// Header fields per request; more get HTTP 400.
const MAX_HEADERS: usize = 64;

/// What a [`Source`] produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fill {
    /// At least one more byte was appended.
    Data,
    /// No more bytes will come: the peer closed, a timeout fired, or the server is stopping.
    Closed,
}

/// Where request bytes come from: the connection, which knows about timeouts and shutdown.
pub(crate) trait Source {
    /// Appends at least one byte to `buf`, or says the connection is done. `idle` is true while
    /// no byte of the next request has arrived yet (the connection is between requests).
    fn fill(&mut self, buf: &mut Vec<u8>, idle: bool) -> Fill;

    /// Called once for every request head parsed, before its body is read.
    fn head_parsed(&mut self) {}
}

/// A request as read from the wire.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The request target as sent, query included.
    pub(crate) target: String,
    /// Names lowercased, in the order received.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the client lets the connection stay open after the answer.
    pub(crate) keep_alive: bool,
}

impl Request {
    /// The first value of a header field; `name` must be lowercase.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The target without its query string: what routing looks at.
    pub(crate) fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(path, _)| path)
    }
}

/// Why no request came out of [`read_request`].
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The connection ended (or must end) before a whole request arrived.
    Closed,
    /// The request cannot be served: answer, then close, since the rest of the stream cannot be
    /// framed.
    Rejected(Box<Rejection>),
}

/// A request refused before its body was read: the status and message to answer with.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) message: &'static str,
    /// The head (with an empty body), if it was parsed.
    pub(crate) request: Option<Request>,
}

/// Reads one request. Bytes past its end (a pipelined next request) stay in `buf`.
pub(crate) fn read_request<S: Source>(
    src: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Request, ReadError> {
    let (head_len, mut request) = loop {
        if !buf.is_empty() {
            match parse_head(buf) {
                Ok(Some(parsed)) => break parsed,
                Ok(None) if buf.len() > MAX_HEAD => return Err(reject(400, HEAD_TOO_LARGE, None)),
                Ok(None) => {}
                Err(message) => return Err(reject(400, message, None)),
            }
        }
        if src.fill(buf, buf.is_empty()) == Fill::Closed {
            return Err(ReadError::Closed);
        }
    };
    if head_len > MAX_HEAD {
        return Err(reject(400, HEAD_TOO_LARGE, None));
    }
    src.head_parsed();
    buf.drain(..head_len);

    // Only Content-Length framing: the agent's clients send small JSON bodies, and a body this
    // server cannot frame must not be mistaken for the next request.
    if request.header("transfer-encoding").is_some() {
        return Err(reject(
            501,
            "Transfer-Encoding is not supported; send Content-Length",
            Some(request),
        ));
    }
    let length = match content_length(&request.headers) {
        Ok(length) => length,
        Err(message) => return Err(reject(400, message, Some(request))),
    };
    if length > MAX_BODY {
        return Err(reject(413, "request body over 1 MiB", Some(request)));
    }
    while buf.len() < length {
        if src.fill(buf, false) == Fill::Closed {
            return Err(ReadError::Closed);
        }
    }
    request.body = buf.drain(..length).collect();
    Ok(request)
}

const HEAD_TOO_LARGE: &str = "request head over 16 KiB";

fn reject(status: u16, message: &'static str, request: Option<Request>) -> ReadError {
    ReadError::Rejected(Box::new(Rejection {
        status,
        message,
        request,
    }))
}

/// Header fields as owned pairs: names lowercased (they are case-insensitive), values decoded
/// lossily. The tests' client reads answers with it too.
pub(crate) fn owned_headers(fields: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// Parses a complete head: `Ok(None)` if more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Request)>, &'static str> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err("too many header fields"),
        Err(_) => return Err("malformed request head"),
    };
    let headers = owned_headers(parsed.headers);
    // HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 only when asked to.
    let has_token = |token: &str| {
        headers
            .iter()
            .filter(|(name, _)| name == "connection")
            .flat_map(|(_, value)| value.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let keep_alive = if parsed.version == Some(0) {
        has_token("keep-alive")
    } else {
        !has_token("close")
    };
    let request = Request {
        method: parsed.method.unwrap_or_default().to_owned(),
        target: parsed.path.unwrap_or_default().to_owned(),
        headers,
        body: Vec::new(),
        keep_alive,
    };
    Ok(Some((head_len, request)))
}

/// The body length: 0 without `Content-Length`; every `Content-Length` must agree.
fn content_length(headers: &[(String, String)]) -> Result<usize, &'static str> {
    let mut length = None;
    for (_, value) in headers.iter().filter(|(name, _)| name == "content-length") {
        let value = value.trim();
        // `str::parse` would accept a leading `+`; the HTTP grammar is digits only.
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err("invalid Content-Length");
        }
        let parsed: usize = value.parse().map_err(|_| "invalid Content-Length")?;
        if length.is_some_and(|l| l != parsed) {
            return Err("conflicting Content-Length fields");
        }
        length = Some(parsed);
    }
    Ok(length.unwrap_or(0))
}

/// A response to write.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    /// Further header fields, e.g. `Location`.
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

/// The media type of every envelope.
pub(crate) const JSON: &str = "application/json";

impl Response {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: JSON,
            headers: Vec::new(),
            body,
        }
    }

    /// Adds a header field.
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }

    /// Whether this status may carry a body (RFC 9110: not 1xx, 204 or 304).
    pub(crate) fn has_body(&self) -> bool {
        !matches!(self.status, 100..=199 | 204 | 304)
    }

    /// The body bytes actually sent.
    pub(crate) fn sent_body(&self) -> &[u8] {
        if self.has_body() { &self.body } else { &[] }
    }

    /// The status line and header fields, announcing the `Content-Length` of the whole body;
    /// `close` adds `Connection: close`.
    pub(crate) fn head(&self, close: bool) -> Vec<u8> {
        self.head_framed(Some(self.body.len()), close)
    }

    /// The head of an answer whose body ends with the connection: no `Content-Length`, and
    /// `Connection: close`.
    pub(crate) fn head_until_close(&self) -> Vec<u8> {
        self.head_framed(None, true)
    }

    fn head_framed(&self, length: Option<usize>, close: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        if self.has_body() {
            // Writing to a String cannot fail.
            let _ = write!(head, "Content-Type: {}\r\n", self.content_type);
            if let Some(length) = length {
                let _ = write!(head, "Content-Length: {length}\r\n");
            }
        }
        for (name, value) in &self.headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// The reason phrase for a status (clients ignore it; people reading traces do not).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves a fixed byte string in chunks of `step` bytes.
    struct Chunks {
        data: Vec<u8>,
        at: usize,
        step: usize,
        heads: usize,
    }

    impl Source for Chunks {
        fn fill(&mut self, buf: &mut Vec<u8>, _idle: bool) -> Fill {
            if self.at >= self.data.len() {
                return Fill::Closed;
            }
            let end = (self.at + self.step).min(self.data.len());
            buf.extend_from_slice(&self.data[self.at..end]);
            self.at = end;
            Fill::Data
        }

        fn head_parsed(&mut self) {
            self.heads += 1;
        }
    }

    fn source(data: &[u8], step: usize) -> Chunks {
        Chunks {
            data: data.to_vec(),
            at: 0,
            step,
            heads: 0,
        }
    }

    fn status_of(err: ReadError) -> u16 {
        match err {
            ReadError::Rejected(rejection) => rejection.status,
            ReadError::Closed => 0,
        }
    }

    #[test]
    fn pipelined_requests_split_anywhere() {
        let wire = b"POST /disks/eject?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
                     GET /storage HTTP/1.1\r\nConnection: close\r\n\r\n";
        for step in [1, 3, 7, wire.len()] {
            let mut src = source(wire, step);
            let mut buf = Vec::new();
            let first = read_request(&mut src, &mut buf).unwrap();
            assert_eq!(
                (first.method.as_str(), first.path(), &first.body[..]),
                ("POST", "/disks/eject", &b"hello"[..])
            );
            assert_eq!(first.target, "/disks/eject?x=1");
            assert!(first.keep_alive);
            assert_eq!(first.header("host"), Some("a"));
            let second = read_request(&mut src, &mut buf).unwrap();
            assert_eq!(second.path(), "/storage");
            assert!(!second.keep_alive);
            assert!(matches!(
                read_request(&mut src, &mut buf),
                Err(ReadError::Closed)
            ));
            assert_eq!(src.heads, 2);
        }
    }

    #[test]
    fn refuses_what_it_cannot_frame() {
        let mut buf = Vec::new();
        let big_head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        let err = read_request(&mut source(big_head.as_bytes(), 4096), &mut buf).unwrap_err();
        assert_eq!(status_of(err), 400);

        for (wire, status) in [
            (
                &b"GET / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n"[..],
                413,
            ),
            (b"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                501,
            ),
            (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        ] {
            buf.clear();
            let err = read_request(&mut source(wire, 5), &mut buf).unwrap_err();
            assert_eq!(status_of(err), status, "{}", String::from_utf8_lossy(wire));
        }

        buf.clear();
        let truncated = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
        let err = read_request(&mut source(truncated, 64), &mut buf).unwrap_err();
        assert!(matches!(err, ReadError::Closed));
    }

    #[test]
    fn http10_closes_unless_asked() {
        let mut buf = Vec::new();
        let wire = b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
        let mut src = source(wire, 1000);
        assert!(!read_request(&mut src, &mut buf).unwrap().keep_alive);
        assert!(read_request(&mut src, &mut buf).unwrap().keep_alive);
    }

    #[test]
    fn heads_frame_bodies_exactly() {
        let ok = Response::json(202, b"{}".to_vec()).with_header("Location", "/x".into());
        assert_eq!(
            String::from_utf8(ok.head(true)).unwrap(),
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
             Location: /x\r\nConnection: close\r\n\r\n"
        );
        let empty = Response::json(204, br#"{"ok":false,"error":"ignored"}"#.to_vec());
        assert_eq!(
            String::from_utf8(empty.head(false)).unwrap(),
            "HTTP/1.1 204 No Content\r\n\r\n"
        );
        assert!(empty.sent_body().is_empty());
    }
}
