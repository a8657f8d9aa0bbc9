//! One directory copy for every purpose (a student's workspace into a trial,
//! a lab into a scratch dir for `drift`, fixtures in tests and benches), with
//! one symlink policy: a copy never reads outside its source tree.
//!
//! Symlink rule: a link whose target resolves to a **regular file inside the
//! source tree** is copied as a regular file with that content. Every other
//! link is skipped and returned in the list of [`SkippedLink`]s: a target
//! outside the tree (a workspace must not make a trial read `/etc/passwd` or
//! the grader's home), a directory (inside or out: following it could loop or
//! copy a subtree twice), or a target that does not exist. Special files
//! (sockets, fifos, devices) are left out silently: no lab or workspace means
//! them.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What to leave out of a copy.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions<'a> {
    /// Directories skipped by name wherever they are (e.g. `.git`, `.venv`).
    pub skip_dir_names: &'a [&'a str],
    /// Entries skipped by path (as found under the source, e.g. `lab/cassettes`).
    pub skip_paths: &'a [&'a Path],
}

/// Why a link was not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkSkip {
    /// It resolves outside the source tree.
    OutsideTree,
    /// It resolves to a directory.
    Directory,
    /// It resolves to nothing (or cannot be resolved).
    Dangling,
}

/// A symlink [`copy_tree`] did not copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLink {
    /// The link, relative to the source root.
    pub link: PathBuf,
    /// What the link says (its `readlink` text).
    pub target: PathBuf,
    pub why: LinkSkip,
}

impl fmt::Display for SkippedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.why {
            LinkSkip::OutsideTree => "it points outside the copied directory",
            LinkSkip::Directory => "it points to a directory",
            LinkSkip::Dangling => "its target does not exist",
        };
        write!(
            f,
            "symlink `{}` -> `{}` not copied: {why}",
            self.link.display(),
            self.target.display()
        )
    }
}

/// Copies the tree at `from` into `to` (created if missing) following the
/// module's symlink rule; returns the links it skipped, in walk order.
pub fn copy_tree(
    from: &Path,
    to: &Path,
    options: &CopyOptions<'_>,
) -> io::Result<Vec<SkippedLink>> {
    let root = from.canonicalize()?;
    let mut skipped = Vec::new();
    copy_dir(&root, from, from, to, options, &mut skipped)?;
    Ok(skipped)
}

