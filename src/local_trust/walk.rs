//! Walking a path one component at a time, as the kernel would, checking each directory and
//! symbolic link on the way before anything is opened.

use std::ffi::OsString;
use std::fs::{self, FileType, Metadata};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use super::Problem;

/// As Linux's limit on the symbolic links followed in one lookup.
const MAX_LINKS: usize = 40;

/// Resolves `path` to a path without symbolic links, checking every directory on the way and
/// every link followed. Returns it and the `lstat` of its last component, which the caller
/// checks; or the path at fault and the problem.
pub(super) fn resolve(path: &Path, me: u32) -> Result<(PathBuf, Metadata), (PathBuf, Problem)> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| (path.to_path_buf(), Problem::Io(e)))?;
        cwd.join(path)
    };
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, &absolute);
    let mut resolved = PathBuf::from("/");
    let mut seen = lstat(&resolved)?;
    check_dir(&seen, me).map_err(|p| (resolved.clone(), p))?;
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            // `resolved` holds no link, so its parent is the one the kernel would take.
            resolved.pop();
            seen = lstat(&resolved)?;
            continue;
        }
        let candidate = resolved.join(&name);
        let meta = lstat(&candidate)?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err((candidate, Problem::TooManyLinks));
            }
            // Its directory passed; the link must be root's or this user's own too.
            if meta.uid() != 0 && meta.uid() != me {
                return Err((candidate, Problem::LinkOwner { uid: meta.uid() }));
            }
            let target =
                fs::read_link(&candidate).map_err(|e| (candidate.clone(), Problem::Io(e)))?;
            // `/dev/fd/N`, `/proc/self/fd/N` of a pipe or socket (`<(...)` in a shell): no path.
            if let Some(found) = anonymous(&target) {
                return Err((candidate, Problem::NotRegular { found }));
            }
            if target.is_absolute() {
                resolved = PathBuf::from("/");
                seen = lstat(&resolved)?;
            }
            push_components(&mut pending, &target);
            continue;
        }
        if pending.is_empty() {
            return Ok((candidate, meta));
        }
        if !meta.is_dir() {
            return Err((candidate, Problem::NotADirectory));
        }
        check_dir(&meta, me).map_err(|p| (candidate.clone(), p))?;
        resolved = candidate;
        seen = meta;
    }
    // The path ended in `/`, `.` or `..`: a directory, already checked.
    Ok((resolved, seen))
}

/// What a `/proc/PID/fd` link to something with no path names, such as `pipe:[1234]`.
fn anonymous(target: &Path) -> Option<&'static str> {
    let text = target.to_str()?;
    [
        ("pipe:[", "pipe"),
        ("socket:[", "socket"),
        ("anon_inode:", "anonymous inode"),
    ]
    .into_iter()
    .find_map(|(prefix, found)| text.starts_with(prefix).then_some(found))
}

/// Pushes the components of `path` so that its first is popped first; `.` is dropped.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let names: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(names.into_iter().rev());
}

fn lstat(path: &Path) -> Result<Metadata, (PathBuf, Problem)> {
    fs::symlink_metadata(path).map_err(|e| (path.to_path_buf(), Problem::Io(e)))
}

/// A directory on the way: owned by root or `me`, and writable by no one else unless sticky.
pub(super) fn check_dir(meta: &Metadata, me: u32) -> Result<(), Problem> {
    let (uid, mode) = (meta.uid(), meta.mode() & 0o7777);
    if uid != 0 && uid != me {
        return Err(Problem::DirectoryOwner { uid });
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(Problem::DirectoryWritable { mode });
    }
    Ok(())
}

/// What kind of file `meta` describes, in words.
pub(super) fn kind(meta: &Metadata) -> &'static str {
    type Is = fn(&FileType) -> bool;
    const KINDS: [(Is, &str); 7] = [
        (FileType::is_file, "regular file"),
        (FileType::is_dir, "directory"),
        (FileType::is_symlink, "symbolic link"),
        (FileType::is_fifo, "FIFO (named pipe)"),
        (FileType::is_char_device, "character device"),
        (FileType::is_block_device, "block device"),
        (FileType::is_socket, "socket"),
    ];
    let t = meta.file_type();
    KINDS
        .iter()
        .find(|(is, _)| is(&t))
        .map_or("special file", |&(_, name)| name)
}
