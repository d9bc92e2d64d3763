//! The agent's answer envelope, `{"ok":…,"error":…,"data":…}`, and padding one to an exact
//! size.

use serde::Serialize;

use super::http::Response;

/// Members in the order the Go agent writes them; absent ones are left out, as with Go's
/// `omitempty`.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize + ?Sized> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a T>,
}

/// `{"ok":true,"data":<data>}` with this status.
pub(crate) fn ok<T: Serialize + ?Sized>(status: u16, data: &T) -> Response {
    encode(
        status,
        &Envelope {
            ok: true,
            error: None,
            data: Some(data),
        },
    )
}

/// `{"ok":false,"error":<message>}` with this status.
pub(crate) fn error(status: u16, message: &str) -> Response {
    encode::<()>(
        status,
        &Envelope {
            ok: false,
            error: Some(message),
            data: None,
        },
    )
}

/// `{"ok":false,"error":<message>,"data":<data>}`: a refusal that still explains itself, like
/// the agent's 403 on formatting a data-bearing disk.
pub(crate) fn refusal<T: Serialize + ?Sized>(status: u16, message: &str, data: &T) -> Response {
    encode(
        status,
        &Envelope {
            ok: false,
            error: Some(message),
            data: Some(data),
        },
    )
}

fn encode<T: Serialize + ?Sized>(status: u16, envelope: &Envelope<'_, T>) -> Response {
    // Plain structs, strings and numbers: serialization has no way to fail.
    let body = serde_json::to_vec(envelope).expect("an envelope always serializes");
    Response::json(status, body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_keep_go_member_order() {
        assert_eq!(
            ok(200, &serde_json::json!({"vmid": 101})).body,
            br#"{"ok":true,"data":{"vmid":101}}"#
        );
        assert_eq!(error(404, "nope").body, br#"{"ok":false,"error":"nope"}"#);
        assert_eq!(
            refusal(403, "no", &[1]).body,
            br#"{"ok":false,"error":"no","data":[1]}"#
        );
    }

    #[test]
    fn padding_hits_every_size_and_stays_valid() {
        let body = ok(200, &serde_json::json!({"vmid": 101})).body;
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
