//! `GET /host/metrics` in the Prometheus text exposition format, for node_exporter's textfile
//! collector or any scrape endpoint a daemon serves.
//!
//! [`render`] writes one gauge family per measure, each with its `# HELP` and `# TYPE` lines,
//! in base units (`_bytes`, `_ratio` from 0 to 1, `_celsius`, `_seconds`), labelled with
//! `node` (the Proxmox node), and for storage targets `storage` and `type`. A measure the
//! agent sent as `null` is left out, never written as 0, and so is the capacity of a storage
//! target that is not reachable (Go's zero values). Two families are always there, so that a
//! failed collection shows: `felhom_agent_up` (1 when the agent answered, 0 when it did not)
//! and `felhom_agent_scrape_duration_seconds`. Samples carry no timestamps. For a reachable
//! lvmthin target, `felhom_storage_thin_pool_measured{part="data"|"metadata"}` says whether
//! its thin-pool figures are there at all, so that "unwatched" can be alerted on.
//!
//! [`Scrape`] adds what one program's textfile needs beyond that: an `agent="HOST:PORT"` label
//! on every series (two agents' files must not make the same series), the guest's backup
//! series (from [`crate::backup_record`], `GET /backup/status` and `GET /backup/due`), and a
//! `_build_info` family.
//!
//! ```
//! use std::time::Duration;
//!
//! use felhom_agentapi::wire::HostMetricsResponse;
//! use felhom_agentapi::prometheus;
//!
//! let mut metrics = HostMetricsResponse::default();
//! metrics.host.node = "pve-1".into();
//! let text = prometheus::render(Some(&metrics), Duration::from_millis(12));
//! assert!(text.contains("# TYPE felhom_agent_up gauge\nfelhom_agent_up 1\n"));
//! assert!(text.contains("felhom_host_cpu_used_ratio{node=\"pve-1\"} 0\n"));
//! // The host has no sensor (null): no temperature at all, not 0.
//! assert!(!text.contains("felhom_host_cpu_temperature_celsius"));
//!
//! // The agent could not be asked: say so, with nothing else that could be stale.
//! let failed = prometheus::render(None, Duration::from_secs(5));
//! assert!(failed.contains("felhom_agent_up 0\n"));
//! assert!(!failed.contains("felhom_host_"));
//! ```

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use crate::backup_record::BackupRecord;
use crate::terminal;
use crate::wire::{DueResponse, HostMetricsResponse, StatusResponse, StorageTarget};

mod backup;

/// The SMART health values the agent documents; each gets a sample, 1 for the current one.
const SMART_STATES: [&str; 3] = ["PASSED", "FAILING", "UNKNOWN"];

/// The exposition of `metrics` (`None` when the agent could not be asked), plus how long the
/// collection took. [`Scrape`] adds the agent label, the backup series and build information.
pub fn render(metrics: Option<&HostMetricsResponse>, scrape_duration: Duration) -> String {
    Scrape::new(metrics, scrape_duration).render()
}

/// One collection to render, with what [`render`] leaves out: an `agent` label on every series
/// (so that two agents' files never make the same series), the guest's backup series, and a
/// program's `_build_info`.
///
/// ```
/// use std::time::Duration;
///
/// use felhom_agentapi::prometheus::Scrape;
/// use felhom_agentapi::wire::{DueResponse, HostMetricsResponse};
///
/// let metrics = HostMetricsResponse::default();
/// let mut due = DueResponse::default();
/// due.due = true;
/// let text = Scrape::new(Some(&metrics), Duration::from_millis(12))
///     .agent("10.0.0.1:8443")
///     .backup_due(Some(&due))
///     .build_info("felhom_agentctl", "0.1.0")
///     .render();
/// assert!(text.contains("felhom_agent_up{agent=\"10.0.0.1:8443\"} 1\n"));
/// assert!(text.contains("felhom_backup_due{agent=\"10.0.0.1:8443\"} 1\n"));
/// assert!(text.contains("felhom_agentctl_build_info{agent=\"10.0.0.1:8443\",version=\"0.1.0\"} 1\n"));
/// // Nothing recorded, status not asked: left out, never 0.
/// assert!(!text.contains("felhom_backup_last_success_timestamp_seconds"));
/// assert!(!text.contains("felhom_backup_running"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scrape<'a> {
    metrics: Option<&'a HostMetricsResponse>,
    scrape_duration: Duration,
    agent: Option<&'a str>,
    backup: backup::Backup<'a>,
    build_info: Option<(&'a str, &'a str)>,
}

