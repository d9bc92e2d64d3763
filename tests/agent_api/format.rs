//! Formatting: only an explicit "formatted" is a success; every refusal is typed and carries the
//! operator's command.

use felhom_agentapi::Error;
use felhom_devagent::{DevAgent, Fault};

use crate::common::assert_says;
use crate::common::shell::shell_words;
use crate::{agent, answer, client};

fn expect_refusal(
    result: Result<felhom_agentapi::wire::FormatResult, Error>,
) -> felhom_agentapi::FormatRefused {
    match result {
        Err(Error::FormatRefused(refusal)) => refusal,
        other => panic!("expected a format refusal, got {other:?}"),
    }
}

#[test]
fn a_blank_device_is_formatted() {
    let agent = agent();
    let result = client(&agent).format_disk("/dev/sdc", "xfs").unwrap();
    assert!(result.formatted);
    assert!(!result.data_bearing);
    assert_eq!(result.device, "/dev/sdc");
    let request = agent.requests().pop().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&request.body).unwrap(),
        serde_json::json!({"device": "/dev/sdc", "fstype": "xfs"})
    );
}

#[test]
fn a_data_bearing_device_is_refused_with_the_pending_op_and_command() {
    let agent = agent();
    let err = client(&agent).format_disk("/dev/sdb", "ext4").unwrap_err();
    assert!(err.may_have_reached_agent());
    assert_eq!(err.http_status(), Some(403));
    let message = err.to_string();
    let refusal = expect_refusal(Err(err));
    assert_eq!(refusal.http_status(), 403);
    assert!(refusal.result().data_bearing);
    assert!(!refusal.result().formatted);
    assert_eq!(refusal.result().device, "/dev/sdb");
    let op = refusal.pending_op().expect("the agent binds a pending op");
    assert_eq!(op.op, "storage_wipe");
    assert_eq!(op.host_scope, "pve-dev-1");
    assert_eq!(op.fstype, "ext4");
    let command = refusal.opsign_command().unwrap();
    assert_eq!(
        command,
        format!(
            "felhom-opsign -op storage_wipe -host pve-dev-1 -durable-id {}",
            op.durable_id
        )
    );
    assert!(message.starts_with("POST /disks/format: "), "{message}");
    assert!(
        message.ends_with(&command),
        "the message must end with the command: {message}"
    );
}

#[test]
fn a_403_whose_body_is_unreadable_is_still_a_refusal() {
    let agent = agent();
    let client = client(&agent);
    agent.set_fault(Fault::StatusWithoutEnvelope(403));
    let refusal = expect_refusal(client.format_disk("/dev/sdc", "ext4"));
    assert!(refusal.result().data_bearing && !refusal.result().formatted);
    assert_eq!(refusal.pending_op(), None);
    assert_eq!(refusal.opsign_command(), None);
    assert_eq!(refusal.result().device, "/dev/sdc");

    agent.set_fault(Fault::Status(403));
    let refusal = expect_refusal(client.format_disk("/dev/sdc", "ext4"));
    assert_eq!(refusal.message(), Some("injected HTTP 403"));
    assert_says(&refusal, "no felhom-opsign command");
}

#[test]
fn no_other_answer_reads_as_success() {
    let agent = agent();
    let client = client(&agent);
    // The Go client returns success for a 500 here; this client must not.
    for status in [500, 502, 400, 401, 404, 200] {
        agent.set_fault(Fault::Status(status));
        let result = client.format_disk("/dev/sdc", "ext4");
        match (status, &result) {
            (200, Err(Error::Agent { .. })) => {}
            (_, Err(Error::Http { status: got, .. })) if *got == status => {}
            _ => panic!("HTTP {status} must be an error, got {result:?}"),
        }
    }
    for fault in [
        Fault::Garbage,
        Fault::WrongType,
        Fault::NotOk("busy".into()),
        Fault::Drop,
    ] {
        agent.set_fault(fault.clone());
        let result = client.format_disk("/dev/sdc", "ext4");
        assert!(
            result.is_err(),
            "{fault:?} must be an error, got {result:?}"
        );
    }
}

