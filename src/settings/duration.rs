//! Time limits in settings: a number of seconds always; with the `durations` feature also what
//! Go and systemd write (`1h30m`, `1.5s`, `500ms`, `2 min`), read by the jiff crate.

use std::fmt;
use std::time::Duration;

/// Parses a time limit, as written in a settings file, an environment variable or a flag.
///
/// A plain number is seconds, as in systemd (`30`, `1.5`). With the crate's `durations`
/// feature, any duration jiff's "friendly" format reads is accepted too: Go's `1h30m` and
/// `500ms`, systemd's `2 min`, `1.5s` and `10d` (a day is 24 hours, a week 7 days, as in
/// systemd), and spelled-out units (`90 seconds`). Negative durations are refused. Without the
/// feature, a value with a unit is refused with a message saying so.
///
/// ```
/// use std::time::Duration;
/// use felhom_agentapi::settings::parse_duration;
///
/// assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
/// # #[cfg(feature = "durations")] {
/// assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse_duration("2 min"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("10d"), Ok(Duration::from_secs(864_000)));
/// # }
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ParseDurationError> {
    let s = text.trim();
    let refused = |reason| ParseDurationError {
        shown: crate::terminal::shorten(text),
        reason,
    };
    if s.is_empty() {
        return Err(refused(Reason::Empty));
    }
    // Only a number after the minus: `--timeout -v` took the next option for its value.
    if s.strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    {
        return Err(refused(Reason::Negative));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return seconds(s).ok_or_else(|| refused(Reason::NotSeconds));
    }
    with_units(s).map_err(refused)
}

/// Why [`parse_duration`] refused a text. Its message names the text (quoted, shortened, with
/// control characters escaped) and says what to write instead.
///
/// ```
/// use felhom_agentapi::settings::parse_duration;
///
/// let err = parse_duration("-5").unwrap_err();
/// assert!(err.is_negative());
/// assert_eq!(err.input(), r#""-5""#);
/// assert_eq!(err.to_string(), r#""-5": a duration cannot be negative"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDurationError {
    shown: String,
    reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Empty,
    Negative,
    NotSeconds,
    #[cfg(feature = "durations")]
    NotDuration,
    #[cfg(not(feature = "durations"))]
    UnitsNeedFeature,
}

impl ParseDurationError {
    /// The refused text as the message shows it: quoted, shortened, control characters escaped.
    pub fn input(&self) -> &str {
        &self.shown
    }

    /// Whether the text was refused for being negative (`-5`, `-1s`), rather than unreadable.
    pub fn is_negative(&self) -> bool {
        self.reason == Reason::Negative
    }
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.shown;
        match self.reason {
            Reason::Empty => {
                f.write_str("the duration is empty: write seconds (30) or a duration like 1m30s")
            }
            Reason::Negative => write!(f, "{shown}: a duration cannot be negative"),
            Reason::NotSeconds => write!(f, "{shown} is not a number of seconds"),
            #[cfg(feature = "durations")]
            Reason::NotDuration => write!(
                f,
                "{shown} is not a duration: write seconds (30) or a duration as Go or systemd \
                 write them (500ms, 1.5s, 1h30m, 2 min)"
            ),
            #[cfg(not(feature = "durations"))]
            Reason::UnitsNeedFeature => write!(
                f,
                "{shown} is not a number of seconds; durations with units (1h30m, 500ms) need \
                 the felhom-agentapi feature \"durations\""
            ),
        }
    }
}

impl std::error::Error for ParseDurationError {}

fn seconds(s: &str) -> Option<Duration> {
    let value: f64 = s.parse().ok()?;
    Duration::try_from_secs_f64(value).ok()
}

#[cfg(feature = "durations")]
fn with_units(s: &str) -> Result<Duration, Reason> {
    // Days and weeks are 24 and 168 hours, as systemd counts them (`10d`, `2w`); jiff reads
    // them into a `Span` only, as a calendar's days may be longer or shorter.
    let parsed = s.parse::<jiff::SignedDuration>().or_else(|_| {
        s.parse::<jiff::Span>()
            .and_then(|span| span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()))
    });
    let parsed = parsed.map_err(|_| Reason::NotDuration)?;
    Duration::try_from(parsed).map_err(|_| Reason::Negative)
}

#[cfg(not(feature = "durations"))]
fn with_units(_: &str) -> Result<Duration, Reason> {
    Err(Reason::UnitsNeedFeature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_seconds() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration(" 1.5 "), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "1.2.3", ".", "1e400"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        for negative in ["-5", "-5s", "-.5"] {
            let err = parse_duration(negative).unwrap_err();
            assert!(err.is_negative(), "{err}");
            assert!(err.to_string().contains("cannot be negative"), "{err}");
        }
        assert!(
            !parse_duration("-v")
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
    }

    #[cfg(feature = "durations")]
    #[test]
    fn go_and_systemd_spellings_are_read() {
        for (text, want) in [
            ("1h30m", 5_400_000),
            ("1.5s", 1500),
            ("500ms", 500),
            ("2 min", 120_000),
            ("2m", 120_000),
            ("1m30s", 90_000),
            ("90 seconds", 90_000),
            ("1h 2m 3s", 3_723_000),
            ("10d", 864_000_000),
            ("2 weeks", 1_209_600_000),
            ("1d12h", 129_600_000),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(want)),
                "{text:?}"
            );
        }
        for bad in ["soon", "5 parsecs", "-1s", "1x", "s", "1 month", "1y"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        let long = parse_duration(&"9".repeat(5000)).unwrap_err();
        assert!(long.to_string().len() < 300, "{long}");
    }
}
