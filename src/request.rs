//! The one place that sends requests: the ureq agent with its pinned TLS connector, one request
//! and its whole answer, and ureq's failures turned into [`Error`]s that name the call.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::HeaderValue;

use crate::Fingerprint;
use crate::answer::Answer;
use crate::call::Call;
use crate::endpoint::Endpoint;
use crate::error::{Error, TimeoutStage};
use crate::observe::{CallTiming, Hook};
use crate::pin::PinnedVerifier;
use crate::transport::{
    self, HandshakeFailure, LiteralResolver, PinnedTlsConnector, StaleConnection,
};

/// The largest answer body the client reads, in bytes: 1 MiB, as the Go client. A body of
/// exactly this size is read; one byte more is [`Error::ResponseTooLarge`].
pub const MAX_BODY: u64 = 1 << 20;

const USER_AGENT: &str = concat!("felhom-agentapi/", env!("CARGO_PKG_VERSION"));

/// A client's checked settings, from which a [`Sender`] is made.
pub(crate) struct Settings {
    pub(crate) endpoint: Endpoint,
    /// `Bearer <token>`, marked sensitive.
    pub(crate) authorization: HeaderValue,
    pub(crate) pins: Vec<Fingerprint>,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_idle_connections: usize,
    pub(crate) idle_timeout: Duration,
    /// Told about each handshake and each call.
    pub(crate) hook: Hook,
}

/// Sends requests to one agent over pinned TLS: GETs over kept-alive connections, POSTs each
/// over a fresh one.
pub(crate) struct Sender {
    /// Keeps idle connections for reuse: for GETs.
    pooled: ureq::Agent,
    /// Keeps none: every call on it opens a fresh connection.
    fresh: ureq::Agent,
    base_url: String,
    authorization: HeaderValue,
    endpoint: String,
    pins: Vec<Fingerprint>,
    timeout: Duration,
    connect_timeout: Duration,
    hook: Hook,
}

impl Sender {
    /// The TLS configuration and the ureq agent for `settings`. Fails only if rustls cannot set
    /// up its protocol versions, with rustls's words.
    pub(crate) fn new(settings: Settings) -> Result<Sender, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(PinnedVerifier::new(settings.pins.clone(), &provider));
        let tls = Arc::new(
            transport::client_config(provider, verifier)
                .map_err(|e| format!("TLS setup failed: {e}"))?,
        );

