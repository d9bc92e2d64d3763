//! The layering of settings, with a made-up environment and real files.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn load_env(overrides: &Overrides, vars: &[(&str, &str)]) -> Result<Settings, String> {
    let map: HashMap<String, OsString> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    Settings::load_with(overrides, &|name| map.get(name).cloned()).map_err(|e| match e {
        Error::Config { message } => message,
        other => panic!("not a config error: {other:?}"),
    })
}

/// A settings file `agent.env` in `dir` with a mode the rules accept.
fn config_file(dir: &Path, text: &str) -> PathBuf {
    write(dir, "agent.env", text, 0o644)
}

/// Settings from the environment `vars` alone, with no flags.
fn from_vars(vars: &[(&str, &str)]) -> Result<Settings, String> {
    load_env(&Overrides::default(), vars)
}

fn pin(s: &str) -> Fingerprint {
    s.parse().unwrap()
}

#[test]
fn flags_win_over_the_environment_which_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(
        dir.path(),
        &format!(
            "FELHOM_AGENT_ENDPOINT=file.invalid:1\nFELHOM_AGENT_FINGERPRINT={C}\n\
             FELHOM_AGENT_TIMEOUT=7\nFELHOM_AGENT_CONNECT_TIMEOUT=3\nOTHER_UNIT_SETTING=x\n"
        ),
    );
    let config_var = config.to_str().unwrap();
    let file_only = from_vars(&[(vars::CONFIG, config_var)]).unwrap();
    assert_eq!(file_only.endpoint(), Some("file.invalid:1"));
    assert_eq!(file_only.pins(), [pin(C)]);
    assert_eq!(file_only.timeout(), Some(Duration::from_secs(7)));
    assert_eq!(file_only.config_file(), Some(config.as_path()));

    let env = [
        (vars::CONFIG, config_var),
        (vars::ENDPOINT, "env.invalid:2"),
        (vars::FINGERPRINT, &format!("{A},{B}")),
    ];
    let from_env = from_vars(&env).unwrap();
    assert_eq!(from_env.endpoint(), Some("env.invalid:2"));
    assert_eq!(from_env.pins(), [pin(A), pin(B)]);
    assert_eq!(from_env.connect_timeout(), Some(Duration::from_secs(3)));

    let flags = Overrides {
        endpoint: Some("flag.invalid:3".into()),
        fingerprints: vec![B.into()],
        timeout: Some(Duration::from_millis(250)),
        ..Overrides::default()
    };
    let from_flags = load_env(&flags, &env).unwrap();
    assert_eq!(from_flags.endpoint(), Some("flag.invalid:3"));
    // A flag's pins replace the environment's: a flag narrows what is trusted.
    assert_eq!(from_flags.pins(), [pin(B)]);
    assert_eq!(from_flags.timeout(), Some(Duration::from_millis(250)));
}

#[test]
fn a_pins_file_adds_to_the_pins_of_its_layer() {
    let dir = tempfile::tempdir().unwrap();
    let pins = write(
        dir.path(),
        "pins",
        &format!("# now\n{A}\n{B} # next\n"),
        0o644,
    );
    let s = from_vars(&[
        (vars::FINGERPRINT, C),
        (vars::FINGERPRINT_FILE, pins.to_str().unwrap()),
    ])
    .unwrap();
    assert_eq!(s.pins(), [pin(C), pin(A), pin(B)]);

    let writable = write(dir.path(), "open-pins", A, 0o664);
    let err = from_vars(&[(vars::FINGERPRINT_FILE, writable.to_str().unwrap())]).unwrap_err();
    assert!(
        err.contains("0664") && err.contains("FELHOM_AGENT_FINGERPRINT_FILE"),
        "{err}"
    );
}

#[test]
fn empty_and_malformed_values_name_their_variable() {
    let err = from_vars(&[(vars::FINGERPRINT, "")]).unwrap_err();
    assert!(
        err.starts_with("FELHOM_AGENT_FINGERPRINT is set but empty"),
        "{err}"
    );
    let err = from_vars(&[(vars::TIMEOUT, "soon")]).unwrap_err();
    assert!(err.starts_with("FELHOM_AGENT_TIMEOUT: "), "{err}");
    let err = from_vars(&[(vars::CONNECT_TIMEOUT, "0")]).unwrap_err();
    assert!(err.contains("longer than zero"), "{err}");
    let err = from_vars(&[(vars::FINGERPRINT, "sha256//AAAA=")]).unwrap_err();
    assert!(err.contains("public key"), "{err}");
}

