//! The operator command built from a pending operation: whatever the agent sent, a POSIX shell
//! reads `opsign_command()` back as exactly `felhom-opsign -op OP -host HOST -durable-id ID`.
//!
//! The oracle is a small word splitter below that understands only what the quoting may emit and
//! rejects everything else. (The crate's property tests check the same against a real `sh`.)
//!
//! Input: three values separated by 0xFF bytes (which UTF-8 never holds), decoded as lossy UTF-8,
//! NUL bytes removed (no command argument can hold one; `FormatRefused::opsign_command` gives no
//! command for such values).
#![no_main]

use felhom_agentapi::wire::PendingOp;
use libfuzzer_sys::fuzz_target;

/// Splits `command` into words the way a POSIX shell does, for the subset the quoting emits:
/// words separated by single spaces, each made of plain characters, single-quoted spans (inside
/// which nothing is special) and `\'` (an escaped single quote) between spans.
///
/// Anything outside that subset is an error rather than a guess: an unquoted character that a
/// shell may treat specially, a backslash before anything but `'`, an unterminated quote, or an
/// empty word that only a doubled, leading or trailing space could make.
fn shell_words(command: &str) -> Result<Vec<String>, String> {
    // Characters that no POSIX shell treats specially anywhere in a word that is not the command
    // name (`=` only matters before the command name).
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);

    let mut words = Vec::new();
    let mut word = String::new();
    // Whether the current word has begun: `''` is a word, empty but present.
    let mut begun = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' => {
                if !begun {
                    return Err("an empty unquoted word (doubled or leading space)".into());
                }
                words.push(std::mem::take(&mut word));
                begun = false;
            }
            '\'' => {
                begun = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(inner) => word.push(inner),
                        None => return Err("an unterminated single quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\'') => {
                    begun = true;
                    word.push('\'');
                }
                other => return Err(format!("a backslash before {other:?}")),
            },
            c if plain(c) => {
                begun = true;
                word.push(c);
            }
            c => return Err(format!("{c:?} unquoted, which a shell may treat specially")),
        }
    }
    if !begun {
        return Err("an empty unquoted word (trailing space or empty command)".into());
    }
    words.push(word);
    Ok(words)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xFF).map(|part| {
        let mut value = String::from_utf8_lossy(part).into_owned();
        value.retain(|c| c != '\0');
        value
    });
    let mut pending = PendingOp::default();
    pending.op = parts.next().unwrap_or_default();
    pending.host_scope = parts.next().unwrap_or_default();
    pending.durable_id = parts.next().unwrap_or_default();

    let command = pending.opsign_command();
    let words = shell_words(&command)
        .unwrap_or_else(|why| panic!("command {command:?} is outside the quoting: {why}"));
    assert_eq!(
        words,
        [
            "felhom-opsign",
            "-op",
            &pending.op,
            "-host",
            &pending.host_scope,
            "-durable-id",
            &pending.durable_id,
        ],
        "command {command:?}"
    );
});
