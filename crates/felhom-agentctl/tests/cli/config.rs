//! Configuration for unattended use: pins files, `fingerprint --save`, token sources and their
//! file modes, the settings file and its precedence, durations and fingerprint spellings,
//! `-v` and `-q`; and the library's `Settings` giving the same errors.

use std::fs;
use std::path::Path;
use std::process::Command;

use felhom_agentapi::settings::{Overrides, TokenSource};
use felhom_agentapi::{Error, Fingerprint, Settings};
use felhom_devagent::DevAgent;

use crate::common::{Pinned, agent};
use crate::harness::{BIN, Invocation, TempDir, assert_every_request_authed, calls};

/// The tool pointed at `agent` with its token in the environment, and no pin.
fn unpinned(agent: &DevAgent) -> Invocation {
    Invocation::bare()
        .env("FELHOM_AGENT_TOKEN", agent.token())
        .secret(agent.token())
        .args(["--endpoint", &agent.endpoint()])
}

/// [`unpinned`], with the pins read from `pins`.
fn pinned_by(agent: &DevAgent, pins: &Path) -> Invocation {
    unpinned(agent).arg("--fingerprint-file").arg(pins)
}

#[test]
fn pins_come_from_a_file_and_rotation_is_an_edit_of_it() {
    let agent = agent();
    let dir = TempDir::new();
    let old = "ab".repeat(32);
    let pins = dir.file(
        "agent.pins",
        &format!("# the old certificate\n{old}\n"),
        0o644,
    );
    let out = pinned_by(&agent, &pins).arg("storage").run().failure(4);
    assert!(out.stderr.contains(&old), "{out:#?}");
    // The rotation: the new pin is added, with a comment.
    fs::write(
        &pins,
        format!("# old\n{old}\n{:#}  # the new one\n", agent.fingerprint()),
    )
    .unwrap();
    pinned_by(&agent, &pins).arg("storage").run().status(0);
    unpinned(&agent)
        .env("FELHOM_AGENT_FINGERPRINT_FILE", &pins)
        .arg("disks")
        .run()
        .status(0);
    // Anyone but its owner able to edit it could choose the server: refused.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&pins, fs::Permissions::from_mode(0o664)).unwrap();
    let out = pinned_by(&agent, &pins).arg("storage").run().failure(2);
    assert!(out.stderr.contains("0664"), "{out:#?}");
    assert_eq!(calls(&agent), ["GET /storage", "GET /disks"]);
}

/// `[GLOBAL] --endpoint ENDPOINT fingerprint [FLAGS] --save PATH`, with no token.
fn save_pin(global: &[&str], endpoint: &str, flags: &[&str], path: &Path) -> Invocation {
    Invocation::bare()
        .args(global)
        .args(["--endpoint", endpoint, "fingerprint"])
        .args(flags)
        .arg("--save")
        .arg(path)
}

