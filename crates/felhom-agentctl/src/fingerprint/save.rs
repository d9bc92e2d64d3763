//! `fingerprint --save FILE`: keep the presented pin in a pins file, for --fingerprint-file.
//!
//! Separate from the handshake on purpose: whatever handshake `fingerprint` makes, this only decides
//! whether the file may be written, and writes it atomically.

use std::path::Path;

use felhom_agentapi::local_trust::{Secrecy, TrustedFile, check_directory};
use felhom_agentapi::settings::{read_pins_file, write_pins_file};
use felhom_agentapi::{Error, Fingerprint};

use crate::exit::Failure;

/// What saving did.
pub(super) enum Saved {
    /// The file was written (created, or replaced with `--force`).
    Written,
    /// The file already held this pin; it was left as it is.
    AlreadyThere,
}

/// Saves `presented` to `path`, unless the file holds other pins and `force` is not given.
pub(super) fn save(
    path: &Path,
    presented: Fingerprint,
    endpoint: &str,
    force: bool,
) -> Result<Saved, Failure> {
    // The directory must pass the rules a pins file is read with, or the file saved could
    // not be used; an existing file is read through them too (no FIFO, no planted link).
    let dir = crate::safe_write::parent_dir(path);
    check_directory(dir).map_err(|e| config(e.describe("the directory of pins file")))?;
    let existing = path.symlink_metadata().is_ok();
    if existing && !force && !holds_no_pin(path)? {
        let held = read_pins_file(path)?;
        if held.contains(&presented) {
            return Ok(Saved::AlreadyThere);
        }
        return Err(Failure::PinsFileConflict {
            path: path.to_path_buf(),
            presented,
            held,
        });
    }
    let comment = format!(
        "The certificate of the Felhom host agent at {endpoint}, as it presented it to\n\
         'felhom-agentctl fingerprint --save'. One pin per line; add the next certificate's pin\n\
         before a rotation, remove the old one after it."
    );
    write_pins_file(path, &[presented], &comment).map_err(|error| Failure::PinsFileWrite {
        path: path.to_path_buf(),
        error,
    })?;
    Ok(Saved::Written)
}

/// Whether the file at `path` is empty or holds only comments and blank lines (as a pins file
/// reads them): it holds no other pin for this one to replace, so no `--force` is needed. Read
/// as a pins file is, bounded, through the rules of `local_trust`.
fn holds_no_pin(path: &Path) -> Result<bool, Failure> {
    let text = TrustedFile::open(path, Secrecy::Public)
        .and_then(|file| file.read_to_string(MAX_PINS_FILE_BYTES))
        .map_err(|e| config(e.describe("pins file")))?;
    Ok(text
        .lines()
        .all(|line| line.split('#').next().unwrap_or_default().trim().is_empty()))
}

/// As the library reads a pins file.
const MAX_PINS_FILE_BYTES: u64 = 64 * 1024;

fn config(message: String) -> Failure {
    Failure::from(Error::Config { message })
}
