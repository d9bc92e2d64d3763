//! The agent's identity (certificate and key, made with rcgen) and the rustls server
//! configuration, whose certificate resolver plays the handshake faults.

use std::fmt;
use std::io;
use std::sync::Arc;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, SerialNumber,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{
    ClientHello, ResolvesServerCert, ServerSessionMemoryCache, StoresServerSessions,
};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedProtocolVersion};

use super::pin::CertFingerprint;

use super::fault::{FaultSlot, Presented};

/// A certificate and its private key: what an agent serves.
///
/// Keep one from [`DevAgent::identity`](crate::DevAgent::identity) to start another
/// agent with the same pin. `Debug` shows the key type and the fingerprint, never the key.
///
/// ```
/// use felhom_devagent::{DevAgent, Identity, KeyKind};
///
/// let id = Identity::generate(KeyKind::Ed25519);
/// let agent = DevAgent::builder().identity(id.clone()).start()?;
/// assert_eq!(agent.fingerprint(), id.fingerprint());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Identity {
    kind: KeyKind,
    cert_der: Vec<u8>,
    /// PKCS#8 DER.
    key_der: Vec<u8>,
}

impl Identity {
    /// A new self-signed certificate (CN `felhom-devagent`, names `127.0.0.1` and `localhost`,
    /// random serial number) with a new key of the given type.
    ///
    /// [`KeyKind::Rsa2048`] does not make a new key: it uses a fixed test key shipped with this
    /// crate (public, so only for tests), because the ring backend cannot generate RSA keys. Its
    /// certificates still differ from one another, thanks to the random serial number.
    ///
    /// # Panics
    ///
    /// If the operating system's random number generator fails.
    pub fn generate(kind: KeyKind) -> Identity {
        let (cert_der, key_der) = generate(kind)
            .unwrap_or_else(|e| panic!("generating a {kind:?} test certificate failed: {e}"));
        Identity {
            kind,
            cert_der,
            key_der,
        }
    }

    /// The SHA-256 of the certificate's DER: the pin.
    pub fn fingerprint(&self) -> CertFingerprint {
        CertFingerprint::of_der(&self.cert_der)
    }

    /// The certificate's DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The type of its key.
    pub fn key_kind(&self) -> KeyKind {
        self.kind
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("kind", &self.kind)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The type of key (and so of certificate signature) an agent serves.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on NIST P-256 with SHA-256 (the default, like the real agent's Go-generated cert).
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA, 2048 bits, PKCS#1 v1.5 with SHA-256 (a fixed, public test key).
    Rsa2048,
}

/// Which TLS versions an agent accepts.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.3 and TLS 1.2 (the default).
    Both,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
}

/// Test-only RSA keys, public on purpose (see `fixtures/README.md`): ring signs with RSA keys
/// but cannot generate them.
const RSA_KEY: &str = include_str!("fixtures/rsa2048.pk8.pem");
/// A second RSA key, so that [`Fault::WrongKey`](super::fault::Fault::WrongKey) on an RSA
/// certificate signs with a key of the same algorithm.
const RSA_ALT_KEY: &str = include_str!("fixtures/rsa2048-alt.pk8.pem");

/// Always the ring provider, never the process-wide default another part of a test binary may
/// have installed.
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// `N` bytes from the system's secure random number generator.
fn random_bytes<const N: usize>() -> Result<[u8; N], rustls::Error> {
    let mut bytes = [0; N];
    provider().secure_random.fill(&mut bytes)?;
    Ok(bytes)
}

/// A fresh `devagent-<32 hex digits>` bearer token.
pub(crate) fn random_token() -> String {
    let bytes: [u8; 16] = random_bytes().expect("the system random number generator failed");
    format!("devagent-{}", hex::encode(bytes))
}

/// A new key of `kind`, other than the one whose PKCS#8 DER is `not` (if given).
fn new_key(kind: KeyKind, not: Option<&[u8]>) -> Result<KeyPair, rcgen::Error> {
    match kind {
        KeyKind::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyKind::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyKind::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
        KeyKind::Rsa2048 => {
            let key = KeyPair::from_pem(RSA_KEY)?;
            if not == Some(key.serialized_der()) {
                KeyPair::from_pem(RSA_ALT_KEY)
            } else {
                Ok(key)
            }
        }
    }
}

/// A self-signed certificate for `key`, as the agent makes for itself: CN `felhom-devagent`,
/// names `127.0.0.1` and `localhost`, and a random serial number, so that two certificates for
/// the same key still differ (and so do their pins).
fn self_signed(key: &KeyPair) -> Result<Vec<u8>, rcgen::Error> {
    let mut params = CertificateParams::new(["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "felhom-devagent");
    params.distinguished_name = name;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let mut serial: [u8; 16] = random_bytes().map_err(|_| rcgen::Error::RingUnspecified)?;
    serial[0] &= 0x7f; // a positive number, as RFC 5280 asks
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params.self_signed(key)?.der().to_vec())
}

/// A new certificate and its key (PKCS#8 DER) for [`Identity::generate`].
fn generate(kind: KeyKind) -> Result<(Vec<u8>, Vec<u8>), rcgen::Error> {
    let key = new_key(kind, None)?;
    Ok((self_signed(&key)?, key.serialize_der()))
}

/// The TLS configuration of one agent: `identity` normally, the handshake faults when asked.
pub(crate) fn server_config(
    identity: &Identity,
    versions: TlsVersions,
    faults: Arc<FaultSlot>,
) -> io::Result<Arc<ServerConfig>> {
    let provider = Arc::new(provider());
    let load = |der: &[u8]| {
        provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der.to_vec())))
            .map_err(io::Error::other)
    };
    let cert = CertificateDer::from(identity.cert_der.clone());

    let right = CertifiedKey::new(vec![cert.clone()], load(&identity.key_der)?);
    // A certificate and a key that do not belong together would make every handshake fail in a
    // way that looks like a WrongKey fault: refuse to start instead.
    right.keys_match().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the identity's key does not match its certificate: {e}"),
        )
    })?;

    // `CertifiedKey::new` does not check that key and certificate match: exactly what the
    // WrongKey fault needs.
    let other_key = new_key(identity.kind, Some(&identity.key_der)).map_err(io::Error::other)?;
    let wrong_key = CertifiedKey::new(vec![cert], load(other_key.serialized_der())?);
    let other_cert_der = self_signed(&other_key).map_err(io::Error::other)?;
    let other_cert = CertifiedKey::new(
        vec![CertificateDer::from(other_cert_der)],
        load(other_key.serialized_der())?,
    );

    let resolver = FaultingResolver {
        faults: Arc::clone(&faults),
        right: Arc::new(right),
        wrong_key: Arc::new(wrong_key),
        other_cert: Arc::new(other_cert),
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(protocol_versions(versions))
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.session_storage = Arc::new(FaultAwareSessions {
        inner: ServerSessionMemoryCache::new(256),
        faults,
    });
    Ok(Arc::new(config))
}

