//! Monitoring-plugins output, as the plugin development guidelines define it: a status line
//! `FELHOM <STATE> - <summary>`, one further line per finding (the long output), the last of
//! them followed by ` | ` and the performance data, `'label'=value[UOM];warn;crit;min;max ...`.
//! With the performance data on the last line rather than a line of its own, the long output
//! ends without an empty line.
//!
//! The status line is short (at most [`STATUS_MAX`] characters, details go to the long output)
//! and holds no `;`, which Nagios rewrites to `:`; the long output holds none either.
//!
//! The output is ASCII. The agent's names go through [`ascii`]: anything outside printable
//! ASCII, and `|` (which starts performance data), is escaped as `\u{..}`, so a name can
//! neither drive a terminal nor forge performance data or a second status.

use std::fmt::Write as _;

use felhom_agentapi::health::{Finding, Health, Measure, Observation, State, Target, Unit, number};
use felhom_agentapi::wire::{BackupPhase, HostMetricsResponse};

/// The service name at the start of the status line.
const SERVICE: &str = "FELHOM";
/// Problems named in the status line at most; the rest are counted ("and 3 more").
const SUMMARY_PROBLEMS: usize = 5;
/// The longest status-line text (after `FELHOM STATE - `): web interfaces cut longer ones.
pub(super) const STATUS_MAX: usize = 160;

/// A plugin result: what to print, and the state whose exit status to return.
pub(super) struct Report {
    pub state: State,
    pub text: String,
}

/// No verdict: `FELHOM UNKNOWN - <why>`, the first clause of `why` on the status line and the
/// whole of it, a clause a line, in the long output when it does not fit.
pub(super) fn unknown(why: &str) -> Report {
    let clauses: Vec<String> = why.split("; ").map(status_text).collect();
    let first = clauses.first().cloned().unwrap_or_default();
    let status = shorten(&first);
    let mut text = format!("{SERVICE} UNKNOWN - {status}");
    if status != first || clauses.len() > 1 {
        for clause in &clauses {
            let _ = write!(text, "\n{clause}");
        }
    }
    text.push('\n');
    Report {
        state: State::Unknown,
        text,
    }
}

/// The verdict on `health`, which was assessed from `metrics` (with the `ignored` storage
/// targets already removed; `missing` are those the agent did not report at all), with
/// `notes` for the long output.
pub(super) fn render(
    health: &Health,
    metrics: &HostMetricsResponse,
    ignored: &[String],
    missing: &[String],
    notes: &[String],
) -> Report {
    let state = health.state();
    let mut lines = vec![format!("{SERVICE} {state} - {}", summary(health, metrics))];
    for finding in health.findings() {
        lines.push(format!(
            "[{}] {}",
            finding.state,
            status_text(&finding.to_string())
        ));
    }
    for name in ignored.iter().filter(|n| !missing.contains(n)) {
        lines.push(format!("[IGNORED] storage {}", status_text(name)));
    }
    for name in missing {
        lines.push(format!(
            "[NOTE] --ignore {}: the agent reports no storage target of that name",
            status_text(name)
        ));
    }
    for note in notes {
        lines.push(format!("[NOTE] {}", status_text(note)));
    }
    let perf = perfdata(health, metrics);
    let mut text = lines.join("\n");
    if !perf.is_empty() {
        let _ = write!(text, " | {}", perf.join(" "));
    }
    text.push('\n');
    Report { state, text }
}

/// Text for the status line or the long output: [`ascii`], with `;` (which Nagios rewrites to
/// `:`) as `,`.
fn status_text(text: &str) -> String {
    ascii(text).replace(';', ",")
}

