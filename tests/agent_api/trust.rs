//! The pin is the trust anchor: what is accepted, what is refused, and that nothing is sent to a
//! server that is refused.

use felhom_agentapi::{Call, Client, Error, Fingerprint};
use felhom_devagent::{DevAgent, Fault, Identity, KeyKind, TlsVersions};

use crate::Pinned;
use crate::{agent, client};

#[test]
fn a_leaf_that_matches_no_pin_is_refused_before_anything_is_sent() {
    let agent = agent();
    let wrong = Fingerprint::of_der(b"some other certificate");
    let client = Client::new(&agent.endpoint(), agent.token(), wrong.to_string()).unwrap();
    let err = client.storage().unwrap_err();
    match &err {
        Error::PinMismatch {
            presented,
            expected,
            call,
        } => {
            assert_eq!(*presented, agent.pin());
            assert_eq!(expected, &vec![wrong]);
            assert_eq!(call, &Call::request("GET", "/storage"));
        }
        other => panic!("expected a pin mismatch, got {other:?}"),
    }
    assert!(!err.may_have_reached_agent());
    let message = err.to_string();
    assert!(message.contains(&agent.pin().to_string()), "{message}");
    assert!(message.contains(&wrong.to_string()), "{message}");
    assert_eq!(
        agent.requests().len(),
        0,
        "no request may reach a server that failed the pin"
    );
    assert_eq!(agent.stats().handshakes, 0);
}

#[test]
fn another_certificate_at_the_agents_address_is_a_pin_mismatch() {
    let agent = agent();
    let client = client(&agent);
    agent.set_fault(Fault::OtherCert);
    let err = client.storage().unwrap_err();
    let Error::PinMismatch { presented, .. } = err else {
        panic!("got {err:?}")
    };
    assert_ne!(presented, agent.pin());
    assert!(agent.requests().is_empty());
}

#[test]
fn the_pinned_certificate_without_its_private_key_is_refused() {
    // Anyone can copy the agent's public certificate; only the agent can sign with its key.
    for kind in [KeyKind::EcdsaP256, KeyKind::Ed25519, KeyKind::Rsa2048] {
        let agent = DevAgent::builder().key_kind(kind).start().unwrap();
        agent.set_fault(Fault::WrongKey);
        let err = client(&agent).storage().unwrap_err();
        assert!(
            matches!(err, Error::Tls { .. }),
            "{kind:?}: expected a TLS error, got {err:?}"
        );
        assert!(!err.may_have_reached_agent());
        assert!(agent.requests().is_empty(), "{kind:?}");
    }
}

#[test]
fn the_wrong_key_is_refused_over_tls_1_2_too() {
    let agent = DevAgent::builder()
        .tls_versions(TlsVersions::Tls12Only)
        .start()
        .unwrap();
    agent.set_fault(Fault::WrongKey);
    let err = client(&agent).storage().unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(agent.requests().is_empty());
}

#[test]
fn every_key_type_and_tls_version_works_when_pinned() {
    for kind in [
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Ed25519,
        KeyKind::Rsa2048,
    ] {
        for versions in [TlsVersions::Tls12Only, TlsVersions::Tls13Only] {
            let agent = DevAgent::builder()
                .key_kind(kind)
                .tls_versions(versions)
                .start()
                .unwrap();
            let storage = client(&agent).storage();
            assert!(storage.is_ok(), "{kind:?} over {versions:?}: {storage:?}");
        }
    }
}

#[test]
fn also_pin_accepts_either_certificate_during_a_rotation() {
    let old = Identity::generate(KeyKind::EcdsaP256);
    let new = Identity::generate(KeyKind::EcdsaP256);
    let agent = DevAgent::builder().identity(old.clone()).start().unwrap();
    let client = Client::builder(&agent.endpoint(), agent.token(), old.pin().to_string())
        .also_pin(new.pin().to_colon_hex())
        .build()
        .unwrap();
    client.storage().unwrap();

    // The agent restarts with the new certificate on the same port and token.
    let (addr, token) = (agent.addr(), agent.token().to_string());
    drop(agent);
    let agent = DevAgent::builder()
        .identity(new)
        .bind(addr)
        .token(token)
        .start()
        .unwrap();
    client.storage().unwrap();

    let stale = Client::new(&agent.endpoint(), agent.token(), old.pin().to_string()).unwrap();
    assert!(matches!(stale.storage(), Err(Error::PinMismatch { .. })));
}

#[test]
fn a_client_keeps_working_after_a_refused_server() {
    let agent = agent();
    let client = client(&agent);
    agent.set_fault(Fault::OtherCert);
    assert!(client.storage().is_err());
    agent.clear_fault();
    client.storage().unwrap();
}

#[test]
fn fingerprints_in_every_tolerated_spelling_pin_the_same_certificate() {
    let agent = agent();
    let fp = agent.pin();
    for spelling in [
        fp.to_string().to_uppercase(),
        fp.to_colon_hex(),
        format!("sha256:{fp}\n"),
        format!("SHA256:{}", fp.to_colon_hex().to_lowercase()),
    ] {
        let client = Client::new(&agent.endpoint(), agent.token(), &spelling).unwrap();
        assert!(client.storage().is_ok(), "{spelling:?}");
    }
}
