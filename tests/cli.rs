#![cfg(all(feature = "cli", feature = "devagent"))]
//! `felhom-agentctl` driven as a user would: the built binary, over real TLS, against the
//! stand-in agent. Every invocation also checks that the token appears neither in the arguments
//! nor in anything the tool prints.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use felhom_agentapi::devagent::{BackupOutcome, DevAgent, Fault};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_felhom-agentctl");

/// Every variable the tool reads, removed from each child so the caller's environment cannot
/// leak into a test.
const TOOL_ENV: [&str; 7] = [
    "FELHOM_AGENT_ENDPOINT",
    "FELHOM_AGENT_FINGERPRINT",
    "FELHOM_AGENT_TIMEOUT",
    "FELHOM_AGENT_CONNECT_TIMEOUT",
    "FELHOM_AGENT_TOKEN_FILE",
    "FELHOM_AGENT_TOKEN",
    "RUST_BACKTRACE",
];

const USB_UUID: &str = "3f1c2a9e-5b7d-4e21-9c0a-1d2e3f4a5b6c";

/// One run of the tool, being set up.
struct Invocation {
    command: Command,
    /// Strings that must appear in no argument and no output: the token(s) in play.
    secrets: Vec<String>,
    stdin: Option<String>,
}

/// What a run left behind.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Invocation {
    /// No connection settings and no token: a bare tool.
    fn bare() -> Invocation {
        let mut command = Command::new(BIN);
        for var in TOOL_ENV {
            command.env_remove(var);
        }
        command.stdin(Stdio::null());
        Invocation {
            command,
            secrets: Vec::new(),
            stdin: None,
        }
    }

    /// With `agent`'s token in the environment, but no connection settings.
    fn authed(agent: &DevAgent) -> Invocation {
        Invocation::bare()
            .env("FELHOM_AGENT_TOKEN", agent.token())
            .secret(agent.token())
    }

    /// Pointed at `agent` with flags before the subcommand, and its token in the environment.
    fn to(agent: &DevAgent) -> Invocation {
        Invocation::authed(agent)
            .args(["--endpoint", &agent.endpoint()])
            .args(["--fingerprint", &agent.fingerprint().to_string()])
    }

    fn arg_path(mut self, path: &Path) -> Invocation {
        self.command.arg(path);
        self
    }

    fn args<I, S>(mut self, args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Invocation {
        self.command.env(key, value);
        self
    }

    fn secret(mut self, s: &str) -> Invocation {
        self.secrets.push(s.to_string());
        self
    }

    fn stdin(mut self, s: &str) -> Invocation {
        self.stdin = Some(s.to_string());
        self
    }

    fn run(mut self) -> Outcome {
        for arg in self.command.get_args() {
            let arg = arg.to_string_lossy();
            for secret in &self.secrets {
                assert!(
                    !arg.contains(secret.as_str()),
                    "a token was passed in argv: {arg:?}"
                );
            }
        }
        if self.stdin.is_some() {
            self.command.stdin(Stdio::piped());
        }
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start felhom-agentctl");
        if let Some(input) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        let output = child.wait_with_output().expect("wait for felhom-agentctl");
        let outcome = Outcome {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        };
        for secret in &self.secrets {
            assert!(
                !outcome.stdout.contains(secret.as_str()),
                "token on stdout: {outcome:?}"
            );
            assert!(
                !outcome.stderr.contains(secret.as_str()),
                "token on stderr: {outcome:?}"
            );
        }
        assert!(
            !outcome.stderr.contains("panicked"),
            "the tool panicked: {outcome:?}"
        );
        outcome
    }
}

impl Outcome {
    /// Asserts the exit status; on success also that stderr is empty, on failure that stderr
    /// carries the tool's message.
    fn status(self, code: i32) -> Outcome {
        assert_eq!(self.code, Some(code), "unexpected exit status: {self:#?}");
        if code == 0 {
            assert_eq!(self.stderr, "", "stderr on success: {self:#?}");
        } else {
            assert!(
                !self.stderr.is_empty(),
                "no message for status {code}: {self:#?}"
            );
        }
        self
    }

