//! The pin of the certificate an agent serves, in the forms a client is configured with.
//!
//! The stand-in agent does not depend on the library it stands in for (the library's tests
//! depend on it), so it has its own small fingerprint type: give a client its text
//! (`agent.fingerprint().to_string()`) or its bytes.

use std::fmt;

use sha2::{Digest, Sha256};

/// The SHA-256 of a certificate's DER bytes: what a client pins.
///
/// `{}` prints 64 lowercase hex digits, `{:#}` the colon form (`AB:CD:…`) Proxmox prints; both
/// parse as a `felhom_agentapi::Fingerprint`.
///
/// ```
/// use felhom_devagent::CertFingerprint;
///
/// let fp = CertFingerprint::of_der(b"not really a certificate");
/// assert_eq!(fp.to_string().len(), 64);
/// assert_eq!(fp.to_colon_hex().len(), 95);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> CertFingerprint {
        CertFingerprint(Sha256::digest(der).into())
    }

    /// The 32 raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The colon form, `AB:CD:…`. Same as `{:#}`.
    pub fn to_colon_hex(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|b| format!("{b:02X}")).collect();
        pairs.join(":")
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.write_str(&self.to_colon_hex())
        } else {
            f.write_str(&hex::encode(self.0))
        }
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}
