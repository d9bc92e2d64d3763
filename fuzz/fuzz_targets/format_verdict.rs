//! The verdict on `POST /disks/format`: a refusal never reads as success.
//!
//! - `Ok` only for HTTP 200 or 202, and only with `formatted: true`;
//! - HTTP 403 is always `Err(Error::FormatRefused(_))`, whatever the body;
//! - a refusal always says `data_bearing: true, formatted: false`, and keeps the HTTP status.
//!
//! Input: two bytes of HTTP status (big-endian, mapped into 100..=599), then the body.
#![no_main]

use felhom_agentapi::{Error, fuzzing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = fuzzing::status_and_body(data) else {
        return;
    };
    match fuzzing::format_verdict(status, body) {
        Ok(result) => {
            assert!(
                status == 200 || status == 202,
                "HTTP {status} judged a success: {result:?}"
            );
            assert!(
                result.formatted,
                "success without formatted: true (HTTP {status}): {result:?}"
            );
        }
        Err(Error::FormatRefused(refusal)) => {
            let result = refusal.result();
            assert!(
                result.data_bearing && !result.formatted,
                "a refusal that does not read as one (HTTP {status}): {result:?}"
            );
            assert_eq!(
                refusal.http_status(),
                status,
                "a refusal with the wrong HTTP status"
            );
        }
        Err(other) => {
            assert_ne!(status, 403, "HTTP 403 not judged a refusal: {other:?}");
        }
    }
});
