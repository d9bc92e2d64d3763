//! Which call an error belongs to: one HTTP request, or a TLS handshake alone.

use std::fmt;

/// The call an [`Error`](crate::Error) belongs to: one HTTP request (`GET /storage`), or a TLS
/// handshake that was to send no request at all.
///
/// Every error message starts with it. [`Error::call`](crate::Error::call) returns it.
///
/// ```
/// use felhom_agentapi::Call;
///
/// let storage = Call::request("GET", "/storage");
/// assert_eq!(storage.to_string(), "GET /storage");
/// assert_eq!((storage.method(), storage.path()), (Some("GET"), Some("/storage")));
///
/// let probe = Call::handshake("10.0.0.1:8443");
/// assert_eq!(probe.to_string(), "TLS handshake with 10.0.0.1:8443");
/// assert!(probe.is_handshake());
/// assert_eq!((probe.method(), probe.path()), (None, None));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Call(Kind);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Kind {
    Request {
        method: &'static str,
        path: &'static str,
    },
    Handshake {
        endpoint: String,
    },
}

/// `POST /disks/format`, the call of every [`FormatRefused`](crate::FormatRefused).
pub(crate) static FORMAT_DISK: Call = Call::request("POST", "/disks/format");
/// `GET /backup/status`, the call that reports a failed or unfinished backup job.
pub(crate) static BACKUP_STATUS: Call = Call::request("GET", "/backup/status");

impl Call {
    /// The HTTP request `method path`, such as `GET /storage`.
    pub const fn request(method: &'static str, path: &'static str) -> Call {
        Call(Kind::Request { method, path })
    }

    /// A TLS handshake with the agent at `endpoint` (`host:port`), with no request after it:
    /// what learning the certificate an agent presents takes.
    pub fn handshake(endpoint: &str) -> Call {
        Call(Kind::Handshake {
            endpoint: endpoint.to_string(),
        })
    }

    /// The request's HTTP method; `None` for a handshake.
    pub fn method(&self) -> Option<&'static str> {
        match self.0 {
            Kind::Request { method, .. } => Some(method),
            Kind::Handshake { .. } => None,
        }
    }

    /// The request's path; `None` for a handshake.
    pub fn path(&self) -> Option<&'static str> {
        match self.0 {
            Kind::Request { path, .. } => Some(path),
            Kind::Handshake { .. } => None,
        }
    }

    /// Whether this is a TLS handshake alone, with no HTTP request.
    pub fn is_handshake(&self) -> bool {
        matches!(self.0, Kind::Handshake { .. })
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Request { method, path } => write!(f, "{method} {path}"),
            Kind::Handshake { endpoint } => write!(f, "TLS handshake with {endpoint}"),
        }
    }
}

/// `Call(GET /storage)`: as short as the call it names.
impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Call")
            .field(&format_args!("{self}"))
            .finish()
    }
}
