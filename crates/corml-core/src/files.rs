//! Files as the readers and the model file need them: opening only regular files (a named pipe
//! would block `open` and a character device never ends), and atomic writes that honour the
//! umask and leave no temporary files behind, even after a process was killed mid-write.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a path names when it is not a regular file, for messages: `a directory`, `a named pipe
/// (FIFO)`, ...
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// Opens `path` for reading if it is a regular file; anything else is an `IO_ERROR` that says
/// what the path is.
///
/// On Unix the file is opened non-blocking, so that opening a named pipe without a writer
/// returns at once instead of waiting for one; the type is then checked on the open descriptor,
/// so a path swapped between a check and the open cannot slip through. Reads of a regular file
/// are not affected by the flag.
pub fn open_regular(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let not_regular = |meta: &std::fs::Metadata| {
        io_error(
            path,
            std::io::Error::other(format!(
                "{}, not a regular file: give the path of a file on disk",
                kind_of(meta)
            )),
        )
    };
    let file = match options.open(path) {
        Ok(file) => file,
        // Some kinds cannot even be opened (a socket: ENXIO); name the kind rather than the errno.
        Err(e) => {
            return Err(match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() && !meta.is_dir() => not_regular(&meta),
                _ => io_error(path, e),
            })
        }
    };
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok(file)
}

/// The permissions of a file written by [`write_atomic`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileMode {
    /// Readable by everyone the umask allows (`0o666` masked by the umask: `0o644` under the usual
    /// umask `022`), like any file a program creates.
    #[default]
    Default,
    /// These Unix permission bits (for example `0o600`: the owner only), further masked by the
    /// umask. Ignored on Windows.
    Unix(u32),
}

/// Names up to this long keep themselves in their temporary siblings' names; longer ones are
/// replaced by a hash, so that a temporary name never exceeds the file system's 255 bytes.
const LONGEST_NAME_KEPT: usize = 200;

/// The prefix of the temporary siblings of `path`: `.<name>.corml-tmp-`, or for a very long name
/// `.corml-tmp-<16 hex digits of its hash>-`.
fn temp_prefix(path: &Path) -> Result<OsString> {
    let name = path.file_name().ok_or_else(|| {
        Error::invalid(format!(
            "{} does not name a file: give a file path",
            path.display()
        ))
    })?;
    let bytes = name.as_encoded_bytes();
    if bytes.len() > LONGEST_NAME_KEPT {
        let hash = xxhash_rust::xxh3::xxh3_64(bytes);
        return Ok(OsString::from(format!(".corml-tmp-{hash:016x}-")));
    }
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".corml-tmp-");
    Ok(prefix)
}

/// Removes the temporary siblings of an earlier write to the same path that nobody holds any
/// more (the writer was killed or crashed). A writer holds an exclusive lock on its temporary
/// file until it is renamed, so a sibling that can be locked is abandoned.
fn remove_abandoned(dir: &Path, prefix: &OsString) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = prefix.as_encoded_bytes();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(prefix) {
            continue;
        }
        let path = entry.path();
        // Without blocking, and only regular files: a sibling of another kind is not ours. (A
        // link is followed for the lock, but what is removed is the link, never its target.)
        let Ok(file) = open_regular(&path) else {
            continue;
        };
        if file.try_lock().is_ok() {
            // Best effort: a sibling that cannot be removed is left for a later write.
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A temporary file next to the target, locked for as long as it is being written.
struct Temp {
    path: PathBuf,
    file: File,
    renamed: bool,
}

impl Temp {
    fn create(dir: &Path, prefix: &OsString, mode: FileMode) -> Result<Temp> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let mut name = prefix.clone();
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            name.push(format!(
                "{}-{}-{nanos:08x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let path = dir.join(name);
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(match mode {
                    FileMode::Default => 0o666,
                    FileMode::Unix(bits) => bits & 0o777,
                });
            }
            #[cfg(not(unix))]
            let _ = mode;
            let file = match options.open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error(&path, e)),
            };
            file.lock().map_err(|e| io_error(&path, e))?;
            // Between the create and the lock, another writer's clean-up may have taken the file
            // for abandoned and removed it: then start again under a new name.
            if same_file(&file, &path) {
                return Ok(Temp {
                    path,
                    file,
                    renamed: false,
                });
            }
        }
    }
}