#[test]
fn the_settings_file_is_strict_about_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    for (text, needle) in [
        ("FELHOM_AGENT_ENDPOIN=x:1\n", "unknown setting"),
        (
            "FELHOM_AGENT_TOKEN=secret\n",
            "not accepted in a settings file",
        ),
        ("FELHOM_AGENT_TOKEN_FILE=relative/token\n", "absolute path"),
        (
            "\nFELHOM_AGENT_ENDPOINT=\n",
            "line 2: FELHOM_AGENT_ENDPOINT is empty",
        ),
        ("FELHOM_AGENT_ENDPOINT='x:1\n", "never closed"),
    ] {
        let path = write(dir.path(), "bad.env", text, 0o600);
        let flags = Overrides {
            config: Some(path),
            ..Overrides::default()
        };
        let err = load_env(&flags, &[]).unwrap_err();
        assert!(err.contains(needle), "{text:?}: {err}");
        assert!(!err.contains("secret"), "{err}");
    }
    let world_writable = write(dir.path(), "ww.env", "", 0o666);
    let flags = Overrides {
        config: Some(world_writable),
        ..Overrides::default()
    };
    assert!(load_env(&flags, &[]).unwrap_err().contains("0666"));
}

#[test]
fn token_sources_in_order_of_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = write(dir.path(), "env-token", "from-env-file\n", 0o600);
    let creds = dir.path().join("creds");
    fs::create_dir(&creds).unwrap();
    write(&creds, TOKEN_CREDENTIAL, "from-credential\n", 0o400);
    let file_token = write(dir.path(), "file-token", "from-settings-file", 0o640);
    let config = config_file(
        dir.path(),
        &format!("FELHOM_AGENT_TOKEN_FILE={}\n", file_token.display()),
    );
    let read = |flags: &Overrides, vars: &[(&str, &str)]| -> String {
        let mut all = vec![
            (vars::CONFIG, config.to_str().unwrap()),
            (vars::ENDPOINT, "127.0.0.1:1"),
            (vars::FINGERPRINT, A),
        ];
        all.extend_from_slice(vars);
        let s = load_env(flags, &all).unwrap();
        s.token_source().unwrap().read().unwrap()
    };
    let creds_var = (vars::CREDENTIALS_DIRECTORY, creds.to_str().unwrap());
    assert_eq!(read(&Overrides::default(), &[]), "from-settings-file");
    assert_eq!(read(&Overrides::default(), &[creds_var]), "from-credential");
    assert_eq!(
        read(
            &Overrides::default(),
            &[creds_var, (vars::TOKEN, "from-env")]
        ),
        "from-env"
    );
    let env_file_var = (vars::TOKEN_FILE, env_file.to_str().unwrap());
    assert_eq!(
        read(
            &Overrides::default(),
            &[creds_var, (vars::TOKEN, "from-env"), env_file_var]
        ),
        "from-env-file"
    );
    let flags = Overrides {
        token: Some(TokenSource::Value("from-flag".into())),
        ..Overrides::default()
    };
    assert_eq!(read(&flags, &[creds_var, env_file_var]), "from-flag");
}

#[test]
fn token_files_follow_the_mode_policy() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o400, 0o640, 0o440] {
        let path = write(dir.path(), &format!("ok-{mode:o}"), "t0ken\n", mode);
        assert_eq!(TokenSource::File(path).read().unwrap(), "t0ken", "{mode:o}");
    }
    for mode in [0o644, 0o604, 0o660, 0o620, 0o602, 0o666] {
        let path = write(dir.path(), &format!("bad-{mode:o}"), "t0ken", mode);
        let err = TokenSource::File(path.clone())
            .read()
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{mode:04o}")), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("t0ken"), "{err}");
    }
}