#[test]
fn fingerprint_save_writes_the_pin_and_refuses_to_replace_another() {
    let agent = agent();
    let dir = TempDir::new();
    let pins = dir.path().join("agent.pins");
    let out = save_pin(&[], &agent.endpoint(), &[], &pins)
        .run()
        .exit_status(0);
    out.stderr_has("saved the pin to");
    assert_eq!(out.json()["sha256"], agent.fingerprint().to_string());
    assert_eq!(out.json()["saved"], pins.display().to_string());
    let text = fs::read_to_string(&pins).unwrap();
    assert!(text.starts_with("# "), "{text}");
    assert_eq!(
        felhom_agentapi::settings::read_pins_file(&pins).unwrap(),
        [agent.pin()]
    );
    // No temporary file is left beside it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    // The saved file pins the agent.
    pinned_by(&agent, &pins).arg("storage").run().status(0);

    // Saving the same pin again changes nothing.
    save_pin(&["-q"], &agent.endpoint(), &[], &pins)
        .run()
        .status(0);
    assert_eq!(fs::read_to_string(&pins).unwrap(), text);

    // Another agent (another certificate) at the address: refused, the file untouched.
    let impostor = DevAgent::start().unwrap();
    let out = save_pin(&[], &impostor.endpoint(), &[], &pins)
        .run()
        .failure(4);
    assert!(out.stderr.contains("--force"), "{out:#?}");
    assert!(
        out.stderr.contains(&impostor.fingerprint().to_string()),
        "{out:#?}"
    );
    assert_eq!(fs::read_to_string(&pins).unwrap(), text);
    assert_eq!(out.stdout, "");

    let forced = save_pin(&["-q"], &impostor.endpoint(), &["--force"], &pins)
        .run()
        .status(0);
    assert_eq!(forced.json()["sha256"], impostor.fingerprint().to_string());
    assert_eq!(
        felhom_agentapi::settings::read_pins_file(&pins).unwrap(),
        [impostor.pin()]
    );
    // Handshakes only: no request reached either agent.
    assert!(impostor.requests().is_empty());
    assert_eq!(calls(&agent), ["GET /storage"]);

    // A file that holds no pin yet (empty, or comments only) has none to replace: no --force.
    for (name, held) in [("empty.pins", ""), ("comments.pins", "# pins go here\n\n")] {
        let path = dir.file(name, held, 0o644);
        save_pin(&["-q"], &agent.endpoint(), &[], &path)
            .run()
            .status(0);
        assert_eq!(
            felhom_agentapi::settings::read_pins_file(&path).unwrap(),
            [agent.pin()],
            "{name}"
        );
    }
}

#[test]
fn tokens_come_from_systemd_credentials_and_file_descriptors() {
    let agent = agent();
    let dir = TempDir::new();
    let creds = dir.path().join("credentials");
    fs::create_dir(&creds).unwrap();
    let credential = creds.join("felhom-agent-token");
    fs::write(&credential, format!("{}\n", agent.token())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&credential, fs::Permissions::from_mode(0o400)).unwrap();
    // An empty FELHOM_AGENT_TOKEN is an error naming it, not a fall-through to the credential.
    let empty = Invocation::to(&agent)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .env("FELHOM_AGENT_TOKEN", "")
        .arg("storage")
        .run()
        .failure(2);
    assert!(empty.stderr.contains("FELHOM_AGENT_TOKEN"), "{empty:#?}");
    let mut command = Command::new(BIN);
    command.env_remove("FELHOM_AGENT_TOKEN");
    let out = Invocation::of(command)
        .env("CREDENTIALS_DIRECTORY", &creds)
        .args(["--endpoint", &agent.endpoint()])
        .args(["--fingerprint", &agent.fingerprint().to_string()])
        .arg("storage")
        .secret(agent.token())
        .run()
        .status(0);
    assert_eq!(out.json()["vmid"], 101);

    // --token-fd, as a shell passes one: `3< FILE`.
    let token_file = dir.file("token", agent.token(), 0o600);
    let script = format!(
        "exec \"$0\" --endpoint {} --fingerprint {} --token-fd 3 disks 3< '{}'",
        agent.endpoint(),
        agent.fingerprint(),
        token_file.display()
    );
    let mut sh = Command::new("sh");
    sh.args(["-c", &script, BIN]);
    Invocation::of(sh).secret(agent.token()).run().status(0);

    let bad_fd = Invocation::to(&agent)
        .args(["storage", "--token-fd", "97"])
        .run()
        .failure(2);
    assert!(bad_fd.stderr.contains("file descriptor 97"), "{bad_fd:#?}");
    assert_every_request_authed(&agent);
    assert_eq!(calls(&agent), ["GET /storage", "GET /disks"]);
}

