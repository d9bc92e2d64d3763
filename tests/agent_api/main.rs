//! The client against the stand-in agent, over real TLS on 127.0.0.1.
//!
//! One test binary with a module per concern, so the suite links once.
#![cfg(feature = "devagent")]

mod answers;
mod backup;
mod config;
mod connections;
mod endpoints;
mod format;
mod limits;
mod pool;
mod secrets;
mod trust;

use felhom_agentapi::devagent::DevAgent;
use felhom_agentapi::{Client, ClientBuilder};

/// A stand-in agent with default settings.
pub fn agent() -> DevAgent {
    DevAgent::start().expect("the stand-in agent starts")
}

/// A builder for a client of `agent`, pinned to its certificate.
pub fn builder(agent: &DevAgent) -> ClientBuilder {
    Client::builder(
        &agent.endpoint(),
        agent.token(),
        &agent.fingerprint().to_string(),
    )
}

/// A client of `agent` with default settings.
pub fn client(agent: &DevAgent) -> Client {
    builder(agent)
        .build()
        .expect("a valid client configuration")
}
