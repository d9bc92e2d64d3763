//! SHA-256 fingerprints of the agent's leaf certificate: parsing, printing, computing.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The SHA-256 digest of a certificate's DER bytes: the pin that the client trusts.
///
/// Parsing is tolerant of the ways people copy fingerprints around: any case, `:` or white space
/// between digits, an optional `sha256:` prefix, the whole line `openssl x509 -fingerprint
/// -sha256` prints (`SHA256 Fingerprint=AB:CD:…`), and a trailing newline. It is strict about the
/// one thing that matters: the result must be exactly 32 bytes. A shorter digest (MD5, SHA-1) is
/// an error, never silently accepted, and so is a curl `sha256//…` pin, which is the hash of the
/// certificate's public key rather than of the certificate.
///
/// `Display` prints 64 lowercase hex digits; the alternate form (`{:#}`) prints uppercase
/// colon-separated pairs, as Proxmox shows them.
///
/// ```
/// use felhom_agentapi::Fingerprint;
///
/// let fp: Fingerprint = "SHA256:AB:cd:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:\
///                        ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89\n".parse()?;
/// assert_eq!(fp.to_string(), "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
/// assert!(format!("{fp:#}").starts_with("AB:CD:EF:01:"));
///
/// // What openssl prints is accepted as it is.
/// let openssl = format!("SHA256 Fingerprint={fp:#}");
/// assert_eq!(openssl.parse::<Fingerprint>()?, fp);
///
/// // A SHA-1 fingerprint is too short to be a pin.
/// assert!("da39a3ee5e6b4b0d3255bfef95601890afd80709".parse::<Fingerprint>().is_err());
/// // A curl public-key pin names the key, not the certificate.
/// let spki = "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=".parse::<Fingerprint>();
/// assert!(spki.unwrap_err().to_string().contains("public key"));
/// # Ok::<(), felhom_agentapi::ParseFingerprintError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    ///
    /// ```
    /// use felhom_agentapi::Fingerprint;
    /// let fp = Fingerprint::of_der(b"not really a certificate");
    /// assert_eq!(fp.as_bytes().len(), 32);
    /// ```
    pub fn of_der(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Wraps 32 raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Fingerprint {
        Fingerprint(bytes)
    }

    /// The 32 raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The colon form, `AB:CD:…`, as Proxmox prints certificate fingerprints. Same as `{:#}`.
    pub fn to_colon_hex(&self) -> String {
        format!("{self:#}")
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            for (i, b) in self.0.iter().enumerate() {
                if i > 0 {
                    f.write_str(":")?;
                }
                write!(f, "{b:02X}")?;
            }
            Ok(())
        } else {
            f.write_str(&hex::encode(self.0))
        }
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    fn from_str(s: &str) -> Result<Fingerprint, ParseFingerprintError> {
        let trimmed = s.trim();
        if strip_prefix_ignore_case(trimmed, "sha256//").is_some() {
            return Err(ParseFingerprintError::PublicKeyPin);
        }
        // `openssl x509 -fingerprint -sha256` prints `SHA256 Fingerprint=` (OpenSSL 1.1) or
        // `sha256 Fingerprint=` (OpenSSL 3) before the colon form.
        let digits = strip_prefix_ignore_case(trimmed, "sha256 fingerprint=")
            .or_else(|| strip_prefix_ignore_case(trimmed, "sha256:"))
            .unwrap_or(trimmed);
        let mut bytes = Vec::with_capacity(32);
        let mut high: Option<u8> = None;
        let mut count = 0usize;
        for (position, c) in digits.char_indices() {
            if c == ':' || c.is_whitespace() {
                continue;
            }
            let Some(value) = c.to_digit(16) else {
                return Err(ParseFingerprintError::InvalidCharacter {
                    character: c,
                    position,
                });
            };
            count += 1;
            let value = value as u8;
            match high.take() {
                None => high = Some(value),
                Some(h) => bytes.push((h << 4) | value),
            }
        }
        if count == 0 {
            return Err(ParseFingerprintError::Empty);
        }
        match <[u8; 32]>::try_from(bytes) {
            Ok(array) if high.is_none() => Ok(Fingerprint(array)),
            _ => Err(ParseFingerprintError::WrongLength { hex_digits: count }),
        }
    }
}

/// A pin as [`Client::new`](crate::Client::new), [`Client::builder`](crate::Client::builder) and
/// [`ClientBuilder::also_pin`](crate::ClientBuilder::also_pin) take it: a [`Fingerprint`], or
/// text that is parsed as one when the client is built (a bad one is then
/// [`Error::Config`](crate::Error::Config)).
///
/// ```
/// use felhom_agentapi::{Client, Fingerprint};
///
/// let current = Fingerprint::from_bytes([0x1f; 32]);
/// let client = Client::builder("10.0.0.1:8443", "token", current)
///     .also_pin("2E".repeat(32)) // text works too
///     .build()?;
/// assert_eq!(client.pins()[0], current);
/// # Ok::<(), felhom_agentapi::Error>(())
/// ```
pub trait IntoPin: sealed::Sealed {
    #[doc(hidden)]
    fn into_pin(self) -> sealed::PinSource;
}

pub(crate) mod sealed {
    use super::Fingerprint;

    /// A pin as given: parsed already, or text to parse when the client is built.
    #[derive(Clone, Debug)]
    pub enum PinSource {
        Parsed(Fingerprint),
        Text(String),
    }

    pub trait Sealed {}
    impl Sealed for Fingerprint {}
    impl Sealed for &Fingerprint {}
    impl Sealed for &str {}
    impl Sealed for String {}
    impl Sealed for &String {}
}