#[test]
fn a_group_readable_token_file_is_accepted_and_a_loose_one_refused() {
    let agent = agent();
    let dir = TempDir::new();
    for mode in [0o640, 0o440, 0o600] {
        let path = dir.file(&format!("token-{mode:o}"), agent.token(), mode);
        Invocation::to(&agent)
            .env("FELHOM_AGENT_TOKEN", "wrong")
            .arg("--token-file")
            .arg(&path)
            .arg("storage")
            .run()
            .status(0);
    }
    for (mode, shown) in [(0o644, "0644"), (0o660, "0660"), (0o604, "0604")] {
        let path = dir.file(&format!("loose-{shown}"), agent.token(), mode);
        let out = Invocation::to(&agent)
            .arg("--token-file")
            .arg(&path)
            .arg("storage")
            .run()
            .failure(2);
        assert!(out.stderr.contains(shown), "{out:#?}");
        assert!(out.stderr.contains("chmod 600"), "{out:#?}");
    }
    assert_eq!(agent.requests().len(), 3);
}

#[test]
fn a_settings_file_configures_the_tool_below_environment_and_flags() {
    let agent = agent();
    let dir = TempDir::new();
    let token = dir.file("agent.token", &format!("{}\n", agent.token()), 0o640);
    let pins = dir.file("agent.pins", &format!("{}\n", agent.fingerprint()), 0o644);
    let config = dir.file(
        "agent.env",
        &format!(
            "# felhom agent, for the unit and the tool\n\
             FELHOM_AGENT_ENDPOINT=127.0.0.1:1\n\
             FELHOM_AGENT_FINGERPRINT_FILE=\"{}\"\n\
             FELHOM_AGENT_TOKEN_FILE={}\n\
             FELHOM_AGENT_TIMEOUT='2 min'\n\
             UNRELATED_SETTING=kept for the unit\n",
            pins.display(),
            token.display()
        ),
        0o644,
    );
    let mut command = Command::new(BIN);
    command.arg("storage");
    // The file's endpoint is wrong on purpose: the environment's wins.
    let out = Invocation::of(command)
        .env("FELHOM_AGENT_CONFIG", &config)
        .env("FELHOM_AGENT_ENDPOINT", agent.endpoint())
        .secret(agent.token())
        .run()
        .status(0);
    assert_eq!(out.json()["vmid"], 101);
    // And a flag wins over both.
    Invocation::bare()
        .arg("--config")
        .arg(&config)
        .env("FELHOM_AGENT_ENDPOINT", "127.0.0.1:2")
        .args(["--endpoint", &agent.endpoint(), "disks"])
        .secret(agent.token())
        .run()
        .status(0);
    // The file's own endpoint is used when nothing overrides it.
    let out = Invocation::bare()
        .arg("--config")
        .arg(&config)
        .arg("metrics")
        .run()
        .failure(5);
    assert!(out.stderr.contains("127.0.0.1:1"), "{out:#?}");

    let typo = dir.file("typo.env", "\nFELHOM_AGENT_ENDPIONT=x:1\n", 0o644);
    let out = Invocation::bare()
        .arg("--config")
        .arg(&typo)
        .arg("storage")
        .run()
        .failure(2);
    assert!(out.stderr.contains("line 2"), "{out:#?}");
    assert!(out.stderr.contains("unknown setting"), "{out:#?}");
    assert_eq!(calls(&agent), ["GET /storage", "GET /disks"]);
}

#[test]
fn durations_and_fingerprints_in_the_spellings_of_other_tools() {
    let agent = agent();
    for timeout in ["1h30m", "1.5s", "500ms", "2 min", "30"] {
        Invocation::to(&agent)
            .args(["storage", "--timeout", timeout])
            .run()
            .status(0);
    }
    Invocation::to(&agent)
        .env("FELHOM_AGENT_CONNECT_TIMEOUT", "2 min")
        .arg("storage")
        .run()
        .status(0);
    let openssl = format!("SHA256 Fingerprint={:#}", agent.fingerprint());
    unpinned(&agent)
        .args(["--fingerprint", &openssl, "storage"])
        .run()
        .status(0);
    let curl = "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=";
    let out = unpinned(&agent)
        .args(["--fingerprint", curl, "storage"])
        .run()
        .failure(2);
    assert!(out.stderr.contains("public key"), "{out:#?}");
    assert!(out.stderr.contains("not the certificate"), "{out:#?}");
    assert_eq!(agent.requests().len(), 7);
}

