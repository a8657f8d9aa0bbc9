//! The student's workspace, copied: student code never runs in (or writes to)
//! the directory that was handed in.

use std::path::Path;

/// Directories not copied: version control, virtualenvs and caches (the
/// provisioned python and boto3 are used, never the student's own).
pub const SKIPPED_DIRS: &[&str] = &[".git", ".venv", "venv", "__pycache__", "node_modules"];

/// Copies the regular files and directories of `from` into `to` (which
/// exists). Symlinks are not followed nor copied, so a workspace cannot make
/// a trial read outside itself.
pub fn copy_workspace(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let dst = to.join(&name);
        if kind.is_dir() {
            if SKIPPED_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            std::fs::create_dir_all(&dst)?;
            copy_workspace(&entry.path(), &dst)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dst)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_dirs_are_copied_venvs_and_symlinks_are_not() {
        let src = tempfile::tempdir().expect("tempdir");
        let dst = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(src.path().join("sub")).expect("mkdir");
        std::fs::create_dir_all(src.path().join(".venv/bin")).expect("mkdir");
        std::fs::write(src.path().join("a.py"), "print(1)").expect("write");
        std::fs::write(src.path().join("sub/b.txt"), "b").expect("write");
        std::fs::write(src.path().join(".venv/bin/python"), "").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", src.path().join("link")).expect("symlink");
        copy_workspace(src.path(), dst.path()).expect("copy");
        assert_eq!(
            std::fs::read_to_string(dst.path().join("a.py")).expect("a.py"),
            "print(1)"
        );
        assert!(dst.path().join("sub/b.txt").is_file());
        assert!(!dst.path().join(".venv").exists());
        assert!(!dst.path().join("link").exists());
    }
}
