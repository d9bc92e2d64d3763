//! `fingerprint`: learn the agent's certificate from a TLS handshake, through the library's
//! [`presented_fingerprint`], which completes the handshake (so the server proves it holds the
//! certificate's key, and a certificate no client can use is refused) and sends nothing.
//! Comparing the result with `--expect` happens here.

use std::time::Duration;

use felhom_agentapi::{DEFAULT_CONNECT_TIMEOUT, Fingerprint, presented_fingerprint};

use crate::exit::Failure;

/// Returns the fingerprint of the leaf certificate the agent at `endpoint` presents. The
/// handshake gets the connect timeout, bounded by the whole-call timeout when both are given.
pub fn presented(
    endpoint: &str,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
) -> Result<Fingerprint, Failure> {
    let limit = match (connect_timeout, timeout) {
        (Some(connect), Some(whole)) => connect.min(whole),
        (Some(connect), None) => connect,
        (None, Some(whole)) => whole.min(DEFAULT_CONNECT_TIMEOUT),
        (None, None) => DEFAULT_CONNECT_TIMEOUT,
    };
    Ok(presented_fingerprint(endpoint, limit)?)
}