/// `text` cut to [`STATUS_MAX`] characters where a statement ends: at the last `: ` that fits
/// (`GET /host/metrics: the agent's certificate matches no pinned fingerprint`, before the
/// fingerprints), but never at one that introduces a command (`make it private with: chmod
/// …`), or else with `...`.
fn shorten(text: &str) -> String {
    if text.len() <= STATUS_MAX {
        return text.to_string();
    }
    // ASCII, so byte offsets are character offsets.
    let head = &text[..STATUS_MAX];
    let ends = head
        .match_indices(": ")
        .map(|(at, _)| at)
        .filter(|&at| at > STATUS_MAX / 3 && !head[..at].ends_with(" with"));
    match ends.last() {
        Some(at) => head[..at].to_string(),
        None => format!("{}...", &text[..STATUS_MAX - 3]),
    }
}

/// The status line's text: the problems, worst first, or what was found in order; never
/// longer than [`STATUS_MAX`].
fn summary(health: &Health, metrics: &HostMetricsResponse) -> String {
    let problems: Vec<&Finding> = health.problems().collect();
    if problems.is_empty() {
        let mut s = format!(
            "{}: {} storage target{}, every measure within its thresholds",
            status_text(
                &Target::Host {
                    node: metrics.host.node.clone()
                }
                .to_string()
            ),
            metrics.storage_targets.len(),
            if metrics.storage_targets.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        let running = health.findings().iter().filter(|f| {
            matches!(
                &f.observation,
                Observation::Backup {
                    phase: BackupPhase::Running,
                    ..
                }
            )
        });
        for note in running {
            let _ = write!(s, ", {}", status_text(&note.to_string()));
        }
        return shorten(&s);
    }
    // As many problems as fit, each whole, and a count of the rest.
    let mut s = shorten(&status_text(&problems[0].to_string()));
    let mut named = 1;
    for problem in problems.iter().skip(1).take(SUMMARY_PROBLEMS - 1) {
        let text = status_text(&problem.to_string());
        let rest = problems.len() - named - 1;
        let tail = if rest > 0 { ", and 99 more".len() } else { 0 };
        if s.len() + 2 + text.len() + tail > STATUS_MAX {
            break;
        }
        let _ = write!(s, ", {text}");
        named += 1;
    }
    if problems.len() > named {
        let more = format!(", and {} more", problems.len() - named);
        if s.len() + more.len() <= STATUS_MAX {
            s.push_str(&more);
        }
    }
    s
}

/// Performance data: every measured level with its thresholds, then what is measured without
/// thresholds (bytes in use, CPU, load); host first, then the storage targets in the agent's
/// order, then the backup. A measure the agent did not send has no finding, so no performance
/// data either. A thresholded level's label is its `--warn` name (`memory`,
/// `local-lvm:thin-pool-data`), in `%`, `s` or degrees; bytes say so (`memory-used-bytes`).
fn perfdata(health: &Health, metrics: &HostMetricsResponse) -> Vec<String> {
    // (order, text): the host's data first, then each target's, measures in their order.
    let position = |target: &Target| match target {
        Target::Storage { name, .. } => metrics
            .storage_targets
            .iter()
            .position(|t| &t.name == name)
            .map_or(usize::MAX - 1, |i| i + 1),
        Target::Backup { .. } => usize::MAX,
        _ => 0,
    };
    let mut items: Vec<((usize, usize), String)> = Vec::new();
    for finding in health.findings() {
        let Observation::Level {
            measure,
            value,
            limits,
        } = &finding.observation
        else {
            continue;
        };
        let (uom, min_max) = match (measure.unit(), measure) {
            (Unit::Percent, Measure::NvmeWear) => ("%", ";0"),
            (Unit::Percent, _) => ("%", ";0;100"),
            (Unit::Seconds, _) => ("s", ";0"),
            _ => ("", ""),
        };
        let label = label(&finding.target, measure.name());
        items.push((
            (position(&finding.target), 2 * rank(*measure)),
            format!(
                "{label}={}{uom};{};{}{min_max}",
                number(*value),
                number(limits.warning()),
                number(limits.critical())
            ),
        ));
    }
    let host = Target::Host {
        node: metrics.host.node.clone(),
    };
    let h = &metrics.host;
    let bytes = [
        (
            Measure::Memory,
            "memory-used-bytes",
            h.memory_used_bytes,
            h.memory_total_bytes,
        ),
        (
            Measure::RootDisk,
            "root-disk-used-bytes",
            h.disk_used_bytes,
            h.disk_total_bytes,
        ),
    ];
    for (measure, name, used, total) in bytes {
        if total > 0 {
            items.push((
                (0, 2 * rank(measure) + 1),
                format!("{}={used}B;;;0;{total}", label(&host, name)),
            ));
        }
    }
    // CPU and load, after the thresholded host measures.
    let after = 2 * Measure::ALL.len();
    items.push((
        (0, after),
        format!("{}={}%;;;0;100", label(&host, "cpu"), number(h.cpu_percent)),
    ));
    for (i, name) in ["load1", "load5", "load15"].into_iter().enumerate() {
        let value = h.loadavg.get(i).and_then(|l| l.trim().parse::<f64>().ok());
        if let Some(value) = value.filter(|v| v.is_finite()) {
            items.push((
                (0, after + 1 + i),
                format!("{}={};;;0", label(&host, name), number(value)),
            ));
        }
    }
    for (i, t) in metrics.storage_targets.iter().enumerate() {
        if t.reachable && t.total_bytes > 0 {
            let target = Target::Storage {
                name: t.name.clone(),
                kind: t.kind.clone(),
            };
            items.push((
                (i + 1, 2 * rank(Measure::StorageUsed) + 1),
                format!(
                    "{}={}B;;;0;{}",
                    label(&target, "storage-used-bytes"),
                    t.used_bytes,
                    t.total_bytes
                ),
            ));
        }
    }
    items.sort_by_key(|(order, _)| *order);
    items.into_iter().map(|(_, text)| text).collect()
}

/// Where `measure` comes in `Measure::ALL`.
fn rank(measure: Measure) -> usize {
    Measure::ALL
        .iter()
        .position(|m| *m == measure)
        .unwrap_or(usize::MAX / 4)
}

/// `'memory'` for the host, `'local-lvm:thin-pool-data'` for a storage target. Proxmox
/// storage names cannot hold `:`, so the two kinds cannot collide.
fn label(target: &Target, what: &str) -> String {
    match target {
        Target::Storage { name, .. } => format!("'{}:{what}'", label_text(name)),
        _ => format!("'{what}'"),
    }
}

/// A name for inside a quoted label: letters, digits and `-_.@+/` as they are; everything
/// else, the quote, `=`, `;` and spaces included, as `\u{..}`.
fn label_text(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || "-_.@+/".contains(c) {
            s.push(c);
        } else {
            s.extend(c.escape_unicode());
        }
    }
    s
}

