//! The `snapshot` expectation: a step's exact output pinned as an insta
//! snapshot in the repository's top-level `snapshots/` directory.
//!
//! insta does the work (diffs, `.snap.new` files, `INSTA_UPDATE`, review with
//! `cargo insta review`); this module only binds its settings to the lab and
//! turns its assertion panic into a failure message.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// `<repo>/snapshots` for a lab at `<repo>/labs/<id>`.
pub fn snapshots_dir(lab_dir: &Path) -> PathBuf {
    let repo = lab_dir.join("..").join("..");
    repo.canonicalize().unwrap_or(repo).join("snapshots")
}

/// Output that differs from its snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("output differs from snapshot `{name}` in {}: {why}", dir.display())]
pub struct SnapshotMismatch {
    pub name: String,
    /// The snapshots directory.
    pub dir: PathBuf,
    /// insta's own account of the difference (its assertion message).
    pub why: String,
}

/// Compares `content` with snapshot `name` under `dir`; on a mismatch insta
/// leaves `<name>.snap.new` beside it for review and this returns why.
pub fn check(name: &str, content: &str, dir: &Path) -> Result<(), SnapshotMismatch> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(dir.join(format!("{name}.snap")));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name.to_string(), content));
    }));
    result.map_err(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "snapshot assertion failed".into());
        SnapshotMismatch {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            why,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_and_differing_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("greeting.snap"),
            "---\nsource: labcheck\n---\nXin chào\n",
        )
        .expect("write snapshot");
        assert_eq!(check("greeting", "Xin chào", dir.path()), Ok(()));
        let err = check("greeting", "Hello", dir.path()).expect_err("differs");
        assert_eq!(err.name, "greeting");
        assert!(err.to_string().contains("snapshot `greeting`"), "{err}");
    }
}
