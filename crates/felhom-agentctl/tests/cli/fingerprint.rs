//! The `fingerprint` subcommand, and pins: a wrong one (exit status 4) and a malformed one (2).

use felhom_devagent::Fault;
use serde_json::json;

use crate::common::agent;
use crate::harness::{Invocation, assert_nothing_sent};

#[test]
fn fingerprint_prints_the_presented_certificate_and_sends_no_request() {
    let agent = agent();
    // No pin and no token: neither is needed.
    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .secret(agent.token())
        .run()
        .status(0);
    let fp = agent.fingerprint();
    assert_eq!(
        out.json(),
        json!({
            "endpoint": agent.endpoint(),
            "sha256": fp.to_string(),
            "sha256_colon": fp.to_colon_hex(),
        })
    );
    assert_nothing_sent(&agent);
}

#[test]
fn fingerprint_expect_succeeds_on_a_match_in_any_spelling() {
    let agent = agent();
    let fp = agent.fingerprint();
    let out = Invocation::to(&agent)
        .args(["fingerprint", "--expect", &"ab".repeat(32)])
        .args([
            "--expect",
            &format!("SHA256:{}", fp.to_colon_hex().to_lowercase()),
        ])
        .run()
        .status(0);
    assert_eq!(out.json()["sha256"], fp.to_string());
    assert_nothing_sent(&agent);
}

#[test]
fn fingerprint_expect_mismatch_exits_4() {
    let agent = agent();
    let other = "cd".repeat(32);
    let out = Invocation::bare()
        .args([
            "fingerprint",
            "--endpoint",
            &agent.endpoint(),
            "--expect",
            &other,
        ])
        .run()
        .failure(4);
    assert_eq!(out.stdout, "");
    out.stderr_has(&format!("presented: {}", agent.fingerprint()));
    out.stderr_has(&format!(" expected: {other}\n"));
    assert_nothing_sent(&agent);

    // An agent that presents another certificate fails the check against the real pin.
    agent.set_fault(Fault::OtherCert);
    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .args(["--expect", &agent.fingerprint().to_string()])
        .run()
        .failure(4);
    out.stderr_has(&format!(" expected: {}\n", agent.fingerprint()));
    assert_nothing_sent(&agent);
}

#[test]
fn a_wrong_pin_exits_4_and_sends_nothing() {
    let agent = agent();
    let wrong = "ab".repeat(32);
    let out = Invocation::authed(&agent)
        .args([
            "storage",
            "--endpoint",
            &agent.endpoint(),
            "--fingerprint",
            &wrong,
        ])
        .run()
        .failure(4);
    assert_eq!(out.stdout, "");
    out.stderr_has(&agent.fingerprint().to_string());
    out.stderr_has(&wrong);
    assert_nothing_sent(&agent);
}

#[test]
fn a_malformed_fingerprint_exits_2() {
    let agent = agent();
    for bad in [
        "abcd",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        &"zz".repeat(32),
    ] {
        let out = Invocation::to(&agent)
            .args(["storage", "--fingerprint", bad])
            .run()
            .status(2);
        out.stderr_has("fingerprint");
    }
    let out = Invocation::bare()
        .env("FELHOM_AGENT_FINGERPRINT", "not-hex")
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .run()
        .status(2);
    assert!(out.stderr.contains("FELHOM_AGENT_FINGERPRINT") || out.stderr.contains("fingerprint"));
    assert_nothing_sent(&agent);
}

#[test]
fn fingerprint_completes_the_handshake_and_gives_no_pin_to_a_server_without_the_key() {
    let agent = agent();
    Invocation::bare()
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .run()
        .status(0);
    // The handshake went all the way: the agent counts it once its last flight is out.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while agent.stats().handshakes == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(agent.stats().handshakes, 1);

    // The right certificate, signed with another key: whoever answers cannot prove it is the
    // agent, so no pin is printed.
    agent.set_fault(Fault::WrongKey);
    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .run()
        .failure(5);
    assert_eq!(out.stdout, "");
    out.stderr_has(&format!("TLS handshake with {}", agent.endpoint()));
    out.stderr_has("does not hold that certificate's private key");
    assert!(!out.stderr.contains("GET /storage"), "{out:#?}");
    assert_nothing_sent(&agent);
}
