//! Entry points for the fuzz targets under `fuzz/` and the property tests: the pure parts of the
//! client, reachable without a network. Compiled only for `cfg(fuzzing)` (set by `cargo fuzz`)
//! and for tests; never part of the library's API.

use serde::de::DeserializeOwned;

use crate::Error;
use crate::answer::{Answer, Judge};
use crate::call::Call;
use crate::wire::{
    BackupResponse, DisksResponse, DueResponse, EjectResult, FormatResult, HostMetricsResponse,
    StatusResponse, StorageResponse,
};

/// The token the fuzzing context scrubs from agent text.
pub const TOKEN: &str = "fuzz-token";

/// A judge of answers for a client whose token is [`TOKEN`].
pub(crate) fn judge() -> Judge<'static> {
    Judge { token: TOKEN }
}

/// Judges `body` with HTTP `status` as the answer of every endpoint, and as a format verdict.
/// Returns the messages of the errors it produced, for callers that check them.
pub fn decode_answer(status: u16, body: &[u8]) -> Vec<String> {
    let answer = Answer {
        status,
        body: body.to_vec(),
    };
    let (get, post): (&[u16], &[u16]) = (&[200], &[200, 202]);
    [
        judged::<StorageResponse>(&answer, get),
        judged::<DueResponse>(&answer, get),
        judged::<BackupResponse>(&answer, post),
        judged::<StatusResponse>(&answer, get),
        judged::<DisksResponse>(&answer, get),
        judged::<EjectResult>(&answer, post),
        judged::<FormatResult>(&answer, post),
        judged::<HostMetricsResponse>(&answer, get),
        format_verdict(status, body).map(drop),
    ]
    .into_iter()
    .filter_map(Result::err)
    .map(|e| format!("{e} {e:?}"))
    .collect()
}

/// `answer` judged as that of an endpoint whose payload is a `T`, answered with a status in
/// `accepted`.
fn judged<T: DeserializeOwned + Default>(answer: &Answer, accepted: &[u16]) -> Result<(), Error> {
    let call = Call::request("GET", "/fuzz");
    judge().payload::<T>(&call, answer, accepted).map(drop)
}

/// The verdict of `POST /disks/format` for `/dev/sdx` on this answer.
pub fn format_verdict(status: u16, body: &[u8]) -> Result<FormatResult, Error> {
    let answer = Answer {
        status,
        body: body.to_vec(),
    };
    judge().format_outcome("/dev/sdx", &answer)
}

/// Splits a fuzz input into an HTTP status in 100..=599 (its first two bytes, big-endian) and a
/// body. A raw status already in range is kept as it is, so that the fuzzer's comparison hints
/// (200, 202, 403) land directly; any other is mapped to `100 + n % 500`.
pub fn status_and_body(data: &[u8]) -> Option<(u16, &[u8])> {
    let [high, low, body @ ..] = data else {
        return None;
    };
    let raw = u16::from_be_bytes([*high, *low]);
    let status = if (100..=599).contains(&raw) {
        raw
    } else {
        100 + raw % 500
    };
    Some((status, body))
}
