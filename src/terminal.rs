//! Keeping text from the agent from rewriting the terminal of whoever reads it.
//!
//! The agent is not trusted to be polite: a string it sends could hold an escape sequence that
//! clears the screen or retitles the window, a carriage return that overwrites what came before
//! it, or a bidirectional override that makes `rm` display as `mr`. Every message this crate
//! builds from agent text, and every line the `felhom-agentctl` tool prints, escapes exactly the
//! characters [`could_rewrite`] names, with [`escape`].
//!
//! ```
//! use felhom_agentapi::terminal;
//!
//! let from_agent = "disk\u{1b}[2J ready\u{202e}";
//! assert!(from_agent.chars().any(terminal::could_rewrite));
//! assert_eq!(terminal::escape(from_agent), "disk\\u{1b}[2J ready\\u{202e}");
//! ```

use std::borrow::Cow;

/// Whether `c` could change what a terminal shows beyond printing itself.
///
/// True for the C0 and C1 control characters (escape sequences start with one; carriage
/// returns and backspaces overwrite what was printed) and for the Unicode bidirectional
/// formatting characters, which reorder how the rest of a line is displayed: the Arabic letter
/// mark U+061C, the marks U+200E and U+200F, the embeddings and overrides U+202A to U+202E, and
/// the isolates U+2066 to U+2069.
///
/// ```
/// use felhom_agentapi::terminal::could_rewrite;
///
/// assert!(could_rewrite('\u{1b}') && could_rewrite('\n') && could_rewrite('\u{202e}'));
/// assert!(!could_rewrite('a') && !could_rewrite('ü') && !could_rewrite('\\'));
/// ```
pub fn could_rewrite(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that [`could_rewrite`] a terminal escaped the way Rust writes it
/// in a string literal (`\n`, `\t`, `\u{1b}`, `\u{202e}`); every other character is kept as it
/// is. Text that needs no escaping is returned without a copy.
///
/// The result holds no character that [`could_rewrite`] a terminal, so escaping it again changes
/// nothing.
///
/// ```
/// use felhom_agentapi::terminal::escape;
///
/// assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
/// assert_eq!(escape("a\x1b[2Kb\nc"), "a\\u{1b}[2Kb\\nc");
/// assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
/// assert_eq!(escape(&escape("x\u{202e}y")), "x\\u{202e}y");
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(could_rewrite) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if could_rewrite(c) {
            // For these characters `escape_default` is `\t`, `\r`, `\n` or `\u{..}`: never a
            // character that could itself rewrite anything.
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most this many characters of a value are echoed by [`shorten`].
pub const ECHO_LIMIT: usize = 80;

/// `value` quoted and escaped as `{:?}` writes it (no character that [`could_rewrite`] a
/// terminal survives), and cut after [`ECHO_LIMIT`] characters with a note of the full length,
/// for echoing what a user typed in a message: a 5,000-character typo is shown once, as its
/// start.
///
/// ```
/// use felhom_agentapi::terminal::shorten;
///
/// assert_eq!(shorten("10.0.0.1:8443"), "\"10.0.0.1:8443\"");
/// assert!(shorten(&"x".repeat(5000)).ends_with("… (5000 characters)"));
/// ```
pub fn shorten(value: &str) -> String {
    let count = value.chars().count();
    if count <= ECHO_LIMIT {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(ECHO_LIMIT).collect();
    format!("{head:?}… ({count} characters)")
}

#[cfg(test)]
mod tests {
    use super::{could_rewrite, shorten};

    #[test]
    fn short_values_are_quoted_whole_and_long_ones_cut() {
        assert_eq!(shorten("a\u{1b}[2J"), "\"a\\u{1b}[2J\"");
        let shown = shorten(&"x".repeat(5000));
        assert!(shown.len() < 120, "{shown}");
        assert!(!shorten(&"\u{202e}".repeat(100)).chars().any(could_rewrite));
    }

    #[test]
    fn the_bidirectional_formatting_characters_and_no_neighbour() {
        let bidi = ['\u{061c}', '\u{200e}', '\u{200f}']
            .into_iter()
            .chain('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}');
        for c in bidi {
            assert!(could_rewrite(c), "{c:?}");
        }
        for c in [
            '\u{061b}', '\u{061d}', '\u{200d}', '\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}',
        ] {
            assert!(!could_rewrite(c), "{c:?}");
        }
        for c in ('\0'..='\u{1f}')
            .chain(['\u{7f}'])
            .chain('\u{80}'..='\u{9f}')
        {
            assert!(could_rewrite(c), "{c:?}");
        }
    }
}
