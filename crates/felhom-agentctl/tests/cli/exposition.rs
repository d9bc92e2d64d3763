//! Validates Prometheus text exposition twice: with a structural parser written here, and with
//! the reference Python parser (`prometheus_client.parser`, from PyPI), whose reading of
//! every family, label and value must agree.
//!
//! `.ci/run` installs the Python parser. Where it is missing: with `CI` set, the test fails
//! and says how to install it; without `CI` (or with it empty), on a developer machine it prints a warning and the structural
//! check alone decides (see docs/decisions.md).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Labels in their order, values unescaped.
pub type LabelSet = Vec<(String, String)>;

/// One metric family as read from the text.
#[derive(Debug, PartialEq)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub kind: String,
    pub samples: Vec<(LabelSet, f64)>,
}

const INSTALL_HINT: &str = "python3 -m pip install prometheus-client";

/// Parses `text` both ways, checks that they agree, and returns the families.
pub fn validate(text: &str) -> Vec<Family> {
    let families = structural(text);
    match reference(text) {
        Some(theirs) => assert_eq!(
            families, theirs,
            "the reference parser reads the exposition differently:\n{text}"
        ),
        None => {
            assert!(
                !std::env::var("CI").is_ok_and(|v| !v.is_empty()),
                "CI is set but the reference Prometheus parser is missing: {INSTALL_HINT}"
            );
            static WARNED: OnceLock<()> = OnceLock::new();
            WARNED.get_or_init(|| {
                // Past the test harness's capture, which would hide it on success.
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: python3 with prometheus_client is missing, so only the structural \
                     check validates Prometheus output here ({INSTALL_HINT})"
                );
            });
        }
    }
    families
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The text format as its specification defines it, for what this crate writes: every family
/// opened by `# HELP` then `# TYPE … gauge`, its samples right after, each family once, valid
/// names, quoted and escaped label values, finite numbers, no timestamps, no duplicate series.
fn structural(text: &str) -> Vec<Family> {
    assert!(
        text.ends_with('\n'),
        "the exposition must end with a line feed"
    );
    let mut families: Vec<Family> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            assert!(valid_name(name), "metric name {name:?}");
            assert!(!help.is_empty(), "{name} has an empty HELP");
            assert!(
                families.iter().all(|f| f.name != name),
                "{name} appears twice"
            );
            let type_line = lines.next().unwrap_or_default();
            assert_eq!(
                type_line,
                format!("# TYPE {name} gauge"),
                "HELP {name} is not followed by its TYPE"
            );
            families.push(Family {
                name: name.to_string(),
                help: help.to_string(),
                kind: "gauge".to_string(),
                samples: Vec::new(),
            });
            continue;
        }
        if line.starts_with("# TYPE ") {
            panic!("a TYPE without HELP before it: {line:?}");
        }
        if line.starts_with('#') {
            continue;
        }
        let family = families
            .last_mut()
            .unwrap_or_else(|| panic!("a sample before any family: {line:?}"));
        let (name, labels, value) = sample(line);
        assert_eq!(name, family.name, "a sample outside its family: {line:?}");
        assert!(
            family.samples.iter().all(|(l, _)| *l != labels),
            "duplicate series: {line:?}"
        );
        family.samples.push((labels, value));
    }
    for f in &families {
        assert!(!f.samples.is_empty(), "{} has no samples", f.name);
    }
    families
}

fn sample(line: &str) -> (String, LabelSet, f64) {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line:?}"));
    let name = &line[..name_end];
    assert!(valid_name(name), "sample name in {line:?}");
    let mut rest = &line[name_end..];
    let mut labels = LabelSet::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        let mut label = String::new();
        loop {
            let (i, c) = chars
                .next()
                .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
            match c {
                '}' if label.is_empty() => {
                    rest = &inner[i + 1..];
                    break;
                }
                '=' => {
                    assert!(
                        valid_name(&label) && !label.starts_with("__"),
                        "label {label:?}"
                    );
                    assert_eq!(chars.next().map(|c| c.1), Some('"'), "unquoted: {line:?}");
                    let mut value = String::new();
                    loop {
                        match chars.next().map(|c| c.1) {
                            Some('"') => break,
                            Some('\\') => match chars.next().map(|c| c.1) {
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                Some('n') => value.push('\n'),
                                other => panic!("escape \\{other:?} in {line:?}"),
                            },
                            Some('\n') | None => panic!("unterminated value: {line:?}"),
                            Some(c) => value.push(c),
                        }
                    }
                    assert!(
                        labels.iter().all(|(k, _)| *k != label),
                        "label twice: {line:?}"
                    );
                    labels.push((std::mem::take(&mut label), value));
                    match chars.next() {
                        Some((_, ',')) => {}
                        Some((i, '}')) => {
                            rest = &inner[i + 1..];
                            break;
                        }
                        other => panic!("{other:?} after a label value: {line:?}"),
                    }
                }
                c => label.push(c),
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value: {line:?}"));
    assert!(
        !value.contains(' '),
        "a timestamp or junk after the value: {line:?}"
    );
    let value: f64 = value
        .parse()
        .unwrap_or_else(|e| panic!("value {value:?} in {line:?}: {e}"));
    assert!(value.is_finite(), "{line:?}");
    (name.to_string(), labels, value)
}

const READ_WITH_PROMETHEUS_CLIENT: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "help": f.documentation, "type": f.type,
                "samples": [[s.name, list(s.labels.items()), s.value, s.timestamp]
                            for s in f.samples]})
json.dump(out, sys.stdout)
"#;

/// Whether python3 can import prometheus_client; asked once.
fn reference_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import prometheus_client.parser"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The families as `prometheus_client` reads them; `None` when it is not installed. A text
/// it refuses fails the test.
fn reference(text: &str) -> Option<Vec<Family>> {
    if !reference_available() {
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", READ_WITH_PROMETHEUS_CLIENT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("wait for python3");
    assert!(
        out.status.success(),
        "prometheus_client refuses the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).expect("python3 printed JSON");
    let families = parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Family {
            name: f["name"].as_str().unwrap().to_string(),
            help: f["help"].as_str().unwrap().to_string(),
            kind: f["type"].as_str().unwrap().to_string(),
            samples: f["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    assert_eq!(s[0], f["name"], "a sample of another name in {}", f["name"]);
                    assert!(s[3].is_null(), "a timestamp on {s}");
                    let labels = s[1]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|kv| {
                            (
                                kv[0].as_str().unwrap().to_string(),
                                kv[1].as_str().unwrap().to_string(),
                            )
                        })
                        .collect();
                    (labels, s[2].as_f64().unwrap())
                })
                .collect(),
        })
        .collect();
    Some(families)
}
