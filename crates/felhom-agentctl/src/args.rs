//! The command line, declared with clap's derive API.
//!
//! Options that configure the connection, the token and the output are `global`, so they are
//! accepted before or after the subcommand. None of them is `required` at the clap level (clap
//! cannot require a global option), and none reads the environment here: the library's
//! `Settings` layers flags over the environment and the settings file, and names the variable
//! a bad value came from. Each global option has a one-line help, so a subcommand's `--help`
//! shows its own options in full and the global ones once, compactly; the details are in the
//! top-level `--help`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use felhom_agentapi::Fingerprint;
use felhom_agentapi::health::{Measure, Unit};

use crate::exit::Failure;
use crate::output::Mode;

const ABOUT: &str =
    "Talk to the Felhom host agent from a guest: storage, backups, disks, host health.";

const LONG_ABOUT: &str = "\
Talk to the Felhom host agent from a guest: storage, backups, disks, host health.

Each subcommand makes one call (two or more for 'backup run') to the agent's local API over TLS,
trusting the agent only if the SHA-256 of its certificate equals a pinned fingerprint. On success
the answer is printed on standard output as one line of JSON, ready for jq, or as a summary for
people when standard output is a terminal (--json and --human choose either).

Connection settings come from flags or the environment; flags win. The endpoint and at least one
fingerprint are needed by every subcommand but 'fingerprint', which is how to learn the pin in
the first place.";

/// The exit-status-3 example, shared by the top-level `--help` and `disk format --help`. A macro,
/// because `concat!` takes only literals.
macro_rules! format_example {
    () => {
        "    felhom-agentctl disk format --device /dev/sdb > format.json
    status=$?
    case $status in
        0) echo \"formatted\" ;;
        3) echo \"an operator must run: $(jq -r .opsign_command format.json)\" ;;
        *) echo \"format failed with status $status\" >&2; exit 1 ;;
    esac"
    };
}

