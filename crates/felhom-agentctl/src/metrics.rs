//! `metrics --format prometheus [--output FILE]`: `GET /host/metrics` in the Prometheus text
//! format, on standard output or written atomically for node_exporter's textfile collector.
//!
//! A failed collection still produces a document, saying `felhom_agent_up 0`: written to the
//! file, it replaces the numbers of the last success, which the collector would otherwise
//! serve forever. The exit status still says what failed.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use felhom_agentapi::Client;

use crate::args::{ErrorFormat, MetricsArgs};
use crate::backup_series;
use crate::exit::{self, Failure};
use crate::output::Mode;
use crate::report;
use crate::safe_write;

/// Asks the agent, writes the exposition, and returns the exit status.
pub(crate) fn main(
    args: &MetricsArgs,
    format: ErrorFormat,
    connect: impl FnOnce() -> Result<Client, Failure>,
) -> ExitCode {
    let started = Instant::now();
    let (answer, client) = match connect() {
        Ok(client) => (client.host_metrics().map_err(Failure::from), Some(client)),
        Err(failure) => (Err(failure), None),
    };
    let elapsed = started.elapsed();
    // The backup series only beside numbers from the agent: with felhom_agent_up 0, nothing
    // else may look current.
    let backup = match (&client, &answer) {
        (Some(client), Ok(_)) => backup_series::collect(client, args.state_dir.as_deref()),
        _ => backup_series::Collected::default(),
    };
    let mut scrape = felhom_agentapi::prometheus::Scrape::new(answer.as_ref().ok(), elapsed)
        .build_info("felhom_agentctl", env!("CARGO_PKG_VERSION"));
    if let Some(client) = &client {
        scrape = scrape.agent(client.endpoint());
    }
    let text = backup.add_to(scrape).render();
    let written = match &args.output {
        Some(path) => safe_write::write_atomically(path, text.as_bytes()).map_err(|e| {
            format!(
                "could not write {}: {e}",
                crate::output::clean(&path.display().to_string())
            )
        }),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .or_else(report::ignore_broken_pipe)
                .map_err(|e| format!("could not write to standard output: {e}"))
        }
    };
    let mut stderr = io::stderr();
    for note in &backup.notes {
        crate::say::note(note);
    }
    if let Err(message) = &written {
        crate::say::error(message);
    }
    match answer {
        Err(failure) => {
            let mode = Mode::Json { pretty: false };
            ExitCode::from(report::report(
                &failure,
                mode,
                format,
                &mut io::sink(),
                &mut stderr,
            ))
        }
        Ok(_) if written.is_err() => ExitCode::from(exit::AGENT_ERROR),
        Ok(_) => ExitCode::from(exit::SUCCESS),
    }
}