        // Two agents over one TLS configuration (so one session cache): GETs take kept-alive
        // connections, while POSTs, and a GET sent again after a reused connection turned out
        // to be closed, always get a fresh one (see docs/decisions.md).
        let agent = |max_idle: usize| {
            ureq::Agent::with_parts(
                agent_config(&settings, max_idle),
                PinnedTlsConnector::new(Arc::clone(&tls), settings.hook.clone()),
                LiteralResolver::default(),
            )
        };
        Ok(Sender {
            pooled: agent(settings.max_idle_connections),
            fresh: agent(0),
            base_url: settings.endpoint.base_url(),
            endpoint: settings.endpoint.authority,
            authorization: settings.authorization,
            pins: settings.pins,
            timeout: settings.timeout,
            connect_timeout: settings.connect_timeout,
            hook: settings.hook,
        })
    }

    /// The endpoint, normalized (`host:port`).
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The fingerprints the connector accepts.
    pub(crate) fn pins(&self) -> &[Fingerprint] {
        &self.pins
    }

    /// The whole-call and the connect time limits.
    pub(crate) fn timeouts(&self) -> (Duration, Duration) {
        (self.timeout, self.connect_timeout)
    }

    /// Sends `call`, a request (a POST with `body` as JSON when there is one, a GET otherwise),
    /// and reads the whole answer (at most [`MAX_BODY`] bytes).
    ///
    /// A GET goes over a kept-alive connection if there is one, and once more over a fresh one
    /// if that connection turns out to have been closed as idle before any byte of the answer
    /// came back (as RFC 9110 §9.2.2 allows for idempotent requests). A POST always gets a fresh
    /// connection and is never sent twice.
    pub(crate) fn send(
        &self,
        call: &Call,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, Error> {
        let Some(observer) = &self.hook.0 else {
            return self.deliver(call, body);
        };
        let started = std::time::Instant::now();
        let result = self.deliver(call, body);
        observer.call(&CallTiming {
            call: call.clone(),
            status: result.as_ref().ok().map(|a| a.status),
            took: started.elapsed(),
        });
        result
    }

    /// [`Sender::send`], without telling the observer.
    fn deliver(&self, call: &Call, body: Option<&serde_json::Value>) -> Result<Answer, Error> {
        if call.path().is_none() {
            // The client's methods only send requests; a handshake alone is never sent here.
            return Err(Error::Io {
                call: call.clone(),
                error: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a TLS handshake alone has no request to send",
                ),
            });
        }
        let first = if body.is_none() {
            &self.pooled
        } else {
            &self.fresh
        };
        let result = match self.exchange(first, call, body) {
            Err(e) if body.is_none() && transport::is_stale(&e) => {
                self.exchange(&self.fresh, call, body)
            }
            other => other,
        };
        let (status, body) = result.map_err(|e| self.failure(call, e))?;
        if body.len() as u64 > MAX_BODY {
            return Err(too_large(call));
        }
        Ok(Answer { status, body })
    }

    /// One exchange over `agent`: the status and the body, read a little past [`MAX_BODY`].
    fn exchange(
        &self,
        agent: &ureq::Agent,
        call: &Call,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, Vec<u8>), ureq::Error> {
        // `send` has checked that the call is a request.
        let url = format!("{}{}", self.base_url, call.path().unwrap_or_default());
        let mut response = match body {
            None => agent
                .get(&url)
                .header("authorization", self.authorization.clone())
                .call()?,
            Some(json) => {
                // Serializing a `serde_json::Value` cannot fail.
                let bytes = serde_json::to_vec(json).unwrap_or_default();
                agent
                    .post(&url)
                    .header("authorization", self.authorization.clone())
                    .header("content-type", "application/json")
                    .send(&bytes[..])?
            }
        };
        let status = response.status().as_u16();
        // The cap is enforced by `send`, not by ureq's limit, whose meaning changed inside the
        // 3.5 series (a body of exactly the limit fails up to 3.5.1 and passes from 3.5.2):
        // read a little past the cap under either meaning.
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY + 2)
            .read_to_vec()?;
        Ok((status, body))
    }

    /// The crate's error for a ureq failure of `call`.
    fn failure(&self, call: &Call, err: ureq::Error) -> Error {
        match err {
            ureq::Error::Other(boxed) => match boxed.downcast::<HandshakeFailure>() {
                Ok(failure) => self.handshake_failure(call, *failure),
                Err(other) => match other.downcast::<StaleConnection>() {
                    // The request was written: for all the client can prove, it was taken up.
                    Ok(stale) => Error::Io {
                        call: call.clone(),
                        error: stale.0,
                    },
                    Err(other) => Error::Io {
                        call: call.clone(),
                        error: io::Error::other(other.to_string()),
                    },
                },
            },
            ureq::Error::Timeout(ureq::Timeout::Resolve) => Error::Timeout {
                call: call.clone(),
                stage: TimeoutStage::Connect,
                limit: self.connect_timeout.min(self.timeout),
            },
            ureq::Error::Timeout(_) => Error::Timeout {
                call: call.clone(),
                stage: TimeoutStage::Exchange,
                limit: self.timeout,
            },
            ureq::Error::HostNotFound => Error::Connect {
                call: call.clone(),
                endpoint: self.endpoint.to_string(),
                error: io::Error::new(io::ErrorKind::NotFound, "the host name did not resolve"),
            },
            ureq::Error::BodyExceedsLimit(_) => too_large(call),
            ureq::Error::LargeResponseHeader(_, _) => Error::Decode {
                call: call.clone(),
                message: "the answer's HTTP header is too large".into(),
            },
            ureq::Error::Io(error) => Error::Io {
                call: call.clone(),
                error,
            },
            ureq::Error::Protocol(e) => Error::Io {
                call: call.clone(),
                error: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("malformed HTTP from the agent: {e}"),
                ),
            },
            other => Error::Io {
                call: call.clone(),
                error: io::Error::other(other.to_string()),
            },
        }
    }

    /// The crate's error for a failure of the TCP connection or the TLS handshake: nothing was
    /// sent.
    fn handshake_failure(&self, call: &Call, failure: HandshakeFailure) -> Error {
        let limit = self.connect_timeout.min(self.timeout);
        handshake_error(call, &self.endpoint, limit, &self.pins, failure)
    }
}

/// The crate's error for a failed connect or handshake of `call` to `endpoint`, whose connect
/// budget was `limit` and whose pins were `pins`.
pub(crate) fn handshake_error(
    call: &Call,
    endpoint: &str,
    limit: Duration,
    pins: &[Fingerprint],
    failure: HandshakeFailure,
) -> Error {
    match failure {
        HandshakeFailure::Connect(error) => Error::Connect {
            call: call.clone(),
            endpoint: endpoint.to_string(),
            error,
        },
        HandshakeFailure::Timeout => Error::Timeout {
            call: call.clone(),
            stage: TimeoutStage::Connect,
            limit,
        },
        HandshakeFailure::PinMismatch(presented) => Error::PinMismatch {
            call: call.clone(),
            presented,
            expected: pins.to_vec(),
        },
        HandshakeFailure::Tls(message) => Error::Tls {
            call: call.clone(),
            message,
        },
    }
}

/// The answer to `call` has a body over [`MAX_BODY`].
fn too_large(call: &Call) -> Error {
    Error::ResponseTooLarge {
        call: call.clone(),
        limit: MAX_BODY,
    }
}

/// ureq's settings for `settings`, keeping at most `max_idle` idle connections. Each setting
/// replaces a ureq default that is wrong for this client; see docs/decisions.md.
fn agent_config(settings: &Settings, max_idle: usize) -> ureq::config::Config {
    ureq::Agent::config_builder()
        .https_only(true)
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(settings.timeout))
        .timeout_connect(Some(settings.connect_timeout))
        .user_agent(USER_AGENT)
        .max_idle_connections(max_idle)
        .max_idle_connections_per_host(max_idle)
        .max_idle_age(settings.idle_timeout)
        .build()
}