/// `text` as printable ASCII without `|`: every other character escaped (`\n`, `\u{e4}`).
pub(super) fn ascii(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => s.extend(c.escape_default()),
            ' '..='~' if c != '|' => s.push(c),
            _ => s.extend(c.escape_unicode()),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_escapes_everything_but_printable_ascii_and_the_pipe() {
        for (text, shown) in [
            ("local-lvm 93% (a=b)", "local-lvm 93% (a=b)"),
            ("a|b", "a\\u{7c}b"),
            ("ä\u{1b}[2J\n", "\\u{e4}\\u{1b}[2J\\n"),
            ("x\u{202e}y", "x\\u{202e}y"),
        ] {
            assert_eq!(ascii(text), shown, "{text:?}");
        }
    }

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(label_text("local-lvm"), "local-lvm");
        assert_eq!(
            label_text("a b'c=d;e|f"),
            "a\\u{20}b\\u{27}c\\u{3d}d\\u{3b}e\\u{7c}f"
        );
        assert_eq!(
            label(
                &Target::Storage {
                    name: "x'".into(),
                    kind: String::new()
                },
                "storage-used-bytes"
            ),
            "'x\\u{27}:storage-used-bytes'"
        );
    }

    #[test]
    fn perfdata_numbers_are_plain() {
        assert_eq!(number(61.000000000000014), "61");
        assert_eq!(number(37.5), "37.5");
        assert_eq!(number(-0.0), "0");
    }
}