const AFTER_HELP: &str = "\
Exit status: 0 ok, 1 agent error, 2 usage, 3 format refused, 4 pin mismatch, 5 unreachable,
6 backup failed, 7 busy, 8 token rejected, 9 gave up waiting, 10 hook failed, 129/130/143
interrupted ('check' has a monitoring plugin's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
Use --help for the settings, the token rules, the output and an example.";

const AFTER_LONG_HELP: &str = concat!(
    "\
SETTINGS:
    Each setting comes from the first of: a flag; the environment variable named in its help;
    the settings file (--config FILE or FELHOM_AGENT_CONFIG), in systemd's EnvironmentFile=
    syntax with the same variable names as keys, so one file configures a unit and this tool:

        # /etc/felhom/agent.env
        FELHOM_AGENT_ENDPOINT=10.0.0.1:8443
        FELHOM_AGENT_FINGERPRINT_FILE=/etc/felhom/agent.pins
        FELHOM_AGENT_TOKEN_FILE=/etc/felhom/agent.token
        FELHOM_AGENT_TIMEOUT=30s

    A variable that is set but empty is an error, as is an unknown FELHOM_AGENT_ key in the
    file. Settings, pins and token files (and hooks) are trusted as sshd's StrictModes:
    regular files owned by root or this user, writable by no one else, under directories
    only root or this user can change (sticky ones excepted); links followed only when
    root or this user made them. In a unit, set FELHOM_AGENT_CONFIG rather than
    EnvironmentFile=, which systemd reads without these checks. Pins: --fingerprint (repeatable,
    or comma-separated) and --fingerprint-file (one pin per line, # comments); the pins of one
    layer replace those below it. Durations: 30 (seconds), 500ms, 1.5s, 1h30m, 2 min, 10d.

TOKEN:
    The bearer token is never taken from the command line, where every user of the machine can
    read it (ps, /proc). It is read from the first of:

      1. --token-stdin (the first line of standard input), --token-fd N (file descriptor N,
         read to its end), --token-file PATH.
      2. FELHOM_AGENT_TOKEN_FILE, then FELHOM_AGENT_TOKEN.
      3. The systemd credential $CREDENTIALS_DIRECTORY/felhom-agent-token
         (LoadCredential=felhom-agent-token:/etc/felhom/agent.token in the unit).
      4. FELHOM_AGENT_TOKEN_FILE in the settings file (a token itself is refused there).

    One trailing newline is removed. A token file others may read, or anyone but its owner may
    write, is refused: chmod 600, or 640 for a root-owned file the service's group reads. An
    empty token is an error. 'fingerprint' needs no token and reads none.

OUTPUT:
    Success prints the agent's answer as one line of JSON on standard output when it is not a
    terminal (a pipe, a file, the journal); --pretty indents it. 'disk assign' prints
    {\"assigned\":true,\"uuid\":...,\"where\":...,\"fstype\":...,\"options\":...}, as the agent
    answers nothing for it. On a terminal, a summary for people is printed instead, for every
    output including refusals and failed backups; --json (or --pretty) prints JSON there too,
    and --human the summary anywhere. The summary's layout may change between versions, so
    scripts should read the JSON.

    Errors are printed on standard error as 'felhom-agentctl: <message>'; with
    --error-format json, as one line of JSON instead: {\"kind\", \"call\", \"message\",
    \"http_status\", \"may_have_reached_agent\", \"exit\"}. The token is never printed, and
    control characters are shown escaped. -v adds the TLS handshake (version, cipher suite,
    certificate) and each call's timing on standard error; -q drops notes and progress there.

EXIT STATUS:
    'check' is a monitoring plugin and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (see
    'check --help'). Every other subcommand:

    0  Success.
    1  The agent answered with an error: an HTTP error status, 'ok: false', or an answer that
       could not be decoded or was too large. Also: 'disk init' formatted the device but could
       not assign it (standard output says how to finish), or the answer could not be written
       to standard output (a closed pipe is not an error).
    2  Usage or configuration error: bad arguments, a missing or malformed endpoint,
       fingerprint, settings file or pins file, a missing, empty or unsafe token.
    3  'disk format' or 'disk init' was refused because the device holds data; nothing was
       assigned. Standard output carries the refusal as JSON: {\"result\": {...},
       \"pending_op\": {...} or null, \"opsign_command\": \"...\" or null}.
    4  The agent's certificate matches no pinned fingerprint (nothing was sent), or
       'fingerprint --expect' did not match, or 'fingerprint --save' would replace another pin.
    5  The agent could not be reached: connection refused, TLS handshake failed, the connection
       broke, or a call's time limit ran out.
    6  'backup run', 'backup wait': the backup job failed. Standard output carries the job's
       last status as JSON, whose \"error\" says why.
    7  'backup run': busy. A backup job is already running (none was started and no hook ran,
       or, for a 409 after the hooks froze, they were thawed), or another 'backup run' holds
       the lock (nothing was done). Any subcommand: the agent answered HTTP 409 (busy).
    8  The agent rejected the token (HTTP 401).
    9  'backup run', 'backup wait': gave up waiting (--give-up-after); the job is still
       running at the agent: follow it with 'backup wait'.
    10 'backup run': a hook failed. A failed freeze hook (--pre, or one in --hooks-dir) means
       no backup was started; a failed thaw hook means the application may still be quiesced,
       even if the backup itself succeeded (the JSON says so). After a failed thaw hook, 10
       takes precedence over every other status, a signal's included.
    129, 130, 143
       'backup run', 'backup wait': interrupted by SIGHUP, SIGINT or SIGTERM; any other
       signal that would end the tool gives 128 + its number too (131 SIGQUIT, 138 SIGUSR1).
       The thaw hooks ran first; a job already started goes on at the agent.

EXAMPLE:
    A format that may need an operator's signature:

",
    format_example!(),
    "

    Trust on first use, then pin (stop if the agent cannot be asked):

    felhom-agentctl --endpoint 10.0.0.1:8443 fingerprint --save /etc/felhom/agent.pins || exit
    export FELHOM_AGENT_FINGERPRINT_FILE=/etc/felhom/agent.pins",
);

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "felhom-agentctl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub token: TokenArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The command line as clap sees it: [`Cli`], with the token options hidden from the
/// subcommands that read no token. Parsing, completions and the man page all start here.
pub(crate) fn command() -> clap::Command {
    let mut command = Cli::command();
    for name in NO_TOKEN {
        command = command.mut_subcommand(name, |sub| {
            // A hidden local option of the same id keeps clap from propagating the global one
            // into this subcommand's help; `main` refuses it if it is given anyway.
            TOKEN_FLAGS
                .iter()
                .fold(sub, |sub, (id, long, takes_value)| {
                    let arg = clap::Arg::new(*id).long(*long).hide(true);
                    sub.arg(if *takes_value {
                        arg.num_args(1)
                    } else {
                        arg.action(clap::ArgAction::SetTrue)
                    })
                })
        });
    }
    command
}

/// The subcommands that read no token.
pub(crate) const NO_TOKEN: [&str; 4] = ["fingerprint", "generate", "completions", "man"];

/// The token options: clap id, long name, whether it takes a value. (`--token VALUE` is not
/// one: `main` refuses it before clap parses anything, so that no completion offers it.)
pub(crate) const TOKEN_FLAGS: [(&str, &str, bool); 3] = [
    ("token_file", "token-file", true),
    ("token_fd", "token-fd", true),
    ("token_stdin", "token-stdin", false),
];

// Doc comments below are hand-wrapped and `verbatim_doc_comment`, because clap wraps help text
// only with its `wrap_help` feature, which this crate does not enable.

/// Where the agent is and how to recognize it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct ConnectionArgs {
    /// Read settings from this file (systemd EnvironmentFile= syntax) [env: FELHOM_AGENT_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The agent's HOST:PORT or [IPV6]:PORT [env: FELHOM_AGENT_ENDPOINT]
    #[arg(long, global = true, value_name = "HOST:PORT")]
    pub endpoint: Option<String>,

    /// The SHA-256 of the agent's certificate; repeat to pin several [env: FELHOM_AGENT_FINGERPRINT]
    #[arg(long, global = true, value_name = "SHA256", value_delimiter = ',')]
    pub fingerprint: Vec<String>,

    /// Pins from this file, one per line [env: FELHOM_AGENT_FINGERPRINT_FILE]
    #[arg(long, global = true, value_name = "FILE")]
    pub fingerprint_file: Option<PathBuf>,

    /// Time limit of each call [default: 15s] [env: FELHOM_AGENT_TIMEOUT]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        value_parser = parse_positive_duration,
        allow_hyphen_values = true
    )]
    pub timeout: Option<Duration>,

    /// Time limit of connect plus TLS handshake [default: 5s] [env: FELHOM_AGENT_CONNECT_TIMEOUT]
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        value_parser = parse_positive_duration,
        allow_hyphen_values = true
    )]
    pub connect_timeout: Option<Duration>,
}

