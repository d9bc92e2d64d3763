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

/// Whether `c` could change what a terminal shows beyond printing itself, or prints as nothing
/// a reader can see.
///
/// True for the C0 and C1 control characters (escape sequences start with one; carriage
/// returns and backspaces overwrite what was printed), and for every character that has no
/// visible form of its own: Unicode's format characters (general category Cf: the
/// bidirectional marks, embeddings, overrides and isolates that reorder how the rest of a line
/// is displayed, zero-width spaces and joiners, the word joiner, the byte order mark, …), the
/// line and paragraph separators U+2028 and U+2029 (Zl, Zp), private-use characters (Co),
/// the whole tag block U+E0000 to U+E007F, and the Hangul fillers U+115F, U+1160, U+3164 and
/// U+FFA0. With any of them in a value, what an operator sees is not what they would copy.
///
/// ```
/// use felhom_agentapi::terminal::could_rewrite;
///
/// assert!(could_rewrite('\u{1b}') && could_rewrite('\n') && could_rewrite('\u{202e}'));
/// assert!(could_rewrite('\u{200b}') && could_rewrite('\u{2028}') && could_rewrite('\u{e0041}'));
/// assert!(!could_rewrite('a') && !could_rewrite('ü') && !could_rewrite('\\'));
/// ```
pub fn could_rewrite(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let code = u32::from(c);
    if code < INVISIBLE[0].0 {
        return false;
    }
    // The last range that starts at or before `code`.
    let after = INVISIBLE.partition_point(|&(start, _)| start <= code);
    after > 0 && code <= INVISIBLE[after - 1].1
}

/// The characters besides controls that [`could_rewrite`] names, as sorted, disjoint, inclusive
/// ranges of code points: general category Cf as of Unicode 16, Zl, Zp, Co, the tag block and
/// the Hangul fillers. A table rather than a Unicode-database dependency: the categories change
/// little, and a test checks that the table is sorted and disjoint.
const INVISIBLE: [(u32, u32); 26] = [
    (0x00AD, 0x00AD),   // soft hyphen
    (0x0600, 0x0605),   // Arabic number signs
    (0x061C, 0x061C),   // Arabic letter mark
    (0x06DD, 0x06DD),   // Arabic end of ayah
    (0x070F, 0x070F),   // Syriac abbreviation mark
    (0x0890, 0x0891),   // Arabic pound and piastre marks above
    (0x08E2, 0x08E2),   // Arabic disputed end of ayah
    (0x115F, 0x1160),   // Hangul choseong and jungseong fillers
    (0x180E, 0x180E),   // Mongolian vowel separator
    (0x200B, 0x200F),   // zero-width space, non-joiner, joiner; LRM, RLM
    (0x2028, 0x202E),   // line and paragraph separators; embeddings and overrides
    (0x2060, 0x2064),   // word joiner, invisible operators
    (0x2066, 0x206F),   // isolates; deprecated format characters
    (0x3164, 0x3164),   // Hangul filler
    (0xE000, 0xF8FF),   // private use area
    (0xFEFF, 0xFEFF),   // zero-width no-break space, byte order mark
    (0xFFA0, 0xFFA0),   // halfwidth Hangul filler
    (0xFFF9, 0xFFFB),   // interlinear annotation
    (0x110BD, 0x110BD), // Kaithi number sign
    (0x110CD, 0x110CD), // Kaithi number sign above
    (0x13430, 0x1343F), // Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0000, 0xE007F), // tags
    // Supplementary private use areas A and B, with the two noncharacters that end each plane.
    (0xF0000, 0xFFFFF),
    (0x100000, 0x10FFFF),
];

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
    use super::{could_rewrite, escape, shorten};

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
        for c in ['\u{061b}', '\u{061d}', '\u{202f}', '\u{2065}'] {
            assert!(!could_rewrite(c), "{c:?}");
        }
        for c in ('\0'..='\u{1f}')
            .chain(['\u{7f}'])
            .chain('\u{80}'..='\u{9f}')
        {
            assert!(could_rewrite(c), "{c:?}");
        }
    }

    #[test]
    fn invisible_characters_are_escaped_and_their_neighbours_are_not() {
        let invisible = [
            '\u{ad}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{2028}',
            '\u{2029}',
            '\u{115f}',
            '\u{1160}',
            '\u{3164}',
            '\u{ffa0}',
            '\u{e000}',
            '\u{f8ff}',
            '\u{f0000}',
            '\u{10fffd}',
            '\u{180e}',
            '\u{fff9}',
            '\u{1d173}',
            '\u{13430}',
        ]
        .into_iter()
        .chain('\u{206a}'..='\u{206f}')
        .chain('\u{e0000}'..='\u{e007f}');
        for c in invisible {
            assert!(could_rewrite(c), "{c:?}");
            assert!(
                !escape(&format!("id{c}x")).chars().any(could_rewrite),
                "{c:?}"
            );
        }
        for c in [
            '\u{ac}',
            '\u{ae}',
            '\u{200a}',
            '\u{2027}',
            '\u{202f}',
            '\u{205f}',
            '\u{3163}',
            '\u{3165}',
            '\u{f900}',
            '\u{fefe}',
            '\u{ff9f}',
            '\u{e0080}',
            'é',
            '名',
        ] {
            assert!(!could_rewrite(c), "{c:?}");
        }
    }

    #[test]
    fn the_table_is_sorted_and_disjoint() {
        for pair in super::INVISIBLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:x?}");
        }
    }
}
