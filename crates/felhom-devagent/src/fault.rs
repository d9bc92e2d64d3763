//! Injected faults: what they are, which one the next request or handshake gets, and what a
//! request fault makes of the answer. (What a handshake presents is played by `tls.rs`.)

use std::sync::Mutex;
use std::time::Duration;

use super::control::lock;
use super::envelope;
use super::http::Response;

/// A misbehaviour to inject with [`DevAgent::set_fault`](crate::DevAgent::set_fault).
///
/// Request faults replace or disturb the answer to every request while set. Faults that still
/// send the real answer ([`Fault::Slow`], [`Fault::Oversized`], [`Fault::StallBody`],
/// [`Fault::Truncate`], [`Fault::CutWithoutCloseNotify`]) run the endpoint, with its side
/// effects (a `POST /backup` starts a job); the others ([`Fault::Status`], [`Fault::Drop`],
/// [`Fault::CloseReused`] on a reused connection, …) answer without touching the agent's state.
/// Handshake faults ([`Fault::WrongKey`], [`Fault::OtherCert`]) apply to every new TLS handshake
/// and leave requests on already established connections alone; while one is set the agent
/// refuses TLS session resumption, so that every handshake really presents a certificate.
///
/// ```
/// use std::time::Duration;
///
/// use felhom_devagent::{DevAgent, Fault};
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
    /// A request on a connection that has already carried one gets no answer: the agent reads
    /// (and records) it, then closes the connection with a TLS `close_notify` and a TCP FIN,
    /// without running the endpoint. lighttpd does this when it finds, only once the next
    /// request arrives, that the connection sat idle past its keep-alive timeout. The first
    /// request on each connection is answered normally, so a request sent again on a fresh
    /// connection gets its answer.
    CloseReused,
    /// Answer without a `Content-Length` (the end of the connection ends the body), send half
    /// of the body, then end the connection with a TCP FIN and no TLS `close_notify`, as a
    /// server that died mid-answer: only the missing `close_notify` shows that the body was cut.
    /// The endpoint runs.
    CutWithoutCloseNotify,
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
    /// Faults for one path each, with their own cycle counters.
    by_path: Mutex<Vec<(String, SlotState)>>,
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

    /// Sets the fault for requests to `path` alone, and restarts its cycle counter.
    pub(crate) fn set_on(&self, path: &str, fault: Fault) {
        let mut by_path = lock(&self.by_path);
        by_path.retain(|(p, _)| p != path);
        by_path.push((
            path.to_owned(),
            SlotState {
                fault: Some(fault),
                ..SlotState::default()
            },
        ));
    }

    /// Removes every fault set with [`FaultSlot::set_on`].
    pub(crate) fn clear_paths(&self) {
        lock(&self.by_path).clear();
    }

    /// The fault for the next request, to `path`, resolved through any cycle; `None` for a
    /// normal answer. A fault for that path takes precedence over the one for every path.
    pub(crate) fn for_request(&self, path: &str) -> Option<Fault> {
        let mut by_path = lock(&self.by_path);
        if let Some((_, state)) = by_path.iter_mut().find(|(p, _)| p == path) {
            return state.next_request_fault();
        }
        drop(by_path);
        lock(&self.state).next_request_fault()
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

impl SlotState {
    fn next_request_fault(&mut self) -> Option<Fault> {
        let k = self.requests;
        self.requests += 1;
        match pick(self.fault.as_ref()?, k)? {
            Fault::WrongKey | Fault::OtherCert => None,
            fault => Some(fault.clone()),
        }
    }
}

/// How one request is answered under the fault [`FaultSlot::for_request`] picked; the
/// connection carries it out.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Send this instead of the endpoint's answer; the endpoint does not run.
    Replace(Response),
    /// Run the endpoint and deliver its answer so.
    Endpoint(Delivery),
    /// Read the request, then close the connection without any answer.
    Close,
    /// [`Plan::Close`] on a connection that has carried a request before; a normal answer on
    /// a fresh one.
    CloseReused,
}

/// How the endpoint's own answer goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Whole, at once: no fault.
    Whole,
    /// Whole, after this wait; not at all if the agent stops first.
    Delayed(Duration),
    /// Whole, its body padded to exactly this many bytes ([`pad`]).
    Padded(usize),
    /// The head (announcing the whole body) and half of the body, then, after stalling this
    /// long if given, the end of the connection.
    Half(Option<Duration>),
    /// A head without a length, half of the body, then a TCP FIN with no `close_notify`.
    Cut,
}

