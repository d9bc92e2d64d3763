//! contrib/systemd/agent.env.example, followed as a new operator would: copied unchanged it
//! contacts nothing and names the missing step; with the endpoint written in, it names the
//! trust-on-first-use step and the pins file that step writes; after that step, it works.

use std::fs;

use crate::common::{Pinned, agent};
use crate::harness::{Invocation, TempDir};

const EXAMPLE: &str = include_str!("../../../../contrib/systemd/agent.env.example");
const PINS: &str = "/etc/felhom/agent.pins";

#[test]
fn the_example_copied_unchanged_contacts_nothing_and_names_the_missing_step() {
    // Checked before running anything: an endpoint set in the example would be contacted.
    assert!(
        !EXAMPLE
            .lines()
            .any(|l| l.trim_start().starts_with("FELHOM_AGENT_ENDPOINT=")),
        "the example sets an endpoint:\n{EXAMPLE}"
    );
    assert!(
        EXAMPLE.contains(&format!("FELHOM_AGENT_FINGERPRINT_FILE={PINS}\n")),
        "the example does not use the pins file of the README's trust on first use"
    );
    assert!(crate::harness::readme().contains(&format!("fingerprint --save {PINS}")));
    let dir = TempDir::new();
    let copy = dir.file("agent.env", EXAMPLE, 0o644);
    let out = Invocation::bare()
        .env("FELHOM_AGENT_TOKEN", "t0ken-example")
        .secret("t0ken-example")
        .arg("--config")
        .arg(&copy)
        .arg("storage")
        .run()
        .failure(2);
    out.stderr_has("no endpoint");
    out.stderr_has(&copy.display().to_string());
}

#[test]
fn with_the_endpoint_written_in_it_asks_for_the_pin_then_works() {
    let agent = agent();
    let dir = TempDir::new();
    let pins = dir.path().join("agent.pins");
    let step_one = "#FELHOM_AGENT_ENDPOINT=192.0.2.1:8443";
    assert!(EXAMPLE.contains(step_one), "{EXAMPLE}");
    let edited = EXAMPLE
        .replace(
            step_one,
            &format!("FELHOM_AGENT_ENDPOINT={}", agent.endpoint()),
        )
        .replace(PINS, pins.to_str().unwrap());
    let settings = dir.file("agent.env", &edited, 0o644);
    let tool = || Invocation::authed(&agent).arg("--config").arg(&settings);

    let out = tool().arg("storage").run().failure(2);
    out.stderr_has("does not exist yet");
    out.stderr_has(&format!("fingerprint --save {}", pins.display()));
    assert_eq!(agent.stats().connections, 0, "the agent was contacted");

    tool()
        .args(["fingerprint", "--save"])
        .arg(&pins)
        .run()
        .exit_status(0);
    assert!(
        fs::read_to_string(&pins)
            .unwrap()
            .contains(&agent.pin().to_string())
    );
    tool().arg("storage").run().status(0);
}
