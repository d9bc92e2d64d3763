//! The pinned-leaf certificate verifier: the one place that decides whether the server is the
//! agent (or, for the bootstrap step of trust on first use, takes the leaf it presents for one
//! connection and remembers it).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::Fingerprint;
use crate::certificate;

/// Trusts a server if and only if the SHA-256 of its leaf certificate's DER equals one of the
/// pins.
///
/// The pin replaces the whole web PKI check, as in the Go client: the agent's certificate is
/// self-signed, so its chain, names and validity dates are deliberately not examined. What is
/// still checked, by the crypto provider, is that the server signed the handshake with the
/// private key of that certificate: a pin on a public certificate proves nothing without it.
pub(crate) struct PinnedVerifier {
    trust: Trust,
    algorithms: WebPkiSupportedAlgorithms,
}

/// Which leaf certificates the verifier accepts.
enum Trust {
    /// Those whose SHA-256 is one of these.
    Pins(Vec<Fingerprint>),
    /// Whichever the server presents, remembered here: for one connection that sends nothing.
    FirstUse(Mutex<Option<Fingerprint>>),
}

/// Why the verifier refused a certificate; carried through rustls inside
/// `CertificateError::Other` so the client can report it as a typed error.
#[derive(Debug, Clone)]
pub(crate) struct PinMismatch {
    pub(crate) presented: Fingerprint,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "leaf certificate sha256 {} matches no pin",
            self.presented
        )
    }
}

impl std::error::Error for PinMismatch {}

impl PinnedVerifier {
    pub(crate) fn new(pins: Vec<Fingerprint>, provider: &CryptoProvider) -> PinnedVerifier {
        PinnedVerifier {
            trust: Trust::Pins(pins),
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// A verifier that accepts whatever leaf the server presents, still checks that the server
    /// signs the handshake with that leaf's key, and remembers the leaf's fingerprint. Only for
    /// a connection that sends nothing: learning the pin is all it is for.
    pub(crate) fn first_use(provider: &CryptoProvider) -> PinnedVerifier {
        PinnedVerifier {
            trust: Trust::FirstUse(Mutex::new(None)),
            algorithms: provider.signature_verification_algorithms,
        }
    }

    /// The fingerprint of the leaf a first-use verifier was shown, if any.
    pub(crate) fn presented(&self) -> Option<Fingerprint> {
        match &self.trust {
            Trust::FirstUse(seen) => *seen.lock().unwrap_or_else(PoisonError::into_inner),
            Trust::Pins(_) => None,
        }
    }
}

impl fmt::Debug for PinnedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("PinnedVerifier");
        match &self.trust {
            Trust::Pins(pins) => debug.field("pins", pins),
            Trust::FirstUse(_) => debug.field("trust", &"first use"),
        };
        debug.finish_non_exhaustive()
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        // Never consulted: a pin found among intermediates would let any CA-issued leaf through.
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_der(end_entity.as_ref());
        match &self.trust {
            Trust::Pins(pins) if pins.contains(&presented) => Ok(ServerCertVerified::assertion()),
            Trust::Pins(_) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(PinMismatch { presented })),
            ))),
            // Accepted for now: the signature checks below still have to pass.
            Trust::FirstUse(seen) => {
                *seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(presented);
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    // The two signature checks below are what makes the pin mean anything: they prove the server
    // holds the certificate's private key. They must never be short-circuited.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
            .map_err(|e| explained(e, cert))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
            .map_err(|e| explained(e, cert))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A failed signature check, in plain words when the certificate is one no client can use (an
/// X.509 v1 certificate or an RSA-1024 key otherwise surface as rustls's internal error names).
/// The refusal stands either way; only its explanation changes.
fn explained(error: rustls::Error, cert: &CertificateDer<'_>) -> rustls::Error {
    match certificate::unusable(cert.as_ref()) {
        Some(problem) => rustls::Error::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(problem)),
        )),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(pins: Vec<Fingerprint>) -> PinnedVerifier {
        PinnedVerifier::new(pins, &rustls::crypto::ring::default_provider())
    }

    fn check(
        v: &PinnedVerifier,
        leaf: &[u8],
        intermediates: &[&[u8]],
    ) -> Result<(), rustls::Error> {
        let chain: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|d| CertificateDer::from(*d))
            .collect();
        v.verify_server_cert(
            &CertificateDer::from(leaf),
            &chain,
            &ServerName::try_from("agent.invalid").unwrap(),
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
    }

    #[test]
    fn accepts_a_leaf_matching_any_pin() {
        let v = verifier(vec![
            Fingerprint::of_der(b"old"),
            Fingerprint::of_der(b"new"),
        ]);
        assert!(check(&v, b"old", &[]).is_ok());
        assert!(check(&v, b"new", &[]).is_ok());
    }

    #[test]
    fn refuses_a_leaf_even_when_an_intermediate_matches() {
        let v = verifier(vec![Fingerprint::of_der(b"pinned")]);
        let err = check(&v, b"attacker leaf", &[b"pinned"]).unwrap_err();
        let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = err else {
            panic!("wrong error kind: {err:?}");
        };
        let mismatch = other
            .0
            .downcast_ref::<PinMismatch>()
            .expect("a PinMismatch");
        assert_eq!(mismatch.presented, Fingerprint::of_der(b"attacker leaf"));
    }

    #[test]
    fn offers_the_providers_signature_schemes() {
        let v = verifier(vec![Fingerprint::of_der(b"x")]);
        let schemes = v.supported_verify_schemes();
        for s in [
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::ED25519,
        ] {
            assert!(schemes.contains(&s), "{s:?} missing");
        }
    }
}
