//! moto in server mode, provisioned like a client but into a venv of its own:
//! its many dependencies (flask, cryptography, docker, …) never become
//! importable by a step's python, whose venv holds only the `[venv]` pins.
//! The slot also holds `launcher.py` (see `moto_launcher.py` beside this
//! file), which [`crate::setup`] runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::ClientsError;
use super::pins::{MotoPins, short_hash};
use super::venv::BasePython;
use super::{Progress, cmd, slot};

/// The launcher labcheck runs moto with; part of the slot's key, so a
/// changed launcher re-provisions.
pub const LAUNCHER: &str = include_str!("moto_launcher.py");

/// A finished moto install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotoInstall {
    /// The moto venv's python.
    pub python: PathBuf,
    /// `launcher.py` in the slot.
    pub launcher: PathBuf,
    /// The pinned moto version.
    pub version: String,
    /// The slot's key: names the shared fork server, so two installs never
    /// share one.
    pub key: String,
}

fn key(python: &BasePython, pins: &MotoPins) -> String {
    let exe = python.executable.to_string_lossy();
    short_hash(&[
        &exe,
        &python.version,
        &pins.requirements().join("\n"),
        LAUNCHER,
    ])
}

/// Ensures the moto slot exists under `root`.
pub(crate) fn ensure(
    root: &Path,
    python: &BasePython,
    pins: &MotoPins,
    progress: &dyn Progress,
) -> Result<MotoInstall, ClientsError> {
    let key = key(python, pins);
    let name = format!("moto-{}-py{}-{key}", pins.moto, python.version);
    let marker = format!(
        "python {}\n{}\n",
        python.version,
        pins.requirements().join("\n")
    );
    let dir = slot::ensure_slot(root, &name, &marker, progress, |tmp, final_dir| {
        progress.line(&format!(
            "installing moto {} (server mode, its own python {} venv) into `{}`",
            pins.moto,
            python.version,
            final_dir.display()
        ));
        build(tmp, python, pins, progress)
    })?;
    Ok(MotoInstall {
        python: dir.join("venv").join("bin").join("python3"),
        launcher: dir.join("launcher.py"),
        version: pins.moto.clone(),
        key,
    })
}

fn build(
    tmp: &Path,
    python: &BasePython,
    pins: &MotoPins,
    progress: &dyn Progress,
) -> Result<(), ClientsError> {
    let py = cmd::create_venv(
        "creating moto's venv",
        &python.executable,
        &tmp.join("venv"),
        progress,
    )?;
    // `--no-deps`: exactly the pinned tree, nothing resolved on this machine.
    cmd::run(
        "installing moto's packages",
        cmd::pip(&py, "install")
            .arg("--no-deps")
            .args(pins.requirements()),
        progress,
    )?;
    cmd::run(
        "checking moto's dependency tree",
        &mut cmd::pip(&py, "check"),
        progress,
    )?;
    let launcher = tmp.join("launcher.py");
    fs::write(&launcher, LAUNCHER).map_err(|e| ClientsError::io("write", &launcher, e))?;
    let out = cmd::run(
        "checking moto",
        Command::new(&py)
            .args(["-c", "import moto, flask; print(moto.__version__)"])
            .env_remove("PYTHONPATH"),
        progress,
    )?;
    if out.trim() != pins.moto {
        return Err(ClientsError::WrongVersion {
            what: "moto".into(),
            expected: pins.moto.clone(),
            found: out.trim().to_string(),
            dir: tmp.to_path_buf(),
        });
    }
    Ok(())
}
