//! A daemon configured through `Settings` gets the tool's local trust rules (issue 16): a
//! settings, pins or token file another user could change is an `Error::Config` naming it,
//! and `local_trust` reports the same as a typed `TrustError`.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, lchown, symlink};
use std::path::Path;

use felhom_agentapi::local_trust::{Problem, Secrecy, TrustedFile};
use felhom_agentapi::settings::{Overrides, TokenSource};
use felhom_agentapi::{Error, Settings};

use crate::common::cannot_check;

const STRANGER: u32 = 65534;

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn write(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn config_message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Config { message }) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn settings_refuse_files_of_another_user_and_planted_links() {
    if !is_root() {
        return cannot_check("not root: files of another user (uid 65534) cannot be made");
    }
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("agent.env");
    write(&settings, "FELHOM_AGENT_ENDPOINT=10.0.0.1:8443\n", 0o644);
    let mut given = Overrides::default();
    given.config = Some(settings.clone());
    assert!(Settings::load(&given).is_ok());
    lchown(&settings, Some(STRANGER), None).unwrap();
    let message = config_message(Settings::load(&given));
    assert!(message.contains("settings file"), "{message}");
    assert!(message.contains("belongs to uid 65534"), "{message}");

    let token = dir.path().join("agent.token");
    write(&token, "s3cret\n", 0o600);
    let link = dir.path().join("planted.token");
    symlink(&token, &link).unwrap();
    lchown(&link, Some(STRANGER), None).unwrap();
    let message = config_message(TokenSource::File(link.clone()).read());
    assert!(message.contains("the symbolic link"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
    let refused = TrustedFile::open(&link, Secrecy::Secret).unwrap_err();
    assert!(matches!(
        refused.problem(),
        Problem::LinkOwner { uid: STRANGER }
    ));
    assert_eq!(refused.at(), link);
    assert_eq!(TokenSource::File(token).read().unwrap(), "s3cret");
}
