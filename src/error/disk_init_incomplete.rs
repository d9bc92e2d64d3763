//! The error of a guided disk init that formatted the device but did not assign it. It lives
//! with [`Error`], which carries it and which it carries: the two types nest in each other.

use std::fmt;

use super::Error;
use crate::call::Call;
use crate::shell::quote;
use crate::wire::FormatResult;

/// `GET /disks`, the call that named no UUID when no other call failed.
static LIST_DISKS: Call = Call::request("GET", "/disks");

/// [`Client::init_disk`](crate::Client::init_disk) formatted the device but did not assign it:
/// the new filesystem's UUID could not be resolved, or the assign failed. Carried by [`Error::DiskInitIncomplete`].
///
/// The device now holds an empty filesystem. Finish by hand with
/// [`assign_command`](DiskInitIncomplete::assign_command); a second `init_disk` would be
/// refused or would format again.
#[derive(Debug)]
pub struct DiskInitIncomplete {
    pub(crate) formatted: FormatResult,
    pub(crate) device: String,
    pub(crate) where_: String,
    pub(crate) fstype: String,
    pub(crate) options: String,
    pub(crate) uuid: Option<String>,
    pub(crate) why: Incomplete,
}

#[derive(Debug)]
pub(crate) enum Incomplete {
    /// `GET /disks` failed.
    Disks(Box<Error>),
    /// `GET /disks` names no filesystem UUID for the device.
    NoUuid,
    /// `GET /disks` names several, and guessing would mount the wrong one.
    Ambiguous(Vec<String>),
    /// The assign failed.
    Assign(Box<Error>),
}

impl DiskInitIncomplete {
    /// The agent's answer to the format, which succeeded.
    pub fn formatted(&self) -> &FormatResult {
        &self.formatted
    }

    /// The new filesystem's UUID, when `GET /disks` named exactly one (the assign failed then).
    pub fn uuid(&self) -> Option<&str> {
        self.uuid.as_deref()
    }

    /// The error of the step that failed after the format, if it was a call that failed
    /// (rather than `GET /disks` answering without the UUID).
    pub fn cause(&self) -> Option<&Error> {
        match &self.why {
            Incomplete::Disks(e) | Incomplete::Assign(e) => Some(e),
            Incomplete::NoUuid | Incomplete::Ambiguous(_) => None,
        }
    }

    /// The call that stopped the init: the failed call's, or `GET /disks` when it answered
    /// without a single UUID for the device.
    pub fn call(&self) -> &Call {
        self.cause().and_then(Error::call).unwrap_or(&LIST_DISKS)
    }

    /// The `felhom-agentctl disk assign` command that finishes the init, values shell-quoted.
    /// Without a resolved UUID it holds the placeholder `UUID`, to replace with the one the
    /// host shows for the device (`felhom-agentctl disks`, `"durable_id": "uuid:…"`).
    pub fn assign_command(&self) -> String {
        let uuid = self.uuid.as_deref().map_or("UUID".into(), quote);
        let mut command = format!(
            "felhom-agentctl disk assign --uuid {uuid} --where {} --fstype {}",
            quote(&self.where_),
            quote(&self.fstype)
        );
        if !self.options.is_empty() {
            command.push_str(&format!(" --options {}", quote(&self.options)));
        }
        command
    }
}

impl fmt::Display for DiskInitIncomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let device = crate::terminal::shorten(&self.device);
        write!(
            f,
            "POST /disks/format formatted {device}, but it was not assigned: "
        )?;
        match &self.why {
            Incomplete::Disks(e) => write!(f, "{e}")?,
            Incomplete::NoUuid => write!(f, "GET /disks names no filesystem UUID for {device}")?,
            Incomplete::Ambiguous(uuids) => write!(
                f,
                "GET /disks names {} filesystem UUIDs for {device} ({})",
                uuids.len(),
                crate::terminal::escape(&uuids.join(", "))
            )?,
            Incomplete::Assign(e) => write!(f, "{e}")?,
        }
        let command = self.assign_command();
        if command.chars().any(crate::terminal::could_rewrite) {
            return f.write_str("; finish with 'felhom-agentctl disk assign'");
        }
        match self.uuid {
            Some(_) => write!(f, "; finish by hand with: {command}"),
            None => write!(
                f,
                "; find its UUID ('felhom-agentctl disks', \"durable_id\": \"uuid:...\") and \
                 finish by hand with: {command}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_to_finish_is_quoted() {
        let incomplete = DiskInitIncomplete {
            formatted: FormatResult::default(),
            device: "/dev/sdc".into(),
            where_: "/mnt/my disk".into(),
            fstype: "ext4".into(),
            options: String::new(),
            uuid: None,
            why: Incomplete::NoUuid,
        };
        assert_eq!(
            incomplete.assign_command(),
            "felhom-agentctl disk assign --uuid UUID --where '/mnt/my disk' --fstype ext4"
        );
        assert!(incomplete.to_string().contains("names no filesystem UUID"));
    }
}
