//! Durations on the command line: `30` (seconds), `500ms`, `15s`, `2m`, `1h`.

use std::time::Duration;

/// Parses a whole number with an optional unit (`ms`, `s`, `m`, `h`); no unit means seconds.
///
/// Deliberately small: no fractions and no compound forms like `1m30s`, which scripts do not
/// need and which would make typos harder to spot.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits_end);
    if number.is_empty() {
        return Err(format!(
            "{text:?} is not a duration: expected a whole number with an optional unit, like 30, \
             500ms, 15s, 2m or 1h"
        ));
    }
    let too_long = || format!("{text:?} is too long a duration");
    let n: u64 = number.parse().map_err(|_| too_long())?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => {
            return Err(format!(
                "{text:?} has an unknown unit {unit:?}: use ms, s, m or h (no unit means seconds)"
            ));
        }
    };
    n.checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(too_long)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration(" 1h "), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for bad in [
            "",
            "s",
            "ms",
            "-1s",
            "1.5s",
            "15 s",
            "2d",
            "1m30s",
            "99999999999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_duration(&format!("{}h", u64::MAX / 1000)).is_err());
    }
}
