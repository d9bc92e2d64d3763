//! Certificates no TLS client can accept are refused with a message that says, in plain words,
//! what is wrong and what to do, never with rustls's internal error names.

use felhom_agentapi::{Client, Error};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;

use crate::servers::{self, Served, TlsServer};

const V1_CERT: &[u8] = include_bytes!("../fixtures/v1-p256.cert.der");
const V1_KEY: &[u8] = include_bytes!("../fixtures/v1-p256.key.pk8.der");
const RSA_1024_CERT: &[u8] = include_bytes!("../fixtures/rsa1024.cert.der");
/// ring cannot sign with a 1024-bit key, so the server signs with a 2048-bit one; the client
/// refuses the certificate's key before the signature could matter.
const RSA_2048_KEY: &str =
    include_str!("../../crates/felhom-devagent/src/fixtures/rsa2048.pk8.pem");

fn rsa_2048_key_der() -> Vec<u8> {
    let key = PrivatePkcs8KeyDer::from_pem_slice(RSA_2048_KEY.as_bytes()).unwrap();
    key.secret_pkcs8_der().to_vec()
}

/// The error of a call to a server presenting `served`, pinned, over `versions`.
fn refusal(served: &Served, versions: &[&'static rustls::SupportedProtocolVersion]) -> Error {
    let server = TlsServer::start(servers::config_for(served, versions), 1, |_, _| ());
    let client = Client::new(&server.endpoint, "token", served.pin()).unwrap();
    let err = client.start_backup().unwrap_err();
    assert!(server.finish().is_empty(), "the handshake must fail");
    err
}

fn assert_plain(err: &Error, says: &[&str]) {
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(!err.may_have_reached_agent(), "{err}");
    let message = err.to_string();
    for words in says {
        assert!(message.contains(words), "{words:?} missing: {message}");
    }
    for internal in ["UnsupportedCertVersion", "BadSignature", "OtherError"] {
        assert!(!message.contains(internal), "{internal} in: {message}");
    }
}

#[test]
fn an_x509_v1_certificate_is_refused_in_plain_words() {
    let served = Served::from_der(V1_CERT, V1_KEY);
    for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12]] {
        let err = refusal(&served, versions);
        assert_plain(
            &err,
            &["X.509 v1", "re-issue it as an X.509 v3 certificate"],
        );
    }
}

#[test]
fn an_rsa_1024_certificate_is_refused_in_plain_words() {
    let served = Served::from_der(RSA_1024_CERT, &rsa_2048_key_der());
    for versions in [&[&rustls::version::TLS13][..], &[&rustls::version::TLS12]] {
        let err = refusal(&served, versions);
        assert_plain(
            &err,
            &["RSA key of 1024 bits", "too weak", "at least 2048 bits"],
        );
    }
}

#[test]
fn a_server_without_the_certificates_key_is_refused_in_plain_words() {
    let agent = crate::agent();
    agent.set_fault(felhom_devagent::Fault::WrongKey);
    let err = crate::client(&agent).storage().unwrap_err();
    assert_plain(&err, &["does not hold that certificate's private key"]);
}
