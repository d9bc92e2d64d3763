//! Monitoring-plugins output, as the plugin development guidelines define it: a status line
//! `FELHOM <STATE> - <summary>`, one further line per finding, then a line of performance
//! data, `| 'label'=value[UOM];warn;crit;min;max ...`.
//!
//! The output is ASCII. The agent's names go through [`ascii`]: anything outside printable
//! ASCII, and `|` (which starts performance data), is escaped as `\u{..}`, so a name can
//! neither drive a terminal nor forge performance data or a second status.

use std::fmt::Write as _;

use felhom_agentapi::health::{Finding, Health, Measure, Observation, State, Target, Unit};
use felhom_agentapi::{BackupPhase, HostMetricsResponse};

/// The service name at the start of the status line.
const SERVICE: &str = "FELHOM";
/// Problems named in the status line; the rest are counted ("and 3 more").
const SUMMARY_PROBLEMS: usize = 5;

/// A plugin result: what to print, and the state whose exit status to return.
pub struct Report {
    pub state: State,
    pub text: String,
}

/// No verdict: `FELHOM UNKNOWN - <why>`, one line.
pub fn unknown(why: &str) -> Report {
    Report {
        state: State::Unknown,
        text: format!("{SERVICE} UNKNOWN - {}\n", ascii(why)),
    }
}

/// The verdict on `health`, which was assessed from `metrics` (with the `ignored` storage
/// targets already removed; `missing` are those the agent did not report at all).
pub fn render(
    health: &Health,
    metrics: &HostMetricsResponse,
    ignored: &[String],
    missing: &[String],
) -> Report {
    let state = health.state();
    let mut text = format!("{SERVICE} {state} - {}\n", summary(health, metrics));
    for finding in health.findings() {
        let _ = writeln!(text, "[{}] {}", finding.state, ascii(&finding.to_string()));
    }
    for name in ignored.iter().filter(|n| !missing.contains(n)) {
        let _ = writeln!(text, "[IGNORED] storage {}", ascii(name));
    }
    for name in missing {
        let _ = writeln!(
            text,
            "[NOTE] --ignore {}: the agent reports no storage target of that name",
            ascii(name)
        );
    }
    let perf = perfdata(health, metrics);
    if !perf.is_empty() {
        let _ = writeln!(text, "| {}", perf.join(" "));
    }
    Report { state, text }
}

/// The status line's text: the problems, worst first, or what was found in order.
fn summary(health: &Health, metrics: &HostMetricsResponse) -> String {
    let problems: Vec<&Finding> = health.problems().collect();
    if problems.is_empty() {
        let mut s = format!(
            "{}: {} storage target{}, every measure within its thresholds",
            ascii(
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
            let _ = write!(s, "; {}", ascii(&note.to_string()));
        }
        return s;
    }
    let mut s = problems
        .iter()
        .take(SUMMARY_PROBLEMS)
        .map(|f| ascii(&f.to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    if problems.len() > SUMMARY_PROBLEMS {
        let _ = write!(s, ", and {} more", problems.len() - SUMMARY_PROBLEMS);
    }
    s
}

/// Performance data: every measured level with its thresholds, then the bytes in use; host
/// first, then the storage targets in the agent's order. A measure the agent did not send has
/// no finding, so no performance data either.
fn perfdata(health: &Health, metrics: &HostMetricsResponse) -> Vec<String> {
    // (order, text): the host's data first, then each target's, measures in their order.
    let position = |target: &Target| match target {
        Target::Storage { name, .. } => metrics
            .storage_targets
            .iter()
            .position(|t| &t.name == name)
            .map_or(usize::MAX, |i| i + 1),
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
            "memory-used",
            h.memory_used_bytes,
            h.memory_total_bytes,
        ),
        (
            Measure::RootDisk,
            "root-disk-used",
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
                    label(&target, "used"),
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
pub fn ascii(text: &str) -> String {
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

/// A number for performance data: `[-0-9.]` only, at most two decimals, no trailing zeros.
fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_escapes_everything_but_printable_ascii_and_the_pipe() {
        assert_eq!(ascii("local-lvm 93% (a=b)"), "local-lvm 93% (a=b)");
        assert_eq!(ascii("a|b"), "a\\u{7c}b");
        assert_eq!(ascii("ä\u{1b}[2J\n"), "\\u{e4}\\u{1b}[2J\\n");
        assert_eq!(ascii("x\u{202e}y"), "x\\u{202e}y");
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
                "used"
            ),
            "'x\\u{27}:used'"
        );
    }

    #[test]
    fn perfdata_numbers_are_plain() {
        assert_eq!(number(61.000000000000014), "61");
        assert_eq!(number(37.5), "37.5");
        assert_eq!(number(-0.0), "0");
    }
}