/// Where the token comes from. See the TOKEN section of the long help for the precedence.
#[derive(Debug, Args)]
#[command(next_help_heading = "Token")]
pub(crate) struct TokenArgs {
    /// Read the token from this private file [env: FELHOM_AGENT_TOKEN_FILE]
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Read the token from this open file descriptor
    #[arg(long, global = true, value_name = "N")]
    pub token_fd: Option<u32>,

    /// Read the token from the first line of standard input
    #[arg(long, global = true)]
    pub token_stdin: bool,
}

/// How to print the answer, and how much to say on standard error.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub(crate) struct OutputArgs {
    /// Indent the JSON output (JSON even on a terminal)
    #[arg(long, global = true)]
    pub pretty: bool,

    /// Print JSON even on a terminal (the default when standard output is not one)
    #[arg(long, global = true, conflicts_with = "human")]
    pub json: bool,

    /// Print a summary for people (the default when standard output is a terminal)
    #[arg(long, global = true, conflicts_with = "pretty")]
    pub human: bool,

    /// Show the TLS handshake and each call's timing on standard error (-vv: the same)
    #[arg(short, long, global = true, conflicts_with = "quiet", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No notes or progress on standard error (errors still)
    ///
    /// 'backup run' and 'backup wait' still print the started job's id and notes about
    /// retried polls: a script needs them to follow the job.
    #[arg(short, long, global = true, verbatim_doc_comment)]
    pub quiet: bool,

    /// Errors as text, or as one line of JSON
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    pub error_format: ErrorFormat,
}

impl OutputArgs {
    /// How to print answers: as asked, or else a summary for people on a terminal and JSON
    /// for programs (a pipe, a file, the journal), as gh and docker do.
    pub(crate) fn mode(&self, stdout_is_terminal: bool) -> Mode {
        if self.human || (stdout_is_terminal && !self.json && !self.pretty) {
            Mode::Human
        } else {
            Mode::Json {
                pretty: self.pretty,
            }
        }
    }
}

