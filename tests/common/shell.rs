//! What a POSIX shell makes of a command line the library built (the operator's
//! `felhom-opsign` command): the integration tests' `common` module declares it, and the
//! library's property tests include it by path.

use std::process::Command;

/// What `sh` parses a command line into: the arguments after the program name, empty ones
/// included.
pub fn shell_words(command: &str) -> Vec<String> {
    let script = format!("set -- {command}; shift; printf '%s\\0' \"$@\"");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("run sh");
    assert!(out.status.success(), "sh failed on {command:?}");
    let mut words: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .map(|w| String::from_utf8(w.to_vec()).expect("utf-8 back from sh"))
        .collect();
    words.pop(); // after the last NUL
    words
}
