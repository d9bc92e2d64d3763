//! The agent's answer envelope, `{"ok":…,"error":…,"data":…}`.

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
}