static TLS12_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
static TLS13_ONLY: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

fn protocol_versions(versions: TlsVersions) -> &'static [&'static SupportedProtocolVersion] {
    match versions {
        TlsVersions::Both => rustls::ALL_VERSIONS,
        TlsVersions::Tls12Only => &TLS12_ONLY,
        TlsVersions::Tls13Only => &TLS13_ONLY,
    }
}

/// Picks what each full handshake presents, following the fault that is set.
#[derive(Debug)]
struct FaultingResolver {
    faults: Arc<FaultSlot>,
    right: Arc<CertifiedKey>,
    wrong_key: Arc<CertifiedKey>,
    other_cert: Arc<CertifiedKey>,
}

impl ResolvesServerCert for FaultingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = match self.faults.for_handshake() {
            Presented::Right => &self.right,
            Presented::WrongKey => &self.wrong_key,
            Presented::OtherCert => &self.other_cert,
        };
        Some(Arc::clone(chosen))
    }
}

/// rustls's default session cache, except that it finds nothing while a handshake fault is set:
/// a resumed handshake presents no certificate, so it would dodge the fault.
#[derive(Debug)]
struct FaultAwareSessions {
    inner: Arc<ServerSessionMemoryCache>,
    faults: Arc<FaultSlot>,
}

impl StoresServerSessions for FaultAwareSessions {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        if self.faults.blocks_resumption() {
            return None;
        }
        self.inner.get(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        if self.faults.blocks_resumption() {
            return None;
        }
        self.inner.take(key)
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test-only, so here with the tests rather than among the code the layering check reads.
    impl KeyKind {
        /// Every kind, for the tests that cover them all.
        pub(crate) const ALL: [KeyKind; 4] = [
            KeyKind::EcdsaP256,
            KeyKind::EcdsaP384,
            KeyKind::Ed25519,
            KeyKind::Rsa2048,
        ];
    }

    #[test]
    fn every_kind_makes_distinct_matching_certificates() {
        for kind in KeyKind::ALL {
            let a = Identity::generate(kind);
            let b = Identity::generate(kind);
            assert_ne!(a.fingerprint(), b.fingerprint(), "{kind:?}");
            server_config(&a, TlsVersions::Both, Arc::default()).unwrap();
            let other = new_key(kind, Some(&a.key_der)).unwrap();
            assert_ne!(other.serialized_der(), &a.key_der[..], "{kind:?}");
        }
    }

    #[test]
    fn tokens_are_random() {
        let token = random_token();
        assert_eq!(token.len(), "devagent-".len() + 32);
        assert_ne!(token, random_token());
    }
}
