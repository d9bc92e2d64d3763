//! `fingerprint`: learn the agent's certificate from a TLS handshake, through the library's
//! [`presented_fingerprint`], which completes the handshake (so the server proves it holds the
//! certificate's key, and a certificate no client can use is refused) and sends nothing.
//! Comparing the result with `--expect` happens here, and `--save` is `save`.

mod save;

use std::time::Duration;

use felhom_agentapi::{ClientBuilder, Fingerprint, Settings, presented_fingerprint};

use crate::args::FingerprintArgs;
use crate::exit::Failure;
use crate::output::{Answer, Presented};

/// Returns the fingerprint of the leaf certificate the agent at `endpoint` presents. The
/// handshake gets the connect timeout, bounded by the whole-call timeout when both are given.
pub(crate) fn presented(
    endpoint: &str,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
) -> Result<Fingerprint, Failure> {
    let limit = match (connect_timeout, timeout) {
        (Some(connect), Some(whole)) => connect.min(whole),
        (Some(connect), None) => connect,
        (None, Some(whole)) => whole.min(ClientBuilder::DEFAULT_CONNECT_TIMEOUT),
        (None, None) => ClientBuilder::DEFAULT_CONNECT_TIMEOUT,
    };
    Ok(presented_fingerprint(endpoint, limit)?)
}

/// `fingerprint [--expect FP]... [--save FILE [--force]]`: the presented certificate, if it is
/// one of those expected; saved to a pins file if asked.
pub(crate) fn run(
    settings: &Settings,
    args: &FingerprintArgs,
    notes: bool,
) -> Result<Answer, Failure> {
    let endpoint = settings.require_endpoint()?;
    let presented = presented(endpoint, settings.timeout(), settings.connect_timeout())?;
    if !args.expect.is_empty() && !args.expect.contains(&presented) {
        return Err(Failure::UnexpectedFingerprint {
            endpoint: endpoint.to_string(),
            presented,
            expected: args.expect.clone(),
        });
    }
    let mut answer = Presented::new(endpoint, presented);
    if let Some(path) = &args.save {
        let saved = save::save(path, presented, endpoint, args.force)?;
        if notes {
            let shown = path.display();
            crate::say::note(&match saved {
                save::Saved::Written => format!("saved the pin to {shown}"),
                save::Saved::AlreadyThere => {
                    format!("{shown} already holds this pin; left it as it is")
                }
            });
        }
        answer.saved = Some(path.display().to_string());
    }
    Ok(Answer::Fingerprint(answer))
}
