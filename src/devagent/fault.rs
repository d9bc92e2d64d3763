//! Injected faults: what they are, and which one the next request or handshake gets.

use std::sync::Mutex;
use std::time::Duration;

use super::control::lock;

/// A misbehaviour to inject with [`DevAgent::set_fault`](super::DevAgent::set_fault).
///
/// Request faults replace or disturb the answer to every request while set. Faults that still
/// send the real answer ([`Fault::Slow`], [`Fault::Oversized`], [`Fault::StallBody`],
/// [`Fault::Truncate`]) run the endpoint, with its side effects (a `POST /backup` starts a job);
/// the others ([`Fault::Status`], [`Fault::Drop`], …) answer without touching the agent's state.
/// Handshake faults ([`Fault::WrongKey`], [`Fault::OtherCert`]) apply to every new TLS handshake
/// and leave requests on already established connections alone; while one is set the agent
/// refuses TLS session resumption, so that every handshake really presents a certificate.
///
/// ```
/// use std::time::Duration;
///
/// use felhom_agentapi::devagent::{DevAgent, Fault};
///
/// let agent = DevAgent::start()?;
/// // Requests alternate between a normal answer, an HTTP 500 and a slow answer.
/// agent.set_fault(Fault::Cycle(vec![
///     None,
///     Some(Fault::Status(500)),
///     Some(Fault::Slow(Duration::from_millis(200))),
/// ]));
/// agent.clear_fault();
/// # Ok::<(), std::io::Error>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this HTTP status and the envelope `{"ok":false,"error":"injected HTTP <n>"}`.
    /// Statuses that carry no body (1xx, 204, 304) are sent without one. The number is written
    /// as is, so a value outside 100–999 makes a malformed status line.
    Status(u16),
    /// Answer with this HTTP status and a `text/plain` body that is not JSON.
    StatusWithoutEnvelope(u16),
    /// HTTP 200 with `{"ok":false,"error":<the message>}`.
    NotOk(String),
    /// HTTP 200, `Content-Type: application/json`, and a body that is not JSON at all.
    Garbage,
    /// HTTP 200 with `{"ok":true,"data":…}` where `data` is valid JSON of the wrong shape: every
    /// field any endpoint sends is there with a wrong type (`"vmid":"one hundred"`,
    /// `"mounts":7`, …).
    WrongType,
    /// HTTP 200 with a body of exactly this many bytes that is still the endpoint's real, valid
    /// envelope, padded with a `"pad":"xxx…"` member (or, for the last few bytes, JSON white
    /// space). A size below the real body's just sends the real body. The real agent's client
    /// accepts 1 MiB (1 048 576 bytes), so `Oversized(1_048_576)` must decode and
    /// `Oversized(1_048_577)` must be refused.
    Oversized(usize),
    /// Wait this long, then answer normally. The wait ends early, without an answer, if the
    /// agent stops.
    Slow(Duration),
    /// Send the status line, the headers (with the `Content-Length` of the full body) and half
    /// of the body, then stall this long, then close the connection.
    StallBody(Duration),
    /// Announce the full `Content-Length`, send half of the body, then close the connection
    /// cleanly (TLS `close_notify`, TCP FIN): only the HTTP framing shows the truncation.
    Truncate,
    /// Read the request, then close the connection (TLS `close_notify`, TCP FIN) without any
    /// answer.
    Drop,
    /// Answer with this HTTP status and exactly this body, as `application/json`: for answers
    /// no other fault makes, such as a 2xx that reports a refusal or a `null` payload.
    Answer {
        /// The HTTP status.
        status: u16,
        /// The body, sent as is.
        body: String,
    },
    /// HTTP 302 with `Location: <the string>` (CR and LF removed) and the envelope
    /// `{"ok":false,"error":"moved"}`.
    Redirect(String),
    /// Handshakes present the right certificate but sign with a different private key of the
    /// same type: the client must refuse the handshake signature.
    WrongKey,
    /// Handshakes present a different self-signed certificate: the client must see a pin
    /// mismatch.
    OtherCert,
    /// Request number `k` (counted from 0 since this fault was set) gets entry `k % len`, where
    /// `None` means a normal answer. Handshake faults inside the cycle are applied per handshake,
    /// with their own counter: handshake `h` presents what entry `h % len` says, and requests
    /// whose entry is a handshake fault are answered normally. A cycle nested in a cycle is
    /// indexed with the same counter. An empty cycle is no fault.
    Cycle(Vec<Option<Fault>>),
}