    /// Asserts a failure of the tool itself (not clap's): the message has the tool's prefix.
    fn failure(self, code: i32) -> Outcome {
        let outcome = self.status(code);
        assert!(
            outcome.stderr.starts_with("felhom-agentctl: "),
            "stderr lacks the prefix: {outcome:#?}"
        );
        outcome
    }

    /// Standard output as one line of JSON.
    fn json(&self) -> Value {
        let text = self
            .stdout
            .strip_suffix('\n')
            .expect("output ends with a newline");
        assert!(
            !text.contains('\n'),
            "JSON is not on one line: {:?}",
            self.stdout
        );
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.stdout))
    }
}

/// A fresh directory for token files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "felhom-agentctl-cli-test-{}-{n}",
            std::process::id()
        ));
        fs::create_dir(&path).expect("create temp dir");
        TempDir(path)
    }

    /// Writes `contents` to a file with `mode`, and returns its path.
    fn file(&self, name: &str, contents: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.0.join(name);
        fs::write(&path, contents).expect("write token file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod token file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn agent() -> DevAgent {
    DevAgent::start().expect("start the stand-in agent")
}

/// The requests the agent received, as `METHOD path`.
fn calls(agent: &DevAgent) -> Vec<String> {
    agent
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn request_body(agent: &DevAgent, path: &str) -> Value {
    let requests = agent.requests();
    let request = requests
        .iter()
        .rev()
        .find(|r| r.path == path)
        .expect("the request was made");
    serde_json::from_slice(&request.body).expect("the request body is JSON")
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
fn dead_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr.to_string()
}

// ---- every subcommand, exit status 0 ------------------------------------------------------------

#[test]
fn storage_prints_the_mounts_as_json() {
    let agent = agent();
    let out = Invocation::to(&agent).args(["storage"]).run().status(0);
    let v = out.json();
    assert_eq!(v["vmid"], 101);
    assert_eq!(v["mounts"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["mounts"][0],
        json!({
            "key": "mp0", "storage": "fast-nvme", "mount_point": "/mnt/fast",
            "class": "fast", "backup": true,
        })
    );
    assert_eq!(v["mounts"][1]["mount_point"], "/mnt/archive");
    assert_eq!(v["mounts"][1]["backup"], false);
    // The token from the environment is what authenticated the call.
    let requests = agent.requests();
    assert_eq!(requests.len(), 1);
    let expected = format!("Bearer {}", agent.token());
    assert_eq!(requests[0].header("authorization"), Some(expected.as_str()));
}

#[test]
fn disks_lists_the_drives() {
    let agent = agent();
    let v = Invocation::to(&agent)
        .args(["disks"])
        .run()
        .status(0)
        .json();
    assert_eq!(v["vmid"], 101);
    let disks = v["disks"].as_array().unwrap();
    assert_eq!(disks.len(), 3);
    assert_eq!(disks[0]["durable_id"], format!("uuid:{USB_UUID}"));
    assert_eq!(disks[0]["mount_path"], "/mnt/usb-archive");
    assert_eq!(disks[0]["backing_device"], "/dev/sdb1");
    assert_eq!(disks[0]["type"], "usb");
    assert_eq!(disks[0]["data_bearing"], true);
    assert_eq!(disks[1]["backing_device"], "/dev/sdc");
    assert_eq!(disks[1]["data_bearing"], false);
    assert_eq!(disks[2]["type"], "nfs");
    assert_eq!(calls(&agent), ["GET /disks"]);
}

#[test]
fn metrics_shows_host_and_storage_targets() {
    let agent = agent();
    let v = Invocation::to(&agent)
        .args(["metrics"])
        .run()
        .status(0)
        .json();
    assert_eq!(v["vmid"], 101);
    assert_eq!(v["host"]["node"], "pve-dev-1");
    assert_eq!(v["host"]["cpu_percent"], 12.5);
    assert_eq!(v["host"]["memory_total_bytes"], 64_i64 << 30);
    assert_eq!(v["host"]["loadavg"], json!(["0.42", "0.37", "0.30"]));
    // No sensor: null, not 0.
    assert_eq!(v["host"]["cpu_temp_c"], Value::Null);
    let targets = v["storage_targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    assert_eq!(targets[0]["name"], "local-lvm");
    assert_eq!(targets[0]["thin_pool"]["data_used_fraction"], 0.61);
    assert_eq!(targets[0]["smart"]["health"], "PASSED");
    // Only lvmthin storage has a thin pool; the member is left out for the others.
    assert!(targets[1].get("thin_pool").is_none());
    assert_eq!(calls(&agent), ["GET /host/metrics"]);
}

#[test]
fn backup_due_start_and_status() {
    let agent = agent();
    let due = Invocation::to(&agent)
        .args(["backup", "due"])
        .run()
        .status(0)
        .json();
    assert_eq!(
        due,
        json!({"vmid": 101, "due": true, "reason": "policy daily-0200: last backup 26h ago"})
    );

    let started = Invocation::to(&agent)
        .args(["backup", "start"])
        .run()
        .status(0)
        .json();
    assert_eq!(
        started,
        json!({"vmid": 101, "job_id": "job-1", "phase": "running"})
    );

    let status = Invocation::to(&agent)
        .args(["backup", "status"])
        .run()
        .status(0)
        .json();
    assert_eq!(
        status,
        json!({"vmid": 101, "phase": "running", "job_id": "job-1", "error": ""})
    );

    assert_eq!(
        calls(&agent),
        ["GET /backup/due", "POST /backup", "GET /backup/status"]
    );
}

#[test]
fn backup_run_waits_for_the_job() {
    let agent = DevAgent::builder().backup_polls(2).start().unwrap();
    let v = Invocation::to(&agent)
        .args(["backup", "run", "--poll", "10ms"])
        .run()
        .status(0)
        .json();
    assert_eq!(
        v,
        json!({"vmid": 101, "phase": "done", "job_id": "job-1", "error": ""})
    );
    assert_eq!(
        calls(&agent),
        [
            "POST /backup",
            "GET /backup/status",
            "GET /backup/status",
            "GET /backup/status"
        ]
    );
}

#[test]
fn disk_assign_echoes_the_request() {
    let agent = agent();
    let v = Invocation::to(&agent)
        .args(["disk", "assign", "--uuid", USB_UUID, "--where", "/mnt/new"])
        .run()
        .status(0)
        .json();
    assert_eq!(
        v,
        json!({
            "assigned": true, "uuid": USB_UUID, "where": "/mnt/new", "fstype": "", "options": "",
        })
    );
    assert_eq!(
        request_body(&agent, "/disks/assign"),
        json!({"uuid": USB_UUID, "where": "/mnt/new", "fstype": "", "options": ""})
    );

    let v = Invocation::to(&agent)
        .args(["disk", "assign", "--uuid", USB_UUID, "--where", "/mnt/b"])
        .args(["--fstype", "ext4", "--options", "noatime,nofail"])
        .run()
        .status(0)
        .json();
    assert_eq!(v["options"], "noatime,nofail");
    assert_eq!(request_body(&agent, "/disks/assign")["fstype"], "ext4");
    assert_eq!(
        request_body(&agent, "/disks/assign")["options"],
        "noatime,nofail"
    );
}

#[test]
fn disk_assign_of_an_unknown_drive_is_an_agent_error() {
    let agent = agent();
    let out = Invocation::to(&agent)
        .args([
            "disk",
            "assign",
            "--uuid",
            "no-such-uuid",
            "--where",
            "/mnt/x",
        ])
        .run()
        .failure(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("HTTP 404"), "{out:#?}");
    assert!(
        out.stderr
            .contains("no disk with filesystem uuid no-such-uuid"),
        "{out:#?}"
    );
}

#[test]
fn disk_eject_names_the_dependent_guests() {
    let agent = agent();
    let v = Invocation::to(&agent)
        .args(["disk", "eject", "--where", "/mnt/usb-archive"])
        .run()
        .status(0)
        .json();
    assert_eq!(
        v,
        json!({"vmid": 101, "ejected": "/mnt/usb-archive", "dependent_guests": [101, 102]})
    );
    assert_eq!(
        request_body(&agent, "/disks/eject"),
        json!({"where": "/mnt/usb-archive"})
    );
}

#[test]
fn disk_format_of_a_blank_device_formats_it_as_ext4_by_default() {
    let agent = agent();
    let v = Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdc"])
        .run()
        .status(0)
        .json();
    assert_eq!(v["device"], "/dev/sdc");
    assert_eq!(v["formatted"], true);
    assert_eq!(v["data_bearing"], false);
    assert_eq!(
        request_body(&agent, "/disks/format"),
        json!({"device": "/dev/sdc", "fstype": "ext4"})
    );

    Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdc", "--fstype", "xfs"])
        .run()
        .status(0);
    assert_eq!(request_body(&agent, "/disks/format")["fstype"], "xfs");
}

#[test]
fn fingerprint_prints_the_presented_certificate_and_sends_no_request() {
    let agent = agent();
    // No pin and no token: neither is needed.
    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .secret(agent.token())
        .run()
        .status(0);
    let fp = agent.fingerprint();
    assert_eq!(
        out.json(),
        json!({
            "endpoint": agent.endpoint(),
            "sha256": fp.to_string(),
            "sha256_colon": fp.to_colon_hex(),
        })
    );
    assert!(
        agent.requests().is_empty(),
        "fingerprint sent {:?}",
        calls(&agent)
    );
}

#[test]
fn fingerprint_expect_succeeds_on_a_match_in_any_spelling() {
    let agent = agent();
    let fp = agent.fingerprint();
    let out = Invocation::to(&agent)
        .args(["fingerprint", "--expect", &"ab".repeat(32)])
        .args([
            "--expect",
            &format!("SHA256:{}", fp.to_colon_hex().to_lowercase()),
        ])
        .run()
        .status(0);
    assert_eq!(out.json()["sha256"], fp.to_string());
    assert!(
        agent.requests().is_empty(),
        "fingerprint sent {:?}",
        calls(&agent)
    );
}

// ---- exit status 1: the agent answered with an error --------------------------------------------

#[test]
fn an_http_error_status_exits_1() {
    let agent = agent();
    agent.set_fault(Fault::Status(500));
    let out = Invocation::to(&agent).args(["storage"]).run().failure(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("GET /storage"), "{out:#?}");
    assert!(out.stderr.contains("HTTP 500"), "{out:#?}");
}

#[test]
fn an_undecodable_answer_exits_1() {
    let agent = agent();
    agent.set_fault(Fault::Garbage);
    let out = Invocation::to(&agent).args(["disks"]).run().failure(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("could not decode"), "{out:#?}");
}

#[test]
fn a_wrong_token_exits_1_without_showing_either_token() {
    let agent = agent();
    let wrong = "wrong-token-0123456789";
    let out = Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", wrong)
        .secret(wrong)
        .args(["storage"])
        .run()
        .failure(1);
    assert!(out.stderr.contains("HTTP 401"), "{out:#?}");
}

// ---- exit status 2: usage and configuration -----------------------------------------------------

#[test]
fn bad_usage_exits_2() {
    let agent = agent();
    for args in [
        &["no-such-command"][..],
        &[][..],
        &["disk", "eject"][..],
        &["disk", "assign", "--uuid", USB_UUID][..],
        &["storage", "--timeout", "soon"][..],
        &["storage", "--timeout", "0"][..],
        &["backup", "run", "--poll", "5 parsecs"][..],
        &["backup", "run", "--poll", "10s", "--give-up-after", "10s"][..],
    ] {
        let out = Invocation::to(&agent).args(args).run().status(2);
        assert_eq!(out.stdout, "", "{args:?}");
    }
    assert!(agent.requests().is_empty());
}

#[test]
fn a_malformed_fingerprint_exits_2() {
    let agent = agent();
    for bad in [
        "abcd",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        &"zz".repeat(32),
    ] {
        let out = Invocation::to(&agent)
            .args(["storage", "--fingerprint", bad])
            .run()
            .status(2);
        assert!(out.stderr.contains("fingerprint"), "{out:#?}");
    }
    let out = Invocation::bare()
        .env("FELHOM_AGENT_FINGERPRINT", "not-hex")
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .run()
        .status(2);
    assert!(out.stderr.contains("FELHOM_AGENT_FINGERPRINT") || out.stderr.contains("fingerprint"));
    assert!(agent.requests().is_empty());
}

#[test]
fn missing_settings_exit_2() {
    let agent = agent();
    let no_token = Invocation::bare()
        .args([
            "--endpoint",
            &agent.endpoint(),
            "--fingerprint",
            &agent.fingerprint().to_string(),
        ])
        .args(["storage"])
        .run()
        .failure(2);
    assert!(no_token.stderr.contains("no token"), "{no_token:#?}");

    let no_endpoint = Invocation::authed(&agent)
        .args(["--fingerprint", &agent.fingerprint().to_string(), "storage"])
        .run()
        .failure(2);
    assert!(
        no_endpoint.stderr.contains("no endpoint"),
        "{no_endpoint:#?}"
    );

    let no_pin = Invocation::authed(&agent)
        .args(["--endpoint", &agent.endpoint(), "storage"])
        .run()
        .failure(2);
    assert!(no_pin.stderr.contains("no fingerprint"), "{no_pin:#?}");

    let bad_endpoint = Invocation::authed(&agent)
        .args(["storage", "--endpoint", "http://127.0.0.1:1"])
        .args(["--fingerprint", &agent.fingerprint().to_string()])
        .run()
        .failure(2);
    assert!(
        bad_endpoint.stderr.contains("invalid client configuration"),
        "{bad_endpoint:#?}"
    );

    let empty_token = Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", "")
        .args(["storage"])
        .run()
        .failure(2);
    assert!(empty_token.stderr.contains("empty"), "{empty_token:#?}");

    assert!(agent.requests().is_empty());
}

#[test]
fn a_token_flag_is_refused_without_echoing_it() {
    let agent = agent();
    // Deliberately in argv here, so not registered as a secret for the argv check; it must still
    // not be printed.
    let typed = "typed-on-the-command-line-42";
    let out = Invocation::to(&agent)
        .args(["storage", "--token", typed])
        .run()
        .failure(2);
    assert!(out.stderr.contains("--token is not accepted"), "{out:#?}");
    assert!(!out.stderr.contains(typed), "{out:#?}");
    assert!(agent.requests().is_empty());
}

// ---- exit status 3: format refused --------------------------------------------------------------

#[test]
fn formatting_a_data_bearing_device_exits_3_with_the_refusal() {
    let agent = DevAgent::builder()
        .host_scope("pve-test-7")
        .start()
        .unwrap();
    let out = Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdb"])
        .run()
        .failure(3);
    let v = out.json();
    let command = "felhom-opsign -op storage_wipe -host pve-test-7 \
                   -durable-id byid:usb-WD_Elements_575834314134";
    assert_eq!(v["opsign_command"], command);
    assert_eq!(
        v["pending_op"],
        json!({"op": "storage_wipe", "host_scope": "pve-test-7",
               "durable_id": "byid:usb-WD_Elements_575834314134", "fstype": "ext4"})
    );
    assert_eq!(v["result"]["device"], "/dev/sdb");
    assert_eq!(v["result"]["formatted"], false);
    assert_eq!(v["result"]["data_bearing"], true);
    assert_eq!(v["result"]["pending_op"], v["pending_op"]);
    // Standard error tells the person what to run, on a line of its own.
    assert!(
        out.stderr.contains("refused to format \"/dev/sdb\""),
        "{out:#?}"
    );
    assert!(out.stderr.lines().any(|l| l.trim() == command), "{out:#?}");
}

#[test]
fn an_opsign_command_with_control_characters_is_not_printed_raw() {
    let hostile = "pve\u{1b}]0;owned\u{7}\u{1b}[2J";
    let agent = DevAgent::builder().host_scope(hostile).start().unwrap();
    let out = Invocation::to(&agent)
        .args(["disk", "format", "--device", "/dev/sdb", "--human"])
        .run()
        .failure(3);
    assert!(
        !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{out:#?}"
    );
    assert!(out.stderr.contains("control characters"), "{out:#?}");
    assert!(out.stderr.contains("opsign_command"), "{out:#?}");
    // The JSON keeps the exact value (escaped by JSON, so stdout is safe too).
    assert!(!out.stdout.contains('\u{1b}'), "{out:#?}");
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["pending_op"]["host_scope"], hostile);
    assert!(v["opsign_command"].as_str().unwrap().contains(hostile));
}

// ---- exit status 4: pin mismatch ----------------------------------------------------------------

#[test]
fn a_wrong_pin_exits_4_and_sends_nothing() {
    let agent = agent();
    let wrong = "ab".repeat(32);
    let out = Invocation::authed(&agent)
        .args([
            "storage",
            "--endpoint",
            &agent.endpoint(),
            "--fingerprint",
            &wrong,
        ])
        .run()
        .failure(4);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains(&agent.fingerprint().to_string()),
        "{out:#?}"
    );
    assert!(out.stderr.contains(&wrong), "{out:#?}");
    assert!(agent.requests().is_empty(), "sent {:?}", calls(&agent));
}

#[test]
fn fingerprint_expect_mismatch_exits_4() {
    let agent = agent();
    let other = "cd".repeat(32);
    let out = Invocation::bare()
        .args([
            "fingerprint",
            "--endpoint",
            &agent.endpoint(),
            "--expect",
            &other,
        ])
        .run()
        .failure(4);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains(&format!("presented: {}", agent.fingerprint())),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains(&format!(" expected: {other}\n")),
        "{out:#?}"
    );
    assert!(agent.requests().is_empty());

    // An agent that presents another certificate fails the check against the real pin.
    agent.set_fault(Fault::OtherCert);
    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &agent.endpoint()])
        .args(["--expect", &agent.fingerprint().to_string()])
        .run()
        .failure(4);
    assert!(
        out.stderr
            .contains(&format!(" expected: {}\n", agent.fingerprint())),
        "{out:#?}"
    );
    assert!(agent.requests().is_empty());
}