fn copy_dir(
    root: &Path,
    base: &Path,
    from: &Path,
    to: &Path,
    options: &CopyOptions<'_>,
    skipped: &mut Vec<SkippedLink>,
) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    let mut entries: Vec<_> = std::fs::read_dir(from)?.collect::<io::Result<_>>()?;
    // Sorted, so the skipped links come in a stable order.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if options.skip_paths.iter().any(|p| *p == path) {
            continue;
        }
        let name = entry.file_name();
        let dst = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if options.skip_dir_names.iter().any(|s| name == *s) {
                continue;
            }
            copy_dir(root, base, &path, &dst, options, skipped)?;
        } else if kind.is_file() {
            std::fs::copy(&path, &dst)?;
        } else if kind.is_symlink() {
            let why = match path.canonicalize() {
                Err(_) => Some(LinkSkip::Dangling),
                Ok(target) if !target.starts_with(root) => Some(LinkSkip::OutsideTree),
                Ok(target) if target.is_dir() => Some(LinkSkip::Directory),
                Ok(target) if target.is_file() => {
                    std::fs::copy(&target, &dst)?;
                    None
                }
                // A link to a socket or fifo inside the tree: left out as those are.
                Ok(_) => None,
            };
            if let Some(why) = why {
                skipped.push(SkippedLink {
                    link: path.strip_prefix(base).unwrap_or(&path).to_path_buf(),
                    target: std::fs::read_link(&path)?,
                    why,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).expect("read")
    }

    #[test]
    fn content_is_copied_and_named_dirs_and_paths_are_left_out() {
        let src = tempfile::tempdir().expect("tempdir");
        let dst = tempfile::tempdir().expect("tempdir");
        let s = src.path();
        std::fs::create_dir_all(s.join("sub/deeper")).expect("mkdir");
        std::fs::create_dir_all(s.join(".venv/bin")).expect("mkdir");
        std::fs::create_dir_all(s.join("cassettes")).expect("mkdir");
        std::fs::write(s.join("a.py"), "print(1)").expect("write");
        std::fs::write(s.join("sub/deeper/b.txt"), "b").expect("write");
        std::fs::write(s.join(".venv/bin/python"), "").expect("write");
        std::fs::write(s.join("cassettes/c.json"), "{}").expect("write");
        let skip = s.join("cassettes");
        let options = CopyOptions {
            skip_dir_names: &[".venv"],
            skip_paths: &[&skip],
        };
        let skipped = copy_tree(s, &dst.path().join("new"), &options).expect("copy");
        let d = dst.path().join("new");
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(read(&d.join("a.py")), "print(1)");
        assert_eq!(read(&d.join("sub/deeper/b.txt")), "b");
        assert!(!d.join(".venv").exists());
        assert!(!d.join("cassettes").exists());
    }

    #[test]
    fn a_link_out_of_the_tree_is_skipped_and_reported() {
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret"), "secret").expect("write");
        let src = tempfile::tempdir().expect("tempdir");
        let dst = tempfile::tempdir().expect("tempdir");
        symlink(outside.path().join("secret"), src.path().join("file-out")).expect("symlink");
        symlink(outside.path(), src.path().join("dir-out")).expect("symlink");
        symlink("../..", src.path().join("up")).expect("symlink");
        let skipped = copy_tree(src.path(), dst.path(), &CopyOptions::default()).expect("copy");
        let got: Vec<(String, LinkSkip)> = skipped
            .iter()
            .map(|s| (s.link.display().to_string(), s.why))
            .collect();
        assert_eq!(
            got,
            [
                ("dir-out".to_string(), LinkSkip::OutsideTree),
                ("file-out".to_string(), LinkSkip::OutsideTree),
                ("up".to_string(), LinkSkip::OutsideTree),
            ]
        );
        assert_eq!(skipped[1].target, outside.path().join("secret"));
        assert!(
            skipped[1]
                .to_string()
                .contains("points outside the copied directory"),
            "{}",
            skipped[1]
        );
        for name in ["file-out", "dir-out", "up"] {
            assert!(
                std::fs::symlink_metadata(dst.path().join(name)).is_err(),
                "{name} copied"
            );
        }
    }

    #[test]
    fn a_link_inside_the_tree_is_copied_as_a_file_unless_it_is_a_dir_or_dangling() {
        let src = tempfile::tempdir().expect("tempdir");
        let dst = tempfile::tempdir().expect("tempdir");
        let s = src.path();
        std::fs::create_dir_all(s.join("data")).expect("mkdir");
        std::fs::write(s.join("data/input.txt"), "hello").expect("write");
        symlink("data/input.txt", s.join("input.txt")).expect("symlink");
        symlink("data", s.join("data-again")).expect("symlink");
        symlink(".", s.join("data/loop")).expect("symlink");
        symlink("missing.txt", s.join("dangling")).expect("symlink");
        let skipped = copy_tree(s, dst.path(), &CopyOptions::default()).expect("copy");
        let copied = dst.path().join("input.txt");
        assert_eq!(read(&copied), "hello");
        assert!(
            !std::fs::symlink_metadata(&copied)
                .expect("meta")
                .file_type()
                .is_symlink(),
            "a regular file, not a link into the source"
        );
        let got: Vec<(String, LinkSkip)> = skipped
            .iter()
            .map(|s| (s.link.display().to_string(), s.why))
            .collect();
        assert_eq!(
            got,
            [
                ("dangling".to_string(), LinkSkip::Dangling),
                ("data/loop".to_string(), LinkSkip::Directory),
                ("data-again".to_string(), LinkSkip::Directory),
            ]
        );
    }
}