/// `--error-format`: `felhom-agentctl: <message>`, or one line of JSON. (No doc comments on
/// the values: clap would list them in a paragraph under every subcommand's `--help`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ErrorFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show this guest's storage mounts (GET /storage)
    ///
    /// Also the cheapest way to check that the endpoint, the pin and the token work.
    #[command(verbatim_doc_comment)]
    Storage,

    /// List the host drives the agent manages (GET /disks)
    ///
    /// Each drive says whether it holds data ("data_bearing"). A "durable_id" of the form
    /// uuid:<UUID> gives the UUID that 'disk assign --uuid' takes.
    #[command(verbatim_doc_comment)]
    Disks,

    /// Show the host's health and its storage capacity (GET /host/metrics)
    ///
    /// As JSON, or with --format prometheus in the Prometheus text format, for node_exporter's
    /// textfile collector (--output FILE writes the file atomically). The Prometheus output
    /// always has felhom_agent_up: 0 when the agent could not be asked, with the usual exit
    /// status.
    #[command(verbatim_doc_comment)]
    Metrics(MetricsArgs),

    /// Judge the host's health as a monitoring plugin (Nagios, Icinga, Checkmk, Zabbix)
    ///
    /// Asks GET /host/metrics and prints one status line, 'FELHOM OK - ...', then a line per
    /// finding, then performance data after '|'. Exit status: 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN. Anything that prevents a verdict (bad arguments, no token, the agent
    /// unreachable, a timeout, a pin mismatch, an answer that cannot be read) is UNKNOWN,
    /// never CRITICAL.
    ///
    /// Default thresholds (warning/critical): thin-pool-data and thin-pool-metadata 80/90%,
    /// storage-used 80/90%, memory 90/95%, root-disk 80/90%, nvme-wear 80/100%,
    /// disk-temperature 60/70 C, cpu-temperature 80/90 C. A storage target that is not
    /// reachable, or whose SMART health is FAILING, is CRITICAL.
    #[command(verbatim_doc_comment)]
    Check(CheckArgs),

    /// Ask for, start and follow backups of this guest.
    #[command(subcommand)]
    Backup(BackupCommand),

    /// Assign, eject, format and initialize host drives.
    #[command(subcommand)]
    Disk(DiskCommand),

    /// Print the fingerprint of the agent's certificate, to pin it
    ///
    /// Makes a TLS handshake and nothing more: no token is needed, none is read and none is
    /// sent, and the connection is closed before any request. Prints
    ///
    ///     {"endpoint": "...", "sha256": "<64 hex digits>", "sha256_colon": "AB:CD:..."}
    ///
    /// This is the trust-on-first-use step: compare the fingerprint with the one the host's
    /// operator sees (Proxmox shows the colon form), then pin it: --save FILE writes it to a
    /// pins file for --fingerprint-file.
    ///
    /// With --expect, it checks instead: exit status 0 when the agent presents one of the
    /// expected certificates, 4 when it does not (nothing is printed on standard output then,
    /// and standard error shows both fingerprints).
    #[command(verbatim_doc_comment)]
    Fingerprint(FingerprintArgs),

    /// Print shell completions or the man page, generated from these definitions
    ///
    ///     felhom-agentctl generate bash > /usr/share/bash-completion/completions/felhom-agentctl
    ///     felhom-agentctl generate zsh  > /usr/share/zsh/site-functions/_felhom-agentctl
    ///     felhom-agentctl generate fish > /usr/share/fish/vendor_completions.d/felhom-agentctl.fish
    ///     felhom-agentctl generate man  > /usr/share/man/man1/felhom-agentctl.1
    #[command(verbatim_doc_comment)]
    Generate(GenerateArgs),

    /// Print shell completions: the same as 'generate SHELL'
    ///
    ///     felhom-agentctl completions bash > /usr/share/bash-completion/completions/felhom-agentctl
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),

    /// Print the man page, or write every page with --dir: the same as 'generate man'
    Man(ManArgs),
}

impl Command {
    /// Whether the subcommand reads a token: those of [`NO_TOKEN`] and `backup thaw` (which
    /// finds its lock and marker without one) never do, so a `--token-fd` given to them is
    /// closed at once rather than handed to the thaw hooks.
    pub(crate) fn reads_token(&self) -> bool {
        !matches!(
            self,
            Command::Fingerprint(_)
                | Command::Generate(_)
                | Command::Completions(_)
                | Command::Man(_)
                | Command::Backup(BackupCommand::Thaw(_))
        )
    }
}

/// `completions SHELL`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// `completions`'s argument: the shells of `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompletionShell {
    /// bash completions
    Bash,
    /// zsh completions
    Zsh,
    /// fish completions
    Fish,
}

impl From<CompletionShell> for Generated {
    fn from(shell: CompletionShell) -> Generated {
        match shell {
            CompletionShell::Bash => Generated::Bash,
            CompletionShell::Zsh => Generated::Zsh,
            CompletionShell::Fish => Generated::Fish,
        }
    }
}

