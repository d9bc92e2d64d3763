//! `fingerprint`: learn the agent's certificate from a TLS handshake, through the library.
//!
//! The library has no "handshake only" call, and this tool must not grow a second TLS path. So
//! the probe pins a fingerprint no certificate has (all zeros: finding a certificate with that
//! SHA-256 would mean breaking SHA-256) and makes a call. The pin check fails the handshake
//! before any HTTP byte is written, and the error carries the certificate the agent presented.
//! Comparing it with `--expect` happens here, never by pinning the expected value, which would
//! let a matching handshake go on to send a request.

use std::time::Duration;

use felhom_agentapi::{Client, Error, Fingerprint};

use crate::exit::Failure;

/// The pin no certificate matches.
const IMPOSSIBLE_PIN: Fingerprint = Fingerprint::from_bytes([0; 32]);

/// The client needs a token, but this one is never sent: it is no secret, and says what it is if
/// it ever shows up in an agent's log.
const PROBE_TOKEN: &str = "felhom-agentctl-fingerprint-probe";

/// Returns the fingerprint of the leaf certificate the agent at `endpoint` presents.
pub fn presented(
    endpoint: &str,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
) -> Result<Fingerprint, Failure> {
    let mut builder = Client::builder(endpoint, PROBE_TOKEN, IMPOSSIBLE_PIN.to_string());
    if let Some(t) = timeout {
        builder = builder.timeout(t);
    }
    if let Some(t) = connect_timeout {
        builder = builder.connect_timeout(t);
    }
    let client = builder.build()?;
    match client.storage() {
        Err(Error::PinMismatch { presented, .. }) => Ok(presented),
        Err(other) => Err(other.into()),
        Ok(_) => Err(Failure::Internal(
            "the agent's certificate matched an all-zero fingerprint, which no real certificate \
             has; refusing to trust this answer"
                .to_string(),
        )),
    }
}
