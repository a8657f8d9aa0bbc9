//! The venv holding AWS CLI v1 and boto3, made by the machine's python3 and filled
//! with the pins of `[venv]`; never the machine's own `aws`, boto3 or site-packages.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::ClientsError;
use super::pins::{VenvPins, short_hash};
use super::{Progress, cmd, slot, wrapper};

/// The python that builds the venv: `LABCHECK_PYTHON`, else `python3` on `PATH`.
#[derive(Debug, Clone)]
pub(crate) struct BasePython {
    /// The real interpreter (`sys.executable`, symlinks resolved: a pyenv shim
    /// resolves to the python behind it).
    pub executable: PathBuf,
    /// `sys.version`'s first word, e.g. `3.11.7`.
    pub version: String,
}

impl BasePython {
    /// Locates and probes the base python. `requested` is `LABCHECK_PYTHON`'s value.
    pub fn find(
        requested: Option<OsString>,
        path: Option<OsString>,
    ) -> Result<BasePython, ClientsError> {
        let program = match requested {
            Some(p) => PathBuf::from(p),
            None => path
                .iter()
                .flat_map(std::env::split_paths)
                .map(|d| d.join("python3"))
                .find(|p| p.is_file())
                .ok_or_else(|| ClientsError::Python {
                    python: "python3".into(),
                    detail: "not found on PATH".into(),
                    hint: "install python3 (3.9 or newer) or set `LABCHECK_PYTHON` to one",
                })?,
        };
        let probe = "import os, sys\nprint(os.path.realpath(sys.executable))\nprint(sys.version.split()[0])\nimport venv, ensurepip\n";
        let out = Command::new(&program)
            .args(["-c", probe])
            .output()
            .map_err(|e| ClientsError::Python {
                python: program.display().to_string(),
                detail: e.to_string(),
                hint: "install python3 or set `LABCHECK_PYTHON` to a python 3 interpreter",
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut lines = stdout.lines();
        let (Some(exe), Some(version)) = (lines.next(), lines.next()) else {
            return Err(ClientsError::Python {
                python: program.display().to_string(),
                detail: format!(
                    "does not run: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                hint: "set `LABCHECK_PYTHON` to a working python 3 interpreter",
            });
        };
        if !out.status.success() {
            return Err(ClientsError::Python {
                python: program.display().to_string(),
                detail: format!("has no venv support: {}", last_line(&out.stderr)),
                hint: "install python3-venv (Debian/Ubuntu) or set `LABCHECK_PYTHON`",
            });
        }
        Ok(BasePython {
            executable: PathBuf::from(exe),
            version: version.to_string(),
        })
    }
}

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().last().unwrap_or("").trim().to_string()
}

/// The venv slot's directory name: python version plus a hash of python and pins.
pub(crate) fn slot_name(python: &BasePython, pins: &VenvPins) -> String {
    let exe = python.executable.to_string_lossy();
    let hash = short_hash(&[&exe, &python.version, &pins.key_material()]);
    format!("venv-py{}-{hash}", python.version)
}

/// Paths inside a finished venv slot.
pub(crate) struct VenvSlot {
    pub dir: PathBuf,
}

impl VenvSlot {
    /// The venv's python (it has pip).
    pub fn python(&self) -> PathBuf {
        self.dir.join("venv").join("bin").join("python3")
    }
    pub fn bin_aws_cli_v1(&self) -> PathBuf {
        self.dir.join("bin-aws-cli-v1")
    }
    pub fn bin_boto3(&self) -> PathBuf {
        self.dir.join("bin-boto3")
    }
}

/// Ensures the venv slot exists under `root`.
pub(crate) fn ensure(
    root: &Path,
    python: &BasePython,
    pins: &VenvPins,
    progress: &dyn Progress,
) -> Result<VenvSlot, ClientsError> {
    let name = slot_name(python, pins);
    let marker = format!("python {}\n{}\n", python.version, pins.key_material());
    let dir = slot::ensure_slot(root, &name, &marker, progress, |tmp, final_dir| {
        progress.line(&format!(
            "installing AWS CLI v1 {} and boto3 {} (python {} venv) into `{}`",
            pins.awscli,
            pins.boto3,
            python.version,
            final_dir.display()
        ));
        build(tmp, final_dir, python, pins, progress)
    })?;
    Ok(VenvSlot { dir })
}

fn build(
    tmp: &Path,
    final_dir: &Path,
    python: &BasePython,
    pins: &VenvPins,
    progress: &dyn Progress,
) -> Result<(), ClientsError> {
    let venv_python = cmd::create_venv(
        "creating the venv",
        &python.executable,
        &tmp.join("venv"),
        progress,
    )?;
    cmd::run(
        "installing the venv's packages",
        cmd::pip(&venv_python, "install").args(pins.requirements()),
        progress,
    )?;
    // Wrappers hold the venv's final path. `venv/bin/aws` is run by the venv's python
    // rather than through its shebang, which pip wrote with the temporary path.
    let final_venv = final_dir.join("venv");
    let py = final_venv.join("bin").join("python3");
    for (sub, command, argv) in [
        (
            "bin-aws-cli-v1",
            "aws",
            vec![py.clone(), final_venv.join("bin").join("aws")],
        ),
        ("bin-boto3", "python3", vec![py.clone()]),
    ] {
        let bin = tmp.join(sub);
        fs::create_dir_all(&bin).map_err(|e| ClientsError::io("create", &bin, e))?;
        wrapper::write(&bin.join(command), &argv, true)?;
    }
    // Check the result before it is trusted, running the real files from `tmp`.
    let tmp_py = venv_python;
    let check = "import boto3, botocore, awscli\nprint(boto3.__version__, botocore.__version__, awscli.__version__)";
    let out = cmd::run(
        "checking the venv",
        Command::new(&tmp_py)
            .args(["-c", check])
            .env_remove("PYTHONPATH"),
        progress,
    )?;
    let expected = format!("{} {} {}", pins.boto3, pins.botocore, pins.awscli);
    if out.trim() != expected {
        return Err(ClientsError::WrongVersion {
            what: "the venv's boto3 botocore awscli".into(),
            expected,
            found: out.trim().to_string(),
            dir: final_dir.to_path_buf(),
        });
    }
    Ok(())
}
