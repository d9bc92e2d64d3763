//! POSIX shell quoting for the operator command built from values the agent sent.

use std::borrow::Cow;

/// Characters that a POSIX shell never treats specially, anywhere in a word.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c)
}

/// Quotes `value` so that a POSIX shell reads it back as exactly one argument equal to `value`.
///
/// Plain values are returned unchanged, so ordinary commands look as they always did. Anything
/// else is put in single quotes, inside which the shell interprets nothing; a single quote itself
/// is written as `'\''` (close, escaped quote, reopen).
pub(crate) fn quote(value: &str) -> Cow<'_, str> {
    // A leading `=` is plain to POSIX sh but not to zsh, which expands `=cmd` to a path.
    if !value.is_empty() && !value.starts_with('=') && value.chars().all(is_plain) {
        return Cow::Borrowed(value);
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    Cow::Owned(quoted)
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn plain_values_are_unchanged() {
        for v in [
            "storage_wipe",
            "pve-1",
            "byid:usb-WD_1",
            "a@b%c+d=e,f.g/h",
            "-op",
        ] {
            assert_eq!(quote(v), v);
        }
    }

    #[test]
    fn everything_else_is_single_quoted() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("~root"), "'~root'");
        assert_eq!(quote("x\ny"), "'x\ny'");
        assert_eq!(quote("é"), "'é'");
        assert_eq!(quote("=ls"), "'=ls'");
        assert_eq!(quote("a=b"), "a=b");
    }
}
