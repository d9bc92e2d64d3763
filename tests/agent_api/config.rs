//! Configuration errors come from construction, never from a call, and say what to fix.

use std::time::Duration;

use felhom_agentapi::{Client, Error, Fingerprint};

use crate::Pinned;
use crate::{agent, any_pin};

fn config_message(result: Result<Client, Error>) -> String {
    match result {
        Err(Error::Config { message }) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn bad_endpoints_are_refused_at_construction() {
    for (endpoint, says) in [
        ("http://10.0.0.1:8443", "only speaks https"),
        ("10.0.0.1:8443/storage", "path"),
        ("10.0.0.1", "no port"),
        ("", "empty"),
        (":8443", "no host"),
    ] {
        let message = config_message(Client::new(endpoint, "token", any_pin()));
        assert!(message.contains(says), "{endpoint:?}: {message}");
    }
}

#[test]
fn an_empty_token_is_refused() {
    let message = config_message(Client::new("10.0.0.1:8443", "", any_pin()));
    assert!(message.contains("token is empty"), "{message}");
}

#[test]
fn a_fingerprint_that_is_not_a_sha256_is_refused() {
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    let message = config_message(Client::new("10.0.0.1:8443", "token", sha1));
    assert!(message.contains("40 hex digits"), "{message}");
    let message = config_message(
        Client::builder("10.0.0.1:8443", "token", any_pin())
            .also_pin("not hex")
            .build(),
    );
    assert!(message.contains("pinned fingerprint #2"), "{message}");
}

#[test]
fn a_zero_timeout_is_refused() {
    let result = Client::builder("10.0.0.1:8443", "token", any_pin())
        .timeout(Duration::ZERO)
        .build();
    assert!(config_message(result).contains("timeouts"));
}

#[test]
fn the_https_prefix_is_accepted_and_the_endpoint_normalized() {
    let agent = agent();
    let with_scheme = format!("https://{}", agent.endpoint());
    let client = Client::new(&with_scheme, agent.token(), agent.pin().to_string()).unwrap();
    assert_eq!(client.endpoint(), agent.endpoint());
    client.storage().unwrap();
}

#[test]
fn numeric_hosts_that_are_not_ip_addresses_are_refused() {
    // getaddrinfo reads these as IPv4 addresses (inet_aton: octal, hex, fewer parts):
    // 127.0.0.010 is 127.0.0.8, not 127.0.0.10.
    for endpoint in [
        "127.0.0.010:8443",
        "2130706433:8443",
        "0x7f000001:8443",
        "127.1:8443",
        "0177.0.0.0x8:8443",
    ] {
        // Panics, showing what it got, unless this is a configuration error.
        config_message(Client::new(endpoint, "token", any_pin()));
    }
}

#[test]
fn the_builder_takes_a_fingerprint_as_well_as_text() {
    let agent = agent();
    let pin = agent.pin();
    let other = Fingerprint::of_der(b"the next certificate");
    let client = Client::builder(&agent.endpoint(), agent.token(), pin)
        .also_pin(other)
        .also_pin(other.to_colon_hex())
        .build()
        .unwrap();
    assert_eq!(client.pins(), [pin, other]);
    client.storage().unwrap();
    Client::new(&agent.endpoint(), agent.token(), pin)
        .unwrap()
        .storage()
        .unwrap();
}