/// `man [--dir DIR]`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write every page (felhom-agentctl.1 and one per subcommand) into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BackupCommand {
    /// Ask whether a scheduled backup is due: the signal to quiesce (GET /backup/due).
    Due,

    /// Start a backup of this guest and print the job to follow (POST /backup)
    ///
    /// Exit status 7 when a backup is already running. Not idempotent: after exit status 1,
    /// or 5 with "may have reached the agent" in the message, the agent may have started the
    /// job anyway. Check 'backup status' before starting another.
    #[command(verbatim_doc_comment)]
    Start,

    /// Show this guest's current or last backup job (GET /backup/status)
    ///
    /// A failed job is still a successful answer (exit status 0), with "phase": "failed".
    #[command(verbatim_doc_comment)]
    Status,

    /// Quiesce the application, back up, wait, and always thaw; print the final status
    ///
    /// In order: take the lock (--lock); with --if-due, ask GET /backup/due and stop (exit 0,
    /// printing the agent's answer) if no backup is due; check that no backup job is running
    /// (exit 7 if one is, before any hook runs); freeze: run --pre, then each hook of
    /// --hooks-dir with the argument 'freeze'; start the backup (POST /backup) and print the
    /// job id on standard error; poll its status every --poll; thaw: run the --hooks-dir hooks
    /// with 'thaw' in reverse order, then --post.
    ///
    /// The thaw runs exactly once on every path: the job done or failed, --give-up-after, an
    /// error, a failed freeze hook (then no backup is started), and every signal that would
    /// end the tool (SIGINT, SIGTERM, SIGHUP, SIGQUIT, ...; one ignored at start, as under
    /// nohup, stays ignored): a signal during a freeze hook stops it (SIGTERM to its process
    /// group, SIGKILL 2 s later) and no further freeze hook runs. After a signal the thaw
    /// takes at most 120 s in all. A run killed outright (SIGKILL) leaves a marker next to the
    /// lock, <lock>.frozen: 'backup thaw', or the next 'backup run' before anything else, runs
    /// the thaw it lists. It
    /// runs early, while the wait goes on, once --thaw-after has passed since the freeze began.
    ///
    /// Hooks run with standard output sent to standard error, no standard input, and without
    /// FELHOM_AGENT_TOKEN or FELHOM_AGENT_TOKEN_FILE. They get FELHOM_BACKUP_PHASE: 'freeze', then for the thaw the
    /// outcome: 'done', 'failed', 'gave-up', 'interrupted', 'error', or 'running' for an early
    /// thaw; and FELHOM_BACKUP_JOB_ID once a job exists. In --hooks-dir, every executable
    /// regular file runs, in byte order of names; hidden files and *~, *.bak, *.orig,
    /// *.sample, *.dpkg-* and *.rpm* are skipped (a file without execute bits, with a note).
    /// A directory that does not exist is a usage error: create it, empty, for no hooks.
    ///
    /// A poll that fails transiently (connect, time-out, dropped connection, HTTP 502-504) is
    /// tried again at the next poll, with a note on standard error; three in a row, or any
    /// other failure, end the wait: thaw, then exit with that error's status.
    ///
    /// Standard output: the job's final status as JSON, with how the run ended, on every
    /// outcome that has a job:
    ///
    ///     {"vmid":..,"phase":"done","job_id":"..","error":"","stopped":"done",
    ///      "thaw":{"phase":"done","early":false,"ok":true,"at_ms":..,"quiesced_ms":..},
    ///      "elapsed_ms":..}
    ///
    /// Exit status: 0 done (and thawed); 6 failed; 7 busy; 8 token rejected; 9 gave up; 10 a
    /// hook failed; 128 + the signal's number interrupted (129/130/143 for HUP/INT/TERM);
    /// otherwise that of the error.
    #[command(verbatim_doc_comment)]
    Run(BackupRunArgs),

    /// Wait for the backup job that is running now, without starting one or running hooks
    ///
    /// Re-attaches to a job, for instance one an interrupted 'backup run' left behind. A job
    /// that has already ended is answered at once. Prints the final status as 'backup run'
    /// does ("thaw" is null). Exit status: 0 done; 6 failed; 9 gave up; 1 when the agent
    /// reports no job at all; 129/130/143 interrupted.
    #[command(verbatim_doc_comment)]
    Wait(BackupWaitArgs),

    /// Run, once, the thaw a 'backup run' that never finished left behind
    ///
    /// Before its first freeze hook, 'backup run' records what it freezes in a marker next to
    /// its lock file (<lock>.frozen), and removes it once the thaw has run. A run that was
    /// killed (SIGKILL, the OOM killer, systemd's stop timeout) or that crashed leaves it
    /// behind. This runs the thaw hooks it lists (the --hooks-dir hooks that began to freeze,
    /// with 'thaw', in reverse order, then --post; FELHOM_BACKUP_PHASE=interrupted), then
    /// removes it. With no marker it does nothing. It takes the lock first. 'backup run' does
    /// the same before anything else; the shipped unit runs it as ExecStopPost=.
    ///
    /// Exit status: 0 thawed, or nothing to thaw; 7 a run holds the lock (it thaws itself);
    /// 10 a thaw hook failed (the marker is removed all the same: the thaw ran once) or the
    /// marker cannot be read.
    #[command(verbatim_doc_comment)]
    Thaw(BackupThawArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BackupThawArgs {
    /// The lock file of the 'backup run' to thaw after (its --lock); the marker is next to it
    ///
    /// [default: as 'backup run']
    #[arg(long, value_name = "FILE", verbatim_doc_comment)]
    pub lock: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct BackupWaitArgs {
    /// How often to ask for the job's status.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = parse_positive_duration,
        allow_hyphen_values = true
    )]
    pub poll: Duration,

    /// Stop waiting after this long (the job goes on; exit status 9).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2h",
        value_parser = parse_positive_duration,
        allow_hyphen_values = true
    )]
    pub give_up_after: Duration,
}

