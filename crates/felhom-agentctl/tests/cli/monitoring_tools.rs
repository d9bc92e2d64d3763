//! The shipped monitoring configuration, checked by the real tools: `promtool` (Debian's
//! `prometheus`) on the alert rules, their unit tests and a rendered exposition; `icinga2
//! daemon -C` and `nagios4 -v` on the examples; and the Nagios command lines run as Nagios runs
//! them, against the stand-in agent. A missing tool fails the test when `CI` is set (`.ci/run`
//! installs them) and is skipped with a note otherwise.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use felhom_agentapi::backup_record;
use felhom_devagent::MetricsProfile;

use crate::harness::{BIN, Invocation, TempDir, agent_with, capable, readme};
use crate::plugin_output::plugin;

fn contrib(path: &str) -> PathBuf {
    crate::harness::repo_root().join("contrib").join(path)
}

/// Whether `tool` runs; a missing one fails under CI and is a note elsewhere.
fn available(tool: &str, package: &str) -> bool {
    let runs = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    capable(
        runs,
        &format!("{tool} is missing (apt-get install {package}); skipping its check"),
    )
}

#[track_caller]
fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `command` to its end, asserting that it (`what`) succeeded.
#[track_caller]
fn passes(what: &str, command: &mut Command) -> Output {
    let out = command.output().unwrap();
    succeeded(what, &out);
    out
}

