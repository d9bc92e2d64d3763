//! Placeholder crate root; filled in below.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod fingerprint;

pub use fingerprint::{Fingerprint, ParseFingerprintError};

#[cfg(feature = "devagent")]
pub mod devagent;