#[derive(Debug, Args)]
pub(crate) struct BackupRunArgs {
    #[command(flatten)]
    pub wait: BackupWaitArgs,

    /// Thaw after this long even if the job goes on (the quiesce window)
    ///
    /// Counted from the start of the freeze. The wait continues, and the final JSON says
    /// "early": true. A freeze that takes the whole window starts no backup (exit 10).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10m",
        value_parser = parse_positive_duration,
        allow_hyphen_values = true,
        verbatim_doc_comment
    )]
    pub thaw_after: Duration,

    /// A command to freeze with, run by '/bin/sh -c' before the --hooks-dir hooks.
    #[arg(long, value_name = "CMD")]
    pub pre: Option<String>,

    /// A command to thaw with, run by '/bin/sh -c' after the --hooks-dir hooks; it always runs.
    #[arg(long, value_name = "CMD")]
    pub post: Option<String>,

    /// A directory of hooks, each called with 'freeze', then 'thaw' (like fsfreeze-hook.d)
    ///
    /// The directory, each hook, a link's target and every directory above them must belong
    /// to root or this user and be writable by no one else (as sshd's StrictModes); if one
    /// is not, nothing runs and the tool exits 2, naming it. Hooks get no
    /// FELHOM_AGENT_TOKEN* and no CREDENTIALS_DIRECTORY, and no descriptor but 0, 1 and 2.
    #[arg(long, value_name = "DIR", verbatim_doc_comment)]
    pub hooks_dir: Option<PathBuf>,

    /// How long each hook may run; one that overruns is stopped and counts as failed
    ///
    /// Its process group gets SIGTERM, then SIGKILL 5 s later. A freeze hook that overran is
    /// thawed like any failed one; no backup is started.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5m",
        value_parser = parse_positive_duration,
        allow_hyphen_values = true,
        verbatim_doc_comment
    )]
    pub hook_timeout: Duration,

    /// Do nothing unless the agent says a backup is due (GET /backup/due).
    #[arg(long)]
    pub if_due: bool,

    /// The lock file held for the whole run; a second run exits at once with status 7
    ///
    /// [default: felhom-agentctl-backup-<endpoint>.lock in a directory no other user can
    /// write: for root $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=), else
    /// /run/felhom-agentctl; for other users $XDG_RUNTIME_DIR, else a private directory in
    /// the temporary directory]
    #[arg(long, value_name = "FILE", verbatim_doc_comment)]
    pub lock: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DiskCommand {
    /// Mount a drive on the host by its filesystem UUID (POST /disks/assign)
    ///
    /// The agent answers nothing but success, so the request is printed back:
    ///
    ///     {"assigned": true, "uuid": "...", "where": "...", "fstype": "...", "options": "..."}
    #[command(verbatim_doc_comment)]
    Assign(AssignArgs),

    /// Unmount a host mount safely; the data stays (POST /disks/eject)
    ///
    /// Prints the guests that depended on the mount, in "dependent_guests".
    #[command(verbatim_doc_comment)]
    Eject(EjectArgs),

    /// Format a blank device (POST /disks/format)
    ///
    /// The agent, not this tool, decides whether the device holds data. A blank device is
    /// formatted. A device that holds data is refused with exit status 3, and standard output
    /// carries the refusal:
    ///
    ///     {"result": {...}, "pending_op": {...} or null, "opsign_command": "..." or null}
    ///
    /// An operator must then authorize the wipe, offline, by running the opsign command.
    #[command(
        verbatim_doc_comment,
        after_long_help = concat!("Example:\n\n", format_example!())
    )]
    Format(FormatArgs),

    /// Format a blank device and mount it: format, find its UUID, assign
    ///
    /// Does what the Felhom controller's guided init does: POST /disks/format, then GET /disks
    /// to find the new filesystem's UUID for the device, then POST /disks/assign at --where.
    /// Prints {"formatted": {...}, "uuid": "...", "where": "...", "assigned": true}.
    ///
    /// A device that holds data stops at the refusal: exit status 3, as 'disk format', and
    /// nothing is assigned. A format whose UUID cannot be found, or whose assign fails, exits
    /// with 1 and prints {"formatted", "uuid" (or null), "assigned": false, "assign_command"}:
    /// the 'felhom-agentctl disk assign' command that finishes the job by hand.
    #[command(verbatim_doc_comment)]
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AssignArgs {
    /// The filesystem UUID: a drive's "durable_id" from 'disks' (its "uuid:" prefix may stay).
    #[arg(long, value_name = "UUID", value_parser = parse_uuid)]
    pub uuid: String,

    /// Where to mount it on the host.
    #[arg(long = "where", value_name = "PATH")]
    pub where_: String,

    /// The filesystem type; empty lets the agent detect it.
    #[arg(long, value_name = "TYPE", default_value = "")]
    pub fstype: String,

    /// Mount options; empty means the agent's defaults.
    #[arg(long, value_name = "OPTIONS", default_value = "")]
    pub options: String,
}

