//! The envelope and status rules: what is a success, and which error each bad answer is.

use felhom_agentapi::{Call, Client, Error};
use felhom_devagent::Fault;

use crate::common::client_with_timeout;
use crate::{agent, answer, client};

#[test]
fn an_unexpected_status_is_http_with_the_envelopes_error() {
    let agent = agent();
    let client = client(&agent);
    for status in [400, 404, 409, 500, 503] {
        agent.set_fault(Fault::Status(status));
        let err = client.storage().unwrap_err();
        match &err {
            Error::Http {
                status: got,
                message,
                ..
            } => {
                assert_eq!(*got, status);
                assert_eq!(
                    message.as_deref(),
                    Some(format!("injected HTTP {status}").as_str())
                );
            }
            other => panic!("HTTP {status}: got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("GET /storage: the agent answered HTTP "),
            "{err}"
        );
        assert!(err.may_have_reached_agent());
    }
}

#[test]
fn a_status_without_an_envelope_is_http_without_a_message() {
    let agent = agent();
    agent.set_fault(Fault::StatusWithoutEnvelope(502));
    let err = client(&agent).backup_due().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Http {
                status: 502,
                message: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn get_accepts_only_200_and_post_accepts_200_and_202() {
    let agent = agent();
    let client = client(&agent);
    // The stand-in agent answers POST /backup with 202; a 202 to a GET is unexpected.
    client.start_backup().unwrap();
    agent.set_fault(Fault::Status(202));
    let err = client.storage().unwrap_err();
    assert!(matches!(err, Error::Http { status: 202, .. }), "{err:?}");
    agent.set_fault(Fault::Status(201));
    let err = client.eject_disk("/mnt/usb-archive").unwrap_err();
    assert!(matches!(err, Error::Http { status: 201, .. }), "{err:?}");
}

#[test]
fn ok_false_in_a_2xx_is_an_agent_error_with_its_message() {
    let agent = agent();
    agent.set_fault(Fault::NotOk("storage backend offline".into()));
    let err = client(&agent).storage().unwrap_err();
    match &err {
        Error::Agent { message, call } => {
            assert_eq!(message, "storage backend offline");
            assert_eq!(call, &Call::request("GET", "/storage"));
        }
        other => panic!("got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "GET /storage: the agent declined: storage backend offline"
    );
}

#[test]
fn a_body_that_is_not_json_is_a_decode_error() {
    let agent = agent();
    agent.set_fault(Fault::Garbage);
    let err = client(&agent).disks().unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("GET /disks: could not decode"),
        "{err}"
    );
}

#[test]
fn a_payload_of_the_wrong_shape_is_a_decode_error_for_every_endpoint() {
    let agent = agent();
    let client = client(&agent);
    agent.set_fault(Fault::WrongType);
    let results: Vec<(&str, Result<(), Error>)> = vec![
        ("storage", client.storage().map(drop)),
        ("backup_due", client.backup_due().map(drop)),
        ("start_backup", client.start_backup().map(drop)),
        ("backup_status", client.backup_status().map(drop)),
        ("disks", client.disks().map(drop)),
        (
            "eject_disk",
            client.eject_disk("/mnt/usb-archive").map(drop),
        ),
        ("host_metrics", client.host_metrics().map(drop)),
    ];
    for (name, result) in results {
        let err = result.expect_err(name);
        assert!(matches!(err, Error::Decode { .. }), "{name}: {err:?}");
    }
}

#[test]
fn exactly_one_mebibyte_is_read_and_one_byte_more_is_refused() {
    let agent = agent();
    let client = client(&agent);
    agent.set_fault(Fault::Oversized(Client::MAX_RESPONSE_BYTES as usize));
    let storage = client
        .storage()
        .expect("a body of exactly 1 MiB is accepted");
    assert_eq!(storage.vmid, 101);

    agent.set_fault(Fault::Oversized(Client::MAX_RESPONSE_BYTES as usize + 1));
    let err = client.storage().unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{err:?}"
    );
    agent.clear_fault();
    client
        .storage()
        .expect("the client works after refusing a large answer");
}

#[test]
fn a_redirect_is_an_error_and_is_never_followed() {
    // A second agent with the same pin and token: if the client followed the redirect, the
    // token would arrive there.
    let agent = agent();
    let elsewhere = felhom_devagent::DevAgent::builder()
        .identity(agent.identity())
        .token(agent.token())
        .start()
        .unwrap();
    agent.set_fault(Fault::Redirect(format!(
        "https://{}/storage",
        elsewhere.endpoint()
    )));
    let client = client(&agent);
    let err = client.storage().unwrap_err();
    assert!(matches!(err, Error::Http { status: 302, .. }), "{err:?}");
    assert!(err.to_string().contains("never follows"), "{err}");
    let err = client.start_backup().unwrap_err();
    assert!(matches!(err, Error::Http { status: 302, .. }), "{err:?}");
    assert_eq!(
        elsewhere.stats().connections,
        0,
        "the redirect target was contacted"
    );
}

#[test]
fn null_or_missing_data_is_the_zero_value_as_in_go() {
    let agent = agent();
    let client = client(&agent);
    for body in [
        serde_json::json!({"ok": true, "data": null}),
        serde_json::json!({"ok": true}),
        serde_json::json!({"ok": true, "data": {"vmid": 101, "mounts": null}}),
    ] {
        agent.set_fault(answer(200, body.clone()));
        let storage = client.storage().unwrap();
        assert!(storage.mounts.is_empty(), "{body}");
    }
}

#[test]
fn ok_false_without_text_still_says_what_happened() {
    let agent = agent();
    agent.set_fault(answer(200, serde_json::json!({"ok": false})));
    let err = client(&agent).backup_status().unwrap_err();
    assert!(matches!(err, Error::Agent { .. }), "{err:?}");
    assert!(err.to_string().contains("ok: false"), "{err}");
}

#[test]
fn agent_text_cannot_rewrite_the_terminal() {
    let agent = agent();
    agent.set_fault(answer(
        500,
        serde_json::json!({"ok": false, "error": "x\u{1b}[2Jy\u{202e}z"}),
    ));
    let err = client(&agent).storage().unwrap_err();
    let shown = err.to_string();
    assert!(
        !shown.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{shown:?}"
    );
    assert!(shown.contains("x\\u{1b}[2Jy\\u{202e}z"), "{shown}");
}

#[test]
fn every_message_names_the_call_in_lowercase_without_trailing_punctuation() {
    let agent = agent();
    // A new client per fault: handshake faults only show on a new connection.
    let new_client = || client_with_timeout(&agent, std::time::Duration::from_millis(300));
    let faults = [
        Fault::Status(500),
        Fault::Status(401),
        Fault::StatusWithoutEnvelope(502),
        Fault::NotOk("busy".into()),
        Fault::Garbage,
        Fault::WrongType,
        Fault::Oversized(2 << 20),
        Fault::Slow(std::time::Duration::from_secs(5)),
        Fault::Truncate,
        Fault::Redirect("https://127.0.0.1:1/".into()),
        Fault::OtherCert,
        Fault::WrongKey,
    ];
    for fault in faults {
        agent.set_fault(fault.clone());
        let message = new_client().storage().unwrap_err().to_string();
        let rest = message
            .strip_prefix("GET /storage: ")
            .unwrap_or_else(|| panic!("{fault:?}: {message}"));
        assert!(rest.starts_with(char::is_lowercase), "{fault:?}: {message}");
        assert!(
            !message.ends_with(['.', '!', '?', ':', ';']),
            "{fault:?}: {message}"
        );
    }
    agent.set_fault(Fault::Drop);
    let message = new_client()
        .format_disk("/dev/sdb", "ext4")
        .unwrap_err()
        .to_string();
    assert!(message.starts_with("POST /disks/format: the "), "{message}");
}

#[test]
fn a_job_id_that_is_not_short_printable_ascii_is_a_decode_error_on_every_call_with_one() {
    let agent = agent();
    let client = client(&agent);
    for bad in ["job\u{0}1".to_string(), "j".repeat(200 * 1024)] {
        let data = serde_json::json!({"vmid": 101, "phase": "running", "job_id": bad});
        agent.set_fault(answer(200, serde_json::json!({"ok": true, "data": data})));
        for err in [
            client.start_backup().unwrap_err(),
            client.backup_status().unwrap_err(),
        ] {
            assert!(matches!(err, Error::Decode { .. }), "{err:?}");
            let text = err.to_string();
            assert!(text.contains("job_id"), "{text}");
            assert!(
                text.len() < 1000,
                "the id is not echoed whole: {} bytes",
                text.len()
            );
        }
    }
}
