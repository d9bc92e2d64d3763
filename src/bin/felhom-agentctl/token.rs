//! Where the bearer token comes from. Never from argv: every user of the machine can read it.
//!
//! Precedence: `--token-stdin` > `--token-file` / `FELHOM_AGENT_TOKEN_FILE` >
//! `FELHOM_AGENT_TOKEN`. Error messages name the source but never include the token.

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use crate::args::TokenArgs;

/// The environment variable holding the token itself. Read here rather than declared to clap,
/// because clap prints the values of `env` options in `--help`.
pub const TOKEN_ENV: &str = "FELHOM_AGENT_TOKEN";

/// A token file or line longer than this is a mistake (a wrong path, a binary), not a token.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

/// Refuses `--token VALUE` for every subcommand, even those that need no token: whoever typed
/// it should learn that the token is now exposed. The value is never repeated.
pub fn refuse_flag(args: &TokenArgs) -> Result<(), String> {
    match args.token {
        Some(_) => Err(format!(
            "--token is not accepted: a token on the command line can be read by every user of \
             this machine, so treat that token as exposed. Pass tokens with --token-file, \
             --token-stdin or {TOKEN_ENV}"
        )),
        None => Ok(()),
    }
}

/// Reads the token from the source with the highest precedence.
///
/// Errors are complete messages for the user, without the token.
pub fn read(args: &TokenArgs) -> Result<String, String> {
    let (token, source) = if args.token_stdin {
        (from_stdin()?, "standard input".to_string())
    } else if let Some(path) = &args.token_file {
        (from_file(path)?, format!("token file {}", path.display()))
    } else if let Some(value) = std::env::var_os(TOKEN_ENV) {
        let value = value
            .into_string()
            .map_err(|_| format!("{TOKEN_ENV} is not valid UTF-8"))?;
        (value, TOKEN_ENV.to_string())
    } else {
        return Err(format!(
            "no token: give one with --token-file PATH, FELHOM_AGENT_TOKEN_FILE, \
             {TOKEN_ENV} or --token-stdin"
        ));
    };
    if token.is_empty() {
        return Err(format!("the token from {source} is empty"));
    }
    Ok(token)
}

fn from_stdin() -> Result<String, String> {
    let mut line = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_TOKEN_BYTES + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("could not read the token from standard input: {e}"))?;
    if line.len() as u64 > MAX_TOKEN_BYTES {
        return Err(format!(
            "the first line of standard input is longer than {MAX_TOKEN_BYTES} bytes: not a token"
        ));
    }
    let line = String::from_utf8(line)
        .map_err(|_| "the token on standard input is not valid UTF-8".to_string())?;
    Ok(strip_newline(line))
}

fn from_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("could not open token file {shown}: {e}"))?;
    // Check the file that was opened, not the path again, so it cannot be swapped in between.
    let metadata = file
        .metadata()
        .map_err(|e| format!("could not inspect token file {shown}: {e}"))?;
    if metadata.is_dir() {
        return Err(format!("token file {shown} is a directory"));
    }
    check_private(path, &metadata)?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("could not read token file {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(format!(
            "token file {shown} is larger than {MAX_TOKEN_BYTES} bytes: not a token file"
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("token file {shown} is not valid UTF-8"))?;
    Ok(strip_newline(text))
}

/// Refuses a token file that group or others may read or write: the token is then as good as
/// leaked (or replaceable), and the owner should know.
#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "token file {} has mode {mode:04o}, so other users may read or change it; make it \
             private with: chmod 600 {}",
            path.display(),
            path.display(),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Removes one trailing `\n` or `\r\n`, as editors and `echo` leave them. Anything else stays,
/// so a token with inner line breaks is refused by the client rather than silently cut.
fn strip_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_exactly_one_line_ending() {
        assert_eq!(strip_newline("abc\n".into()), "abc");
        assert_eq!(strip_newline("abc\r\n".into()), "abc");
        assert_eq!(strip_newline("abc".into()), "abc");
        assert_eq!(strip_newline("abc\n\n".into()), "abc\n");
        assert_eq!(strip_newline("abc\r".into()), "abc\r");
        assert_eq!(strip_newline("\n".into()), "");
    }
}