/// The token put where its file's path belongs (`FELHOM_AGENT_TOKEN_FILE=<token>`, as an
/// operator might after the settings file refused `FELHOM_AGENT_TOKEN`) is never repeated: not
/// in an error, nor in what `-v` shows (`Display`), nor in `Debug`.
#[test]
fn a_token_given_as_its_file_name_is_never_repeated() {
    const TOKEN: &str = "s3cr3t-token-abc";
    let source = TokenSource::File(TOKEN.into());
    let err = source.read().unwrap_err().to_string();
    assert!(err.contains("named without a '/'"), "{err}");
    for shown in [err, source.to_string(), format!("{source:?}")] {
        assert!(!shown.contains(TOKEN), "{shown}");
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), &format!("FELHOM_AGENT_TOKEN_FILE={TOKEN}\n"));
    let err = from_vars(&[(vars::CONFIG, config.to_str().unwrap())]).unwrap_err();
    assert!(err.contains("must be an absolute path"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}

#[test]
fn a_token_comes_from_a_file_descriptor_through_dev_fd() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "fd-token", "fd-t0ken\n", 0o600);
    // The test process's own descriptor for an open file stands in for one a parent passed.
    let file = fs::File::open(&path).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let source = TokenSource::Fd(u32::try_from(fd).unwrap());
    assert_eq!(source.read().unwrap(), "fd-t0ken");
    drop(file);
    let err = TokenSource::Fd(987_654).read().unwrap_err().to_string();
    assert!(err.contains("file descriptor 987654"), "{err}");
}

#[test]
fn missing_settings_say_how_to_give_them() {
    let s = from_vars(&[]).unwrap();
    let message = |e: Error| e.to_string();
    assert!(message(s.client_builder().unwrap_err()).contains("no endpoint"));
    let s = from_vars(&[(vars::ENDPOINT, "127.0.0.1:1")]).unwrap();
    assert!(message(s.client_builder().unwrap_err()).contains("no fingerprint"));
    let s = from_vars(&[(vars::ENDPOINT, "127.0.0.1:1"), (vars::FINGERPRINT, A)]).unwrap();
    assert!(message(s.client_builder().unwrap_err()).contains("no token"));
    let s = from_vars(&[
        (vars::ENDPOINT, "127.0.0.1:1"),
        (vars::FINGERPRINT, A),
        (vars::TOKEN, "secret-value"),
    ])
    .unwrap();
    assert!(!format!("{s:?}").contains("secret-value"));
    let client = s.client().unwrap();
    assert_eq!(client.pins(), [pin(A)]);
}

#[test]
fn a_pins_file_not_written_yet_stops_the_client_and_no_lower_layer_stands_in() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("agent.pins");
    let config = config_file(dir.path(), &format!("FELHOM_AGENT_FINGERPRINT={B}\n"));
    let settings = from_vars(&[
        (vars::CONFIG, config.to_str().unwrap()),
        (vars::ENDPOINT, "127.0.0.1:1"),
        (vars::FINGERPRINT_FILE, missing.to_str().unwrap()),
        (vars::TOKEN, "t"),
    ])
    .expect("loading succeeds, so that fingerprint --save can write the file");
    assert!(settings.pins().is_empty(), "{settings:?}");
    let err = settings.client_builder().unwrap_err().to_string();
    assert!(
        err.contains("does not exist yet")
            && err.contains("FELHOM_AGENT_FINGERPRINT_FILE")
            && err.contains(&format!("fingerprint --save {}", missing.display())),
        "{err}"
    );
    // With pins of its own layer beside it, the missing file still stops the client.
    let both = from_vars(&[
        (vars::ENDPOINT, "127.0.0.1:1"),
        (vars::FINGERPRINT, A),
        (vars::FINGERPRINT_FILE, missing.to_str().unwrap()),
        (vars::TOKEN, "t"),
    ])
    .unwrap();
    assert!(both.client_builder().is_err());
}

#[test]
fn the_normalized_endpoint_is_the_one_a_client_names() {
    for (given, normalized) in [
        ("HTTPS://Agent.Local:8443", "agent.local:8443"),
        (" https://[FD00:0::1]:8443 ", "[fd00::1]:8443"),
    ] {
        let flags = Overrides {
            endpoint: Some(given.into()),
            fingerprints: vec![A.into()],
            token: Some(TokenSource::Value("t".into())),
            ..Overrides::default()
        };
        let settings = load_env(&flags, &[]).unwrap();
        assert_eq!(settings.normalized_endpoint().unwrap(), normalized);
        let client = settings.client().unwrap();
        assert_eq!(client.endpoint(), normalized, "{given}");
    }
    let none = from_vars(&[]).unwrap();
    assert!(matches!(
        none.normalized_endpoint(),
        Err(Error::Config { .. })
    ));
}
