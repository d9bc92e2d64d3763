//! Printing answers: JSON for scripts (the stable interface), or a summary for people.
//!
//! Every string in the human summaries comes from the agent, which is not trusted to be polite:
//! what could rewrite the terminal is escaped (see [`clean`]) so an answer cannot drive it. JSON
//! is read by people too (on a terminal, in a journal): serde_json escapes C0 controls itself,
//! and [`json`] writes the rest of those characters (C1 controls, bidirectional marks) as
//! `\uXXXX` escapes, which decode to the same strings.

use std::fmt::Write as _;
use std::io::{self, Write};

use felhom_agentapi::wire::{
    BackupResponse, DisksResponse, DueResponse, EjectResult, FormatResult, HostMetricsResponse,
    StatusResponse, StorageResponse,
};
use felhom_agentapi::{Fingerprint, terminal};
use serde::Serialize;

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One line of JSON, or indented with `--pretty`.
    Json { pretty: bool },
    /// A summary for people.
    Human,
}

/// A successful answer of any subcommand.
pub(crate) enum Answer {
    Storage(StorageResponse),
    Disks(DisksResponse),
    Metrics(HostMetricsResponse),
    Due(DueResponse),
    Started(BackupResponse),
    Status(StatusResponse),
    Assigned(Assigned),
    Ejected(EjectResult),
    Formatted(FormatResult),
    Initialized(Initialized),
    Fingerprint(Presented),
}

/// What `disk init` prints when it formatted and assigned the device.
#[derive(Debug, Serialize)]
pub(crate) struct Initialized {
    pub formatted: FormatResult,
    pub uuid: String,
    #[serde(rename = "where")]
    pub where_: String,
    pub assigned: bool,
}

/// What `disk assign` prints: the agent answers nothing for it, so the request is echoed back,
/// which tells a script what was assigned without re-reading its own arguments.
#[derive(Debug, Serialize)]
pub(crate) struct Assigned {
    pub assigned: bool,
    pub uuid: String,
    #[serde(rename = "where")]
    pub where_: String,
    pub fstype: String,
    pub options: String,
}

/// What `fingerprint` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Presented {
    pub endpoint: String,
    pub sha256: String,
    pub sha256_colon: String,
    /// `fingerprint --save`: the pins file written (or found to hold the pin already).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
}

impl Presented {
    pub(crate) fn new(endpoint: &str, fingerprint: Fingerprint) -> Presented {
        Presented {
            endpoint: endpoint.to_string(),
            sha256: fingerprint.to_string(),
            sha256_colon: fingerprint.to_colon_hex(),
            saved: None,
        }
    }
}

/// Prints `answer` on `out` as `mode` says.
pub(crate) fn print(out: &mut dyn Write, mode: Mode, answer: &Answer) -> io::Result<()> {
    let Mode::Json { pretty } = mode else {
        return out.write_all(human(answer).as_bytes());
    };
    match answer {
        Answer::Storage(a) => json(out, pretty, a),
        Answer::Disks(a) => json(out, pretty, a),
        Answer::Metrics(a) => json(out, pretty, a),
        Answer::Due(a) => json(out, pretty, a),
        Answer::Started(a) => json(out, pretty, a),
        Answer::Status(a) => json(out, pretty, a),
        Answer::Assigned(a) => json(out, pretty, a),
        Answer::Ejected(a) => json(out, pretty, a),
        Answer::Formatted(a) => json(out, pretty, a),
        Answer::Initialized(a) => json(out, pretty, a),
        Answer::Fingerprint(a) => json(out, pretty, a),
    }
}

/// Writes `value` as JSON and a newline, with no character that could rewrite a terminal.
pub(crate) fn json<T: Serialize + ?Sized>(
    out: &mut dyn Write,
    pretty: bool,
    value: &T,
) -> io::Result<()> {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // The wire types always serialize to text.
    let text = text.map_err(io::Error::from)?;
    out.write_all(terminal_safe_json(&text).as_bytes())?;
    out.write_all(b"\n")
}

