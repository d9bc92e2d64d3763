//! An agent that answers with an error (exit status 1) or cannot be reached (5), for any call.

use felhom_devagent::Fault;

use crate::common::agent;
use crate::harness::{Invocation, dead_endpoint};

#[test]
fn an_http_error_status_exits_1() {
    let agent = agent();
    agent.set_fault(Fault::Status(500));
    let out = Invocation::to(&agent).args(["storage"]).run().failure(1);
    assert_eq!(out.stdout, "");
    out.stderr_has("GET /storage");
    out.stderr_has("HTTP 500");
}

#[test]
fn an_undecodable_answer_exits_1() {
    let agent = agent();
    agent.set_fault(Fault::Garbage);
    let out = Invocation::to(&agent).args(["disks"]).run().failure(1);
    assert_eq!(out.stdout, "");
    out.stderr_has("could not decode");
}

#[test]
fn nothing_listening_exits_5() {
    let agent = agent();
    let dead = dead_endpoint();
    let out = Invocation::authed(&agent)
        .args([
            "storage",
            "--endpoint",
            &dead,
            "--fingerprint",
            &agent.fingerprint().to_string(),
        ])
        .run()
        .failure(5);
    out.stderr_has("could not connect");
    out.stderr_has(&dead);

    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &dead])
        .run()
        .failure(5);
    out.stderr_has("could not connect");
}

#[test]
fn a_dropped_connection_exits_5() {
    let agent = agent();
    agent.set_fault(Fault::Drop);
    let out = Invocation::to(&agent)
        .args(["backup", "status"])
        .run()
        .failure(5);
    assert_eq!(out.stdout, "");
    out.stderr_has("GET /backup/status");
}
