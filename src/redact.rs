//! Keeping the bearer token out of what the client hands back: one spelling for a hidden token,
//! and redaction of whole wire values, whatever fields they have.
//!
//! A wire value is redacted through its serde form: every string in it, nested ones included,
//! is rewritten, then the value is read back. No list of fields is kept anywhere, so a field the
//! agent's API gains later is covered the day it is declared. This runs only on the way into an
//! error (a refusal, a failed backup), never on a successful answer, so its cost does not matter.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What stands in for the token wherever it is hidden: in `Debug` output and in agent text.
pub(crate) const REDACTED: &str = "[redacted]";

/// How many times over a token may have been quoted on its way into a message and still be
/// found: an agent's text that quotes it (Go's `%q`), inside a serde error that quotes that.
const QUOTINGS: usize = 3;

/// `text` with every occurrence of `token` replaced by [`REDACTED`], as it is and as quoted
/// strings spell it, up to [`QUOTINGS`] times over: serde's errors quote a value the way Rust's
/// `Debug` does, and JSON and Go the same way for a visible-ASCII token (`"` as `\"`, `\` as
/// `\\`).
pub(crate) fn text<'a>(text: &'a str, token: &str) -> Cow<'a, str> {
    if token.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut forms = vec![token.to_string()];
    for _ in 0..QUOTINGS {
        let last = &forms[forms.len() - 1];
        let quoted = last.replace('\\', "\\\\").replace('"', "\\\"");
        if quoted == *last {
            // Nothing to quote: every further spelling is the same.
            break;
        }
        forms.push(quoted);
    }
    let mut out = Cow::Borrowed(text);
    // The most quoted spelling first: each one may contain the ones before it.
    for form in forms.iter().rev() {
        if out.contains(form.as_str()) {
            out = Cow::Owned(out.replace(form.as_str(), REDACTED));
        }
    }
    out
}

/// `value` with `token` replaced in every string it serializes, map keys included.
///
/// A value that holds no token is returned as it is. One that cannot make the round trip
/// through serde (no wire type is such) becomes the type's default: better an empty field in an
/// error than the token.
pub(crate) fn value<T: Serialize + DeserializeOwned + Default>(value: T, token: &str) -> T {
    if token.is_empty() {
        return value;
    }
    let Ok(mut tree) = serde_json::to_value(&value) else {
        return T::default();
    };
    if !rewrite(&mut tree, token) {
        return value;
    }
    serde_json::from_value(tree).unwrap_or_default()
}

/// Replaces `token` in every string of `tree`; says whether anything changed.
fn rewrite(tree: &mut Value, token: &str) -> bool {
    match tree {
        Value::String(s) => match text(s, token) {
            Cow::Owned(clean) => {
                *s = clean;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| rewrite(item, token) | changed),
        Value::Object(map) => {
            let mut changed = false;
            for (key, item) in std::mem::take(map) {
                let mut item = item;
                changed |= rewrite(&mut item, token);
                let key = match text(&key, token) {
                    Cow::Owned(clean) => {
                        changed = true;
                        clean
                    }
                    Cow::Borrowed(_) => key,
                };
                map.insert(key, item);
            }
            changed
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
pub(crate) mod saturate;

#[cfg(test)]
mod tests {
    use std::fmt::Debug;

    use super::saturate::saturated;
    use super::*;
    use crate::wire::*;

    const TOKEN: &str = "tok-3f9a";

    /// Fills every field of a `T` with text around the token, redacts it, and checks that the
    /// token is nowhere (not even in a field that does not serialize: `Debug` shows every
    /// field), and that the result is exactly the value filled with the redacted text: every
    /// string was rewritten, and nothing else changed on the way.
    fn redacts_every_string<T>()
    where
        T: Serialize + DeserializeOwned + Default + PartialEq + Debug,
    {
        let name = std::any::type_name::<T>();
        let full: T = saturated(&format!("echo {TOKEN} and {TOKEN}"));
        assert!(
            format!("{full:?}").contains(TOKEN),
            "{name} holds no string"
        );
        let redacted = value(full, TOKEN);
        let shown = format!("{redacted:?}");
        assert!(!shown.contains(TOKEN), "{name} kept the token: {shown}");
        let expected: T = saturated(&format!("echo {REDACTED} and {REDACTED}"));
        assert_eq!(redacted, expected, "{name}");
    }

    #[test]
    fn a_token_quoted_once_twice_or_three_times_over_is_hidden() {
        let token = r#"ab"c\d"#;
        let mut spelled = token.to_string();
        for _ in 0..=QUOTINGS {
            let shown = format!("bad token {spelled}!");
            assert_eq!(text(&shown, token), "bad token [redacted]!", "{spelled}");
            spelled = format!("{spelled:?}").trim_matches('"').to_string();
        }
        assert_eq!(text("nothing here", token), "nothing here");
    }

    #[test]
    fn every_string_of_every_wire_type_is_redacted() {
        redacts_every_string::<FormatResult>();
        redacts_every_string::<PendingOp>();
        redacts_every_string::<StatusResponse>();
        redacts_every_string::<BackupResponse>();
        redacts_every_string::<BackupPhase>();
        redacts_every_string::<DueResponse>();
        redacts_every_string::<StorageResponse>();
        redacts_every_string::<MountInfo>();
        redacts_every_string::<DisksResponse>();
        redacts_every_string::<DiskInfo>();
        redacts_every_string::<EjectResult>();
        redacts_every_string::<HostMetricsResponse>();
        redacts_every_string::<HostMetrics>();
        redacts_every_string::<StorageTarget>();
        redacts_every_string::<SmartSummary>();
        redacts_every_string::<String>();
    }

    #[test]
    fn nested_values_are_filled_and_redacted_too() {
        let full: FormatResult = saturated(TOKEN);
        let op = full.pending_op.as_ref().expect("the option is filled");
        assert_eq!(op.host_scope, TOKEN);
        let redacted = value(full, TOKEN);
        assert_eq!(redacted.pending_op.unwrap().host_scope, REDACTED);

        let metrics: HostMetricsResponse = saturated(TOKEN);
        assert_eq!(metrics.storage_targets[0].smart.health, TOKEN);
        assert_eq!(metrics.host.loadavg, [TOKEN]);
    }

    #[test]
    fn a_value_without_the_token_is_kept_and_an_empty_token_redacts_nothing() {
        let mut status = StatusResponse {
            error: "disk full".into(),
            phase: BackupPhase::Other("paused".into()),
            ..Default::default()
        };
        assert_eq!(value(status.clone(), TOKEN), status);
        status.error = TOKEN.into();
        assert_eq!(value(status.clone(), ""), status);
        assert_eq!(text("a b", ""), "a b");
        assert_eq!(text(&format!("x{TOKEN}y"), TOKEN), "x[redacted]y");
    }

    #[test]
    fn map_keys_are_redacted() {
        let map = std::collections::BTreeMap::from([(format!("k-{TOKEN}"), TOKEN.to_string())]);
        let redacted = value(map, TOKEN);
        assert_eq!(
            redacted.into_iter().collect::<Vec<_>>(),
            [("k-[redacted]".to_string(), "[redacted]".to_string())]
        );
    }
}
