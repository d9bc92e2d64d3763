//! Property tests: the parsers, the decoder and the shell quoting hold for any input, not only
//! the examples the other tests pick. Longer, coverage-guided runs live under `fuzz/`.

use proptest::prelude::*;

use crate::answer::Answer;
use crate::wire::*;
use crate::{Error, Fingerprint};

use crate::fuzzing::{TOKEN, judge};

// Shared with the integration tests, which reach the same command through the stand-in agent.
#[path = "../tests/common/shell.rs"]
mod shell;
use shell::shell_words;

/// Any JSON value, nested a few levels: reaches deeper into the decoder than random bytes.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("running"),
            Just("done"),
            Just("failed"),
            Just("uuid:x")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("ok".to_string()),
            Just("data".to_string()),
            Just("error".to_string()),
            Just("formatted".to_string()),
            Just("data_bearing".to_string()),
            Just("pending_op".to_string()),
            Just("mounts".to_string()),
            Just("phase".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: random bytes, or JSON that is likely to look like an envelope.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (any::<bool>(), json_value(), ".{0,8}").prop_map(|(ok, data, error)| {
            serde_json::to_vec(&serde_json::json!({"ok": ok, "data": data, "error": error}))
                .unwrap()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_never_panics(status in 100u16..600, body in body()) {
        crate::fuzzing::decode_answer(status, &body);
    }

    #[test]
    fn only_an_explicit_formatted_is_a_format_success(status in 100u16..600, body in body()) {
        let answer = Answer { status, body };
        match judge().format_outcome("/dev/sdx", &answer) {
            Ok(result) => {
                prop_assert!(status == 200 || status == 202);
                prop_assert!(result.formatted);
            }
            Err(Error::FormatRefused(refusal)) => {
                prop_assert!(status == 403 || status == 200 || status == 202);
                prop_assert!(refusal.result().data_bearing && !refusal.result().formatted);
                prop_assert!(!refusal.result().device.is_empty());
            }
            Err(Error::Http { status: got, .. }) => {
                prop_assert_eq!(got, status);
                prop_assert!(status != 403 && status != 200 && status != 202);
            }
            Err(Error::Agent { .. } | Error::Decode { .. }) => {
                prop_assert!(status == 200 || status == 202);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn a_403_is_always_a_refusal(body in body()) {
        let answer = Answer { status: 403, body };
        let outcome = judge().format_outcome("/dev/sdx", &answer);
        prop_assert!(matches!(outcome, Err(Error::FormatRefused(_))), "{outcome:?}");
    }

    #[test]
    fn errors_never_show_the_token(status in 100u16..600, text in ".{0,20}") {
        let error = format!("{text}{TOKEN}{text}");
        let body = serde_json::to_vec(&serde_json::json!({"ok": false, "error": error})).unwrap();
        let judge = judge();
        let call = &crate::Call::request("GET", "/x");
        let answer = Answer { status, body };
        if let Err(e) = judge.payload::<StorageResponse>(call, &answer, &[200]) {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(TOKEN), "{}", shown);
        }
        if let Err(e) = judge.format_outcome("/dev/sdx", &answer) {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(TOKEN), "{}", shown);
        }
    }

    #[test]
    fn fingerprint_parsing_never_panics(s in ".{0,100}") {
        let _ = s.parse::<Fingerprint>();
    }

    #[test]
    fn fingerprints_round_trip_in_every_spelling(
        bytes in any::<[u8; 32]>(),
        upper in any::<bool>(),
        prefix in prop_oneof![Just(""), Just("sha256:"), Just("SHA256:"), Just("  ")],
        newline in any::<bool>(),
    ) {
        let fp = Fingerprint::from_bytes(bytes);
        for text in [fp.to_string(), format!("{fp:#}")] {
            let text = if upper { text.to_uppercase() } else { text.to_lowercase() };
            let text = format!("{prefix}{text}{}", if newline { "\n" } else { "" });
            prop_assert_eq!(text.parse::<Fingerprint>(), Ok(fp));
        }
    }

    #[test]
    fn short_digests_are_never_accepted(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        prop_assume!(bytes.len() != 32);
        prop_assert!(hex::encode(&bytes).parse::<Fingerprint>().is_err());
    }

    #[test]
    fn reading_a_certificate_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        at in 0usize..600,
        byte in any::<u8>(),
    ) {
        let _ = crate::certificate::unusable(&bytes);
        // Flipping one byte of a real certificate reaches deeper than random bytes.
        let mut cert = include_bytes!("../tests/fixtures/rsa1024.cert.der").to_vec();
        let at = at % cert.len();
        cert[at] = byte;
        let _ = crate::certificate::unusable(&cert);
    }
}

proptest! {
    // Each case runs a real shell: fewer cases, still hundreds of hostile values.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_shell_reads_the_opsign_command_back_exactly(
        op in "[^\0]{0,12}",
        host in prop_oneof!["[^\0]{0,16}", "[ '\"$`\\\\;|&<>(){}*?~#!\n\t-]{0,8}"],
        id in "[^\0]{0,16}",
    ) {
        let pending = PendingOp {
            op: op.clone(),
            host_scope: host.clone(),
            durable_id: id.clone(),
            ..Default::default()
        };
        let command = pending.opsign_command();
        prop_assert_eq!(
            shell_words(&command),
            vec!["-op".to_string(), op, "-host".into(), host, "-durable-id".into(), id]
        );
    }
}