#[derive(Debug, Args)]
pub(crate) struct EjectArgs {
    /// The host mount path to unmount.
    #[arg(long = "where", value_name = "PATH")]
    pub where_: String,
}

#[derive(Debug, Args)]
pub(crate) struct FormatArgs {
    /// The block device to format, e.g. /dev/sdc.
    #[arg(long, value_name = "DEV")]
    pub device: String,

    /// The filesystem to create.
    #[arg(long, value_name = "TYPE", default_value = "ext4")]
    pub fstype: String,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The blank block device to format, e.g. /dev/sdc.
    #[arg(long, value_name = "DEV")]
    pub device: String,

    /// Where to mount it on the host.
    #[arg(long = "where", value_name = "PATH")]
    pub where_: String,

    /// The filesystem to create.
    #[arg(long, value_name = "TYPE", default_value = "ext4")]
    pub fstype: String,

    /// Mount options; empty means the agent's defaults.
    #[arg(long, value_name = "OPTIONS", default_value = "")]
    pub options: String,
}

#[derive(Debug, Args)]
pub(crate) struct FingerprintArgs {
    /// Succeed only if the agent presents this certificate; repeat to accept several.
    #[arg(long, value_name = "SHA256", value_parser = parse_fingerprint)]
    pub expect: Vec<Fingerprint>,

    /// Write the presented fingerprint to this pins file (atomically)
    ///
    /// Refused, with exit status 4, if the file holds other pins and not this one: the agent's
    /// certificate changed, or this is not the agent. Give --force to replace it.
    #[arg(long, value_name = "FILE", verbatim_doc_comment)]
    pub save: Option<PathBuf>,

    /// With --save: replace a pins file that holds other pins.
    #[arg(long, requires = "save")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// What to print.
    #[arg(value_enum)]
    pub what: Generated,

    /// With 'man': write every page (felhom-agentctl.1 and one per subcommand, such as
    /// felhom-agentctl-backup-run.1) into this directory instead of the main page to stdout.
    #[arg(long, value_name = "DIR", verbatim_doc_comment)]
    pub dir: Option<PathBuf>,
}

/// `generate`'s argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Generated {
    /// bash completions
    Bash,
    /// zsh completions
    Zsh,
    /// fish completions
    Fish,
    /// the man page, in roff
    Man,
}

fn parse_fingerprint(s: &str) -> Result<Fingerprint, String> {
    s.parse::<Fingerprint>().map_err(|e| e.to_string())
}

/// A filesystem UUID as `disks` shows it in `durable_id` (`uuid:3f1c…`) or bare: the agent
/// takes it bare.
fn parse_uuid(s: &str) -> Result<String, String> {
    let bare = s.strip_prefix("uuid:").unwrap_or(s);
    if bare.is_empty() {
        return Err("the UUID is empty".into());
    }
    Ok(bare.to_string())
}

fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    match felhom_agentapi::settings::parse_duration(s).map_err(|e| e.to_string())? {
        d if d.is_zero() => Err("must be longer than zero".to_string()),
        d => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        command().debug_assert();
    }
}

