//! From the configuration to a client: the endpoint, the pins, the time limits and the token.

use felhom_agentapi::Client;

use crate::args::{Cli, ConnectionArgs};
use crate::exit::Failure;
use crate::token;

/// The configured endpoint; every subcommand needs one.
pub fn endpoint(conn: &ConnectionArgs) -> Result<&str, Failure> {
    conn.endpoint.as_deref().ok_or_else(|| {
        Failure::Usage(
            "no endpoint: give the agent's HOST:PORT with --endpoint or FELHOM_AGENT_ENDPOINT"
                .to_string(),
        )
    })
}

/// A client for the configured agent, with the token read by the rules in `token`.
pub fn connect(cli: &Cli) -> Result<Client, Failure> {
    token::refuse_flag(&cli.token).map_err(Failure::Usage)?;
    let endpoint = endpoint(&cli.connection)?;
    let token = token::read(&cli.token).map_err(Failure::Usage)?;
    client(endpoint, &cli.connection, &token)
}

/// A client pinned to every configured fingerprint.
pub fn client(endpoint: &str, conn: &ConnectionArgs, token: &str) -> Result<Client, Failure> {
    let Some((first, rest)) = conn.fingerprint.split_first() else {
        return Err(Failure::Usage(
            "no fingerprint: give the agent's certificate SHA-256 with --fingerprint or \
             FELHOM_AGENT_FINGERPRINT (learn it with 'felhom-agentctl fingerprint')"
                .to_string(),
        ));
    };
    let mut builder = Client::builder(endpoint, token, *first);
    for pin in rest {
        builder = builder.also_pin(*pin);
    }
    if let Some(t) = conn.timeout {
        builder = builder.timeout(t);
    }
    if let Some(t) = conn.connect_timeout {
        builder = builder.connect_timeout(t);
    }
    Ok(builder.build()?)
}
