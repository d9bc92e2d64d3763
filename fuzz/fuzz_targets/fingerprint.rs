//! Fingerprint parsing: any text is parsed or rejected without a panic, and what parses prints
//! back, in the canonical and in the colon form, to text that parses to the same value.
//!
//! Input: UTF-8 text (other inputs are skipped).
#![no_main]

use felhom_agentapi::Fingerprint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(fp) = text.parse::<Fingerprint>() else {
        return;
    };

    let canonical = fp.to_string();
    assert_eq!(canonical.len(), 64, "canonical form {canonical:?}");
    assert!(
        canonical
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "canonical form is not lowercase hex: {canonical:?}"
    );
    assert_eq!(canonical.parse::<Fingerprint>(), Ok(fp), "from {text:?}");

    let colon = format!("{fp:#}");
    assert_eq!(colon.len(), 32 * 3 - 1, "colon form {colon:?}");
    assert_eq!(colon, fp.to_colon_hex());
    assert_eq!(colon.parse::<Fingerprint>(), Ok(fp), "from {text:?}");

    assert_eq!(Fingerprint::from_bytes(*fp.as_bytes()), fp);

    // The value is the input's own hex digits, in order: nothing is dropped, added or reordered.
    let trimmed = text.trim();
    let digits = match trimmed.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256:") => &trimmed[7..],
        _ => trimmed,
    };
    let own: String = digits
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    assert_eq!(own, canonical, "from {text:?}");
});
