//! `felhom-agentctl`: the Felhom host agent's guest API from the shell.
//!
//! A thin layer over the `felhom_agentapi` library, which makes every connection and owns the
//! configuration rules (`Settings`, reached through `connect`). Every flag is declared in
//! `args` (clap's errors are worded in `usage`); `main` parses, then [`dispatch`] sends each
//! subcommand to the file named after it: `fingerprint` (with `fingerprint/save.rs` for
//! `--save`), `check` (with `check/plugin.rs`, the plugin's output), `metrics` (the Prometheus
//! format), `generate` and `manpage`, `backup_run` (`backup run` and `backup wait`, with their
//! `hooks`, `hook_wait`, `lock`, `marker`, `signals` and `record`), `leftover` (`backup thaw`).
//! The other subcommands make one library call, printed by `output`. Failures are printed by
//! `report`, with the exit status from `exit`; every line on standard error goes through `say`,
//! which cannot panic and speaks the journal's priorities.
//! `felhom-agentctl --help` is the user's documentation.

// The doc comments in `args` are --help text written for a terminal (`[IPV6]:PORT`,
// `uuid:<UUID>`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]
// `print!` and friends panic when the stream is gone: a panic would skip `backup run`'s thaw.
// Write through `say` or a `Write` whose error is handled.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// A binary exports nothing: `pub(crate)` says so, and keeps a module's real interface (what it
// leaves private) visible at a glance.
#![deny(unreachable_pub)]

mod args;
mod backup_run;
mod backup_series;
mod check;
mod connect;
mod exit;
mod fingerprint;
mod generate;
mod hardening;
mod hook_wait;
mod hooks;
mod leftover;
mod lock;
mod manpage;
mod marker;
mod metrics;
mod output;
mod record;
mod report;
mod runtime_dir;
mod safe_write;
mod say;
mod signals;
mod usage;
mod verbose;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::FromArgMatches;
use felhom_agentapi::Client;

use args::{BackupCommand, Cli, Command, DiskCommand, ErrorFormat};
use exit::Failure;
use output::{Answer, Assigned, Initialized, Mode};

fn main() -> ExitCode {
    // The token may be in this process's environment or memory: not dumpable, its
    // /proc/PID/{environ,fd,mem} are root's, not readable by a hook running as the same user,
    // and a crash leaves no core file holding it. Best effort (only Linux has it).
    let _ = nix::sys::prctl::set_dumpable(false);
    let argv: Vec<OsString> = std::env::args_os().collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let cli = match parse(&argv) {
        Ok(Parsed::Run(cli)) => {
            // Before anything of this process's own is open; `--token-fd` until it is read, if
            // this subcommand reads it at all.
            let token_fd = cli.token.token_fd.filter(|_| cli.command.reads_token());
            hardening::close_inherited_descriptors(token_fd);
            cli
        }
        // A monitoring plugin's every run prints a status line, usage errors included.
        Err(Failure::Usage(message)) if check_requested(&argv) => {
            return check::usage_error(&message);
        }
        Ok(Parsed::Print(text)) => {
            // --help and --version.
            let _ = out.write_all(text.as_bytes());
            return ExitCode::from(exit::SUCCESS);
        }
        Err(failure) => {
            let code = report::report(
                &failure,
                Mode::Json { pretty: false },
                error_format_in(&argv),
                &mut out,
                &mut io::stderr(),
            );
            return ExitCode::from(code);
        }
    };
    dispatch(&cli, &mut out)
}

/// Whether the command line clap refused asks for `check`: parsed again leniently, which
/// finds the subcommand wherever the global options put it.
fn check_requested(argv: &[OsString]) -> bool {
    match args::command()
        .ignore_errors(true)
        .try_get_matches_from(argv)
    {
        Ok(m) if m.subcommand_name().is_some() => m.subcommand_name() == Some("check"),
        // Arguments clap cannot place even so (`--bogus check`): a plugin's command line is
        // written by a monitoring system, where any word "check" means the plugin was meant.
        _ => argv.iter().skip(1).any(|a| a == "check"),
    }
}

enum Parsed {
    Run(Box<Cli>),
    Print(String),
}

fn parse(argv: &[OsString]) -> Result<Parsed, Failure> {
    // `--token VALUE` is refused before anything else, and is no clap option: completions
    // would offer it otherwise (clap_complete lists hidden options too).
    let token_flag = |a: &OsString| {
        a.to_str()
            .is_some_and(|a| a == "--token" || a.starts_with("--token="))
    };
    if argv.iter().skip(1).any(token_flag) {
        return Err(Failure::Usage(connect::token_flag_refusal()));
    }
    let matches = match args::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => return usage::from_clap(e).map(Parsed::Print),
    };
    // Token options given to a subcommand that reads no token land in its hidden local copies.
    if let Some((name, sub)) = matches.subcommand()
        && args::NO_TOKEN.contains(&name)
    {
        for (id, long, _) in args::TOKEN_FLAGS {
            if sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                return Err(Failure::Usage(format!(
                    "'{name}' reads no token: drop --{long}"
                )));
            }
        }
    }
    let cli = Cli::from_arg_matches(&matches).map_err(|e| match usage::from_clap(e) {
        Ok(text) => Failure::Usage(text),
        Err(failure) => failure,
    })?;
    Ok(Parsed::Run(Box::new(cli)))
}