impl<'a> Scrape<'a> {
    /// `metrics` (`None` when the agent could not be asked), and how long collecting took.
    pub fn new(metrics: Option<&'a HostMetricsResponse>, scrape_duration: Duration) -> Self {
        Scrape {
            metrics,
            scrape_duration,
            ..Scrape::default()
        }
    }

    /// Labels every series `agent="ENDPOINT"`.
    pub fn agent(mut self, endpoint: &'a str) -> Self {
        self.agent = Some(endpoint);
        self
    }

    /// The guest's own backup record ([`crate::backup_record`]): the last attempt, whether it
    /// succeeded, and the last success (left out when there was none).
    pub fn backup_record(mut self, record: Option<&'a BackupRecord>) -> Self {
        self.backup.record = record;
        self
    }

    /// `GET /backup/status`, for `felhom_backup_running`; `None` leaves it out.
    pub fn backup_status(mut self, status: Option<&'a StatusResponse>) -> Self {
        self.backup.status = status;
        self
    }

    /// `GET /backup/due`, for `felhom_backup_due`; `None` leaves it out.
    pub fn backup_due(mut self, due: Option<&'a DueResponse>) -> Self {
        self.backup.due = due;
        self
    }

    /// `PROGRAM_build_info{version="VERSION"} 1`. `program` must be a valid metric name
    /// (letters, digits and `_`); another is left out.
    pub fn build_info(mut self, program: &'a str, version: &'a str) -> Self {
        self.build_info = Some((program, version));
        self
    }

    /// The exposition.
    pub fn render(&self) -> String {
        let mut out = Exposition {
            text: String::new(),
            base: match self.agent {
                Some(agent) => Labels::none().with("agent", agent),
                None => Labels::none(),
            },
        };
        let metrics = self.metrics;
        out.family(
            "felhom_agent_up",
            "Whether the Felhom host agent answered GET /host/metrics (1) or not (0).",
            vec![(Labels::none(), number(u8::from(metrics.is_some())))],
        );
        out.family(
            "felhom_agent_scrape_duration_seconds",
            "How long asking the Felhom host agent took, successful or not.",
            vec![(
                Labels::none(),
                self.scrape_duration.as_secs_f64().to_string(),
            )],
        );
        if let Some((program, version)) = self.build_info {
            let valid = !program.is_empty()
                && program
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !program.starts_with(|c: char| c.is_ascii_digit());
            if valid {
                out.family(
                    &format!("{program}_build_info"),
                    "The program that wrote this exposition: always 1, with its version.",
                    vec![(Labels::none().with("version", version), number(1))],
                );
            }
        }
        if let Some(metrics) = metrics {
            host(&mut out, metrics);
            storage(&mut out, metrics);
        }
        backup::families(&mut out, &self.backup);
        out.text
    }
}

