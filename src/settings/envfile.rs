//! The `EnvironmentFile=` syntax of systemd, so that one file configures both a unit and the
//! tool: `KEY=VALUE` lines, `#` and `;` comment lines, single and double quotes, backslash
//! escapes and line continuations.
//!
//! The states follow systemd's own parser (`parse_env_file` in its `env-file.c`): what systemd
//! reads into a unit's environment is what this reads, so a file that works for one works for
//! the other.

/// One `KEY=VALUE` assignment, with the line it starts on (counted from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: usize,
}

/// What is wrong with a line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
    CommentEscape,
}

/// Parses the whole file. A later assignment of a key replaces an earlier one, as in systemd.
pub(crate) fn parse(text: &str) -> Result<Vec<Assignment>, SyntaxError> {
    let mut out: Vec<Assignment> = Vec::new();
    let mut state = State::PreKey;
    let mut line = 1;
    let mut start_line = 1;
    let mut key = String::new();
    let mut value = String::new();
    // Where trailing white space of an unquoted value starts, to strip it at the end.
    let mut trailing_ws: Option<usize> = None;

    let mut finish = |key: &mut String,
                      value: &mut String,
                      trailing_ws: &mut Option<usize>,
                      start_line: usize|
     -> Result<(), SyntaxError> {
        if let Some(at) = trailing_ws.take() {
            value.truncate(at);
        }
        let name = key.trim_end().to_string();
        if name.starts_with("export ") {
            return Err(SyntaxError {
                line: start_line,
                message: "'export' is shell syntax that systemd does not read: write KEY=VALUE"
                    .into(),
            });
        }
        if !is_valid_name(&name) {
            return Err(SyntaxError {
                line: start_line,
                message: format!(
                    "{} is not a valid variable name (letters, digits and '_', not starting \
                     with a digit)",
                    crate::terminal::shorten(&name)
                ),
            });
        }
        out.retain(|a| a.key != name);
        out.push(Assignment {
            key: name,
            value: std::mem::take(value),
            line: start_line,
        });
        key.clear();
        Ok(())
    };

    for c in text.chars() {
        let newline = c == '\n' || c == '\r';
        match state {
            State::PreKey => {
                if c == '#' || c == ';' {
                    state = State::Comment;
                } else if !c.is_whitespace() {
                    state = State::Key;
                    start_line = line;
                    key.push(c);
                }
            }
            State::Key => {
                if newline {
                    return Err(SyntaxError {
                        line: start_line,
                        message: "a line without '=': expected KEY=VALUE".into(),
                    });
                } else if c == '=' {
                    state = State::PreValue;
                    trailing_ws = None;
                } else {
                    key.push(c);
                }
            }
            State::PreValue => {
                if newline {
                    state = State::PreKey;
                    finish(&mut key, &mut value, &mut trailing_ws, start_line)?;
                } else if c == '\'' {
                    state = State::SingleQuote;
                } else if c == '"' {
                    state = State::DoubleQuote;
                } else if c == '\\' {
                    state = State::ValueEscape;
                } else if !c.is_whitespace() {
                    state = State::Value;
                    value.push(c);
                }
            }
            State::Value => {
                if newline {
                    state = State::PreKey;
                    finish(&mut key, &mut value, &mut trailing_ws, start_line)?;
                } else if c == '\\' {
                    state = State::ValueEscape;
                    trailing_ws = None;
                } else {
                    if !c.is_whitespace() {
                        trailing_ws = None;
                    } else if trailing_ws.is_none() {
                        trailing_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            State::ValueEscape => {
                state = State::Value;
                // An escaped line break joins the lines; any other escaped character is itself.
                if !newline {
                    value.push(c);
                }
            }
            State::SingleQuote => {
                if c == '\'' {
                    state = State::PreValue;
                } else {
                    value.push(c);
                }
            }
            State::DoubleQuote => {
                if c == '"' {
                    state = State::PreValue;
                } else if c == '\\' {
                    state = State::DoubleQuoteEscape;
                } else {
                    value.push(c);
                }
            }
            State::DoubleQuoteEscape => {
                state = State::DoubleQuote;
                if "\"\\`$".contains(c) {
                    value.push(c);
                } else if c != '\n' {
                    value.push('\\');
                    value.push(c);
                }
            }
            State::Comment => {
                if c == '\\' {
                    state = State::CommentEscape;
                } else if newline {
                    state = State::PreKey;
                }
            }
            State::CommentEscape => state = State::Comment,
        }
        if c == '\n' {
            line += 1;
        }
    }
    match state {
        State::PreKey | State::Comment | State::CommentEscape => {}
        State::Key => {
            return Err(SyntaxError {
                line: start_line,
                message: "a line without '=': expected KEY=VALUE".into(),
            });
        }
        State::SingleQuote | State::DoubleQuote | State::DoubleQuoteEscape => {
            return Err(SyntaxError {
                line: start_line,
                message: "a quote that is never closed".into(),
            });
        }
        State::PreValue | State::Value | State::ValueEscape => {
            finish(&mut key, &mut value, &mut trailing_ws, start_line)?;
        }
    }
    Ok(out)
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|a| (a.key, a.value))
            .collect()
    }

    fn one(text: &str) -> String {
        let all = pairs(text);
        assert_eq!(all.len(), 1, "{text:?} gave {all:?}");
        all[0].1.clone()
    }

    #[test]
    fn reads_plain_assignments_and_skips_comments() {
        let text = "# a comment\n; another\n\n  A=1\nB = two words  \nC=\n";
        assert_eq!(
            pairs(text),
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), String::new())
            ]
        );
        assert_eq!(parse(text).unwrap()[1].line, 5);
    }

    #[test]
    fn quotes_and_escapes_behave_as_in_systemd() {
        assert_eq!(one("A='  single $HOME \\n '"), "  single $HOME \\n ");
        assert_eq!(
            one("A=\"double \\\"q\\\" \\$x \\\\ \\n\""),
            "double \"q\" $x \\ \\n"
        );
        assert_eq!(one("A=\"a\" \"b\""), "ab");
        assert_eq!(one("A=x\\ y"), "x y");
        assert_eq!(one("A=no\\\ncontinued"), "nocontinued");
        assert_eq!(one("A=\"multi\nline\""), "multi\nline");
        assert_eq!(one("A=trailing \\\n"), "trailing ");
        assert_eq!(
            one("A=last line without newline"),
            "last line without newline"
        );
        assert_eq!(one("A=x # not a comment"), "x # not a comment");
        assert_eq!(one("A=1\r\n"), "1");
    }

    #[test]
    fn a_comment_continues_over_an_escaped_newline() {
        assert_eq!(
            pairs("# comment \\\nB=hidden\nA=1"),
            [("A".into(), "1".into())]
        );
    }

    #[test]
    fn the_last_assignment_of_a_key_wins() {
        assert_eq!(
            pairs("A=1\nB=2\nA=3\n"),
            [("B".into(), "2".into()), ("A".into(), "3".into())]
        );
    }

    #[test]
    fn refuses_what_systemd_would_not_read() {
        for (text, line) in [
            ("A=1\njust words\n", 2),
            ("A='open\n\n", 1),
            ("1A=x", 1),
            ("A-B=x", 1),
            ("export A=x", 1),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err:?}");
        }
    }
}