/// Runs `command` to its end with `input` on its standard input.
fn fed(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Every series the tool can write at once: a profile, a backup on record, the agent label.
fn full_exposition(profile: MetricsProfile) -> String {
    let agent = agent_with(profile);
    let state = TempDir::new();
    backup_record::record_outcome(state.path(), &agent.endpoint(), 1, "done", Some("job-1"))
        .unwrap();
    Invocation::to(&agent)
        .env("STATE_DIRECTORY", state.path())
        .args(["metrics", "--format", "prometheus"])
        .run()
        .status(0)
        .stdout
}

#[test]
fn promtool_passes_the_rules_their_tests_and_every_exposition() {
    if !available("promtool", "prometheus") {
        return;
    }
    let dir = contrib("prometheus");
    for (what, file) in [
        ("check", "felhom-rules.yml"),
        ("test", "felhom-rules.test.yml"),
    ] {
        passes(
            &format!("promtool {what} rules"),
            Command::new("promtool")
                .args([what, "rules", file])
                .current_dir(&dir),
        );
    }
    for profile in MetricsProfile::ALL {
        let text = full_exposition(profile);
        let out = fed(Command::new("promtool").args(["check", "metrics"]), &text);
        succeeded(&format!("promtool check metrics ({profile})"), &out);
        // Lint problems are printed, with a zero exit status.
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{profile}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_series_the_rules_use_is_one_the_tool_writes() {
    let rules = fs::read_to_string(contrib("prometheus/felhom-rules.yml")).unwrap();
    let mut written = String::new();
    for profile in MetricsProfile::ALL {
        written.push_str(&full_exposition(profile));
    }
    let used: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("felhom_"))
        .collect();
    assert!(used.len() >= 8, "{used:?}");
    for name in used {
        assert!(
            written.contains(&format!("\n{name}{{")),
            "{name} is in the rules but never written"
        );
    }
    assert!(rules.contains(r#"node_textfile_mtime_seconds{file=~"(.*/)?felhom\\.prom"}"#));
}

/// A copy of the contrib files in a fresh directory the tools' own users can read (icinga2
/// drops to its user), for a main configuration that includes them.
fn copied(files: &[&str]) -> TempDir {
    let dir = TempDir::new();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    for file in files {
        let name = Path::new(file).file_name().unwrap();
        fs::copy(contrib(file), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn icinga2_accepts_the_example() {
    if !available("icinga2", "icinga2-bin") {
        return;
    }
    let dir = copied(&["icinga2/felhom.conf", "icinga2/hosts.conf.example"]);
    let main = dir.file(
        "icinga2.conf",
        &format!(
            "const PluginDir = \"/usr/lib/nagios/plugins\"\ninclude <itl>\n\
             include \"{0}/felhom.conf\"\ninclude \"{0}/hosts.conf.example\"\n",
            dir.path().display()
        ),
        0o644,
    );
    let out = passes(
        "icinga2 daemon -C",
        Command::new("icinga2")
            .args(["daemon", "-C", "-c"])
            .arg(&main),
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("Instantiated 2 Services."), "{log}");
    // Connection settings are arguments, never env: an undefined variable leaves an argument
    // out, but sets an env variable to "", which the tool refuses.
    let conf = fs::read_to_string(contrib("icinga2/felhom.conf")).unwrap();
    assert!(!conf.contains("FELHOM_AGENT_"), "{conf}");
}

#[test]
fn nagios4_accepts_the_example() {
    if !available("nagios4", "nagios4-core") {
        return;
    }
    let dir = copied(&["nagios/felhom.cfg", "nagios/services.cfg.example"]);
    let mut cfg = String::from(
        "log_file=/dev/null\nlock_file=/tmp/felhom-nagios-test.lock\n\
         cfg_file=/etc/nagios4/objects/commands.cfg\ncfg_file=/etc/nagios4/objects/contacts.cfg\n\
         cfg_file=/etc/nagios4/objects/timeperiods.cfg\n\
         cfg_file=/etc/nagios4/objects/templates.cfg\n",
    );
    for name in ["felhom.cfg", "services.cfg.example"] {
        cfg.push_str(&format!("cfg_file={}\n", dir.path().join(name).display()));
    }
    let main = dir.file("nagios.cfg", &cfg, 0o644);
    let out = passes("nagios4 -v", Command::new("nagios4").arg("-v").arg(&main));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("Total Errors:   0"), "{log}");
}

/// The `command_line` of `name` in contrib/nagios/felhom.cfg.
fn nagios_command(name: &str) -> String {
    let cfg = fs::read_to_string(contrib("nagios/felhom.cfg")).unwrap();
    let block = cfg
        .split("define command {")
        .find(|b| b.contains(&format!("command_name    {name}\n")))
        .unwrap_or_else(|| panic!("no command {name}"));
    let line = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("command_line"))
        .unwrap();
    line.trim().to_string()
}

#[test]
fn the_nagios_commands_work_with_a_pin_and_with_a_pins_file() {
    let agent = agent_with(MetricsProfile::Healthy);
    let dir = TempDir::new();
    let token = dir.file("agent.token", agent.token(), 0o600);
    let pins = dir.file(
        "agent.pins",
        &format!("# the agent\n{}\n", agent.fingerprint()),
        0o644,
    );
    let state = TempDir::new();
    backup_record::record_outcome(
        state.path(),
        &agent.endpoint(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        "done",
        Some("job-1"),
    )
    .unwrap();
    for (command, pin) in [
        ("check_felhom", agent.fingerprint().to_string()),
        ("check_felhom_pins_file", pins.display().to_string()),
    ] {
        // As Nagios expands the macros, then runs the line with /bin/sh.
        let line = nagios_command(command)
            .replace("/usr/local/bin/felhom-agentctl", BIN)
            .replace("/etc/felhom/agent.token", &token.display().to_string())
            .replace(
                "/var/lib/felhom-agentctl",
                &state.path().display().to_string(),
            )
            .replace("$ARG1$", &agent.endpoint())
            .replace("$ARG2$", &pin)
            .replace("$ARG3$", "--warn thin-pool-data=75 --backup");
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c").arg(&line);
        let p = plugin(&Invocation::of(sh).secret(agent.token()).run());
        assert_eq!((p.code, p.state.as_str()), (0, "OK"), "{command}: {p:#?}");
        assert!(p.perf("backup-age").is_some(), "{command}: {p:#?}");
    }
}

#[test]
fn the_readme_shows_the_working_examples_verbatim() {
    let readme = readme();
    let block = |file: &str, from: &str| {
        let text = fs::read_to_string(contrib(file)).unwrap();
        let at = text
            .find(from)
            .unwrap_or_else(|| panic!("{from} in {file}"));
        text[at..].trim_end().to_string()
    };
    for (file, from) in [
        ("icinga2/felhom.conf", "object CheckCommand \"felhom\" {"),
        ("icinga2/hosts.conf.example", "object Host \"guest-102\" {"),
        ("nagios/felhom.cfg", "define command {"),
    ] {
        let shipped = block(file, from);
        assert!(
            readme.contains(&shipped),
            "the README's example differs from contrib/{file}:\n{shipped}"
        );
    }
}
