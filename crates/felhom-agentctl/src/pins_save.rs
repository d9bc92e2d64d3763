//! `fingerprint --save FILE`: keep the presented pin in a pins file, for --fingerprint-file.
//!
//! Separate from the probe on purpose: whatever handshake `probe` makes, this only decides
//! whether the file may be written, and writes it atomically.

use std::path::Path;

use felhom_agentapi::{Fingerprint, read_pins_file, write_pins_file};

use crate::exit::Failure;

/// What saving did.
pub enum Saved {
    /// The file was written (created, or replaced with `--force`).
    Written,
    /// The file already held this pin; it was left as it is.
    AlreadyThere,
}

/// Saves `presented` to `path`, unless the file holds other pins and `force` is not given.
pub fn save(
    path: &Path,
    presented: Fingerprint,
    endpoint: &str,
    force: bool,
) -> Result<Saved, Failure> {
    if path.exists() && !force && !holds_no_pin(path) {
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
/// reads them): it holds no other pin for this one to replace, so no `--force` is needed.
fn holds_no_pin(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| {
        text.lines()
            .all(|line| line.split('#').next().unwrap_or_default().trim().is_empty())
    })
}
