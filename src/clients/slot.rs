//! Install slots: one versioned directory in the cache per provisioned client,
//! built at most once across threads and processes.
//!
//! A slot `<root>/<name>` is trusted only when it holds the [`MARKER`] file. It is
//! built under an exclusive lock on `<root>/.lock` (std `File::lock`, an `flock`),
//! into `<root>/.tmp-<name>-<pid>`; the marker is written last and the directory
//! renamed into place, so a killed install never leaves a slot that looks complete.
//! A later install (holding the lock) deletes what a killed one left: stray
//! `.tmp-*` directories and a slot directory without its marker.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::Progress;
use super::error::ClientsError;

/// The file whose presence makes a slot complete.
pub const MARKER: &str = ".labcheck-complete";

/// The lock file serialising installs into one cache root.
pub const LOCK_FILE: &str = ".lock";

const TMP_PREFIX: &str = ".tmp-";

/// Returns `<root>/<name>`, building it first with `build` if it is not complete.
///
/// `build(tmp, final_dir)` fills `tmp`; `final_dir` is where it will live, for files
/// that must hold their own absolute path (wrapper scripts). `marker` is written into
/// the marker file (say what was installed). When `build` fails nothing is left behind.
pub fn ensure_slot(
    root: &Path,
    name: &str,
    marker: &str,
    progress: &dyn Progress,
    build: impl FnOnce(&Path, &Path) -> Result<(), ClientsError>,
) -> Result<PathBuf, ClientsError> {
    let dir = root.join(name);
    if is_complete(&dir) {
        return Ok(dir);
    }
    fs::create_dir_all(root).map_err(|e| ClientsError::io("create the clients cache", root, e))?;
    let lock_path = root.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ClientsError::io("open the install lock", &lock_path, e))?;
    take_lock(&lock, &lock_path, progress)?;
    // Another process may have finished while we waited.
    if is_complete(&dir) {
        return Ok(dir);
    }
    remove_leftovers(root, &dir, progress)?;
    let tmp = root.join(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
    fs::create_dir_all(&tmp).map_err(|e| ClientsError::io("create", &tmp, e))?;
    let built = build(&tmp, &dir).and_then(|()| {
        let m = tmp.join(MARKER);
        fs::write(&m, marker).map_err(|e| ClientsError::io("write", &m, e))?;
        fs::rename(&tmp, &dir)
            .map_err(|e| ClientsError::io("move the finished install to", &dir, e))
    });
    if built.is_err() {
        // Best effort: the next install removes it anyway (we still hold the lock).
        let _ = fs::remove_dir_all(&tmp);
    }
    built.map(|()| dir)
}

/// Whether `dir` is a finished slot.
pub fn is_complete(dir: &Path) -> bool {
    dir.join(MARKER).is_file()
}

fn take_lock(lock: &File, path: &Path, progress: &dyn Progress) -> Result<(), ClientsError> {
    match lock.try_lock() {
        Ok(()) => Ok(()),
        Err(fs::TryLockError::WouldBlock) => {
            progress.line(&format!(
                "waiting for another labcheck to finish installing into `{}`",
                path.parent().unwrap_or(path).display()
            ));
            lock.lock().map_err(|e| ClientsError::io("lock", path, e))
        }
        Err(fs::TryLockError::Error(e)) => Err(ClientsError::io("lock", path, e)),
    }
}

/// Deletes what killed installs left. Only called with the lock held, so no live
/// install owns any `.tmp-*` directory.
fn remove_leftovers(root: &Path, dir: &Path, progress: &dyn Progress) -> Result<(), ClientsError> {
    let entries = fs::read_dir(root).map_err(|e| ClientsError::io("read", root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ClientsError::io("read", root, e))?;
        if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let path = entry.path();
            progress.line(&format!(
                "removing an interrupted install `{}`",
                path.display()
            ));
            remove_any(&path)?;
        }
    }
    if fs::symlink_metadata(dir).is_ok() {
        progress.line(&format!(
            "removing an incomplete install `{}` (no marker)",
            dir.display()
        ));
        remove_any(dir)?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<(), ClientsError> {
    let meta = fs::symlink_metadata(path).map_err(|e| ClientsError::io("inspect", path, e))?;
    let res = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    res.map_err(|e| ClientsError::io("remove", path, e))
}