// ---- exit status 5: unreachable -----------------------------------------------------------------

#[test]
fn nothing_listening_exits_5() {
    let agent = agent();
    let dead = dead_endpoint();
    let out = Invocation::authed(&agent)
        .args([
            "storage",
            "--endpoint",
            &dead,
            "--fingerprint",
            &agent.fingerprint().to_string(),
        ])
        .run()
        .failure(5);
    assert!(out.stderr.contains("could not connect"), "{out:#?}");
    assert!(out.stderr.contains(&dead), "{out:#?}");

    let out = Invocation::bare()
        .args(["fingerprint", "--endpoint", &dead])
        .run()
        .failure(5);
    assert!(out.stderr.contains("could not connect"), "{out:#?}");
}

#[test]
fn a_dropped_connection_exits_5() {
    let agent = agent();
    agent.set_fault(Fault::Drop);
    let out = Invocation::to(&agent)
        .args(["backup", "status"])
        .run()
        .failure(5);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("GET /backup/status"), "{out:#?}");
}

// ---- exit status 6: backup failed ---------------------------------------------------------------

#[test]
fn a_failed_backup_exits_6_with_its_last_status() {
    let agent = DevAgent::builder()
        .backup_polls(1)
        .backup_outcome(BackupOutcome::Failed("vzdump exited with status 2".into()))
        .start()
        .unwrap();
    let out = Invocation::to(&agent)
        .args(["backup", "run", "--poll", "10ms"])
        .run()
        .failure(6);
    assert_eq!(
        out.json(),
        json!({
            "vmid": 101, "phase": "failed", "job_id": "job-1",
            "error": "vzdump exited with status 2",
        })
    );
    assert!(
        out.stderr.contains("vzdump exited with status 2"),
        "{out:#?}"
    );
}