fn host(out: &mut Exposition, m: &HostMetricsResponse) {
    let h = &m.host;
    let node = || Labels::node(&h.node);
    let one = |value: Option<String>| value.map(|v| (node(), v)).into_iter().collect();
    let memory = h.memory_total_bytes > 0;
    let root = h.disk_total_bytes > 0;
    let families: [(&str, &str, Samples); 12] = [
        (
            "felhom_host_cpu_used_ratio",
            "CPU in use on the host, 0 to 1.",
            one(Some(ratio(h.cpu_percent))),
        ),
        (
            "felhom_host_memory_size_bytes",
            "The host's memory.",
            one(memory.then(|| number(h.memory_total_bytes))),
        ),
        (
            "felhom_host_memory_used_bytes",
            "The host's memory in use.",
            one(memory.then(|| number(h.memory_used_bytes))),
        ),
        (
            "felhom_host_memory_used_ratio",
            "The host's memory in use, 0 to 1.",
            one(memory.then(|| ratio(h.memory_percent))),
        ),
        (
            "felhom_host_root_filesystem_size_bytes",
            "Size of the host's root filesystem.",
            one(root.then(|| number(h.disk_total_bytes))),
        ),
        (
            "felhom_host_root_filesystem_used_bytes",
            "Bytes in use on the host's root filesystem.",
            one(root.then(|| number(h.disk_used_bytes))),
        ),
        (
            "felhom_host_root_filesystem_used_ratio",
            "The host's root filesystem in use, 0 to 1.",
            one(root.then(|| ratio(h.disk_percent))),
        ),
        (
            "felhom_host_load1",
            "The host's load average over 1 minute.",
            one(load(&h.loadavg, 0)),
        ),
        (
            "felhom_host_load5",
            "The host's load average over 5 minutes.",
            one(load(&h.loadavg, 1)),
        ),
        (
            "felhom_host_load15",
            "The host's load average over 15 minutes.",
            one(load(&h.loadavg, 2)),
        ),
        (
            "felhom_host_uptime_seconds",
            "Time since the host booted.",
            one(Some(number(h.uptime_seconds))),
        ),
        (
            "felhom_host_cpu_temperature_celsius",
            "The host's CPU temperature; absent when the host has no sensor.",
            one(h.cpu_temp_c.map(number)),
        ),
    ];
    for (name, help, samples) in families {
        out.family(name, help, samples);
    }
}

/// A per-storage gauge: its name, help, and the value for one target (`None`: not measured).
type StorageGauge = (
    &'static str,
    &'static str,
    fn(&StorageTarget) -> Option<String>,
);

const STORAGE_GAUGES: [StorageGauge; 9] = [
    (
        "felhom_storage_reachable",
        "Whether the agent can reach the storage target (1) or not (0).",
        |s| Some(number(u8::from(s.reachable))),
    ),
    (
        "felhom_storage_size_bytes",
        "Size of the storage target; absent while it is not reachable.",
        |s| capacity(s).then(|| number(s.total_bytes)),
    ),
    (
        "felhom_storage_used_bytes",
        "Bytes in use on the storage target.",
        |s| capacity(s).then(|| number(s.used_bytes)),
    ),
    (
        "felhom_storage_available_bytes",
        "Bytes available on the storage target.",
        |s| capacity(s).then(|| number(s.avail_bytes)),
    ),
    (
        "felhom_storage_used_ratio",
        "The storage target in use, 0 to 1.",
        |s| capacity(s).then(|| s.used_fraction.to_string()),
    ),
    (
        "felhom_storage_thin_pool_data_used_ratio",
        "An LVM thin pool's data space in use, 0 to 1; a full pool corrupts its guests.",
        |s| {
            let pool = s.thin_pool.as_ref().filter(|_| s.reachable)?;
            Some(pool.data_used_fraction.to_string())
        },
    ),
    (
        "felhom_storage_thin_pool_metadata_used_ratio",
        "An LVM thin pool's metadata space in use, 0 to 1.",
        |s| {
            let pool = s.thin_pool.as_ref().filter(|_| s.reachable)?;
            pool.metadata_used_fraction.map(|m| m.to_string())
        },
    ),
    (
        "felhom_storage_temperature_celsius",
        "Temperature of the drive behind the storage target, from SMART.",
        |s| s.smart.temperature_c.map(number),
    ),
    (
        "felhom_storage_nvme_wear_ratio",
        "NVMe percentage used over 100: 1 when the rated endurance is used up (may exceed 1).",
        |s| s.smart.percentage_used.map(|p| ratio(p as f64)),
    ),
];

