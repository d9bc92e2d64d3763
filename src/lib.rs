//! A blocking client for the Felhom host agent's per-guest local API, trusting the agent only by
//! the SHA-256 pin of its certificate.
//!
//! ```
//! # let agent = felhom_devagent::DevAgent::start()?;
//! # let (endpoint, token, pin) = (agent.endpoint(), agent.token().to_string(), agent.fingerprint().to_string());
//! use felhom_agentapi::{Client, Error};
//!
//! // The endpoint, the per-guest token and the pin come from the guest's bootstrap config.
//! let client = Client::new(&endpoint, &token, &pin)?;
//!
//! let due = client.backup_due()?;
//! if due.due {
//!     // Quiesce the application, then back up and wait for the job.
//!     let status = client.run_backup(
//!         std::time::Duration::from_millis(10),
//!         std::time::Duration::from_secs(60),
//!     )?;
//!     println!("backup {} is {}", status.job_id, status.phase);
//! }
//!
//! // A data-bearing drive is never formatted from a guest: the refusal says who must sign what.
//! if let Err(Error::FormatRefused(refusal)) = client.format_disk("/dev/sdb", "ext4") {
//!     println!("operator, please run: {}", refusal.opsign_command().unwrap());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it is
//!
//! A Felhom host agent runs on a Proxmox host and serves each guest a local HTTPS API over the
//! bridge: storage mounts, app-consistent backups, disk management and host health. This crate
//! is the guest's side: a [`Client`] with one plain, blocking method per endpoint, safe to share
//! between threads, with no async runtime. It is wire-compatible with the agent's Go reference
//! client, field for field.
//!
//! A daemon or a unit configured like `felhom-agentctl` takes its client from the same
//! settings (`FELHOM_AGENT_*`, a settings file, a systemd credential), with the same errors:
//!
//! ```no_run
//! let client = felhom_agentapi::Settings::from_env()?.client()?;
//! println!("{} mounts", client.storage()?.mounts.len());
//! # Ok::<(), felhom_agentapi::Error>(())
//! ```
//!
//! # Where things are
//!
//! - The root: the [`Client`] and its [`ClientBuilder`], the [`Error`] every call returns,
//!   [`Fingerprint`] pins, [`BackupRun`] and its report, [`DiskInit`], [`Settings`].
//! - [`wire`]: the answers, field for field as the agent sends them ([`wire::StatusResponse`],
//!   [`wire::BackupPhase`], …).
//! - [`settings`]: how [`Settings`] reads the environment and files, for programs that add
//!   their own flags ([`settings::Overrides`]) or read durations and pins files the same way.
//! - [`health`], [`prometheus`] and [`backup_record`]: judging and exporting the host's health
//!   and the guest's backups; [`local_trust`]: opening files that decide trust as sshd would;
//!   [`terminal`]: making the agent's text safe to print.
//!
//! # Security model
//!
//! - **The pin is the trust anchor.** The agent serves a self-signed certificate. The client
//!   accepts a server only when the SHA-256 of its leaf certificate's DER bytes equals a pinned
//!   [`Fingerprint`]; no certificate authority, host name or expiry date is consulted, and no
//!   other certificate in the chain can stand in for the leaf. The TLS handshake signature is
//!   still verified, so a server that merely copied the agent's public certificate is refused.
//!   TLS 1.2 is the oldest version spoken.
//! - **The token goes to the agent and nowhere else.** Only `https` URLs to the configured
//!   endpoint are built; redirects are never followed; proxy variables in the environment are
//!   ignored. The token is redacted from every `Debug` output, and any agent text that echoes it
//!   is scrubbed before it reaches an [`Error`].
//! - **A refusal never reads as success.** [`Client::format_disk`] succeeds only on an explicit
//!   "formatted"; a refusal is [`Error::FormatRefused`] even when its body is unreadable.
//! - **Bounded.** Every call has a time limit (15 s, connect plus handshake 5 s by default) and
//!   reads at most 1 MiB.
//!
//! # App-consistent backups
//!
//! [`Client::backup_run`] quiesces the application, backs up and thaws, and calls the thaw step
//! exactly once on every path, cancellation and panics included; see [`BackupRun`].
//! [`Client::wait_backup`] re-attaches to a job that is already running.
//!
//! # Errors and retries
//!
//! Every failure is an [`Error`] naming the [`Call`] it belongs to (`GET /storage`). A
//! non-idempotent call (every POST, such as [`Client::start_backup`]) is never sent twice, and
//! always goes out on a fresh connection, so it never meets a connection the agent closed as
//! idle; a GET that meets one is sent once more on a fresh connection, and nothing else is
//! retried. [`Error::may_have_reached_agent`] tells whether a failed POST may be repeated safely.
//!
//! # Host health
//!
//! [`health`] judges [`Client::host_metrics`] against thresholds, the way a monitoring plugin
//! does ([`wire::HostMetricsResponse::assess`]); [`prometheus`] writes the same answer in the
//! Prometheus text format.
//! [`backup_record`] keeps the guest's own record of its last backup attempt and success
//! (the agent's status has no time), so that [`health::backup_age`] can judge how old the last
//! good backup is.
//!
//! # Features
//!
//! - `durations` (off by default): durations in settings files and the environment as Go and
//!   systemd write them (`1h30m`, `1.5s`, `2 min`), read by [`Settings`]; without it, time
//!   limits there are whole seconds.
//!
//! The `felhom-agentctl` command-line tool and the stand-in agent are crates of their own in
//! the same workspace; neither adds anything to this crate's dependencies.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Layers, lowest first. Each module uses only modules listed above it, so imports run one way;
// lib.rs is the top: it declares the modules and re-exports the public types, and no module
// uses it. A folder (`health/`, `error/`) is one module. The `layering` test checks this list
// against the code: a new module gets a line here, below everything it uses (a line that
// starts with spaces goes on with the line above).
//
//   call           -
//   cancel         -
//   certificate    -
//   fingerprint    -
//   redact         -
//   replace_file   -
//   shell          -
//   terminal       -
//   endpoint       terminal
//   observe        call fingerprint
//   pin            certificate fingerprint
//   wire           shell
//   local_trust    shell
//   backup_record  local_trust replace_file terminal
//   error          call fingerprint shell terminal wire
//   health         backup_record terminal wire
//   prometheus     backup_record terminal wire
//   transport      certificate fingerprint observe pin
//   answer         call error redact terminal wire
//   backup_report  error terminal wire
//   fuzzing        answer call error wire
//   request        answer call endpoint error fingerprint observe pin transport
//   first_use      call endpoint error fingerprint pin request transport
//   client         answer call endpoint error fingerprint observe redact request wire
//   backup_run     backup_report call cancel client error wire
//   disk_init      client error redact wire
//   settings       client endpoint error fingerprint local_trust replace_file shell terminal
//   lib.rs         backup_report backup_run call cancel client disk_init error
//                  fingerprint first_use observe settings

mod answer;
pub mod backup_record;
mod backup_report;
mod backup_run;
mod call;
mod cancel;
mod certificate;
mod client;
mod disk_init;
mod endpoint;
mod error;
mod fingerprint;
mod first_use;
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
pub mod health;
#[cfg(test)]
mod layering;
#[cfg(unix)]
pub mod local_trust;
mod observe;
mod pin;
pub mod prometheus;
#[cfg(test)]
mod proptests;
mod redact;
mod replace_file;
mod request;
pub mod settings;
mod shell;
pub mod terminal;
mod transport;
pub mod wire;

pub use backup_report::{
    BackupReport, BackupRunError, BackupRunFailure, HookError, Stopped, ThawCause, ThawReport,
};
pub use backup_run::{BackupRun, Progress, ProgressEvent, Thaw};
pub use call::Call;
pub use cancel::CancelToken;
pub use client::{Client, ClientBuilder};
pub use disk_init::DiskInit;
pub use error::{DiskInitIncomplete, Error, FormatRefused, TimeoutStage, WipeAuthorization};
pub use fingerprint::{Fingerprint, IntoPin, ParseFingerprintError};
pub use first_use::presented_fingerprint;
pub use observe::{CallTiming, Handshake, Observer};
pub use settings::Settings;
