//! From the command line to a client, through the library's `Settings`: the flags are its top
//! layer, over the environment and the settings file.

use std::sync::Arc;

use felhom_agentapi::settings::{Overrides, TokenSource, vars};
use felhom_agentapi::{Client, Observer, Settings};

use crate::args::Cli;
use crate::exit::Failure;
use crate::verbose::Verbose;

/// The message that refuses `--token VALUE`, for every subcommand: whoever typed it should
/// learn that the token is now exposed. The value is never repeated.
pub(crate) fn token_flag_refusal() -> String {
    "--token is not accepted: a token on the command line can be read by every user of this \
     machine, so treat that token as exposed. Pass tokens with --token-file, --token-fd, \
     --token-stdin, FELHOM_AGENT_TOKEN_FILE, FELHOM_AGENT_TOKEN or a systemd credential"
        .to_string()
}

/// The settings of the command line, the environment and the settings file.
pub(crate) fn settings(cli: &Cli) -> Result<Settings, Failure> {
    Ok(Settings::load(&overrides(cli))?)
}

/// Closes the `--token-fd` descriptor once the token is read: it was handed over for the token
/// alone, and an open descriptor is inherited by every program the tool starts (the hooks of
/// `backup run`), which could read the token from it. Standard input, output and error stay.
fn close_token_fd(fd: u32) {
    if let Ok(fd) = i32::try_from(fd)
        && fd > 2
    {
        // EBADF only: nothing is open there any more.
        let _ = nix::unistd::close(fd);
    }
}

/// The `-v` observer, when asked for.
fn observer(cli: &Cli) -> Option<Arc<dyn Observer>> {
    (cli.output.verbose > 0).then(|| Arc::new(Verbose) as Arc<dyn Observer>)
}

/// A client for the configured agent: endpoint, pins, time limits and token from `settings`,
/// and the `-v` observer if asked for.
pub(crate) fn client(cli: &Cli, settings: &Settings) -> Result<Client, Failure> {
    // The token is read here, and only here.
    let built = settings.client_builder();
    if cli.output.verbose > 0
        && let Some(source) = settings.token_source()
    {
        // Where, never what: with several sources, the one that won is not always obvious.
        let from = match source {
            // The tool takes a bare value only from the environment.
            TokenSource::Value(_) => vars::TOKEN.to_string(),
            other => crate::output::clean(&other.to_string()),
        };
        crate::say::note(&format!("token from {from}"));
    }
    if let Some(fd) = cli.token.token_fd {
        close_token_fd(fd);
    }
    let builder = match observer(cli) {
        Some(o) => built?.observer(o),
        None => built?,
    };
    Ok(builder.build()?)
}

/// [`settings`] and [`client`] in one step, for `check` and `metrics --format prometheus`.
pub(crate) fn connect(cli: &Cli) -> Result<Client, Failure> {
    client(cli, &settings(cli)?)
}

/// The flags, as the library's top settings layer.
fn overrides(cli: &Cli) -> Overrides {
    let conn = &cli.connection;
    let t = &cli.token;
    let mut o = Overrides::default();
    o.config = conn.config.clone();
    o.endpoint = conn.endpoint.clone();
    o.fingerprints = conn.fingerprint.clone();
    o.fingerprint_file = conn.fingerprint_file.clone();
    o.timeout = conn.timeout;
    o.connect_timeout = conn.connect_timeout;
    o.token = if t.token_stdin {
        Some(TokenSource::Stdin)
    } else if let Some(fd) = t.token_fd {
        Some(TokenSource::Fd(fd))
    } else {
        t.token_file.clone().map(TokenSource::File)
    };
    o
}
