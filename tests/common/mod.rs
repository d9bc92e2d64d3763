//! Helpers shared by the test binaries that talk to the stand-in agent.
//!
//! A module, not a test target: Cargo builds only `tests/*.rs` and `tests/*/main.rs` as test
//! binaries. A binary at the top of `tests/` includes it with `mod common;`, one in a folder
//! with `#[path = "../common/mod.rs"] mod common;`.
#![allow(dead_code, reason = "each test binary uses only some of these")]

use felhom_agentapi::devagent::DevAgent;
use felhom_agentapi::{Client, ClientBuilder, Fingerprint};

/// A stand-in agent with default settings.
pub fn agent() -> DevAgent {
    DevAgent::start().expect("the stand-in agent starts")
}

/// A builder for a client of `agent`, pinned to its certificate.
pub fn builder(agent: &DevAgent) -> ClientBuilder {
    Client::builder(&agent.endpoint(), agent.token(), agent.fingerprint())
}

/// A client of `agent` with default settings.
pub fn client(agent: &DevAgent) -> Client {
    builder(agent)
        .build()
        .expect("a valid client configuration")
}

/// A well-formed pin that no server in the tests presents.
pub fn any_pin() -> String {
    Fingerprint::of_der(b"no certificate will ever be presented").to_string()
}