// ---- output modes and option placement ----------------------------------------------------------

#[test]
fn human_output_has_tables_and_sizes() {
    let agent = agent();
    let storage = Invocation::to(&agent)
        .args(["storage", "--human"])
        .run()
        .status(0);
    let header = storage
        .stdout
        .lines()
        .find(|l| l.starts_with("KEY"))
        .expect("a table header");
    assert!(header.contains("MOUNT POINT"), "{storage:#?}");
    assert!(storage.stdout.contains("/mnt/archive"), "{storage:#?}");
    assert!(
        serde_json::from_str::<Value>(&storage.stdout).is_err(),
        "--human printed JSON"
    );

    let metrics = Invocation::to(&agent)
        .args(["--human", "metrics"])
        .run()
        .status(0);
    assert!(metrics.stdout.contains("STORAGE"), "{metrics:#?}");
    assert!(metrics.stdout.contains("400.0 GiB"), "{metrics:#?}"); // local-lvm's size
    assert!(
        metrics.stdout.contains("24.0 GiB of 64.0 GiB (37.5%)"),
        "{metrics:#?}"
    );
    assert!(metrics.stdout.contains("61.0%"), "{metrics:#?}"); // its thin pool

    let disks = Invocation::to(&agent)
        .args(["disks", "--human"])
        .run()
        .status(0);
    assert!(disks.stdout.contains("DURABLE ID"), "{disks:#?}");
    assert!(disks.stdout.contains("/dev/sdc"), "{disks:#?}");
}

