//! The record's file rules, without the command-line tool.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::{RecordError, file_name, read, record_outcome};

/// A fresh directory (mode 0755) under the system's temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("felhom-record-test-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn file_names_are_one_to_one_and_plain() {
    let names = ["a:1", "a_3a1", "a/1", "a..1", "[::1]:8443", "ä:1"];
    let files: Vec<String> = names.iter().map(|n| file_name(n)).collect();
    for (i, f) in files.iter().enumerate() {
        assert!(
            f.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{f}"
        );
        assert!(!files[..i].contains(f), "{f} twice");
    }
}

#[test]
fn a_corrupt_record_is_reported_then_replaced_and_another_endpoints_is_refused() {
    let dir = Dir::new("corrupt");
    let path = dir.0.join(file_name("e:1"));
    fs::write(&path, "not json").unwrap();
    assert!(matches!(
        read(&dir.0, "e:1"),
        Err(RecordError::Corrupt { .. })
    ));
    let record = record_outcome(&dir.0, "e:1", 5, "failed", None).unwrap();
    assert_eq!((record.last_attempt_at, record.last_success_at), (5, None));
    assert_eq!(read(&dir.0, "e:1").unwrap(), Some(record));

    // A record copied from another endpoint's file is not believed for this one.
    fs::copy(&path, dir.0.join(file_name("e:2"))).unwrap();
    let err = read(&dir.0, "e:2").unwrap_err().to_string();
    assert!(
        err.contains("it records endpoint \"e:1\", not \"e:2\""),
        "{err}"
    );
}

#[test]
fn a_directory_others_may_write_is_refused_for_reading_and_writing() {
    let dir = Dir::new("open-dir");
    record_outcome(&dir.0, "e:1", 5, "done", Some("job-1")).unwrap();
    fs::set_permissions(&dir.0, fs::Permissions::from_mode(0o777)).unwrap();
    for err in [
        read(&dir.0, "e:1").unwrap_err(),
        record_outcome(&dir.0, "e:1", 6, "done", None).unwrap_err(),
    ] {
        assert!(matches!(err, RecordError::Untrusted { .. }), "{err}");
        assert!(err.to_string().contains("mode 0777"), "{err}");
    }
}
