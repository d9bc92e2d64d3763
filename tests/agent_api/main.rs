//! The client against the stand-in agent, over real TLS on 127.0.0.1.
//!
//! One test binary with a module per concern, so the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod backup;
mod backup_run;
mod bootstrap;
mod cap;
mod certificates;
mod closing;
mod config;
mod connections;
mod disk_init;
mod endpoints;
mod format;
mod limits;
mod local_files;
mod pool;
mod refusals;
mod reuse;
mod secrets;
mod servers;
mod tokens;
mod trust;

use felhom_devagent::Fault;

pub use common::{Pinned, agent, any_pin, builder, client};

/// A fault that answers with `status` and `body`.
pub fn answer(status: u16, body: serde_json::Value) -> Fault {
    Fault::Answer {
        status,
        body: body.to_string(),
    }
}
