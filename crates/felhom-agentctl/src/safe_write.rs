//! Writing a file of the tool's own (`metrics --output`, `generate man --dir`) so that a reader
//! never sees half of it and nothing planted in the directory is written through: a temporary
//! file created with `O_EXCL` beside the target (which never follows a symbolic link), then a
//! rename over the target (which replaces a link rather than following it).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// How [`replace`] leaves a file.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    /// Its mode, whatever the umask.
    mode: u32,
    /// Whether the rename must be on disk before [`replace`] returns (else best effort).
    durable: bool,
}

impl Kind {
    /// Read by others (node_exporter, man): mode 0644; the file is whole either way, so the
    /// directory is flushed best effort.
    pub(crate) const SHARED: Kind = Kind {
        mode: 0o644,
        durable: false,
    };
    /// The tool's own record (the thaw marker): mode 0600, and on disk, directory included,
    /// before anything goes on.
    pub(crate) const PRIVATE_DURABLE: Kind = Kind {
        mode: 0o600,
        durable: true,
    };
}

/// Writes `bytes` to `path`, mode 0644 (readers such as node_exporter and man must read it).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, Kind::SHARED)
}

/// Writes `bytes` to `path` as `kind` says, through a temporary file beside it. The temporary
/// name starts with a dot and ends in `.tmp`, so neither the textfile collector nor man reads it.
pub(crate) fn replace(path: &Path, bytes: &[u8], kind: Kind) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "it names no file"))?;
    let dir = parent_dir(path);
    check_directory(dir)?;
    let mut temp_name = OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(temp_name);
    // A leftover of a killed run that had this process id; never followed if a symlink.
    let _ = fs::remove_file(&temp);
    let result = create_and_fill(&temp, bytes, kind.mode).and_then(|()| fs::rename(&temp, path));
    match result {
        Ok(()) => {
            let synced = sync_parent(path);
            if kind.durable { synced } else { Ok(()) }
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// The directory `path` is in: its parent, or `.` for a bare name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Flushes the directory `path` is in, so that a rename or removal there is on disk.
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    File::open(parent_dir(path))?.sync_all()
}

/// Says plainly when `dir` is missing or not a directory, rather than the bare "No such file or
/// directory" of the file that could not be created in it.
fn check_directory(dir: &Path) -> io::Result<()> {
    let shown = crate::output::clean(&dir.display().to_string());
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{shown} is not a directory"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the directory {shown} does not exist; create it first"),
        )),
        Err(e) => Err(io::Error::new(e.kind(), format!("{shown}: {e}"))),
    }
}

fn create_and_fill(temp: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    // create_new is O_CREAT | O_EXCL: it fails on anything already there, a link included.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let mut file = options.open(temp)?;
    #[cfg(unix)]
    {
        // The mode given at creation is narrowed by the umask; readers must read it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}
