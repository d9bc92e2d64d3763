//! The rules on files and paths this module's owner can make. The cases that need a second
//! user (`chown`) run only as root, and print a note otherwise.

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown, lchown, symlink};
use std::path::Path;
use std::process::Command;

use super::*;

const NOBODY: u32 = 65534;

fn dir() -> tempfile::TempDir {
    // 0700, owned by this user, in the sticky /tmp: a way the rules accept.
    tempfile::tempdir().unwrap()
}

fn file(dir: &Path, name: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, "content\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A new directory `name` in `dir`, with the default mode.
fn subdir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir(&path).unwrap();
    path
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn as_root() -> bool {
    let root = effective_uid().unwrap() == 0;
    if !root {
        eprintln!("note: not root, so the cases with a file of another user are not run");
    }
    root
}

#[test]
fn modes_are_held_to_the_secrecy_of_the_file() {
    let d = dir();
    let public = file(d.path(), "agent.env", 0o644);
    let text = TrustedFile::open(&public, Secrecy::Public).unwrap();
    assert_eq!(text.read_to_string(100).unwrap(), "content\n");
    let e = TrustedFile::open(&public, Secrecy::Secret).unwrap_err();
    assert!(
        matches!(e.problem(), Problem::Mode { mode: 0o644, .. }),
        "{e}"
    );
    assert!(e.describe("token file").contains("chmod 600"), "{e}");
    chmod(&public, 0o640);
    assert!(
        TrustedFile::open(&public, Secrecy::Secret).is_ok(),
        "group-readable secret"
    );
    chmod(&public, 0o664);
    let e = TrustedFile::open(&public, Secrecy::Public).unwrap_err();
    assert_eq!(e.fix().unwrap(), format!("chmod go-w {}", public.display()));
    assert!(e.to_string().contains("mode 0664"), "{e}");
}

#[test]
fn special_files_are_refused_before_they_are_opened_and_never_chmodded() {
    let d = dir();
    let fifo = d.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A blocking open of a FIFO with no writer would never return: this one must.
    let e = TrustedFile::open(&fifo, Secrecy::Secret).unwrap_err();
    assert!(matches!(e.problem(), Problem::NotRegular { found } if found.contains("FIFO")));
    for path in [Path::new("/dev/null"), fifo.as_path(), d.path()] {
        let e = TrustedFile::open(path, Secrecy::Public).unwrap_err();
        let text = e.describe("settings file");
        assert!(!text.contains("chmod"), "{text}");
        assert!(text.contains("not a regular file"), "{text}");
    }
}

#[test]
fn a_world_writable_directory_is_refused_unless_it_is_sticky() {
    let d = dir();
    let sub = subdir(d.path(), "conf");
    let path = file(&sub, "agent.pins", 0o644);
    chmod(&sub, 0o777);
    let e = TrustedFile::open(&path, Secrecy::Public).unwrap_err();
    assert!(
        matches!(e.problem(), Problem::DirectoryWritable { mode: 0o777 }),
        "{e}"
    );
    assert_eq!(e.at(), sub);
    assert!(!e.describe("pins file").contains("chmod"), "{e}");
    chmod(&sub, 0o1777);
    assert!(TrustedFile::open(&path, Secrecy::Public).is_ok());
    chmod(&sub, 0o775);
    assert!(
        TrustedFile::open(&path, Secrecy::Public).is_err(),
        "group-writable"
    );
    assert!(check_directory(&sub).is_err());
    chmod(&sub, 0o755);
    assert_eq!(check_directory(&sub).unwrap(), sub);
    assert!(check_directory(&path).is_err(), "a file is no directory");
}

#[test]
fn files_directories_and_links_of_another_user_are_refused() {
    if !as_root() {
        return;
    }
    let d = dir();
    let theirs = file(d.path(), "theirs", 0o644);
    chown(&theirs, Some(NOBODY), None).unwrap();
    let e = TrustedFile::open(&theirs, Secrecy::Public).unwrap_err();
    assert!(matches!(e.problem(), Problem::Owner { uid: NOBODY }), "{e}");
    assert!(e.to_string().contains("uid 65534"), "{e}");

    let sub = subdir(d.path(), "their-dir");
    let mine = file(&sub, "mine", 0o600);
    chown(&sub, Some(NOBODY), None).unwrap();
    let e = TrustedFile::open(&mine, Secrecy::Secret).unwrap_err();
    assert!(
        matches!(e.problem(), Problem::DirectoryOwner { uid: NOBODY }),
        "{e}"
    );
    assert_eq!(e.at(), sub);

    // An administrator's link to an administrator's file passes; a link another user made,
    // or one to another user's file, does not.
    let target = file(d.path(), "agent.token", 0o600);
    let admins = d.path().join("admins-link");
    symlink(&target, &admins).unwrap();
    let opened = TrustedFile::open(&admins, Secrecy::Secret).unwrap();
    assert_eq!(opened.resolved_path(), target);
    let planted = d.path().join("planted-link");
    symlink(&target, &planted).unwrap();
    lchown(&planted, Some(NOBODY), None).unwrap();
    let e = TrustedFile::open(&planted, Secrecy::Secret).unwrap_err();
    assert!(
        matches!(e.problem(), Problem::LinkOwner { uid: NOBODY }),
        "{e}"
    );
    let to_theirs = d.path().join("to-theirs");
    symlink(&theirs, &to_theirs).unwrap();
    let e = TrustedFile::open(&to_theirs, Secrecy::Public).unwrap_err();
    assert!(matches!(e.problem(), Problem::Owner { .. }), "{e}");
    assert_eq!(e.at(), theirs);
}

#[test]
fn links_are_walked_through_relative_targets_and_loops_end() {
    let d = dir();
    let sub = subdir(d.path(), "etc");
    let target = file(&sub, "agent.env", 0o644);
    let link = d.path().join("agent.env");
    symlink("etc/../etc/./agent.env", &link).unwrap();
    let opened = TrustedFile::open(&link, Secrecy::Public).unwrap();
    assert_eq!(opened.resolved_path(), target);
    // The target's directory is held to the rules too.
    chmod(&sub, 0o777);
    let e = TrustedFile::open(&link, Secrecy::Public).unwrap_err();
    assert_eq!(e.at(), sub, "{e}");
    let a = d.path().join("a");
    symlink("b", &a).unwrap();
    symlink("a", d.path().join("b")).unwrap();
    let e = TrustedFile::open(&a, Secrecy::Public).unwrap_err();
    assert!(matches!(e.problem(), Problem::TooManyLinks), "{e}");
}

#[test]
fn reads_are_bounded() {
    let d = dir();
    let path = file(d.path(), "big", 0o644);
    fs::write(&path, "x".repeat(101)).unwrap();
    let e = TrustedFile::open(&path, Secrecy::Public)
        .unwrap()
        .read_to_string(100)
        .unwrap_err();
    assert!(
        matches!(e.problem(), Problem::TooLarge { limit: 100 }),
        "{e}"
    );
    let missing = d.path().join("missing");
    let e = TrustedFile::open(&missing, Secrecy::Public).unwrap_err();
    assert!(
        e.describe("pins file")
            .starts_with("could not open pins file"),
        "{e}"
    );
}

#[test]
fn a_pipe_behind_a_descriptor_path_is_named_as_a_pipe() {
    use std::os::fd::AsRawFd;
    let (reader, _writer) = std::io::pipe().unwrap();
    let path = PathBuf::from(format!("/proc/self/fd/{}", reader.as_raw_fd()));
    let e = TrustedFile::open(&path, Secrecy::Secret).unwrap_err();
    assert!(
        matches!(e.problem(), Problem::NotRegular { found: "pipe" }),
        "{e}"
    );
    assert!(!e.describe("token file").contains("chmod"), "{e}");
}
