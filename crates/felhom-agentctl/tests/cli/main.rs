//! `felhom-agentctl` driven as a user would: the built binary, over real TLS, against the
//! stand-in agent. Every invocation also checks that the token appears neither in the arguments
//! nor in anything the tool prints ([`harness`]).
//!
//! One test binary with a module per group of subcommands, so the suite links once. Each exit
//! status is tested where its cause lives: 1 in `failures` (and `disk`, `token`), 2 in `usage`,
//! `settings`, `token` and `fingerprint`, 3 in `disk`, 4 in `fingerprint`, 5 in `failures`, 6,
//! 7, 9, 10 and 129/130/143 in `backup_run`, 7 to 9 also in `errors`, which checks the README's
//! exit-status table row by row. `check` (the monitoring plugin) has its own 0 to 3, all in
//! `check`; `prometheus` covers `metrics --format prometheus`, whose output `exposition`
//! validates; `contrib` checks the shipped systemd units and hooks. Issue 10's operator
//! features: `config` (settings file, pins files, token sources, -v/-q), `errors`, `disk_init`,
//! `packaging` (completions, man page, help), `devserver` (the stand-in agent's dev server,
//! `crates/felhom-devagent`). Issue 15's "always thaw", case by case and by fault injection:
//! `thaw_signals`, `thaw_marker` (SIGKILL, `backup thaw`), `thaw_faults` (stderr gone, hostile
//! job ids, strace), `thaw_stuck` (a hook stuck in the kernel), sharing `frozen`; the progress
//! wording of `backup run` is in `backup_run_wording`.

mod bounded;
mod common;
mod harness;

mod backup;
mod backup_freshness;
mod backup_run;
mod backup_run_wording;
mod before_sending;
mod check;
mod check_output;
mod config;
mod contrib;
mod devserver;
mod disk;
mod disk_init;
mod errors;
mod example_settings;
mod exposition;
mod failures;
mod fingerprint;
mod frozen;
mod habits;
mod hook_trust;
mod invisible;
mod journal;
mod local_trust;
mod man_pages;
mod marker_trust;
mod monitoring_tools;
mod output;
mod packaging;
mod plugin_output;
mod prometheus;
mod reads;
mod settings;
mod terminal_output;
mod thaw_faults;
mod thaw_marker;
mod thaw_signals;
mod thaw_stuck;
mod token;
mod usage;