impl Drop for Temp {
    /// Removes the temporary file if it was not renamed (a failed write).
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Writes a file atomically: `write` fills a temporary file in the same directory, which is
/// flushed to disk and renamed over `path`. On any failure `path` is left as it was and the
/// temporary file is removed; temporary files of earlier writes to `path` whose writer died are
/// removed first. The file gets `mode`'s permissions whether or not it replaces one: the
/// permissions of a file it replaces are not kept.
pub fn write_atomic(
    path: &Path,
    mode: FileMode,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a directory: give a file path",
            path.display()
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = temp_prefix(path)?;
    remove_abandoned(dir, &prefix);
    let mut temp = Temp::create(dir, &prefix, mode)?;
    write(&mut temp.file)
        .and_then(|()| temp.file.flush())
        .and_then(|()| temp.file.sync_all())
        .map_err(|e| io_error(&temp.path, e))?;
    std::fs::rename(&temp.path, path).map_err(|e| io_error(path, e))?;
    temp.renamed = true;
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        // Makes the rename itself durable; a failure here does not undo a complete write.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("corml-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_removes_abandoned_siblings_but_not_ones_being_written() {
        let dir = scratch("siblings");
        let target = dir.join("model.corml");
        // Left by a writer that was killed: unlocked.
        std::fs::write(dir.join(".model.corml.corml-tmp-1-0-0"), b"partial").unwrap();
        // Being written by someone else right now: locked.
        let busy = dir.join(".model.corml.corml-tmp-2-0-0");
        let held = File::create(&busy).unwrap();
        held.lock().unwrap();
        // Another target's sibling is none of this write's business.
        std::fs::write(dir.join(".other.corml.corml-tmp-3-0-0"), b"x").unwrap();

        write_atomic(&target, FileMode::Default, |f| f.write_all(b"model")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"model");
        assert_eq!(
            names(&dir),
            [
                ".model.corml.corml-tmp-2-0-0",
                ".other.corml.corml-tmp-3-0-0",
                "model.corml"
            ]
        );
        drop(held);
        write_atomic(&target, FileMode::Default, |f| f.write_all(b"again")).unwrap();
        assert_eq!(names(&dir), [".other.corml.corml-tmp-3-0-0", "model.corml"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = scratch("failed");
        let target = dir.join("model.corml");
        std::fs::write(&target, b"old").unwrap();
        let err = write_atomic(&target, FileMode::Default, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Io);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(names(&dir), ["model.corml"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The process's umask, from `/proc` (Linux), without changing it.
    #[cfg(target_os = "linux")]
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn permissions_are_the_mode_less_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let mode_of = |name: &str| {
            std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        let mask = umask();
        write_atomic(&dir.join("default.corml"), FileMode::Default, |f| {
            f.write_all(b"x")
        })
        .unwrap();
        assert_eq!(mode_of("default.corml"), 0o666 & !mask);
        write_atomic(&dir.join("some.corml"), FileMode::Unix(0o640), |f| {
            f.write_all(b"x")
        })
        .unwrap();
        assert_eq!(mode_of("some.corml"), 0o640 & !mask);
        // A file it replaces does not keep its own permissions.
        std::fs::set_permissions(
            dir.join("default.corml"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        write_atomic(&dir.join("default.corml"), FileMode::Default, |f| {
            f.write_all(b"y")
        })
        .unwrap();
        assert_eq!(mode_of("default.corml"), 0o666 & !mask);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_very_long_name_gets_a_temporary_name_that_fits() {
        let dir = scratch("long");
        let target = dir.join(format!("{}.corml", "m".repeat(240)));
        write_atomic(&target, FileMode::Default, |f| f.write_all(b"model")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"model");
        // An abandoned sibling of the long name is recognised by its hashed prefix.
        let mut stale = temp_prefix(&target).unwrap();
        stale.push("1-0-0");
        assert!(stale.len() < 64);
        std::fs::write(dir.join(&stale), b"partial").unwrap();
        write_atomic(&target, FileMode::Default, |f| f.write_all(b"again")).unwrap();
        assert_eq!(names(&dir).len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_opened_and_a_fifo_does_not_block() {
        let dir = scratch("fifo");
        let fifo = dir.join("pipe");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let message = |p: &Path| open_regular(p).unwrap_err().to_string();
        assert!(message(&fifo).contains("a named pipe (FIFO), not a regular file"));
        assert!(message(Path::new("/dev/null")).contains("a character device"));
        assert!(message(&dir).contains("a directory"));
        let socket = dir.join("socket");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert!(message(&socket).contains("a socket, not a regular file"));
        let file = dir.join("data.tsv");
        std::fs::write(&file, b"a\tb\n").unwrap();
        assert!(open_regular(&file).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
