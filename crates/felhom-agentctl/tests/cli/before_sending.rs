//! Failures before anything is sent: a host name that does not resolve, and a server that
//! trickles its handshake a byte at a time. Both are exit 5, and neither may say the request
//! could have reached the agent.

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{BIN, Invocation, capable};

/// A well-formed pin: the lookup fails before any certificate is seen.
const ANY_PIN: &str = "abababababababababababababababababababababababababababababababab";

/// Whether `unshare -rn` (an empty network namespace, in a user namespace so that no privilege
/// is needed where those are allowed) works here; says so when it does not ([`capable`]: under
/// CI, it fails the test).
fn empty_netns_available() -> bool {
    let ok = Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    capable(
        ok,
        "`unshare -rn` is not available here; the name-lookup test checked nothing",
    )
}

/// The tool in an empty network namespace, with a token, pointed at a name that cannot resolve.
fn to_an_unresolvable_name() -> Invocation {
    let mut command = Command::new("unshare");
    command.args(["-rn", BIN]);
    Invocation::of(command)
        .env("FELHOM_AGENT_TOKEN", "t0ken-for-lookup")
        .secret("t0ken-for-lookup")
        .args(["--endpoint", "no-such-host.invalid:8443"])
        .args(["--fingerprint", ANY_PIN])
}

#[test]
fn a_name_that_does_not_resolve_is_a_connect_failure_that_sent_nothing() {
    if !empty_netns_available() {
        return;
    }
    // In an empty network namespace the lookup fails at once and never leaves the machine.
    for subcommand in [&["disk", "eject", "--where", "/mnt/x"][..], &["storage"]] {
        let out = to_an_unresolvable_name()
            .args(["--error-format", "json"])
            .args(subcommand)
            .run()
            .status(5);
        let error = out.error_json();
        assert_eq!(error["kind"], "connect", "{out:#?}");
        assert_eq!(error["may_have_reached_agent"], false, "{out:#?}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("the host name did not resolve") && !message.contains("may have"),
            "{out:#?}"
        );
    }
}

#[test]
fn check_reports_an_unresolved_name_as_unknown_and_sent_nothing() {
    if !empty_netns_available() {
        return;
    }
    let out = to_an_unresolvable_name().arg("check").run();
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stdout.starts_with("FELHOM UNKNOWN - "), "{out:#?}");
    assert!(
        out.stdout.contains("did not resolve") && !out.stdout.contains("may have reached"),
        "{out:#?}"
    );
}

/// A server that sends the start of a TLS record announcing 16 KiB, then one byte every 50 ms,
/// for at most 10 s: each read gets a byte long before any per-read time limit.
fn trickling_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        if socket.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]).is_err() {
            return;
        }
        let stop = Instant::now() + Duration::from_secs(10);
        while Instant::now() < stop && socket.write_all(&[0]).is_ok() {
            thread::sleep(Duration::from_millis(50));
        }
    });
    endpoint
}

#[test]
fn fingerprint_stops_a_trickling_handshake_at_the_connect_timeout() {
    let endpoint = trickling_server();
    let out = Invocation::bare()
        .args(["--error-format", "json", "--connect-timeout", "1s"])
        .args(["fingerprint", "--endpoint", &endpoint])
        .run()
        .status(5);
    let error = out.error_json();
    // Without a deadline for the whole handshake, the server's own end (after 10 s) ends it:
    // a TLS failure, not the time limit.
    assert_eq!(error["kind"], "timeout", "{out:#?}");
    assert_eq!(error["may_have_reached_agent"], false, "{out:#?}");
}
