//! A host name that does not resolve: nothing was sent, so the failure is a connect failure
//! that cannot have reached the agent, for a GET, a POST and the first-use handshake alike.
//!
//! The lookup must never leave the machine, so the checks run in a copy of this test binary
//! inside an empty network namespace (`unshare -rn`: no interface, not even loopback up; `-r`
//! lets an unprivileged user make one where user namespaces are allowed), where the system
//! resolver fails at once. Where `unshare -rn` is not allowed, the test says so and
//! checks nothing, except under CI, where it fails.

use std::process::Command;
use std::time::Duration;

use felhom_agentapi::{Client, Error, presented_fingerprint};

use crate::any_pin;
use crate::common::cannot_check;

/// Set in the copy that runs inside the namespace.
const INSIDE: &str = "FELHOM_TEST_IN_EMPTY_NETNS";
const ENDPOINT: &str = "no-such-host.invalid:8443";

#[test]
fn a_name_that_does_not_resolve_is_a_connect_failure() {
    if std::env::var_os(INSIDE).is_some() {
        return check_unresolved();
    }
    if !Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        return cannot_check("`unshare -rn` is not available for the name-lookup test");
    }
    let name = "lookup::a_name_that_does_not_resolve_is_a_connect_failure";
    let out = Command::new("unshare")
        .arg("-rn")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the check did not run: {stdout}"
    );
}

/// Inside the namespace: every way of reaching the agent fails before sending anything.
fn check_unresolved() {
    let client = Client::new(ENDPOINT, "t0ken", any_pin()).unwrap();
    for (what, err) in [
        ("GET", client.storage().unwrap_err()),
        ("POST", client.eject_disk("/mnt/x").unwrap_err()),
        (
            "handshake",
            presented_fingerprint(ENDPOINT, Duration::from_secs(5)).unwrap_err(),
        ),
    ] {
        assert!(matches!(err, Error::Connect { .. }), "{what}: {err:?}");
        assert!(!err.may_have_reached_agent(), "{what}: {err}");
        let message = err.to_string();
        assert!(
            message.contains("the host name did not resolve")
                && !message.contains("may have reached"),
            "{what}: {message}"
        );
    }
}
