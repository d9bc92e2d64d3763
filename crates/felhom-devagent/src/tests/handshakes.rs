//! The TLS side: another certificate, the wrong key, the versions spoken.

use super::*;

#[test]
fn other_cert_changes_the_pin_even_for_resuming_clients() {
    let agent = agent();
    let config = client_config(&[&rustls::version::TLS13]);
    let first = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    assert_eq!(first.peer_fingerprint(), agent.fingerprint());
    assert_eq!(
        CertFingerprint::of_der(agent.identity().cert_der()),
        agent.fingerprint()
    );

    // Without a fault the client resumes its session (no certificate is presented then)...
    let mut second = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    second.get(&agent, "/storage"); // makes sure the session ticket has arrived
    let resumed = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    assert_eq!(
        resumed.tls.conn.handshake_kind(),
        Some(HandshakeKind::Resumed)
    );

    // ...but while a handshake fault is set every handshake is a full one that shows it.
    agent.set_fault(Fault::OtherCert);
    let mut faulty = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
    assert_eq!(faulty.tls.conn.handshake_kind(), Some(HandshakeKind::Full));
    assert_ne!(faulty.peer_fingerprint(), agent.fingerprint());
    // Requests are not affected, on old and new connections alike.
    assert_eq!(faulty.get(&agent, "/storage").status, 200);
    assert_eq!(second.get(&agent, "/storage").status, 200);

    agent.set_fault(Fault::Cycle(vec![None, Some(Fault::OtherCert)]));
    let pins: Vec<bool> = (0..4)
        .map(|_| {
            let c = connect_with(agent.addr(), Arc::clone(&config)).unwrap();
            c.peer_fingerprint() == agent.fingerprint()
        })
        .collect();
    assert_eq!(pins, [true, false, true, false]);

    agent.clear_fault();
    let fresh = connect(&agent);
    assert_eq!(fresh.peer_fingerprint(), agent.fingerprint());
}

#[test]
fn wrong_key_fails_the_handshake_signature_for_every_kind_and_version() {
    let versions: [&[&'static SupportedProtocolVersion]; 2] =
        [&[&rustls::version::TLS12], &[&rustls::version::TLS13]];
    for kind in KeyKind::ALL {
        let agent = agent_with(|b| b.key_kind(kind));
        for version in versions {
            let mut c = connect_with(agent.addr(), client_config(version)).unwrap();
            assert_eq!(c.peer_fingerprint(), agent.fingerprint());
            assert_eq!(
                c.get(&agent, "/storage").status,
                200,
                "{kind:?} {version:?}"
            );

            agent.set_fault(Fault::WrongKey);
            let err = connect_with(agent.addr(), client_config(version))
                .err()
                .unwrap_or_else(|| panic!("{kind:?} {version:?}: handshake succeeded"));
            let message = err.to_string();
            assert!(
                message.contains("BadSignature"),
                "{kind:?} {version:?}: {message}"
            );
            agent.clear_fault();
        }
    }
}

#[test]
fn tls_versions_are_enforced() {
    let tls12 = agent_with(|b| b.tls_versions(TlsVersions::Tls12Only));
    let tls13 = agent_with(|b| b.tls_versions(TlsVersions::Tls13Only));
    let only12 = client_config(&[&rustls::version::TLS12]);
    let only13 = client_config(&[&rustls::version::TLS13]);
    assert!(connect_with(tls12.addr(), Arc::clone(&only12)).is_ok());
    assert!(connect_with(tls12.addr(), Arc::clone(&only13)).is_err());
    assert!(connect_with(tls13.addr(), only13).is_ok());
    assert!(connect_with(tls13.addr(), only12).is_err());
    let c = connect(&tls12);
    assert_eq!(
        c.tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
}