#[test]
fn an_unknown_device_is_an_http_error() {
    let agent = agent();
    let err = client(&agent).format_disk("/dev/nope", "ext4").unwrap_err();
    assert!(matches!(err, Error::Http { status: 404, .. }), "{err:?}");
}

#[test]
fn a_hostile_host_scope_is_quoted_so_the_shell_reads_it_back_exactly() {
    for scope in [
        "pve'; touch /tmp/pwned; echo '",
        "$(reboot)",
        "a b\tc",
        "`id`",
        "x\ny",
        "*",
        "=ls",
        "pve-1\u{202e};1-evp",
    ] {
        let agent = DevAgent::builder().host_scope(scope).start().unwrap();
        let refusal = expect_refusal(client(&agent).format_disk("/dev/sdb", "ext4"));
        let op = refusal.pending_op().unwrap().clone();
        assert_eq!(op.host_scope, scope);
        let command = refusal.opsign_command().unwrap();
        assert_eq!(
            shell_words(&command),
            vec!["-op", &op.op, "-host", scope, "-durable-id", &op.durable_id],
            "{command}"
        );
        // Control characters and bidirectional overrides could disguise the command on the
        // operator's screen: the message then points to the command instead of printing it.
        let message = refusal.to_string();
        if scope.chars().any(|c| c.is_control() || c == '\u{202e}') {
            assert!(!message.contains(scope), "{message:?}");
        } else {
            assert!(message.ends_with(&command), "{message}");
        }
    }
}

#[test]
fn a_2xx_that_reports_data_bearing_and_not_formatted_is_the_same_refusal() {
    let agent = agent();
    let client = client(&agent);
    let pending = serde_json::json!({"op": "storage_wipe", "host_scope": "pve-9",
                                     "durable_id": "byid:x", "fstype": "xfs"});
    for ok in [true, false] {
        agent.set_fault(answer(
            200,
            serde_json::json!({"ok": ok, "error": "", "data": {"device": "/dev/sdc",
                "formatted": false, "data_bearing": true, "reason": "has files",
                "pending_op": pending}}),
        ));
        let refusal = expect_refusal(client.format_disk("/dev/sdc", "xfs"));
        assert_eq!(refusal.http_status(), 200);
        assert_eq!(
            refusal.opsign_command().as_deref(),
            Some("felhom-opsign -op storage_wipe -host pve-9 -durable-id byid:x")
        );
    }
}

#[test]
fn a_2xx_that_formatted_nothing_is_an_error_not_a_success() {
    let agent = agent();
    let client = client(&agent);
    for data in [
        serde_json::json!({"device": "/dev/sdc", "formatted": false, "data_bearing": false}),
        serde_json::Value::Null,
        serde_json::json!({}),
    ] {
        agent.set_fault(answer(202, serde_json::json!({"ok": true, "data": data})));
        let result = client.format_disk("/dev/sdc", "ext4");
        assert!(
            matches!(result, Err(Error::Agent { .. })),
            "{data}: {result:?}"
        );
    }
}

#[test]
fn a_pending_op_that_no_command_line_can_carry_gives_no_command() {
    let agent = agent();
    agent.set_fault(answer(
        403,
        serde_json::json!({"ok": false, "error": "refused", "data": {"pending_op":
            {"op": "storage_wipe", "host_scope": "pve\u{0}evil", "durable_id": "byid:x"}}}),
    ));
    let refusal = expect_refusal(client(&agent).format_disk("/dev/sdb", "ext4"));
    assert!(refusal.pending_op().is_some());
    assert_eq!(refusal.opsign_command(), None);
    assert_says(&refusal, "no felhom-opsign command");
}
