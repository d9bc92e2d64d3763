//! Connection settings: flags before or after the subcommand, the environment, and what is
//! missing.

use crate::common::agent;
use crate::harness::{Invocation, assert_nothing_sent, dead_endpoint};

#[test]
fn global_options_work_after_the_subcommand_and_from_the_environment() {
    let agent = agent();
    let after = Invocation::authed(&agent)
        .args(["backup", "due", "--endpoint", &agent.endpoint()])
        .args([
            "--fingerprint",
            &agent.fingerprint().to_colon_hex(),
            "--timeout",
            "30s",
        ])
        .args(["--connect-timeout", "2s"])
        .run()
        .status(0);
    assert_eq!(after.json()["due"], true);

    // A rotation: the environment pins an old and the current certificate.
    let pins = format!("{},{}", "ef".repeat(32), agent.fingerprint());
    let env = Invocation::authed(&agent)
        .env("FELHOM_AGENT_ENDPOINT", agent.endpoint())
        .env("FELHOM_AGENT_FINGERPRINT", pins)
        .env("FELHOM_AGENT_TIMEOUT", "500ms")
        .args(["storage"])
        .run()
        .status(0);
    assert_eq!(env.json()["vmid"], 101);

    // The flag wins over the environment.
    let out = Invocation::to(&agent)
        .env("FELHOM_AGENT_ENDPOINT", dead_endpoint())
        .args(["storage"])
        .run()
        .status(0);
    assert_eq!(out.json()["vmid"], 101);
}

#[test]
fn missing_settings_exit_2() {
    let agent = agent();
    let no_token = Invocation::bare()
        .args([
            "--endpoint",
            &agent.endpoint(),
            "--fingerprint",
            &agent.fingerprint().to_string(),
        ])
        .args(["storage"])
        .run()
        .failure(2);
    no_token.stderr_has("no token");

    let no_endpoint = Invocation::authed(&agent)
        .args(["--fingerprint", &agent.fingerprint().to_string(), "storage"])
        .run()
        .failure(2);
    no_endpoint.stderr_has("no endpoint");

    let no_pin = Invocation::authed(&agent)
        .args(["--endpoint", &agent.endpoint(), "storage"])
        .run()
        .failure(2);
    no_pin.stderr_has("no fingerprint");

    let bad_endpoint = Invocation::authed(&agent)
        .args(["storage", "--endpoint", "http://127.0.0.1:1"])
        .args(["--fingerprint", &agent.fingerprint().to_string()])
        .run()
        .failure(2);
    bad_endpoint.stderr_has("invalid client configuration");

    let empty_token = Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", "")
        .args(["storage"])
        .run()
        .failure(2);
    empty_token.stderr_has("empty");

    assert_nothing_sent(&agent);
}
