//! Parsing `check`'s output as a monitoring system does, checking the plugin guidelines on the
//! way: ASCII only; a status line `FELHOM STATE - summary` without `;` (Nagios rewrites it to
//! `:`) and at most 160 characters after the dash; long output lines without `;` and without an
//! empty last line; performance data after ` | ` on the last line (or the status line).

use crate::harness::Outcome;

/// The longest summary the status line may carry.
pub const STATUS_MAX: usize = 160;

/// One performance-data item, `'label'=value[UOM];warn;crit;min;max`.
#[derive(Debug, PartialEq)]
pub struct Perf {
    pub label: String,
    pub value: f64,
    pub uom: String,
    pub warn: Option<f64>,
    pub crit: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Plugin output, checked against the guidelines as it is parsed.
#[derive(Debug)]
pub struct Plugin {
    pub code: i32,
    pub state: String,
    pub summary: String,
    pub long: Vec<String>,
    pub perf: Vec<Perf>,
}

impl Plugin {
    pub fn perf(&self, label: &str) -> Option<&Perf> {
        self.perf.iter().find(|p| p.label == label)
    }

    pub fn labels(&self) -> Vec<&str> {
        self.perf.iter().map(|p| p.label.as_str()).collect()
    }

    /// Asserts the exit status and the summary (the status line after `FELHOM STATE - `).
    #[track_caller]
    pub fn assert_says(&self, code: i32, summary: &str) {
        assert_eq!(
            (self.code, self.summary.as_str()),
            (code, summary),
            "{self:#?}"
        );
    }
}

fn number(text: &str, item: &str) -> Option<f64> {
    if text.is_empty() {
        return None;
    }
    assert!(
        text.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.'),
        "{text:?} in {item:?} is not in [-0-9.]"
    );
    Some(
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} in {item:?}: {e}")),
    )
}

fn parse_perf(item: &str) -> Perf {
    let rest = item
        .strip_prefix('\'')
        .unwrap_or_else(|| panic!("unquoted label {item:?}"));
    let (label, rest) = rest
        .split_once("'=")
        .unwrap_or_else(|| panic!("no '= in {item:?}"));
    assert!(
        !label.contains(['\'', '=', ' ', '|', ';']),
        "label {label:?}"
    );
    let fields: Vec<&str> = rest.split(';').collect();
    assert!(fields.len() <= 5, "too many fields in {item:?}");
    let value_end = fields[0]
        .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '.'))
        .unwrap_or(fields[0].len());
    let (value, uom) = fields[0].split_at(value_end);
    assert!(
        ["", "%", "B", "s"].contains(&uom),
        "unit {uom:?} in {item:?}"
    );
    let field = |i: usize| fields.get(i).and_then(|f| number(f, item));
    Perf {
        label: label.to_string(),
        value: number(value, item).unwrap_or_else(|| panic!("no value in {item:?}")),
        uom: uom.to_string(),
        warn: field(1),
        crit: field(2),
        min: field(3),
        max: field(4),
    }
}

/// Parses a run's standard output as plugin output, checking the format on the way: ASCII
/// only, the status line first, `|` nowhere but at the start of the last line.
pub fn plugin(outcome: &Outcome) -> Plugin {
    let out = &outcome.stdout;
    assert!(out.is_ascii(), "not ASCII: {outcome:#?}");
    let text = out
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline at the end: {outcome:#?}"));
    // Performance data: after the first '|', on the last line.
    let (text, perf_text) = match text.split_once(" | ") {
        Some((before, perf)) => (before, Some(perf)),
        None => (text, None),
    };
    if let Some(perf) = perf_text {
        assert!(
            !perf.contains('\n'),
            "perfdata on more than one line: {perf:?}"
        );
    }
    assert!(
        !text.contains('|'),
        "a '|' outside the performance data: {outcome:#?}"
    );
    let mut lines: Vec<&str> = text.split('\n').collect();
    let status = lines.remove(0);
    let (head, summary) = status
        .split_once(" - ")
        .unwrap_or_else(|| panic!("status line {status:?}"));
    assert!(
        !summary.contains(';'),
        "a ';' in the status line: {status:?}"
    );
    assert!(
        summary.len() <= STATUS_MAX,
        "a long status line: {status:?}"
    );
    for line in &lines {
        assert!(
            !line.is_empty(),
            "an empty line in the long output: {outcome:#?}"
        );
        assert!(!line.contains(';'), "a ';' in the long output: {line:?}");
    }
    let state = head
        .strip_prefix("FELHOM ")
        .unwrap_or_else(|| panic!("status line {status:?}"));
    let expected_code = match state {
        "OK" => 0,
        "WARNING" => 1,
        "CRITICAL" => 2,
        "UNKNOWN" => 3,
        other => panic!("state {other:?}"),
    };
    assert_eq!(outcome.code, Some(expected_code), "{outcome:#?}");
    let perf = perf_text.map_or_else(Vec::new, |p| p.split(' ').map(parse_perf).collect());
    Plugin {
        code: expected_code,
        state: state.to_string(),
        summary: summary.to_string(),
        long: lines.iter().map(|l| l.to_string()).collect(),
        perf,
    }
}
