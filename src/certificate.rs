//! What makes a certificate one that no TLS client can accept, found by reading just enough of
//! its DER: the X.509 version and the public key. It only ever explains a refusal that rustls
//! already made; it never decides one.

use std::fmt;

/// Why the agent's certificate can never complete a handshake with this client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// X.509 v1 or v2: webpki (and every browser) accepts only v3.
    Version(u8),
    /// An RSA key outside the 2048–8192 bits that the crypto provider verifies.
    RsaBits(usize),
    /// An elliptic curve other than P-256 and P-384, named by its OID.
    Curve(String),
    /// A key algorithm the provider cannot verify (DSA, Ed448, …), named by its OID.
    KeyAlgorithm(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const REISSUE: &str = "re-issue it with an ECDSA P-256 key (or RSA of at least 2048 \
                               bits, or Ed25519), then pin the new certificate";
        match self {
            Unusable::Version(v) => write!(
                f,
                "the agent's certificate is X.509 v{v}, which TLS clients cannot use: re-issue \
                 it as an X.509 v3 certificate, then pin the new certificate"
            ),
            Unusable::RsaBits(bits) if *bits < 2048 => write!(
                f,
                "the agent's certificate has an RSA key of {bits} bits, too weak for TLS \
                 clients to accept: {REISSUE}"
            ),
            Unusable::RsaBits(bits) => write!(
                f,
                "the agent's certificate has an RSA key of {bits} bits, more than the 8192 \
                 bits TLS clients verify: {REISSUE}"
            ),
            Unusable::Curve(oid) => write!(
                f,
                "the agent's certificate has an ECDSA key on a curve the client cannot verify \
                 (OID {oid}; P-256 and P-384 work): {REISSUE}"
            ),
            Unusable::KeyAlgorithm(oid) => write!(
                f,
                "the agent's certificate has a key of a type the client cannot verify (OID \
                 {oid}): {REISSUE}"
            ),
        }
    }
}

impl std::error::Error for Unusable {}

// DER encodings of the object identifiers that matter here (content octets only).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
/// `[0] EXPLICIT`, the wrapper of the version in a TBSCertificate.
const VERSION_TAG: u8 = 0xa0;

/// What, if anything, makes the DER certificate `der` unusable. `None` when it looks usable, or
/// cannot be read this far (rustls's own message then stands).
pub(crate) fn unusable(der: &[u8]) -> Option<Unusable> {
    let certificate = Der(der).expect(SEQUENCE)?;
    let mut tbs = Der(Der(certificate).expect(SEQUENCE)?);
    let version = if tbs.peek() == Some(VERSION_TAG) {
        let wrapped = tbs.expect(VERSION_TAG)?;
        match Der(wrapped).expect(INTEGER)? {
            [v] => *v,
            _ => return None,
        }
    } else {
        0 // DEFAULT v1
    };
    if version < 2 {
        return Some(Unusable::Version(version + 1));
    }
    // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo.
    for _ in 0..5 {
        tbs.next()?;
    }
    let mut spki = Der(tbs.expect(SEQUENCE)?);
    let mut algorithm = Der(spki.expect(SEQUENCE)?);
    let oid = algorithm.expect(OID)?;
    if oid == RSA_ENCRYPTION {
        let key = spki.expect(BIT_STRING)?;
        // One byte of unused bits (0 for a key), then RSAPublicKey { modulus, exponent }.
        let modulus = Der(Der(key.get(1..)?).expect(SEQUENCE)?).expect(INTEGER)?;
        let bits = bit_length(modulus);
        return (!(2048..=8192).contains(&bits)).then_some(Unusable::RsaBits(bits));
    }
    if oid == EC_PUBLIC_KEY {
        let curve = algorithm.expect(OID)?;
        return (curve != P256 && curve != P384).then(|| Unusable::Curve(dotted(curve)));
    }
    (oid != ED25519).then(|| Unusable::KeyAlgorithm(dotted(oid)))
}

/// The number of significant bits of a DER INTEGER's content (a positive one).
fn bit_length(integer: &[u8]) -> usize {
    let digits: &[u8] = match integer.iter().position(|&b| b != 0) {
        Some(first) => &integer[first..],
        None => &[],
    };
    match digits.first() {
        Some(&top) => digits.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

/// An object identifier's content octets in dotted notation, e.g. `1.3.132.0.35`.
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for &byte in oid {
        value = value.saturating_mul(128) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.extend([first, value - first * 40]);
            } else {
                arcs.push(value);
            }
            value = 0;
        }
    }
    let arcs: Vec<String> = arcs.iter().map(u64::to_string).collect();
    arcs.join(".")
}

/// A cursor over consecutive DER elements.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// The next element's tag and content.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form: the low bits say how many length bytes follow.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
        };
        if rest.len() < length {
            return None;
        }
        let (content, after) = rest.split_at(length);
        self.0 = after;
        Some((tag, content))
    }

    /// The next element's content, if its tag is `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (found, content) if found == tag => Some(content),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &[u8] = include_bytes!("../tests/fixtures/v1-p256.cert.der");
    const RSA_1024: &[u8] = include_bytes!("../tests/fixtures/rsa1024.cert.der");

    #[test]
    fn finds_what_makes_the_fixtures_unusable() {
        assert_eq!(unusable(V1), Some(Unusable::Version(1)));
        assert_eq!(unusable(RSA_1024), Some(Unusable::RsaBits(1024)));
        let v1 = unusable(V1).unwrap().to_string();
        assert!(v1.contains("X.509 v1") && v1.contains("re-issue"), "{v1}");
        let rsa = unusable(RSA_1024).unwrap().to_string();
        assert!(rsa.contains("RSA key of 1024 bits, too weak"), "{rsa}");
        assert!(rsa.contains("at least 2048 bits"), "{rsa}");
    }

    #[test]
    fn says_nothing_of_what_it_cannot_read() {
        for end in 0..RSA_1024.len() {
            assert_eq!(unusable(&RSA_1024[..end]), None, "cut at {end}");
        }
        assert_eq!(unusable(b""), None);
        assert_eq!(unusable(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(dotted(P256), "1.2.840.10045.3.1.7");
        assert_eq!(dotted(&[0x2b, 0x81, 0x04, 0x00, 0x23]), "1.3.132.0.35");
        assert_eq!(bit_length(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_length(&[0x01]), 1);
        assert_eq!(bit_length(&[]), 0);
    }

    #[test]
    fn certificates_every_client_accepts_have_nothing_wrong() {
        use felhom_devagent::{Identity, KeyKind};
        for kind in [
            KeyKind::EcdsaP256,
            KeyKind::EcdsaP384,
            KeyKind::Ed25519,
            KeyKind::Rsa2048,
        ] {
            let identity = Identity::generate(kind);
            assert_eq!(unusable(identity.cert_der()), None, "{kind:?}");
        }
    }
}
