//! The client against the stand-in agent, over real TLS on 127.0.0.1.
//!
//! One test binary with a module per concern, so the suite links once.
#![cfg(feature = "devagent")]

#[path = "../common/mod.rs"]
mod common;

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

pub use common::{agent, any_pin, builder, client};