#[test]
fn pretty_output_is_indented_and_the_same_json() {
    let agent = agent();
    let compact = Invocation::to(&agent).args(["disks"]).run().status(0);
    let pretty = Invocation::to(&agent)
        .args(["disks", "--pretty"])
        .run()
        .status(0);
    assert!(pretty.stdout.lines().count() > 10, "{pretty:#?}");
    assert!(pretty.stdout.contains("\n  \"disks\": ["), "{pretty:#?}");
    let parsed: Value = serde_json::from_str(&pretty.stdout).unwrap();
    assert_eq!(parsed, compact.json());
}

#[test]
fn global_options_work_after_the_subcommand_and_from_the_environment() {
    let agent = agent();
    let after = Invocation::authed(&agent)
        .args(["backup", "due", "--endpoint", &agent.endpoint()])
        .args([
            "--fingerprint",
            &agent.fingerprint().to_colon_hex(),
            "--timeout",
            "30s",
        ])
        .args(["--connect-timeout", "2s"])
        .run()
        .status(0);
    assert_eq!(after.json()["due"], true);

    // A rotation: the environment pins an old and the current certificate.
    let pins = format!("{},{}", "ef".repeat(32), agent.fingerprint());
    let env = Invocation::authed(&agent)
        .env("FELHOM_AGENT_ENDPOINT", agent.endpoint())
        .env("FELHOM_AGENT_FINGERPRINT", pins)
        .env("FELHOM_AGENT_TIMEOUT", "500ms")
        .args(["storage"])
        .run()
        .status(0);
    assert_eq!(env.json()["vmid"], 101);

    // The flag wins over the environment.
    let out = Invocation::to(&agent)
        .env("FELHOM_AGENT_ENDPOINT", dead_endpoint())
        .args(["storage"])
        .run()
        .status(0);
    assert_eq!(out.json()["vmid"], 101);
}

