//! The token never shows: not in `Debug`, not in any error, even when the agent echoes it.

use std::time::Duration;

use felhom_agentapi::{Client, Fingerprint};
use felhom_devagent::{DevAgent, Fault};

use crate::Pinned;
use crate::builder;
use crate::common::client_with_timeout;

const TOKEN: &str = "tok-5ecret-do-not-print";

fn agent() -> DevAgent {
    DevAgent::builder().token(TOKEN).start().unwrap()
}

#[test]
fn debug_output_redacts_the_token() {
    let agent = agent();
    let builder = builder(&agent);
    let client = builder.clone().build().unwrap();
    for debug in [
        format!("{builder:?}"),
        format!("{client:?}"),
        format!("{client:#?}"),
    ] {
        assert!(!debug.contains(TOKEN), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}

#[test]
fn no_error_contains_the_token() {
    let agent = agent();
    let client = client_with_timeout(&agent, Duration::from_millis(300));
    let faults = [
        Fault::Status(500),
        Fault::StatusWithoutEnvelope(403),
        Fault::Garbage,
        Fault::WrongType,
        Fault::Truncate,
        Fault::Drop,
        Fault::Redirect(format!("https://example.invalid/?token={TOKEN}")),
        Fault::Slow(Duration::from_secs(5)),
        Fault::OtherCert,
        Fault::WrongKey,
        // An agent that echoes the token back in its error text.
        Fault::NotOk(format!("bad request with Authorization: Bearer {TOKEN}")),
    ];
    for fault in faults {
        agent.set_fault(fault.clone());
        let errors = [
            client.storage().unwrap_err(),
            client.format_disk("/dev/sdb", "ext4").unwrap_err(),
        ];
        for err in errors {
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains(TOKEN),
                "{fault:?} leaked the token: {shown}"
            );
        }
    }
}

#[test]
fn an_echoed_token_is_replaced_by_a_marker() {
    let agent = agent();
    agent.set_fault(Fault::NotOk(format!("bearer {TOKEN} refused")));
    let err = builder(&agent).build().unwrap().storage().unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /storage: the agent declined: bearer [redacted] refused"
    );
}

#[test]
fn configuration_errors_do_not_echo_the_token() {
    let pin = Fingerprint::of_der(b"x").to_string();
    let err = Client::new("127.0.0.1:1", &format!("{TOKEN}\n"), &pin).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("newline"), "{shown}");
}

#[test]
fn giving_up_on_a_backup_does_not_show_an_echoed_token() {
    let agent = agent();
    // Every answer: a job id and an unknown phase that echo the token.
    let data =
        serde_json::json!({"job_id": format!("job-{TOKEN}"), "phase": format!("queued {TOKEN}")});
    agent.set_fault(Fault::Answer {
        status: 200,
        body: serde_json::json!({"ok": true, "data": data}).to_string(),
    });
    let err = builder(&agent)
        .build()
        .unwrap()
        .run_backup(Duration::from_millis(5), Duration::from_millis(50))
        .unwrap_err();
    assert!(
        matches!(err, felhom_agentapi::Error::Timeout { .. }),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

/// serde quotes a value in its errors the way Rust's `Debug` does: a token holding `"` or `\`
/// (visible ASCII, so accepted) is spelled `\"` and `\\` there, and must be hidden all the same.
#[test]
fn a_token_with_quotes_or_backslashes_is_hidden_in_decode_errors_too() {
    for token in [r#"s3cr"et\tok"#, r"back\\slash", r#"""#] {
        let agent = DevAgent::builder().token(token).start().unwrap();
        agent.set_fault_on(
            "/storage",
            crate::answer(
                200,
                serde_json::json!({"ok": true, "data": {"mounts": token}}),
            ),
        );
        let client = Client::new(&agent.endpoint(), token, agent.pin()).unwrap();
        let err = client.storage().unwrap_err();
        let shown = err.to_string();
        let quoted = format!("{token:?}");
        assert!(
            !shown.contains(token) && !shown.contains(quoted.trim_matches('"')),
            "{token:?} shows in: {shown}"
        );
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(
            !format!("{err:?}").contains(quoted.trim_matches('"')),
            "{err:?}"
        );
    }
}
