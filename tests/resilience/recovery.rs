//! After any fault, the same `Client` keeps working: each fault in turn is injected, gives its
//! typed error, is cleared, and the next call on the same client succeeds.

use std::time::Duration;

use felhom_agentapi::{Client, Error, TimeoutStage};
use felhom_devagent::Fault;

use crate::{agent, builder, drop_pooled_connections, shared};

/// The client's whole-call limit: short, so that a stalled body ends soon.
const LIMIT: Duration = Duration::from_secs(1);

type Check = fn(&Error) -> bool;

/// Each fault, whether it strikes the handshake, and the error it must give.
fn cases() -> Vec<(Fault, bool, Check)> {
    vec![
        (Fault::Drop, false, |e| matches!(e, Error::Io { .. })),
        (Fault::Truncate, false, |e| matches!(e, Error::Io { .. })),
        (Fault::Garbage, false, |e| matches!(e, Error::Decode { .. })),
        (
            Fault::Status(500),
            false,
            |e| matches!(e, Error::Http { status: 500, message: Some(m), .. } if m == "injected HTTP 500"),
        ),
        (Fault::StatusWithoutEnvelope(503), false, |e| {
            matches!(
                e,
                Error::Http {
                    status: 503,
                    message: None,
                    ..
                }
            )
        }),
        // Longer than the client waits, so the client gives up first; short enough that the
        // agent soon closes the abandoned connection (`drop_pooled_connections` waits for it).
        (
            Fault::StallBody(2 * LIMIT),
            false,
            |e| matches!(e, Error::Timeout { stage: TimeoutStage::Exchange, limit, .. } if *limit == LIMIT),
        ),
        (
            Fault::Oversized(2 << 20),
            false,
            |e| matches!(e, Error::ResponseTooLarge { limit, .. } if *limit == Client::MAX_RESPONSE_BYTES),
        ),
        // Beyond the faults the issue names: the agent's other request faults.
        (
            Fault::NotOk("not now".into()),
            false,
            |e| matches!(e, Error::Agent { message, .. } if message == "not now"),
        ),
        (Fault::WrongType, false, |e| {
            matches!(e, Error::Decode { .. })
        }),
        (Fault::Redirect("https://127.0.0.1:1/".into()), false, |e| {
            matches!(e, Error::Http { status: 302, .. })
        }),
        (Fault::OtherCert, true, |e| {
            matches!(e, Error::PinMismatch { .. })
        }),
        (Fault::WrongKey, true, |e| matches!(e, Error::Tls { .. })),
    ]
}

type Call = fn(&Client) -> Result<(), Error>;

const CALLS: [(&str, &str, Call); 2] = [
    ("GET", "/disks", |c| c.disks().map(drop)),
    ("POST", "/disks/format", |c| {
        c.format_disk("/dev/sdc", "ext4").map(drop)
    }),
];

#[test]
fn the_same_client_recovers_from_every_fault() {
    let _serial = shared();
    let agent = agent();
    let client = builder(&agent).timeout(LIMIT).build().unwrap();
    client.storage().expect("a normal call first");

    for (fault, in_handshake, check) in cases() {
        // Request faults strike a kept-alive connection and a fresh one; handshake faults only
        // ever strike fresh connections.
        let modes: &[bool] = if in_handshake {
            &[false]
        } else {
            &[true, false]
        };
        for &pooled in modes {
            for (method, path, call) in CALLS {
                let context = format!("{fault:?} on {method} {path} (pooled: {pooled})");
                if !pooled {
                    drop_pooled_connections(&agent);
                }
                let logged = agent.requests().len();
                agent.set_fault(fault.clone());
                let err = call(&client).expect_err(&context);
                agent.clear_fault();
                assert!(check(&err), "{context}: wrong error {err:?}");

                let requests = agent.requests();
                if in_handshake {
                    assert!(!err.may_have_reached_agent(), "{context}: {err}");
                    assert_eq!(requests.len(), logged, "{context}: nothing was sent");
                } else {
                    assert!(err.may_have_reached_agent(), "{context}: {err}");
                    // A kept-alive connection dropped before any answer is the one case where a
                    // GET goes out once more, on a fresh connection.
                    let resent = pooled && method == "GET" && fault == Fault::Drop;
                    let sent = if resent { 2 } else { 1 };
                    assert_eq!(
                        requests.len(),
                        logged + sent,
                        "{context}: sent {sent} times"
                    );
                    for last in &requests[logged..] {
                        assert_eq!((last.method.as_str(), last.path.as_str()), (method, path));
                    }
                }

                // The same client, straight away: both kinds of call work again.
                for (again_method, again_path, again) in CALLS {
                    if let Err(e) = again(&client) {
                        panic!("{again_method} {again_path} after {context}: {e:?}");
                    }
                }
            }
        }
    }
}
