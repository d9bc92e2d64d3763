//! Interpreting the agent's answers: the `{ok, data, error}` envelope into a payload or an
//! [`Error`], the answer to a format into a verdict, and agent text made fit for an error.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::call::{Call, FORMAT_DISK};
use crate::error::{Error, FormatRefused};
use crate::redact;
use crate::terminal::escape;
use crate::wire::{Envelope, FormatResult};

/// A complete answer: status and body, read in full.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Judges answers for a client: what it needs to know is only the token to keep out of errors.
pub(crate) struct Judge<'a> {
    pub(crate) token: &'a str,
}

impl Judge<'_> {
    /// Makes text that came from the agent fit for an error message: the token is replaced,
    /// so an agent echoing the request cannot put it into a log, and control characters are
    /// escaped, so it cannot rewrite the reader's terminal.
    pub(crate) fn scrub(&self, text: &str) -> String {
        escape(&redact::text(text, self.token)).into_owned()
    }

    /// `value`, a wire value the agent sent, with the token replaced in every string it holds.
    pub(crate) fn redact<T: Serialize + DeserializeOwned + Default>(&self, value: T) -> T {
        redact::value(value, self.token)
    }

    /// Unwraps an answer whose status is one of `accepted`: the envelope must say `ok: true`,
    /// and its `data` must decode as `T` (a missing or `null` data is `T`'s zero value, as in Go).
    pub(crate) fn payload<T: DeserializeOwned + Default>(
        &self,
        call: &Call,
        answer: &Answer,
        accepted: &[u16],
    ) -> Result<T, Error> {
        if !accepted.contains(&answer.status) {
            return Err(self.unexpected_status(call, answer));
        }
        let envelope = self.envelope(call, &answer.body)?;
        if !envelope.ok {
            let message = if envelope.error.is_empty() {
                "ok: false, with no error text".to_string()
            } else {
                self.scrub(&envelope.error)
            };
            return Err(Error::Agent {
                call: call.clone(),
                message,
            });
        }
        self.data(call, envelope.data)
    }

    pub(crate) fn envelope<'b>(&self, call: &Call, body: &'b [u8]) -> Result<Envelope<'b>, Error> {
        serde_json::from_slice(body).map_err(|e| Error::Decode {
            call: call.clone(),
            message: self.scrub(&format!(
                "the body is not an {{ok, data, error}} envelope: {e}"
            )),
        })
    }

    pub(crate) fn data<T: DeserializeOwned + Default>(
        &self,
        call: &Call,
        data: Option<&serde_json::value::RawValue>,
    ) -> Result<T, Error> {
        let Some(raw) = data else {
            return Ok(T::default());
        };
        serde_json::from_str(raw.get()).map_err(|e| Error::Decode {
            call: call.clone(),
            message: self.scrub(&format!("the data has the wrong shape: {e}")),
        })
    }

    /// An [`Error::Http`], with the envelope's error text when the body is an envelope.
    pub(crate) fn unexpected_status(&self, call: &Call, answer: &Answer) -> Error {
        let message = serde_json::from_slice::<Envelope<'_>>(&answer.body)
            .ok()
            .map(|envelope| envelope.error)
            .filter(|m| !m.is_empty())
            .map(|m| self.scrub(&m));
        Error::Http {
            call: call.clone(),
            status: answer.status,
            message,
        }
    }

    /// Judges the answer to `POST /disks/format` for `device`. Only an explicit "formatted" is a
    /// success; a refusal is [`Error::FormatRefused`] however unreadable its body.
    pub(crate) fn format_outcome(
        &self,
        device: &str,
        answer: &Answer,
    ) -> Result<FormatResult, Error> {
        let call = &FORMAT_DISK;
        let refused = |result: FormatResult, message: Option<String>| {
            // The refusal becomes an error: no agent text in it may carry the token.
            let mut result = self.redact(result);
            result.data_bearing = true;
            result.formatted = false;
            if result.device.is_empty() {
                result.device = device.to_string();
            }
            Error::FormatRefused(FormatRefused {
                result: Box::new(result),
                http_status: answer.status,
                message,
            })
        };
        let message_of =
            |envelope: &Envelope<'_>| Some(self.scrub(&envelope.error)).filter(|m| !m.is_empty());

        match answer.status {
            // A refusal. Read what can be read of it, but never let a bad body turn it into
            // anything else.
            403 => {
                let (result, message) = match serde_json::from_slice::<Envelope<'_>>(&answer.body) {
                    Ok(envelope) => (
                        self.data::<FormatResult>(call, envelope.data)
                            .unwrap_or_default(),
                        message_of(&envelope),
                    ),
                    Err(_) => (FormatResult::default(), None),
                };
                Err(refused(result, message))
            }
            200 | 202 => {
                let envelope = self.envelope(call, &answer.body)?;
                let result: FormatResult = self.data(call, envelope.data)?;
                let message = message_of(&envelope);
                if result.data_bearing && !result.formatted {
                    Err(refused(result, message))
                } else if !envelope.ok {
                    let message = message.unwrap_or_else(|| "ok: false, with no error text".into());
                    Err(Error::Agent {
                        call: call.clone(),
                        message,
                    })
                } else if !result.formatted {
                    Err(Error::Agent {
                        call: call.clone(),
                        message: format!(
                            "the agent answered ok but did not format {device:?} (formatted: \
                             false); treat the device as not formatted"
                        ),
                    })
                } else {
                    Ok(result)
                }
            }
            _ => Err(self.unexpected_status(call, answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::{TOKEN, judge};
    use crate::redact::REDACTED;
    use crate::redact::saturate::saturated;

    #[test]
    fn a_refusal_keeps_the_token_in_no_field() {
        // Every field the agent can send holds the token, in a 403 and in a 2xx refusal.
        let mut data: FormatResult = saturated(&format!("echo {TOKEN}"));
        data.formatted = false;
        let body = serde_json::json!({"ok": false, "error": format!("echo {TOKEN}"), "data": data});
        let mut expected: FormatResult = saturated(&format!("echo {REDACTED}"));
        expected.formatted = false;
        for status in [403, 200] {
            let answer = Answer {
                status,
                body: body.to_string().into_bytes(),
            };
            let err = judge().format_outcome("/dev/sdx", &answer).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(TOKEN), "HTTP {status}: {shown}");
            let Error::FormatRefused(refusal) = err else {
                panic!("HTTP {status}: {shown}");
            };
            assert_eq!(refusal.result(), &expected, "HTTP {status}");
            assert_eq!(refusal.message(), Some("echo [redacted]"));
        }
    }
}
