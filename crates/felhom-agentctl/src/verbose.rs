//! `-v`: the TLS handshake and each call's timing, on standard error, through the library's
//! observer hook. Nothing it is told holds the token.

use std::time::Duration;

use felhom_agentapi::{CallTiming, Handshake, Observer};

/// Writes one `*` line per handshake and per call, as `curl -v` marks its own notes.
pub(crate) struct Verbose;

impl Observer for Verbose {
    fn handshake(&self, h: &Handshake) {
        let certificate = match h.fingerprint {
            Some(fp) => format!("certificate sha256 {fp} (pinned)"),
            None => "certificate of the resumed session".to_string(),
        };
        let kind = if h.resumed { "resumed" } else { "full" };
        say(&format!(
            "* TLS handshake with {} ({kind}) in {}: {}, {}, {certificate}",
            h.endpoint,
            millis(h.took),
            h.protocol,
            h.cipher_suite
        ));
    }

    fn call(&self, c: &CallTiming) {
        let status = c
            .status
            .map_or("no answer".to_string(), |s| format!("HTTP {s}"));
        say(&format!("* {}: {status} in {}", c.call, millis(c.took)));
    }
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn say(line: &str) {
    crate::say::line(crate::say::Level::Info, &crate::output::clean(line));
}
