#![cfg(all(feature = "cli", feature = "devagent"))]
//! `felhom-agentctl check` and `metrics --format prometheus`, spawned as a monitoring system or
//! a cron job would, over real TLS against the stand-in agent's metric profiles.

mod check;
mod exposition;
mod harness;
mod prometheus;