/// `json` with every character that could rewrite a terminal as a `\uXXXX` escape. Outside
/// strings serde_json writes only ASCII punctuation, digits, letters, spaces and (pretty) line
/// breaks, and inside them it has escaped C0 controls already: every such character left is in
/// a string, where the escape stands for the same character (a surrogate pair beyond the BMP).
fn terminal_safe_json(json: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && terminal::could_rewrite(c);
    if !json.chars().any(unsafe_char) {
        return json.into();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn human(answer: &Answer) -> String {
    let mut s = String::new();
    match answer {
        Answer::Storage(a) => storage(&mut s, a),
        Answer::Disks(a) => disks(&mut s, a),
        Answer::Metrics(a) => metrics(&mut s, a),
        Answer::Due(a) => {
            let due = if a.due {
                "a backup is due"
            } else {
                "no backup is due"
            };
            line(
                &mut s,
                format!("vmid {}: {due}{}", a.vmid, reason(&a.reason)),
            );
        }
        Answer::Started(a) => line(
            &mut s,
            format!(
                "vmid {}: started backup job {} ({})",
                a.vmid,
                clean(&a.job_id),
                clean(a.phase.as_str())
            ),
        ),
        Answer::Status(a) => status(&mut s, a),
        Answer::Assigned(a) => {
            line(
                &mut s,
                format!("assigned drive {} at {}", clean(&a.uuid), clean(&a.where_)),
            );
        }
        Answer::Ejected(a) => {
            let guests = if a.dependent_guests.is_empty() {
                "no guest depended on it".to_string()
            } else {
                let ids: Vec<String> = a.dependent_guests.iter().map(i64::to_string).collect();
                format!("guests that depended on it: {}", ids.join(", "))
            };
            line(&mut s, format!("ejected {}; {guests}", clean(&a.ejected)));
        }
        Answer::Formatted(a) => {
            line(
                &mut s,
                format!("formatted {}{}", clean(&a.device), reason(&a.reason)),
            );
        }
        Answer::Initialized(a) => line(
            &mut s,
            format!(
                "formatted {} and assigned its filesystem {} at {}",
                clean(&a.formatted.device),
                clean(&a.uuid),
                clean(&a.where_)
            ),
        ),
        Answer::Fingerprint(a) => {
            let mut rows = vec![
                vec!["endpoint".into(), clean(&a.endpoint)],
                vec!["sha256".into(), a.sha256.clone()],
                vec!["sha256 (colons)".into(), a.sha256_colon.clone()],
            ];
            if let Some(path) = &a.saved {
                rows.push(vec!["saved to".into(), clean(path)]);
            }
            table(&mut s, None, &rows);
        }
    }
    s
}

/// A backup job's status as one line for people.
pub(crate) fn status_line(a: &StatusResponse) -> String {
    let mut s = String::new();
    status(&mut s, a);
    s
}

fn storage(s: &mut String, a: &StorageResponse) {
    let header = ["KEY", "STORAGE", "MOUNT POINT", "CLASS", "BACKUP"];
    let rows = a.mounts.iter().map(|m| {
        vec![
            clean(&m.key),
            clean(&m.storage),
            clean(&m.mount_point),
            or_dash(&m.class),
            yes_no(m.backup).into(),
        ]
    });
    listing(s, a.vmid, "mount", &header, rows.collect());
}

fn disks(s: &mut String, a: &DisksResponse) {
    let header = [
        "NAME",
        "TYPE",
        "STATE",
        "DEVICE",
        "MOUNTED AT",
        "CLASS",
        "DURABLE ID",
        "DATA",
    ];
    let rows = a.disks.iter().map(|d| {
        let data = match (d.data_bearing, d.data_reason.is_empty()) {
            (false, _) => "no".to_string(),
            (true, true) => "yes".to_string(),
            (true, false) => format!("yes ({})", clean(&d.data_reason)),
        };
        vec![
            clean(&d.name),
            or_dash(&d.kind),
            or_dash(&d.state),
            or_dash(&d.backing_device),
            or_dash(&d.mount_path),
            or_dash(&d.class),
            or_dash(&d.durable_id),
            data,
        ]
    });
    listing(s, a.vmid, "drive", &header, rows.collect());
}

/// A guest's list of `noun`s: a count line, then the table when there is anything in it.
fn listing(s: &mut String, vmid: i64, noun: &str, header: &[&str], rows: Vec<Vec<String>>) {
    line(s, format!("vmid {vmid}: {} {noun}(s)", rows.len()));
    if !rows.is_empty() {
        table(s, Some(header), &rows);
    }
}

fn metrics(s: &mut String, a: &HostMetricsResponse) {
    let h = &a.host;
    let temp = h
        .cpu_temp_c
        .map(|t| format!(", {t} °C"))
        .unwrap_or_default();
    let load = if h.loadavg.is_empty() {
        "-".to_string()
    } else {
        h.loadavg
            .iter()
            .map(|l| clean(l))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let rows = vec![
        vec!["host".into(), or_dash(&h.node)],
        vec!["cpu".into(), format!("{}{temp}", percent(h.cpu_percent))],
        vec![
            "memory".into(),
            used_of(h.memory_used_bytes, h.memory_total_bytes, h.memory_percent),
        ],
        vec![
            "root disk".into(),
            used_of(h.disk_used_bytes, h.disk_total_bytes, h.disk_percent),
        ],
        vec!["load".into(), load],
        vec!["uptime".into(), uptime(h.uptime_seconds)],
    ];
    table(s, None, &rows);
    if a.storage_targets.is_empty() {
        return;
    }
    s.push('\n');
    let rows: Vec<Vec<String>> = a
        .storage_targets
        .iter()
        .map(|t| {
            let thin = match &t.thin_pool {
                None => "-".to_string(),
                Some(p) => match p.metadata_used_fraction {
                    Some(m) => format!(
                        "data {}, meta {}",
                        percent(p.data_used_fraction * 100.0),
                        percent(m * 100.0)
                    ),
                    None => format!("data {}", percent(p.data_used_fraction * 100.0)),
                },
            };
            let smart = match t.smart.temperature_c {
                Some(c) => format!("{} {c} °C", or_dash(&t.smart.health)),
                None => or_dash(&t.smart.health),
            };
            vec![
                clean(&t.name),
                or_dash(&t.kind),
                or_dash(&t.state),
                yes_no(t.reachable).into(),
                size(t.used_bytes),
                size(t.total_bytes),
                size(t.avail_bytes),
                percent(t.used_fraction * 100.0),
                thin,
                smart,
            ]
        })
        .collect();
    table(
        s,
        Some(&[
            "STORAGE",
            "TYPE",
            "STATE",
            "REACHABLE",
            "USED",
            "SIZE",
            "AVAIL",
            "USE",
            "THIN POOL",
            "SMART",
        ]),
        &rows,
    );
}

fn status(s: &mut String, a: &StatusResponse) {
    if a.job_id.is_empty() {
        line(
            s,
            format!(
                "vmid {}: no backup job ({})",
                a.vmid,
                or_dash(a.phase.as_str())
            ),
        );
        return;
    }
    let error = if a.error.is_empty() {
        String::new()
    } else {
        format!(": {}", clean(&a.error))
    };
    line(
        s,
        format!(
            "vmid {}: backup job {} is {}{error}",
            a.vmid,
            clean(&a.job_id),
            clean(a.phase.as_str())
        ),
    );
}

fn line(s: &mut String, text: String) {
    s.push_str(&text);
    s.push('\n');
}

fn reason(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", clean(reason))
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() {
        "-".to_string()
    } else {
        clean(s)
    }
}

/// Renders rows as columns separated by two spaces, left-aligned, with no trailing spaces.
fn table(s: &mut String, header: Option<&[&str]>, rows: &[Vec<String>]) {
    let header: Option<Vec<String>> = header.map(|h| h.iter().map(|c| c.to_string()).collect());
    let all = || header.iter().chain(rows.iter());
    let columns = all().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            all()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in all() {
        let mut text = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        line(s, text);
    }
}

/// A byte count in binary units with one decimal, like `1.5 GiB`; plain bytes below 1 KiB.
pub(crate) fn size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes.unsigned_abs() < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A percentage with one decimal, like `42.5%`.
pub(crate) fn percent(p: f64) -> String {
    format!("{p:.1}%")
}

fn used_of(used: i64, total: i64, percent_used: f64) -> String {
    format!(
        "{} of {} ({})",
        size(used),
        size(total),
        percent(percent_used)
    )
}

/// Seconds as `3d 4h 12m`, coarse on purpose.
fn uptime(seconds: i64) -> String {
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let (d, h, m) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// `text` escaped by the library's [`terminal::escape`], owned, for table cells and lines: the
/// tool shows agent text exactly as the library's error messages do.
pub(crate) fn clean(text: &str) -> String {
    terminal::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output_escapes_what_could_rewrite_a_terminal_and_means_the_same() {
        let text = "a\u{202e}b\u{9b}31m\u{2066}c\u{1b}[2J\nd";
        for pretty in [false, true] {
            let mut out = Vec::new();
            json(&mut out, pretty, &serde_json::json!({ "error": text })).unwrap();
            let printed = String::from_utf8(out).unwrap();
            assert!(
                !printed
                    .chars()
                    .any(|c| c != '\n' && terminal::could_rewrite(c)),
                "{printed:?}"
            );
            assert!(
                printed.contains(r"\u202e") && printed.contains(r"\u009b"),
                "{printed:?}"
            );
            let back: serde_json::Value = serde_json::from_str(&printed).unwrap();
            assert_eq!(back["error"], text, "the escapes decode to the same string");
        }
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(1536 * 1024 * 1024), "1.5 GiB");
        assert_eq!(size(i64::MAX), "8.0 EiB");
        assert_eq!(size(-2048), "-2.0 KiB");
    }

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let mut s = String::new();
        table(
            &mut s,
            Some(&["A", "LONG HEADER", "C"]),
            &[vec!["xyz".into(), "1".into(), "last".into()]],
        );
        assert_eq!(s, "A    LONG HEADER  C\nxyz  1            last\n");
    }

    #[test]
    fn clean_escapes_terminal_controls_only() {
        assert_eq!(clean("pve-1 /mnt/ä"), "pve-1 /mnt/ä");
        assert_eq!(clean("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(clean("x\u{202E}y"), "x\\u{202e}y");
    }

    #[test]
    fn uptime_is_coarse() {
        assert_eq!(uptime(59), "59s");
        assert_eq!(uptime(3_600 + 120), "1h 2m");
        assert_eq!(uptime(2 * 86_400 + 5 * 3_600 + 60), "2d 5h 1m");
    }
}