#[test]
fn verbose_shows_the_handshake_and_quiet_drops_notes() {
    let agent = agent();
    let out = Invocation::to(&agent)
        .args(["-v", "storage"])
        .run()
        .exit_status(0);
    assert!(out.stderr.contains("TLS 1."), "{out:#?}");
    assert!(
        out.stderr.contains("TLS13_") || out.stderr.contains("TLS_ECDHE"),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains(&agent.fingerprint().to_string()),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains("GET /storage: HTTP 200 in "),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains("token from FELHOM_AGENT_TOKEN"),
        "where the token came from: {out:#?}"
    );
    let plain = Invocation::to(&agent).arg("storage").run().status(0);
    assert_eq!(plain.stdout, out.stdout);

    let noisy = Invocation::to(&agent)
        .args(["disk", "init", "--device", "/dev/sdc", "--where", "/mnt/a"])
        .run()
        .exit_status(0);
    assert!(noisy.stderr.contains("formatting /dev/sdc"), "{noisy:#?}");
    let fresh = DevAgent::start().unwrap();
    let quiet = Invocation::to(&fresh)
        .args([
            "-q", "disk", "init", "--device", "/dev/sdc", "--where", "/mnt/a",
        ])
        .run()
        .status(0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, noisy.stdout);
    // Errors still come through -q.
    let out = Invocation::to(&fresh)
        .env("FELHOM_AGENT_TOKEN", "wrong")
        .args(["-q", "storage"])
        .run()
        .failure(8);
    assert!(out.stderr.contains("HTTP 401"), "{out:#?}");
}

#[test]
fn the_library_settings_give_the_cli_s_errors() {
    let agent = agent();
    let bad_pin = "abcd";
    let mut given = Overrides::default();
    given.fingerprints = vec![bad_pin.into()];
    let Err(Error::Config { .. }) = Settings::load(&given).map(|_| ()) else {
        panic!("the library accepted a bad pin");
    };
    let library = Settings::load(&given).unwrap_err().to_string();
    let cli = Invocation::to(&agent)
        .args(["storage", "--fingerprint", bad_pin])
        .run()
        .failure(2);
    assert_eq!(cli.stderr.trim_end(), format!("felhom-agentctl: {library}"));

    // And a daemon configured like the tool talks to the agent like it.
    let mut daemon = Overrides::default();
    daemon.endpoint = Some(agent.endpoint());
    daemon.fingerprints = vec![format!("{:#}", agent.fingerprint())];
    daemon.token = Some(TokenSource::Value(agent.token().into()));
    let client = Settings::load(&daemon).unwrap().client().unwrap();
    let pins: Vec<Fingerprint> = client.pins().to_vec();
    assert_eq!(pins, [agent.pin()]);
    assert_eq!(client.storage().unwrap().vmid, 101);
}

/// The pins file is for every user that runs the tool (a monitoring plugin, say): 0644 even
/// under a umask of 077, which would make a new file 0600.
#[test]
fn fingerprint_save_writes_mode_0644_whatever_the_umask() {
    let agent = agent();
    let dir = TempDir::new();
    let pins = dir.path().join("agent.pins");
    let mut sh = Command::new("sh");
    sh.args(["-c", "umask 077; exec \"$@\"", "sh", BIN])
        .args(["--endpoint", &agent.endpoint(), "fingerprint", "--save"])
        .arg(&pins);
    Invocation::of(sh).run().exit_status(0);
    let mode = std::os::unix::fs::MetadataExt::mode(&fs::metadata(&pins).unwrap()) & 0o777;
    assert_eq!(mode, 0o644, "{mode:o}");
}
