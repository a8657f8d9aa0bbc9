//! The small `#!/bin/sh` scripts a client's `bin_dir` holds: each `exec`s an absolute
//! path with `"$@"`, so putting `bin_dir` first on `PATH` runs the pinned client.
//!
//! A symlink would not do for python: a venv is recognised by the `pyvenv.cfg` next
//! to the invoked path, so a link from another directory runs the bare base python.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::ClientsError;

/// Writes an executable wrapper at `path` running `argv` then the caller's arguments.
/// With `clear_python_env`, `PYTHONHOME` and `PYTHONPATH` are unset first so the
/// machine's packages cannot stand in for the venv's.
pub(crate) fn write(
    path: &Path,
    argv: &[PathBuf],
    clear_python_env: bool,
) -> Result<(), ClientsError> {
    let mut script =
        String::from("#!/bin/sh\n# Written by labcheck (clients): runs a pinned client.\n");
    if clear_python_env {
        script.push_str("unset PYTHONHOME PYTHONPATH\n");
    }
    script.push_str("exec");
    for arg in argv {
        script.push(' ');
        script.push_str(&sh_quote(&arg.to_string_lossy()));
    }
    script.push_str(" \"$@\"\n");
    fs::write(path, script).map_err(|e| ClientsError::io("write", path, e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| ClientsError::io("make executable", path, e))
}

/// Single-quotes `s` for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn wrapper_passes_arguments_through_and_survives_quotes_in_paths() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("it's here");
        fs::create_dir(&odd).unwrap();
        let target = odd.join("echo-args");
        fs::write(&target, "#!/bin/sh\nprintf '%s|' \"$@\"\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o755)).unwrap();
        let w = dir.path().join("w");
        write(&w, &[target], false).unwrap();
        let out = Command::new(&w)
            .args(["a b", "$HOME", "c"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|$HOME|c|");
    }
}