// ---- token sources ------------------------------------------------------------------------------

#[test]
fn a_private_token_file_is_read_and_its_newline_trimmed() {
    let agent = agent();
    let dir = TempDir::new();
    let unix = dir.file("token", &format!("{}\n", agent.token()), 0o600);
    let windows = dir.file("token-crlf", &format!("{}\r\n", agent.token()), 0o400);
    for path in [&unix, &windows] {
        Invocation::to(&agent)
            .env("FELHOM_AGENT_TOKEN", "wrong-token-from-env")
            .args(["storage", "--token-file"])
            .arg_path(path)
            .run()
            .status(0);
    }
    // The same through the environment variable.
    Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", "wrong-token-from-env")
        .env("FELHOM_AGENT_TOKEN_FILE", &unix)
        .args(["storage"])
        .run()
        .status(0);
    let expected = format!("Bearer {}", agent.token());
    assert!(
        agent
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some(expected.as_str()))
    );
    assert_eq!(agent.requests().len(), 3);
}

#[test]
fn a_token_file_others_can_read_is_refused() {
    let agent = agent();
    let dir = TempDir::new();
    for (mode, shown) in [(0o644, "0644"), (0o620, "0620"), (0o602, "0602")] {
        let path = dir.file(&format!("token-{shown}"), agent.token(), mode);
        let out = Invocation::to(&agent)
            .args(["storage", "--token-file"])
            .arg_path(&path)
            .run()
            .failure(2);
        assert!(out.stderr.contains(shown), "{out:#?}");
        assert!(out.stderr.contains("chmod 600"), "{out:#?}");
        assert!(out.stderr.contains(&path.display().to_string()), "{out:#?}");
    }
    let missing = Invocation::to(&agent)
        .args(["storage", "--token-file"])
        .arg_path(&dir.0.join("absent"))
        .run()
        .failure(2);
    assert!(
        missing.stderr.contains("could not open token file"),
        "{missing:#?}"
    );
    let empty = dir.file("empty", "\n", 0o600);
    let out = Invocation::to(&agent)
        .args(["storage", "--token-file"])
        .arg_path(&empty)
        .run();
    assert!(out.failure(2).stderr.contains("empty"));
    assert!(agent.requests().is_empty());
}