impl IntoPin for Fingerprint {
    fn into_pin(self) -> sealed::PinSource {
        sealed::PinSource::Parsed(self)
    }
}

impl IntoPin for &Fingerprint {
    fn into_pin(self) -> sealed::PinSource {
        sealed::PinSource::Parsed(*self)
    }
}

impl IntoPin for &str {
    fn into_pin(self) -> sealed::PinSource {
        sealed::PinSource::Text(self.to_string())
    }
}

impl IntoPin for String {
    fn into_pin(self) -> sealed::PinSource {
        sealed::PinSource::Text(self)
    }
}

impl IntoPin for &String {
    fn into_pin(self) -> sealed::PinSource {
        sealed::PinSource::Text(self.clone())
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a SHA-256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseFingerprintError {
    /// The string holds no hex digits at all.
    Empty,
    /// A character that is neither a hex digit nor a separator (`:` or white space).
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte offset after trimming and removing any `sha256:` prefix.
        position: usize,
    },
    /// The digits do not make exactly 32 bytes (64 hex digits).
    WrongLength {
        /// How many hex digits the string held.
        hex_digits: usize,
    },
    /// A curl `--pinnedpubkey` pin (`sha256//<base64>`): the SHA-256 of the certificate's public
    /// key (its SPKI), not of the certificate, so it can never equal a certificate pin.
    PublicKeyPin,
}

impl fmt::Display for ParseFingerprintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseFingerprintError::Empty => {
                f.write_str("fingerprint is empty: expected the 64 hex digits of a SHA-256")
            }
            ParseFingerprintError::InvalidCharacter {
                character,
                position,
            } => write!(
                f,
                "fingerprint has {character:?} at offset {position}, which is not a hex digit \
                 (only hex digits, ':' and white space are allowed)"
            ),
            ParseFingerprintError::WrongLength { hex_digits } => write!(
                f,
                "fingerprint has {hex_digits} hex digits, but a SHA-256 fingerprint has exactly 64 \
                 (is it an MD5 or SHA-1 fingerprint? ask for the SHA-256 of the certificate)"
            ),
            ParseFingerprintError::PublicKeyPin => f.write_str(
                "fingerprint is a curl sha256// pin, which pins the certificate's public key, not \
                 the certificate: give the SHA-256 of the whole certificate (what \
                 'felhom-agentctl fingerprint' or 'openssl x509 -noout -fingerprint -sha256' \
                 prints)",
            ),
        }
    }
}

impl std::error::Error for ParseFingerprintError {}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn parses_every_tolerated_spelling_to_the_same_value() {
        let want: Fingerprint = HEX.parse().unwrap();
        let colon = want.to_colon_hex();
        for s in [
            HEX.to_string(),
            HEX.to_uppercase(),
            format!("{HEX}\n"),
            format!("  sha256:{HEX}\r\n"),
            format!("SHA256:{colon}"),
            colon.to_lowercase(),
            colon.replace(':', " "),
            format!("SHA256 Fingerprint={colon}"),
            format!("sha256 Fingerprint={colon}\n"),
        ] {
            assert_eq!(s.parse::<Fingerprint>(), Ok(want), "input {s:?}");
        }
    }

    #[test]
    fn rejects_everything_that_is_not_32_bytes() {
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        assert_eq!(
            sha1.parse::<Fingerprint>(),
            Err(ParseFingerprintError::WrongLength { hex_digits: 40 })
        );
        let too_long = format!("{HEX}00");
        assert!(matches!(
            too_long.parse::<Fingerprint>(),
            Err(ParseFingerprintError::WrongLength { hex_digits: 66 })
        ));
        let odd = &HEX[..63];
        assert!(matches!(
            odd.parse::<Fingerprint>(),
            Err(ParseFingerprintError::WrongLength { hex_digits: 63 })
        ));
        assert_eq!("".parse::<Fingerprint>(), Err(ParseFingerprintError::Empty));
        assert_eq!(
            " :: \n".parse::<Fingerprint>(),
            Err(ParseFingerprintError::Empty)
        );
        assert_eq!(
            "sha256:".parse::<Fingerprint>(),
            Err(ParseFingerprintError::Empty)
        );
        let bad = format!("{}g", &HEX[..63]);
        assert_eq!(
            bad.parse::<Fingerprint>(),
            Err(ParseFingerprintError::InvalidCharacter {
                character: 'g',
                position: 63
            })
        );
        // A prefix that is not sha256 is not silently skipped.
        assert!(format!("md5:{HEX}").parse::<Fingerprint>().is_err());
        assert!(
            format!("SHA1 Fingerprint={HEX}")
                .parse::<Fingerprint>()
                .is_err()
        );
        // A curl SPKI pin, whatever its base64 says, is a different hash of a different thing.
        assert_eq!(
            "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse::<Fingerprint>(),
            Err(ParseFingerprintError::PublicKeyPin)
        );
        assert_eq!(
            format!(" SHA256//{HEX}").parse::<Fingerprint>(),
            Err(ParseFingerprintError::PublicKeyPin)
        );
    }

    #[test]
    fn prints_canonical_and_colon_forms() {
        let fp: Fingerprint = HEX.parse().unwrap();
        assert_eq!(fp.to_string(), HEX);
        assert_eq!(
            format!("{fp:#}"),
            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
        );
        assert_eq!(format!("{fp:?}"), format!("Fingerprint({HEX})"));
    }

    #[test]
    fn of_der_is_sha256_of_the_bytes() {
        // SHA-256 of the empty string, a published test vector.
        assert_eq!(
            Fingerprint::of_der(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn serde_uses_the_canonical_string() {
        let fp: Fingerprint = HEX.parse().unwrap();
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, format!("\"{HEX}\""));
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
    }
}
