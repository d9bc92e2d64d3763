//! `felhom-agentctl`: the Felhom host agent's guest API from the shell.
//!
//! A thin layer over the `felhom_agentapi` library, which makes every connection: this binary
//! parses arguments (`args`), finds the token (`token`), makes one library call, and prints the
//! answer (`output`) or the failure with its exit status (`exit`). The `fingerprint` subcommand
//! is in `probe`; `backup run` and `backup wait` are in `backup_run`, with their `hooks`, `lock`
//! and `signals`. `felhom-agentctl --help` is the user's documentation.

// The doc comments in `args` are --help text written for a terminal (`[IPV6]:PORT`,
// `uuid:<UUID>`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod args;
mod backup_run;
mod check;
mod connect;
mod duration;
mod exit;
mod hooks;
mod lock;
mod output;
mod plugin;
mod probe;
mod prometheus;
mod signals;
mod token;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use felhom_agentapi::Fingerprint;

use args::{BackupCommand, Cli, Command, ConnectionArgs, DiskCommand};
use exit::Failure;
use output::{Answer, Assigned, Mode, Presented};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A monitoring plugin's every run prints a status line, usage errors included.
        Err(e) if e.use_stderr() && check_requested() => return check::usage_error(&e),
        Err(e) => {
            // --help and --version come this way too, with status 0; usage errors with 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(exit::USAGE));
        }
    };
    match &cli.command {
        Command::Check(args) => return check::main(args, || connect::connect(&cli)),
        Command::Metrics(args) if args.is_prometheus() => {
            return prometheus::main(args, || connect::connect(&cli));
        }
        _ => {}
    }
    let mode = if cli.output.human {
        Mode::Human
    } else {
        Mode::Json {
            pretty: cli.output.pretty,
        }
    };
    // They print as they go, and exit with statuses of their own.
    match &cli.command {
        Command::Backup(BackupCommand::Run(a)) => {
            return ExitCode::from(backup_run::run(&cli, a, mode));
        }
        Command::Backup(BackupCommand::Wait(a)) => {
            return ExitCode::from(backup_run::wait(&cli, a, mode));
        }
        _ => {}
    }
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

/// Whether the command line clap refused asks for `check`: parsed again leniently, which
/// finds the subcommand wherever the global options put it.
fn check_requested() -> bool {
    Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(std::env::args_os())
        .is_ok_and(|m| m.subcommand_name() == Some("check"))
}

/// Checks the configuration, makes the call, and returns the answer to print.
fn run(cli: &Cli) -> Result<Answer, Failure> {
    token::refuse_flag(&cli.token).map_err(Failure::Usage)?;
    let conn = &cli.connection;
    let endpoint = connect::endpoint(conn)?;

    // Built on demand: `fingerprint` needs neither a pin nor a token, and must not read one.
    let client = || {
        let token = token::read(&cli.token).map_err(Failure::Usage)?;
        connect::client(endpoint, conn, &token)
    };
    let answer = match &cli.command {
        Command::Fingerprint(args) => fingerprint(endpoint, conn, &args.expect)?,
        Command::Storage => Answer::Storage(client()?.storage()?),
        Command::Disks => Answer::Disks(client()?.disks()?),
        Command::Metrics(args) => {
            args.check_json()?;
            Answer::Metrics(client()?.host_metrics()?)
        }
        Command::Check(_) => {
            return Err(Failure::Internal(
                "check runs in its own module".to_string(),
            ));
        }
        Command::Backup(BackupCommand::Due) => Answer::Due(client()?.backup_due()?),
        Command::Backup(BackupCommand::Start) => Answer::Started(client()?.start_backup()?),
        Command::Backup(BackupCommand::Status) => Answer::Status(client()?.backup_status()?),
        Command::Backup(BackupCommand::Run(_) | BackupCommand::Wait(_)) => {
            return Err(Failure::Internal(
                "backup run and backup wait are handled on their own".to_string(),
            ));
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
