//! A hook to watch what a client does, for logs and `felhom-agentctl -v`: each TLS handshake
//! (version, cipher suite, the certificate presented) and each call's timing. Nothing it is
//! given holds the token.

use std::fmt;
use std::time::Duration;

use crate::{Call, Fingerprint};

/// Told about each handshake and each call of a client; set with
/// [`ClientBuilder::observer`](crate::ClientBuilder::observer).
///
/// Both methods do nothing by default. They run on the calling thread, inside the call, so
/// they should be quick. The token is never passed to them.
///
/// ```
/// # let agent = felhom_devagent::DevAgent::start()?;
/// # let (endpoint, token, pin) = (agent.endpoint(), agent.token().to_string(), agent.fingerprint().to_string());
/// use std::sync::{Arc, Mutex};
/// use felhom_agentapi::{CallTiming, Client, Handshake, Observer};
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
///
/// impl Observer for Log {
///     fn handshake(&self, h: &Handshake) {
///         self.0.lock().unwrap().push(format!("{} {}", h.protocol, h.cipher_suite));
///     }
///     fn call(&self, c: &CallTiming) {
///         self.0.lock().unwrap().push(format!("{} {:?}", c.call, c.status));
///     }
/// }
///
/// let log = Arc::new(Log::default());
/// let client = Client::builder(&endpoint, &token, &pin).observer(log.clone()).build()?;
/// client.storage()?;
/// let lines = log.0.lock().unwrap();
/// assert!(lines[0].starts_with("TLS 1."));
/// assert_eq!(lines[1], "GET /storage Some(200)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Observer: Send + Sync {
    /// A TLS handshake completed and the certificate matched a pin (a failed handshake is the
    /// call's error instead).
    fn handshake(&self, handshake: &Handshake) {
        let _ = handshake;
    }

    /// A call ended, with an answer or not.
    fn call(&self, call: &CallTiming) {
        let _ = call;
    }
}

/// A completed TLS handshake with the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Handshake {
    /// The endpoint, `host:port`.
    pub endpoint: String,
    /// The TLS version, `TLS 1.3` or `TLS 1.2`.
    pub protocol: String,
    /// The cipher suite, as its standard name (`TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: String,
    /// The SHA-256 of the leaf certificate the agent presented (`None` if rustls kept no
    /// certificate for a resumed session).
    pub fingerprint: Option<Fingerprint>,
    /// Whether this was a resumed session rather than a full handshake.
    pub resumed: bool,
    /// TCP connect plus handshake.
    pub took: Duration,
}

/// One call's outcome and timing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallTiming {
    /// The call (`GET /storage`).
    pub call: Call,
    /// The HTTP status of the answer, `None` when no answer was read.
    pub status: Option<u16>,
    /// From the start of the call to the last byte of the answer (or the failure), including
    /// any connect and handshake.
    pub took: Duration,
}

/// The observer a client holds, if any, shareable with its connector.
#[derive(Clone, Default)]
pub(crate) struct Hook(pub(crate) Option<std::sync::Arc<dyn Observer>>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

/// `TLSv1_3` as people write it.
pub(crate) fn protocol_name(version: Option<rustls::ProtocolVersion>) -> String {
    match version {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".into(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".into(),
        Some(other) => format!("{other:?}"),
        None => "unknown".into(),
    }
}
