//! Any answer, judged as the answer of every endpoint and as a format verdict: the decoder never
//! panics, and no error message (Display or Debug) carries the token, however the agent's text
//! echoes it, or a raw control character or bidirectional override that could rewrite the
//! reader's terminal.
//!
//! Input: two bytes of HTTP status (big-endian, mapped into 100..=599), then the body.
#![no_main]

use felhom_agentapi::{fuzzing, terminal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = fuzzing::status_and_body(data) else {
        return;
    };
    for message in fuzzing::decode_answer(status, body) {
        assert!(
            !message.contains(fuzzing::TOKEN),
            "the token leaked into an error message (HTTP {status}): {message:?}"
        );
        assert!(
            !message.chars().any(terminal::could_rewrite),
            "an error message holds a character that rewrites terminals (HTTP {status}): {message:?}"
        );
    }
});
