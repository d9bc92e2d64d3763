#![cfg(all(feature = "cli", feature = "devagent"))]
//! `felhom-agentctl` as an operator runs it (issue 10): configuration for unattended use,
//! errors a script can act on, guided disk init, packaging, and the stand-in agent as a dev
//! server. Every test drives the built binary as a spawned process, over real TLS to a stand-in
//! agent on 127.0.0.1.

mod harness;

mod config;
mod devserver;
mod disk_init;
mod errors;
mod packaging;