/// `check`'s own options.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Warning threshold of a measure, e.g. thin-pool-data=85; repeatable
    ///
    /// Measures: thin-pool-data, thin-pool-metadata, storage-used, memory, root-disk,
    /// nvme-wear (percent), disk-temperature, cpu-temperature (degrees C) and, with --backup,
    /// backup-age (a duration: 26h, 1d12h, or seconds; defaults 26h and 50h). A value at or
    /// above the threshold triggers it.
    #[arg(
        long = "warn",
        value_name = "MEASURE=N",
        value_parser = parse_threshold,
        verbatim_doc_comment
    )]
    pub warn: Vec<(Measure, f64)>,

    /// Critical threshold of a measure, e.g. thin-pool-data=95; repeatable.
    #[arg(long = "crit", value_name = "MEASURE=N", value_parser = parse_threshold)]
    pub crit: Vec<(Measure, f64)>,

    /// Leave this storage target out of the check; repeatable.
    #[arg(long, value_name = "NAME")]
    pub ignore: Vec<String>,

    /// Also judge this guest's backups: the age of the last success in its own record
    /// (backup-age; none recorded: WARNING), the agent's last job (failed: WARNING), and
    /// whether a backup is due (a note).
    #[arg(long, verbatim_doc_comment)]
    pub backup: bool,

    /// The state of an lvmthin storage target whose thin pool the agent does not measure.
    #[arg(long, value_name = "STATE", value_enum, default_value_t = Unmeasured::Warning)]
    pub unmeasured: Unmeasured,

    /// Where backup run keeps its record of the last backups (for --backup)
    ///
    /// Default: $STATE_DIRECTORY, otherwise /var/lib/felhom-agentctl for root and
    /// $XDG_STATE_HOME/felhom-agentctl for other users. A check that runs as another user
    /// than the backups (nagios) needs it: --state-dir /var/lib/felhom-agentctl.
    #[arg(long, value_name = "DIR", verbatim_doc_comment)]
    pub state_dir: Option<PathBuf>,
}

/// `--unmeasured`: what a thin pool nobody measures counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Unmeasured {
    /// Listed, but never raises the verdict.
    Ok,
    /// WARNING (the default).
    Warning,
    /// CRITICAL.
    Critical,
}

/// `MEASURE=N`.
fn parse_threshold(s: &str) -> Result<(Measure, f64), String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected MEASURE=N, like memory=85, not {s:?}"))?;
    let measure: Measure = name.trim().parse().map_err(|e| format!("{e}"))?;
    if measure.unit() == Unit::Seconds {
        let age = felhom_agentapi::settings::parse_duration(value)
            .map_err(|e| format!("{measure}: {e}"))?;
        return Ok((measure, age.as_secs_f64()));
    }
    let value: f64 = value
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("{measure}: {value:?} is not a number"))?;
    Ok((measure, value))
}

/// `metrics`'s own options.
#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// The output format: the agent's JSON, or the Prometheus text format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,

    /// With --format prometheus: write this file atomically instead of standard output
    ///
    /// For node_exporter's textfile collector: the text goes to a temporary file in the same
    /// directory, which then replaces FILE (mode 0644, so the exporter can read it). If the
    /// agent cannot be asked, FILE still gets a document saying felhom_agent_up 0.
    #[arg(long, value_name = "FILE", verbatim_doc_comment)]
    pub output: Option<PathBuf>,

    /// With --format prometheus: where backup run keeps its record of the last backups
    ///
    /// Default: $STATE_DIRECTORY, otherwise /var/lib/felhom-agentctl for root and
    /// $XDG_STATE_HOME/felhom-agentctl for other users.
    #[arg(long, value_name = "DIR", verbatim_doc_comment)]
    pub state_dir: Option<PathBuf>,
}

/// What `metrics` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// The agent's answer as JSON.
    Json,
    /// The Prometheus text exposition format.
    Prometheus,
}

impl MetricsArgs {
    /// Whether this module handles the run (the JSON answer goes through `output`).
    pub(crate) fn is_prometheus(&self) -> bool {
        self.format == Format::Prometheus
    }

    /// `--output` writes only the Prometheus format.
    pub(crate) fn check_json(&self) -> Result<(), Failure> {
        let flag = match (&self.output, &self.state_dir) {
            (Some(_), _) => "--output writes",
            (None, Some(_)) => "--state-dir is for",
            (None, None) => return Ok(()),
        };
        Err(Failure::Usage(format!(
            "{flag} the Prometheus text format: add --format prometheus"
        )))
    }
}