#[test]
fn the_token_can_come_from_stdin_and_wins() {
    let agent = agent();
    let dir = TempDir::new();
    let wrong_file = dir.file("wrong", "wrong-token-from-file\n", 0o600);
    let out = Invocation::to(&agent)
        .env("FELHOM_AGENT_TOKEN", "wrong-token-from-env")
        .args(["storage", "--token-stdin", "--token-file"])
        .arg_path(&wrong_file)
        .stdin(&format!("{}\nsecond line is ignored\n", agent.token()))
        .run()
        .status(0);
    assert_eq!(out.json()["vmid"], 101);

    let out = Invocation::to(&agent)
        .args(["storage", "--token-stdin"])
        .stdin("")
        .run()
        .failure(2);
    assert!(out.stderr.contains("standard input is empty"), "{out:#?}");
}

// ---- help, version, pipes -----------------------------------------------------------------------

#[test]
fn every_subcommand_has_help() {
    for args in [
        &[][..],
        &["storage"],
        &["disks"],
        &["metrics"],
        &["backup"],
        &["backup", "due"],
        &["backup", "start"],
        &["backup", "status"],
        &["backup", "run"],
        &["disk"],
        &["disk", "assign"],
        &["disk", "eject"],
        &["disk", "format"],
        &["fingerprint"],
    ] {
        let out = Invocation::bare()
            .args(args)
            .args(["--help"])
            .run()
            .status(0);
        assert!(
            out.stdout.contains("Usage: felhom-agentctl"),
            "{args:?}: {out:#?}"
        );
    }
    let top = Invocation::bare().args(["--help"]).run().status(0).stdout;
    for needle in [
        "EXIT STATUS",
        "FELHOM_AGENT_TOKEN",
        "--token-stdin",
        "chmod 600",
        "3)",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}");
    }
    let format = Invocation::bare()
        .args(["disk", "format", "--help"])
        .run()
        .status(0)
        .stdout;
    assert!(format.contains("jq -r .opsign_command"), "{format}");

    let version = Invocation::bare().args(["--version"]).run().status(0);
    assert_eq!(
        version.stdout.trim(),
        format!("felhom-agentctl {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let agent = agent();
    let mut command = Command::new(BIN);
    for var in TOOL_ENV {
        command.env_remove(var);
    }
    let mut child = command
        .args([
            "--endpoint",
            &agent.endpoint(),
            "--fingerprint",
            &agent.fingerprint().to_string(),
        ])
        .args(["metrics", "--human"])
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the answer can arrive, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
}
