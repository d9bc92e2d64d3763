//! `felhom-agentctl`: the Felhom host agent's guest API from the shell.
//!
//! A thin layer over the `felhom_agentapi` library, which makes every connection: this binary
//! parses arguments (`args`), finds the token (`token`), makes one library call, and prints the
//! answer (`output`) or the failure with its exit status (`exit`). The `fingerprint` subcommand
//! is in `probe`. `felhom-agentctl --help` is the user's documentation.

// The doc comments in `args` are --help text written for a terminal (`[IPV6]:PORT`,
// `uuid:<UUID>`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod args;
mod duration;
mod exit;
mod output;
mod probe;
mod token;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use felhom_agentapi::{Client, Fingerprint};

use args::{BackupCommand, Cli, Command, ConnectionArgs, DiskCommand};
use exit::Failure;
use output::{Answer, Assigned, Mode, Presented};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version come this way too, with status 0; usage errors with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE));
        }
    };
    let mode = if cli.output.human {
        Mode::Human
    } else {
        Mode::Json {
            pretty: cli.output.pretty,
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let printed = run(&cli).and_then(|answer| {
        output::print(&mut out, mode, &answer)
            .and_then(|()| out.flush())
            .or_else(exit::ignore_broken_pipe)
            .map_err(Failure::Output)
    });
    match printed {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(failure) => ExitCode::from(exit::report(&failure, mode, &mut out, &mut io::stderr())),
    }
}

/// Checks the configuration, makes the call, and returns the answer to print.
fn run(cli: &Cli) -> Result<Answer, Failure> {
    token::refuse_flag(&cli.token).map_err(Failure::Usage)?;
    let conn = &cli.connection;
    let endpoint = conn.endpoint.as_deref().ok_or_else(|| {
        Failure::Usage(
            "no endpoint: give the agent's HOST:PORT with --endpoint or FELHOM_AGENT_ENDPOINT"
                .to_string(),
        )
    })?;

    // Built on demand: `fingerprint` needs neither a pin nor a token, and must not read one.
    let client = || {
        let token = token::read(&cli.token).map_err(Failure::Usage)?;
        client(endpoint, conn, &token)
    };
    let answer = match &cli.command {
        Command::Fingerprint(args) => fingerprint(endpoint, conn, &args.expect)?,
        Command::Storage => Answer::Storage(client()?.storage()?),
        Command::Disks => Answer::Disks(client()?.disks()?),
        Command::Metrics => Answer::Metrics(client()?.host_metrics()?),
        Command::Backup(BackupCommand::Due) => Answer::Due(client()?.backup_due()?),
        Command::Backup(BackupCommand::Start) => Answer::Started(client()?.start_backup()?),
        Command::Backup(BackupCommand::Status) => Answer::Status(client()?.backup_status()?),
        Command::Backup(BackupCommand::Run(a)) => {
            // The library would start the job, then give up before its first poll.
            if a.poll >= a.give_up_after {
                return Err(Failure::Usage(format!(
                    "--poll ({:?}) must be shorter than --give-up-after ({:?})",
                    a.poll, a.give_up_after
                )));
            }
            Answer::Status(client()?.run_backup(a.poll, a.give_up_after)?)
        }
        Command::Disk(DiskCommand::Assign(a)) => {
            client()?.assign_disk(&a.uuid, &a.where_, &a.fstype, &a.options)?;
            Answer::Assigned(Assigned {
                assigned: true,
                uuid: a.uuid.clone(),
                where_: a.where_.clone(),
                fstype: a.fstype.clone(),
                options: a.options.clone(),
            })
        }
        Command::Disk(DiskCommand::Eject(a)) => Answer::Ejected(client()?.eject_disk(&a.where_)?),
        Command::Disk(DiskCommand::Format(a)) => {
            Answer::Formatted(client()?.format_disk(&a.device, &a.fstype)?)
        }
    };
    Ok(answer)
}

/// `fingerprint [--expect FP]...`: the presented certificate, if it is one of those expected.
fn fingerprint(
    endpoint: &str,
    conn: &ConnectionArgs,
    expect: &[Fingerprint],
) -> Result<Answer, Failure> {
    let presented = probe::presented(endpoint, conn.timeout, conn.connect_timeout)?;
    if !expect.is_empty() && !expect.contains(&presented) {
        return Err(Failure::UnexpectedFingerprint {
            endpoint: endpoint.to_string(),
            presented,
            expected: expect.to_vec(),
        });
    }
    Ok(Answer::Fingerprint(Presented::new(endpoint, presented)))
}

/// A client pinned to every configured fingerprint.
fn client(endpoint: &str, conn: &ConnectionArgs, token: &str) -> Result<Client, Failure> {
    let Some((first, rest)) = conn.fingerprint.split_first() else {
        return Err(Failure::Usage(
            "no fingerprint: give the agent's certificate SHA-256 with --fingerprint or \
             FELHOM_AGENT_FINGERPRINT (learn it with 'felhom-agentctl fingerprint')"
                .to_string(),
        ));
    };
    let mut builder = Client::builder(endpoint, token, first.to_string());
    for pin in rest {
        builder = builder.also_pin(pin.to_string());
    }
    if let Some(t) = conn.timeout {
        builder = builder.timeout(t);
    }
    if let Some(t) = conn.connect_timeout {
        builder = builder.connect_timeout(t);
    }
    Ok(builder.build()?)
}