fn storage(out: &mut Exposition, m: &HostMetricsResponse) {
    // Two targets with the same labels would make duplicate series, which a scraper refuses
    // whole: the first one wins, and the rest are named in a comment. Compared as rendered,
    // which is what the scraper compares.
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for s in &m.storage_targets {
        if seen.insert(Labels::storage(&m.host.node, s).0) {
            targets.push(s);
        } else {
            let _ = writeln!(
                out.text,
                "# felhom: a second storage target named {} is left out",
                label_value(&s.name)
            );
        }
    }
    let labels = |s: &StorageTarget| Labels::storage(&m.host.node, s);
    for (name, help, value) in STORAGE_GAUGES {
        let samples = targets
            .iter()
            .filter_map(|s| value(s).map(|v| (labels(s), v)))
            .collect();
        out.family(name, help, samples);
    }
    // Which thin-pool measures a reachable lvmthin target lacks: a missing ratio can never
    // cross an alert's threshold, so "not measured" needs a series of its own.
    let mut measured = Vec::new();
    for s in targets
        .iter()
        .filter(|s| s.reachable && s.kind == "lvmthin")
    {
        let pool = s.thin_pool.as_ref();
        let parts = [
            ("data", pool.is_some()),
            (
                "metadata",
                pool.is_some_and(|p| p.metadata_used_fraction.is_some()),
            ),
        ];
        for (part, known) in parts {
            measured.push((labels(s).with("part", part), number(u8::from(known))));
        }
    }
    out.family(
        "felhom_storage_thin_pool_measured",
        "Whether the agent reports an lvmthin storage target's thin-pool data or metadata use \
         (1) or not (0); only for reachable targets.",
        measured,
    );
    let mut smart = Vec::new();
    for s in targets.iter().filter(|s| !s.smart.health.is_empty()) {
        let health = s.smart.health.as_str();
        let known = SMART_STATES.contains(&health);
        let states = SMART_STATES
            .iter()
            .copied()
            .chain((!known).then_some(health));
        for state in states {
            smart.push((
                labels(s).with("health", state),
                number(u8::from(state == health)),
            ));
        }
    }
    out.family(
        "felhom_storage_smart_health",
        "SMART health of the drive behind the storage target: 1 for the agent's current value.",
        smart,
    );
}

fn capacity(s: &StorageTarget) -> bool {
    s.reachable && s.total_bytes > 0
}

/// A percentage from the agent as a ratio.
fn ratio(percent: f64) -> String {
    (percent / 100.0).to_string()
}

fn number(n: impl Into<i64>) -> String {
    n.into().to_string()
}

/// The `index`th load average, if the agent sent it as a number.
fn load(loadavg: &[String], index: usize) -> Option<String> {
    let value: f64 = loadavg.get(index)?.trim().parse().ok()?;
    value.is_finite().then(|| value.to_string())
}

/// The samples of one family: labels and value.
type Samples = Vec<(Labels, String)>;

/// A label set, rendered.
struct Labels(String);

impl Labels {
    fn none() -> Labels {
        Labels(String::new())
    }

    fn node(node: &str) -> Labels {
        Labels::none().with("node", node)
    }

    fn storage(node: &str, s: &StorageTarget) -> Labels {
        Labels::node(node)
            .with("storage", &s.name)
            .with("type", &s.kind)
    }

    fn with(mut self, name: &str, value: &str) -> Labels {
        if !self.0.is_empty() {
            self.0.push(',');
        }
        let _ = write!(self.0, "{name}={}", label_value(value));
        self
    }
}

/// A quoted label value, one-to-one: the agent's text with `\` doubled and control characters
/// written as text (`\u{1b}`, so the file is safe to show on a terminal), then `\` and `"`
/// escaped as the format requires. Doubling the backslash first keeps a name that holds an
/// escape character apart from one that literally reads `\u{1b}`.
fn label_value(value: &str) -> String {
    let mut text = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            c if terminal::could_rewrite(c) => text.extend(c.escape_default()),
            c => text.push(c),
        }
    }
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

struct Exposition {
    text: String,
    /// Labels every sample carries first (`agent`).
    base: Labels,
}