/// `--error-format` as given, for a command line clap could not parse.
fn error_format_in(argv: &[OsString]) -> ErrorFormat {
    let mut json = false;
    for (i, arg) in argv.iter().enumerate() {
        match arg.to_str() {
            Some("--error-format=json") => json = true,
            Some("--error-format") => {
                json = argv.get(i + 1).and_then(|v| v.to_str()) == Some("json");
            }
            Some(a) if a.starts_with("--error-format=") => json = false,
            _ => {}
        }
    }
    if json {
        ErrorFormat::Json
    } else {
        ErrorFormat::Text
    }
}

/// The one dispatch: every subcommand to the code that runs it. Those that print as they go
/// (`check`, Prometheus metrics, `backup run`, `wait` and `thaw`) return their own exit status;
/// the others give an answer to print, or the failure to report.
fn dispatch(cli: &Cli, out: &mut dyn Write) -> ExitCode {
    let mode = cli.output.mode(io::stdout().is_terminal());
    let connect = || connect::connect(cli);
    let notes = !cli.output.quiet && cli.output.error_format == ErrorFormat::Text;
    let answer = match &cli.command {
        Command::Check(_) if cli.output.human || cli.output.json || cli.output.pretty => {
            // A monitoring plugin's output has one format, which monitoring systems parse.
            return check::usage_error(
                "check prints a monitoring plugin's output, which has one format: drop --human, \
                 --json and --pretty",
            );
        }
        Command::Check(args) => return check::main(args, connect),
        Command::Metrics(args) if args.is_prometheus() => {
            return metrics::main(args, cli.output.error_format, connect);
        }
        Command::Backup(BackupCommand::Run(a)) => {
            return ExitCode::from(backup_run::run(cli, a, mode));
        }
        Command::Backup(BackupCommand::Wait(a)) => {
            return ExitCode::from(backup_run::wait(cli, a, mode));
        }
        Command::Backup(BackupCommand::Thaw(a)) => {
            return ExitCode::from(leftover::main(cli, a));
        }
        Command::Generate(g) if g.dir.is_some() && g.what != args::Generated::Man => {
            Err(Failure::Usage(
                "generate: --dir is for 'man' only; completions go to standard output".into(),
            ))
        }
        Command::Generate(g) => generate::generate(g.what, g.dir.as_deref(), out).map(|()| None),
        Command::Completions(c) => generate::generate(c.shell.into(), None, out).map(|()| None),
        Command::Man(m) => {
            generate::generate(args::Generated::Man, m.dir.as_deref(), out).map(|()| None)
        }
        // Needs neither a pin nor a token, and must not read one.
        Command::Fingerprint(args) => {
            connect::settings(cli).and_then(|s| fingerprint::run(&s, args, notes).map(Some))
        }
        Command::Metrics(args) => args
            .check_json()
            .and_then(|()| Ok(Some(Answer::Metrics(connect()?.host_metrics()?)))),
        Command::Storage => connect().and_then(|c| Ok(Some(Answer::Storage(c.storage()?)))),
        Command::Disks => connect().and_then(|c| Ok(Some(Answer::Disks(c.disks()?)))),
        Command::Backup(BackupCommand::Due) => {
            connect().and_then(|c| Ok(Some(Answer::Due(c.backup_due()?))))
        }
        Command::Backup(BackupCommand::Start) => {
            connect().and_then(|c| Ok(Some(Answer::Started(c.start_backup()?))))
        }
        Command::Backup(BackupCommand::Status) => {
            connect().and_then(|c| Ok(Some(Answer::Status(c.backup_status()?))))
        }
        Command::Disk(command) => connect().and_then(|c| disk(&c, command, notes).map(Some)),
    };
    let printed = answer.and_then(|answer| match answer {
        None => Ok(()),
        Some(answer) => output::print(out, mode, &answer)
            .and_then(|()| out.flush())
            .or_else(report::ignore_broken_pipe)
            .map_err(Failure::Output),
    });
    match printed {
        Ok(()) => ExitCode::from(exit::SUCCESS),
        Err(failure) => ExitCode::from(report::report(
            &failure,
            mode,
            cli.output.error_format,
            out,
            &mut io::stderr(),
        )),
    }
}

/// `disk assign`, `eject`, `format` and `init`.
fn disk(client: &Client, command: &DiskCommand, notes: bool) -> Result<Answer, Failure> {
    Ok(match command {
        DiskCommand::Assign(a) => {
            client.assign_disk(&a.uuid, &a.where_, &a.fstype, &a.options)?;
            Answer::Assigned(Assigned {
                assigned: true,
                uuid: a.uuid.clone(),
                where_: a.where_.clone(),
                fstype: a.fstype.clone(),
                options: a.options.clone(),
            })
        }
        DiskCommand::Eject(a) => Answer::Ejected(client.eject_disk(&a.where_)?),
        DiskCommand::Format(a) => Answer::Formatted(client.format_disk(&a.device, &a.fstype)?),
        DiskCommand::Init(a) => {
            if notes {
                note(&format!(
                    "formatting {}, then mounting its new filesystem at {}",
                    a.device, a.where_
                ));
            }
            let done = client.init_disk(&a.device, &a.where_, &a.fstype, &a.options)?;
            Answer::Initialized(Initialized {
                formatted: done.formatted,
                uuid: done.uuid,
                where_: done.where_,
                assigned: true,
            })
        }
    })
}

/// A note for whoever watches standard error; `-q` silences notes.
fn note(text: &str) {
    say::note(&output::clean(text));
}