impl Plan {
    /// The plan for a request that gets `fault` (`None`: answer normally).
    pub(crate) fn for_fault(fault: Option<&Fault>) -> Plan {
        let Some(fault) = fault else {
            return Plan::Endpoint(Delivery::Whole);
        };
        Plan::Replace(match fault {
            Fault::Status(status) => envelope::error(*status, &format!("injected HTTP {status}")),
            Fault::StatusWithoutEnvelope(status) => Response {
                status: *status,
                content_type: "text/plain; charset=utf-8",
                headers: Vec::new(),
                body: format!("injected HTTP {status}: this body is not an envelope\n")
                    .into_bytes(),
            },
            Fault::NotOk(message) => envelope::error(200, message),
            Fault::Answer { status, body } => Response::json(*status, body.clone().into_bytes()),
            Fault::Garbage => Response::json(
                200,
                b"<html><body><h1>502 Bad Gateway</h1> this is not JSON</body></html>\n".to_vec(),
            ),
            Fault::WrongType => envelope::ok(200, &wrong_types()),
            Fault::Redirect(location) => envelope::error(302, "moved").with_header(
                "Location",
                location
                    .chars()
                    .filter(|c| !matches!(c, '\r' | '\n'))
                    .collect(),
            ),
            Fault::Drop => return Plan::Close,
            Fault::CloseReused => return Plan::CloseReused,
            Fault::CutWithoutCloseNotify => return Plan::Endpoint(Delivery::Cut),
            Fault::Slow(delay) => return Plan::Endpoint(Delivery::Delayed(*delay)),
            Fault::Oversized(size) => return Plan::Endpoint(Delivery::Padded(*size)),
            Fault::Truncate => return Plan::Endpoint(Delivery::Half(None)),
            Fault::StallBody(stall) => return Plan::Endpoint(Delivery::Half(Some(*stall))),
            // Handshake faults leave requests alone; a cycle is resolved by the slot already.
            Fault::WrongKey | Fault::OtherCert | Fault::Cycle(_) => {
                return Plan::Endpoint(Delivery::Whole);
            }
        })
    }
}

/// Every member any endpoint sends, each with a type the client does not expect.
fn wrong_types() -> serde_json::Value {
    serde_json::json!({
        "vmid": "one hundred",
        "mounts": 7,
        "due": "yes",
        "reason": 42,
        "job_id": 7,
        "phase": false,
        "error": ["not", "a", "string"],
        "disks": {"not": "a list"},
        "assigned": 1,
        "ejected": true,
        "dependent_guests": "101,102",
        "device": 3,
        "formatted": "no",
        "data_bearing": "maybe",
        "pending_op": "none",
        "host": [],
        "storage_targets": "none",
    })
}

/// Grows a JSON object to exactly `size` bytes while keeping it valid and its meaning intact:
/// a `"pad":"xxx…"` member takes all but at most 8 of the extra bytes, white space the rest.
/// Returns `body` unchanged if it is already that large, or is not an object.
pub(crate) fn pad(mut body: Vec<u8>, size: usize) -> Vec<u8> {
    const MEMBER: &[u8] = br#","pad":"""#; // the member with an empty value
    let extra = size.saturating_sub(body.len());
    if extra == 0 || body.last() != Some(&b'}') {
        return body;
    }
    body.pop();
    body.reserve(extra + 1);
    if extra >= MEMBER.len() {
        body.extend_from_slice(&MEMBER[..MEMBER.len() - 1]);
        body.resize(body.len() + extra - MEMBER.len(), b'x');
        body.push(b'"');
    } else {
        body.resize(body.len() + extra, b' ');
    }
    body.push(b'}');
    body
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
        let requests: Vec<_> = (0..4).map(|_| slot.for_request("/storage")).collect();
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
        assert_eq!(slot.for_request("/storage"), Some(Fault::Drop));
        assert_eq!(slot.for_request("/storage"), None);

        slot.set(Some(Fault::Cycle(Vec::new())));
        assert_eq!(slot.for_request("/storage"), None);
        slot.set(None);
        assert_eq!(slot.for_handshake(), Presented::Right);
        assert!(!slot.blocks_resumption());
    }

    #[test]
    fn a_path_fault_counts_and_breaks_only_its_path() {
        let slot = FaultSlot::default();
        slot.set(Some(Fault::Garbage));
        slot.set_on(
            "/backup/status",
            Fault::Cycle(vec![None, Some(Fault::Drop)]),
        );
        assert_eq!(slot.for_request("/backup/status"), None);
        assert_eq!(slot.for_request("/backup"), Some(Fault::Garbage));
        assert_eq!(slot.for_request("/backup/status"), Some(Fault::Drop));
        assert_eq!(slot.for_request("/backup/status"), None);
        // Setting it again restarts its cycle; clearing the paths leaves the global fault.
        slot.set_on("/backup/status", Fault::Status(500));
        assert_eq!(slot.for_request("/backup/status"), Some(Fault::Status(500)));
        slot.clear_paths();
        assert_eq!(slot.for_request("/backup/status"), Some(Fault::Garbage));
        slot.set(None);
        assert_eq!(slot.for_request("/backup/status"), None);
    }

    #[test]
    fn padding_hits_every_size_and_stays_valid() {
        let body = envelope::ok(200, &serde_json::json!({"vmid": 101})).body;
        let original: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for size in body.len()..body.len() + 40 {
            let padded = pad(body.clone(), size);
            assert_eq!(padded.len(), size);
            let value: serde_json::Value = serde_json::from_slice(&padded).unwrap();
            assert_eq!(value["data"], original["data"]);
        }
        assert_eq!(pad(body.clone(), 3), body);
        assert_eq!(pad(b"[1]".to_vec(), 10), b"[1]");
        assert_eq!(pad(body.clone(), 1_048_577).len(), 1_048_577);
    }
}