impl Exposition {
    /// A gauge family with its samples; nothing at all when it has none.
    fn family(&mut self, name: &str, help: &str, samples: Samples) {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} gauge");
        for (labels, value) in samples {
            let sep = if self.base.0.is_empty() || labels.0.is_empty() {
                ""
            } else {
                ","
            };
            let all = format!("{}{sep}{}", self.base.0, labels.0);
            if all.is_empty() {
                let _ = writeln!(self.text, "{name} {value}");
            } else {
                let _ = writeln!(self.text, "{name}{{{all}}} {value}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metrics(value: serde_json::Value) -> HostMetricsResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_small_host_renders_exactly() {
        let m = metrics(json!({
            "host": {"node": "pve-1", "cpu_percent": 12.5, "memory_total_bytes": 1000,
                     "memory_used_bytes": 250, "memory_percent": 25.0,
                     "loadavg": ["0.42", "bogus"], "uptime_seconds": 60, "cpu_temp_c": 47},
            "storage_targets": [{
                "name": "local-lvm", "type": "lvmthin", "reachable": true,
                "total_bytes": 400, "used_bytes": 100, "avail_bytes": 300, "used_fraction": 0.25,
                "thin_pool": {"data_used_fraction": 0.61, "metadata_used_fraction": null},
                "smart": {"health": "PASSED", "temperature_c": null, "percentage_used": 3}
            }]
        }));
        let text = render(Some(&m), Duration::from_millis(1500));
        let expected = r#"# HELP felhom_agent_up Whether the Felhom host agent answered GET /host/metrics (1) or not (0).
# TYPE felhom_agent_up gauge
felhom_agent_up 1
# HELP felhom_agent_scrape_duration_seconds How long asking the Felhom host agent took, successful or not.
# TYPE felhom_agent_scrape_duration_seconds gauge
felhom_agent_scrape_duration_seconds 1.5
# HELP felhom_host_cpu_used_ratio CPU in use on the host, 0 to 1.
# TYPE felhom_host_cpu_used_ratio gauge
felhom_host_cpu_used_ratio{node="pve-1"} 0.125
# HELP felhom_host_memory_size_bytes The host's memory.
# TYPE felhom_host_memory_size_bytes gauge
felhom_host_memory_size_bytes{node="pve-1"} 1000
# HELP felhom_host_memory_used_bytes The host's memory in use.
# TYPE felhom_host_memory_used_bytes gauge
felhom_host_memory_used_bytes{node="pve-1"} 250
# HELP felhom_host_memory_used_ratio The host's memory in use, 0 to 1.
# TYPE felhom_host_memory_used_ratio gauge
felhom_host_memory_used_ratio{node="pve-1"} 0.25
# HELP felhom_host_load1 The host's load average over 1 minute.
# TYPE felhom_host_load1 gauge
felhom_host_load1{node="pve-1"} 0.42
# HELP felhom_host_uptime_seconds Time since the host booted.
# TYPE felhom_host_uptime_seconds gauge
felhom_host_uptime_seconds{node="pve-1"} 60
# HELP felhom_host_cpu_temperature_celsius The host's CPU temperature; absent when the host has no sensor.
# TYPE felhom_host_cpu_temperature_celsius gauge
felhom_host_cpu_temperature_celsius{node="pve-1"} 47
# HELP felhom_storage_reachable Whether the agent can reach the storage target (1) or not (0).
# TYPE felhom_storage_reachable gauge
felhom_storage_reachable{node="pve-1",storage="local-lvm",type="lvmthin"} 1
# HELP felhom_storage_size_bytes Size of the storage target; absent while it is not reachable.
# TYPE felhom_storage_size_bytes gauge
felhom_storage_size_bytes{node="pve-1",storage="local-lvm",type="lvmthin"} 400
# HELP felhom_storage_used_bytes Bytes in use on the storage target.
# TYPE felhom_storage_used_bytes gauge
felhom_storage_used_bytes{node="pve-1",storage="local-lvm",type="lvmthin"} 100
# HELP felhom_storage_available_bytes Bytes available on the storage target.
# TYPE felhom_storage_available_bytes gauge
felhom_storage_available_bytes{node="pve-1",storage="local-lvm",type="lvmthin"} 300
# HELP felhom_storage_used_ratio The storage target in use, 0 to 1.
# TYPE felhom_storage_used_ratio gauge
felhom_storage_used_ratio{node="pve-1",storage="local-lvm",type="lvmthin"} 0.25
# HELP felhom_storage_thin_pool_data_used_ratio An LVM thin pool's data space in use, 0 to 1; a full pool corrupts its guests.
# TYPE felhom_storage_thin_pool_data_used_ratio gauge
felhom_storage_thin_pool_data_used_ratio{node="pve-1",storage="local-lvm",type="lvmthin"} 0.61
# HELP felhom_storage_nvme_wear_ratio NVMe percentage used over 100: 1 when the rated endurance is used up (may exceed 1).
# TYPE felhom_storage_nvme_wear_ratio gauge
felhom_storage_nvme_wear_ratio{node="pve-1",storage="local-lvm",type="lvmthin"} 0.03
# HELP felhom_storage_thin_pool_measured Whether the agent reports an lvmthin storage target's thin-pool data or metadata use (1) or not (0); only for reachable targets.
# TYPE felhom_storage_thin_pool_measured gauge
felhom_storage_thin_pool_measured{node="pve-1",storage="local-lvm",type="lvmthin",part="data"} 1
felhom_storage_thin_pool_measured{node="pve-1",storage="local-lvm",type="lvmthin",part="metadata"} 0
# HELP felhom_storage_smart_health SMART health of the drive behind the storage target: 1 for the agent's current value.
# TYPE felhom_storage_smart_health gauge
felhom_storage_smart_health{node="pve-1",storage="local-lvm",type="lvmthin",health="PASSED"} 1
felhom_storage_smart_health{node="pve-1",storage="local-lvm",type="lvmthin",health="FAILING"} 0
felhom_storage_smart_health{node="pve-1",storage="local-lvm",type="lvmthin",health="UNKNOWN"} 0
"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn a_failed_collection_says_up_0_and_nothing_else() {
        let text = render(None, Duration::from_millis(250));
        assert_eq!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [
                "felhom_agent_up 0",
                "felhom_agent_scrape_duration_seconds 0.25"
            ]
        );
    }

    #[test]
    fn an_unreachable_target_has_no_capacity_and_a_zero_total_none_either() {
        let m = metrics(json!({
            "host": {"memory_total_bytes": 0, "disk_total_bytes": 0},
            "storage_targets": [
                {"name": "nfs", "type": "nfs", "reachable": false, "total_bytes": 9,
                 "thin_pool": {"data_used_fraction": 0.5}},
                {"name": "dir", "type": "dir", "reachable": true, "total_bytes": 0}
            ]
        }));
        let text = render(Some(&m), Duration::ZERO);
        assert!(
            text.contains("felhom_storage_reachable{node=\"\",storage=\"nfs\",type=\"nfs\"} 0\n")
        );
        for absent in [
            "felhom_storage_size_bytes",
            "felhom_storage_used_ratio",
            "felhom_storage_thin_pool",
            "felhom_host_memory",
            "felhom_host_root_filesystem",
            "felhom_storage_smart_health",
        ] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped_and_terminal_safe() {
        let m = metrics(json!({
            "host": {"node": "a\"b\\c\nd\u{1b}[2J"},
            "storage_targets": [
                {"name": "x", "reachable": true, "smart": {"health": "WEIRD\""}},
                {"name": "x", "reachable": false}
            ]
        }));
        let text = render(Some(&m), Duration::ZERO);
        assert!(!text.contains('\u{1b}'));
        assert!(
            text.contains(r#"felhom_host_cpu_used_ratio{node="a\"b\\\\c\\nd\\u{1b}[2J"} 0"#),
            "{text}"
        );
        assert!(text.contains(r#"health="WEIRD\""} 1"#), "{text}");
        assert!(text.contains(r#"health="PASSED"} 0"#));
        // The duplicate name is left out, and said so in a comment.
        assert_eq!(text.matches("felhom_storage_reachable{").count(), 1);
        assert!(text.contains("# felhom: a second storage target named \"x\" is left out\n"));
    }

    #[test]
    fn an_escape_character_and_its_written_form_are_two_series() {
        let m = metrics(json!({
            "storage_targets": [
                {"name": "a\u{1b}b", "reachable": true},
                {"name": "a\\u{1b}b", "reachable": true}
            ]
        }));
        let text = render(Some(&m), Duration::ZERO);
        assert!(!text.contains("left out"), "{text}");
        let reachable: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("felhom_storage_reachable{"))
            .collect();
        assert_eq!(reachable.len(), 2, "{text}");
        assert_ne!(reachable[0], reachable[1]);
    }
}
