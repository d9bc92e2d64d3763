//! `generate man`: the sections a man page is read for, text printed as written, and pages
//! written into `--dir` safely (a missing directory named, a planted link never written
//! through).

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};

use crate::harness::{Invocation, TempDir};

/// The part of `page` from the section `heading` on.
fn section<'p>(page: &'p str, heading: &str) -> &'p str {
    let start = page.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    &page[start..]
}

#[test]
fn the_man_page_has_exit_status_environment_and_files_sections_printed_as_written() {
    let man = Invocation::bare().args(["generate", "man"]).run().status(0);
    let page = &man.stdout;
    for section in [".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES"] {
        assert!(page.contains(section), "no {section}:\n{page}");
    }
    assert!(!page.contains(".SH EXTRA"), "{page}");
    // Filled text (option help) is never hyphenated.
    assert!(page.contains("\n.nh\n"), "{page}");
    // The exit-status table is in no-fill mode, so its lines stay lines.
    let exit_status = section(page, ".SH \"EXIT STATUS\"");
    let block = &exit_status[..exit_status.find(".fi").unwrap()];
    assert!(block.starts_with(".SH \"EXIT STATUS\"\n.nf\n"), "{block}");
    assert!(
        block.contains("\n8  The agent rejected the token (HTTP 401).\n"),
        "{block}"
    );
    assert!(
        section(page, ".SH ENVIRONMENT").contains("FELHOM_AGENT_TOKEN_FILE"),
        "{page}"
    );
    assert!(page.contains("/etc/felhom/agent.pins"), "{page}");
}

#[test]
fn generate_man_into_a_missing_directory_names_it() {
    let dir = TempDir::new();
    let missing = dir.path().join("no-such-dir");
    let out = Invocation::bare()
        .args(["generate", "man", "--dir"])
        .arg(&missing)
        .run()
        .failure(1);
    let named = format!("the directory {} does not exist", missing.display());
    out.stderr_has(&named);
    assert!(!out.stderr.contains("standard output"), "{out:#?}");
}

#[test]
fn generate_man_replaces_a_planted_link_and_never_writes_through_it() {
    let dir = TempDir::new();
    let victim = dir.file("victim", "root's private file\n", 0o600);
    let pages = dir.path().join("man1");
    fs::create_dir(&pages).unwrap();
    let planted = pages.join("felhom-agentctl.1");
    symlink(&victim, &planted).unwrap();
    Invocation::bare()
        .args(["generate", "man", "--dir"])
        .arg(&pages)
        .run()
        .status(0);
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "root's private file\n"
    );
    let meta = fs::symlink_metadata(&planted).unwrap();
    assert!(meta.file_type().is_file(), "the link is still there");
    assert_eq!(meta.permissions().mode() & 0o777, 0o644);
    assert!(
        fs::read_to_string(&planted)
            .unwrap()
            .contains(".TH felhom-agentctl 1")
    );
    // No temporary file is left behind.
    let leftovers: Vec<_> = fs::read_dir(&pages)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