/// What a handshake presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presented {
    /// The agent's certificate, signed with its key.
    Right,
    /// The agent's certificate, signed with another key.
    WrongKey,
    /// Another certificate, signed with that certificate's key.
    OtherCert,
}

/// The fault currently set, shared by the connection threads and the TLS certificate resolver.
#[derive(Debug, Default)]
pub(crate) struct FaultSlot {
    state: Mutex<SlotState>,
}

#[derive(Debug, Default)]
struct SlotState {
    fault: Option<Fault>,
    /// Requests since the fault was set: the index into a [`Fault::Cycle`].
    requests: u64,
    /// Handshakes since the fault was set: the index into a [`Fault::Cycle`] for handshakes.
    handshakes: u64,
}

impl FaultSlot {
    /// Replaces the fault and restarts the cycle counters, so a new cycle starts at entry 0.
    pub(crate) fn set(&self, fault: Option<Fault>) {
        let mut state = lock(&self.state);
        state.fault = fault;
        state.requests = 0;
        state.handshakes = 0;
    }

    /// The fault for the next request, resolved through any cycle; `None` for a normal answer.
    pub(crate) fn for_request(&self) -> Option<Fault> {
        let mut state = lock(&self.state);
        let k = state.requests;
        state.requests += 1;
        match pick(state.fault.as_ref()?, k)? {
            Fault::WrongKey | Fault::OtherCert => None,
            fault => Some(fault.clone()),
        }
    }

    /// What the next full handshake presents.
    pub(crate) fn for_handshake(&self) -> Presented {
        let mut state = lock(&self.state);
        let k = state.handshakes;
        state.handshakes += 1;
        match state.fault.as_ref().and_then(|f| pick(f, k)) {
            Some(Fault::WrongKey) => Presented::WrongKey,
            Some(Fault::OtherCert) => Presented::OtherCert,
            _ => Presented::Right,
        }
    }

    /// Whether handshakes must be full ones: a resumed handshake presents no certificate, so it
    /// would silently skip a handshake fault.
    pub(crate) fn blocks_resumption(&self) -> bool {
        lock(&self.state)
            .fault
            .as_ref()
            .is_some_and(touches_handshakes)
    }
}

/// The entry of `fault` for event number `k`: the fault itself, or a cycle's entry.
fn pick(fault: &Fault, k: u64) -> Option<&Fault> {
    match fault {
        Fault::Cycle(entries) if entries.is_empty() => None,
        Fault::Cycle(entries) => {
            // The remainder is below `entries.len()`, so it fits in usize.
            let i = usize::try_from(k % entries.len() as u64).unwrap_or(0);
            entries[i].as_ref().and_then(|entry| pick(entry, k))
        }
        other => Some(other),
    }
}

fn touches_handshakes(fault: &Fault) -> bool {
    match fault {
        Fault::WrongKey | Fault::OtherCert => true,
        Fault::Cycle(entries) => entries.iter().flatten().any(touches_handshakes),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_count_requests_and_handshakes_separately() {
        let slot = FaultSlot::default();
        slot.set(Some(Fault::Cycle(vec![
            None,
            Some(Fault::OtherCert),
            Some(Fault::Garbage),
        ])));
        assert!(slot.blocks_resumption());
        let requests: Vec<_> = (0..4).map(|_| slot.for_request()).collect();
        assert_eq!(requests, [None, None, Some(Fault::Garbage), None]);
        let handshakes: Vec<_> = (0..4).map(|_| slot.for_handshake()).collect();
        assert_eq!(
            handshakes,
            [
                Presented::Right,
                Presented::OtherCert,
                Presented::Right,
                Presented::Right
            ]
        );

        slot.set(Some(Fault::Cycle(vec![Some(Fault::Cycle(vec![
            Some(Fault::Drop),
            None,
        ]))])));
        assert!(!slot.blocks_resumption());
        assert_eq!(slot.for_request(), Some(Fault::Drop));
        assert_eq!(slot.for_request(), None);

        slot.set(Some(Fault::Cycle(Vec::new())));
        assert_eq!(slot.for_request(), None);
        slot.set(None);
        assert_eq!(slot.for_handshake(), Presented::Right);
        assert!(!slot.blocks_resumption());
    }
}
