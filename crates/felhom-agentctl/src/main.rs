//! `felhom-agentctl`: the Felhom host agent's guest API from the shell.
//!
//! A thin layer over the `felhom_agentapi` library, which makes every connection and owns the
//! configuration rules (`Settings`, reached through `connect`): this binary parses arguments
//! (`args`, in clap's errors `usage`), makes one library call, and prints the answer
//! (`output`) or the failure (`report`) with its exit status (`exit`). The `fingerprint`
//! subcommand is in `probe` and `pins_save`, the monitoring plugin in `check` and `plugin`,
//! `metrics --format prometheus` in `prometheus`, `-v` in `verbose`, completions and the man
//! page in `generate`; `backup run` and `backup wait` are in `backup_run`, with their `hooks`
//! (`hook_wait` for their processes), `lock` and `signals`; the thaw marker is `marker`, and
//! `backup thaw` (what a killed run left frozen) is `leftover`. Notes on standard error go
//! through `say`, which cannot panic.
//! `felhom-agentctl --help` is the user's documentation.

// The doc comments in `args` are --help text written for a terminal (`[IPV6]:PORT`,
// `uuid:<UUID>`), not rustdoc markup.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]
// `print!` and friends panic when the stream is gone: a panic would skip `backup run`'s thaw.
// Write through `say` or a `Write` whose error is handled.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod backup_run;
mod backup_series;
mod check;
mod connect;
mod exit;
mod generate;
mod hardening;
mod hook_wait;
mod hooks;
mod leftover;
mod lock;
mod manpage;
mod marker;
mod output;
mod pins_save;
mod plugin;
mod probe;
mod prometheus;
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
use felhom_agentapi::Settings;

use args::{BackupCommand, Cli, Command, DiskCommand, ErrorFormat, FingerprintArgs};
use exit::Failure;
use output::{Answer, Assigned, Initialized, Mode, Presented};

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
            // Before anything of this process's own is open; `--token-fd` until it is read.
            hardening::close_inherited_descriptors(cli.token.token_fd);
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
    match &cli.command {
        Command::Check(_) if cli.output.human || cli.output.json || cli.output.pretty => {
            // A monitoring plugin's output has one format, which monitoring systems parse.
            return check::usage_error(
                "check prints a monitoring plugin's output, which has one format: drop --human, \
                 --json and --pretty",
            );
        }
        Command::Check(args) => return check::main(args, || connect::connect(&cli)),
        Command::Metrics(args) if args.is_prometheus() => {
            return prometheus::main(args, cli.output.error_format, || connect::connect(&cli));
        }
        _ => {}
    }
    let mode = cli.output.mode(io::stdout().is_terminal());
    // They print as they go, and exit with statuses of their own.
    match &cli.command {
        Command::Backup(BackupCommand::Run(a)) => {
            return ExitCode::from(backup_run::run(&cli, a, mode));
        }
        Command::Backup(BackupCommand::Wait(a)) => {
            return ExitCode::from(backup_run::wait(&cli, a, mode));
        }
        Command::Backup(BackupCommand::Thaw(a)) => {
            return ExitCode::from(leftover::main(&cli, a));
        }
        _ => {}
    }
    let printed = run(&cli, &mut out).and_then(|answer| match answer {
        None => Ok(()),
        Some(answer) => output::print(&mut out, mode, &answer)
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
            &mut out,
            &mut io::stderr(),
        )),
    }
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

/// Checks the configuration, makes the call, and returns the answer to print (`None` when the
/// subcommand printed its own output).
fn run(cli: &Cli, out: &mut dyn Write) -> Result<Option<Answer>, Failure> {
    match &cli.command {
        Command::Generate(g) => {
            if g.dir.is_some() && g.what != args::Generated::Man {
                return Err(Failure::Usage(
                    "generate: --dir is for 'man' only; completions go to standard output".into(),
                ));
            }
            generate::generate(g.what, g.dir.as_deref(), out)?;
            return Ok(None);
        }
        Command::Completions(c) => {
            generate::generate(c.shell.into(), None, out)?;
            return Ok(None);
        }
        Command::Man(m) => {
            generate::generate(args::Generated::Man, m.dir.as_deref(), out)?;
            return Ok(None);
        }
        _ => {}
    }
    let settings = connect::settings(cli)?;
    let notes = !cli.output.quiet && cli.output.error_format == ErrorFormat::Text;
    // Built on demand: `fingerprint` needs neither a pin nor a token, and must not read one.
    let client = || connect::client(cli, &settings);
    let answer = match &cli.command {
        Command::Generate(_) | Command::Completions(_) | Command::Man(_) => return Ok(None),
        Command::Fingerprint(args) => fingerprint(&settings, args, notes)?,
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
        Command::Backup(
            BackupCommand::Run(_) | BackupCommand::Wait(_) | BackupCommand::Thaw(_),
        ) => {
            return Err(Failure::Internal(
                "backup run, wait and thaw are handled on their own".to_string(),
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
        Command::Disk(DiskCommand::Init(a)) => {
            let client = client()?;
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
    };
    Ok(Some(answer))
}

/// `fingerprint [--expect FP]... [--save FILE [--force]]`: the presented certificate, if it is
/// one of those expected; saved to a pins file if asked.
fn fingerprint(
    settings: &Settings,
    args: &FingerprintArgs,
    notes: bool,
) -> Result<Answer, Failure> {
    let endpoint = settings.require_endpoint()?;
    let presented = probe::presented(endpoint, settings.timeout(), settings.connect_timeout())?;
    if !args.expect.is_empty() && !args.expect.contains(&presented) {
        return Err(Failure::UnexpectedFingerprint {
            endpoint: endpoint.to_string(),
            presented,
            expected: args.expect.clone(),
        });
    }
    let mut answer = Presented::new(endpoint, presented);
    if let Some(path) = &args.save {
        let saved = pins_save::save(path, presented, endpoint, args.force)?;
        if notes {
            let shown = path.display();
            note(&match saved {
                pins_save::Saved::Written => format!("saved the pin to {shown}"),
                pins_save::Saved::AlreadyThere => {
                    format!("{shown} already holds this pin; left it as it is")
                }
            });
        }
        answer.saved = Some(path.display().to_string());
    }
    Ok(Answer::Fingerprint(answer))
}

/// A note for whoever watches standard error; `-q` silences notes.
fn note(text: &str) {
    say::note(&output::clean(text));
}
