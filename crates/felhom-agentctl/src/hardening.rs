//! What a program root runs from this tool may see and be: hooks that pass the rules of
//! `felhom_agentapi::local_trust`, an environment without the token's whereabouts, and no
//! descriptor but standard input, output and error.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use felhom_agentapi::local_trust::{Secrecy, TrustedFile, check_directory};
use felhom_agentapi::settings::vars;

use crate::output::clean;

/// The shell of `--pre` and `--post`, by absolute path: not whatever `PATH` finds first.
pub(crate) const SHELL: &str = "/bin/sh";

/// Checks the hooks directory and each hook in it (a link, its target and the directories on
/// the way included): a hook another user could change would run as this user. Called before
/// anything is frozen; the message names the file and the fix.
pub(crate) fn check_hooks(dir: &Path, hooks: &[impl AsRef<Path>]) -> Result<(), String> {
    check_directory(dir).map_err(|e| clean(&e.describe("--hooks-dir")))?;
    for hook in hooks {
        check_hook(hook.as_ref()).map_err(|e| format!("{e}; no hook ran"))?;
    }
    Ok(())
}

/// Checks one hook file (and the way to it) again right before it runs: it may have changed
/// since the run began, and a thaw marker names hooks a run recorded earlier.
pub(crate) fn check_hook(path: &Path) -> Result<(), String> {
    TrustedFile::open(path, Secrecy::Public)
        .map(drop)
        .map_err(|e| clean(&e.describe("hook")))
}

/// Removes from a child's environment what leads to the token: `FELHOM_AGENT_TOKEN*` (the
/// token, its file) and `CREDENTIALS_DIRECTORY` (where systemd put it).
pub(crate) fn scrub(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if withheld(&name) {
            command.env_remove(name);
        }
    }
}

fn withheld(name: &OsStr) -> bool {
    name.as_bytes().starts_with(vars::TOKEN.as_bytes()) || name == vars::CREDENTIALS_DIRECTORY
}

/// Closes every descriptor this process inherited above standard error, but `keep` (the
/// `--token-fd` descriptor, closed once the token is read): the tool starts hooks as root, and
/// a descriptor its caller left open (a secret, a socket) is not theirs. Called first thing,
/// before this process opens anything of its own. Best effort: where `/proc/self/fd` cannot be
/// listed, nothing is closed.
pub(crate) fn close_inherited_descriptors(keep: Option<u32>) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let open: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    // The listing's own descriptor is closed now, and is among `open`: closing it again fails
    // harmlessly (EBADF), as nothing is opened in between.
    for fd in open {
        if fd > 2 && u32::try_from(fd).ok() != keep {
            let _ = nix::unistd::close(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::withheld;

    #[test]
    fn the_token_and_the_credentials_are_withheld_and_nothing_else() {
        for name in [
            "FELHOM_AGENT_TOKEN",
            "FELHOM_AGENT_TOKEN_FILE",
            "FELHOM_AGENT_TOKEN_OLD",
            "CREDENTIALS_DIRECTORY",
        ] {
            assert!(withheld(name.as_ref()), "{name}");
        }
        for name in [
            "FELHOM_AGENT_ENDPOINT",
            "PATH",
            "FELHOM_BACKUP_PHASE",
            "HOME",
        ] {
            assert!(!withheld(name.as_ref()), "{name}");
        }
    }
}
