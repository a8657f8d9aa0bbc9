//! The Jupyter kernel environment of `notebook` steps: its own venv holding the
//! `[kernel]` pins (ipykernel, nbclient, nbformat, jupyter_client), so the
//! python steps' venv never changes.
//!
//! The kernel must import the lab's packages (boto3) exactly as a `python`
//! step does, so the kernel venv's site-packages gets one `.pth` line naming
//! the `[venv]` slot's site-packages. Python appends `.pth` paths after the
//! venv's own, so the kernel's packages win where both have one; the lock
//! file pins the shared ones (python-dateutil, six) to the same versions.
//! nbclient (the driver) and the kernel both run on this venv's python.
//! The slot's name hashes the `[kernel]` pins and the `[venv]` slot it points
//! at: a new boto3 pin gives a new kernel slot.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::ClientsError;
use super::pins::{KernelPins, short_hash};
use super::venv::{BasePython, VenvSlot};
use super::{Progress, cmd, slot, wrapper};

/// The `.pth` file naming the client venv's site-packages.
const PTH: &str = "zz-labcheck-clients.pth";

/// The slot directory's name.
fn slot_name(python: &BasePython, pins: &KernelPins, clients: &Path) -> String {
    let exe = python.executable.to_string_lossy();
    let key = pins.requirements().join("\n");
    let hash = short_hash(&[&exe, &python.version, &key, &clients.to_string_lossy()]);
    format!("kernel-py{}-{hash}", python.version)
}

/// The first `lib/python*/site-packages` under a venv.
pub(crate) fn site_packages(venv: &Path) -> Result<PathBuf, ClientsError> {
    let lib = venv.join("lib");
    let entries = fs::read_dir(&lib).map_err(|e| ClientsError::io("read", &lib, e))?;
    entries
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .ok_or_else(|| ClientsError::BadPackage {
            path: lib.clone(),
            detail: "the venv has no `lib/python*/site-packages`".into(),
        })
}

/// Ensures the kernel slot exists under `root`, pointing at `clients` (the
/// finished `[venv]` slot). Returns the slot directory: `bin-kernel/python3`
/// is the kernel venv's python.
pub(crate) fn ensure(
    root: &Path,
    python: &BasePython,
    pins: &KernelPins,
    clients: &VenvSlot,
    progress: &dyn Progress,
) -> Result<PathBuf, ClientsError> {
    let clients_site = site_packages(&clients.dir.join("venv"))?;
    let name = slot_name(python, pins, &clients_site);
    let marker = format!(
        "python {}\nclients {}\n{}\n",
        python.version,
        clients_site.display(),
        pins.requirements().join("\n")
    );
    slot::ensure_slot(root, &name, &marker, progress, |tmp, final_dir| {
        progress.line(&format!(
            "installing the notebook kernel (ipykernel {}, nbclient {}, python {} venv) into `{}`",
            pins.ipykernel,
            pins.nbclient,
            python.version,
            final_dir.display()
        ));
        build(tmp, final_dir, python, pins, &clients_site, progress)
    })
}

fn build(
    tmp: &Path,
    final_dir: &Path,
    python: &BasePython,
    pins: &KernelPins,
    clients_site: &Path,
    progress: &dyn Progress,
) -> Result<(), ClientsError> {
    let venv = tmp.join("venv");
    let venv_python = cmd::create_venv(
        "creating the kernel venv",
        &python.executable,
        &venv,
        progress,
    )?;
    cmd::run(
        "installing the kernel's packages",
        cmd::pip(&venv_python, "install")
            .arg("--no-deps")
            .args(pins.requirements()),
        progress,
    )?;
    let site = site_packages(&venv)?;
    let pth = site.join(PTH);
    fs::write(&pth, format!("{}\n", clients_site.display()))
        .map_err(|e| ClientsError::io("write", &pth, e))?;
    let bin = tmp.join("bin-kernel");
    fs::create_dir_all(&bin).map_err(|e| ClientsError::io("create", &bin, e))?;
    let final_py = final_dir.join("venv").join("bin").join("python3");
    wrapper::write(&bin.join("python3"), &[final_py], true)?;
    let check = "import ipykernel, nbclient, nbformat, jupyter_client, boto3\nprint(ipykernel.__version__, nbclient.__version__, nbformat.__version__, jupyter_client.__version__)";
    let out = cmd::run(
        "checking the kernel venv",
        Command::new(&venv_python)
            .args(["-c", check])
            .env_remove("PYTHONPATH"),
        progress,
    )?;
    let expected = format!(
        "{} {} {} {}",
        pins.ipykernel, pins.nbclient, pins.nbformat, pins.jupyter_client
    );
    if out.trim() != expected {
        return Err(ClientsError::WrongVersion {
            what: "the kernel venv's ipykernel nbclient nbformat jupyter_client".into(),
            expected,
            found: out.trim().to_string(),
            dir: final_dir.to_path_buf(),
        });
    }
    Ok(())
}

/// Ensures a lab's extra packages (`[lab] python`, each `name==version`)
/// are installed into their own slot under `root`, built with the kernel
/// venv's pip (`--target`) under the `[venv]` and `[kernel]` pins as
/// constraints, so a package both need stays at the locked version. Returns
/// the slot's `site-packages`, which the driver puts on the kernel's
/// `PYTHONPATH`. The slot's name hashes the requirements and the kernel slot:
/// labs with different extras never share or disturb one another.
pub(crate) fn ensure_lab_packages(
    root: &Path,
    kernel_dir: &Path,
    requirements: &[String],
    constraints: &[String],
    progress: &dyn Progress,
) -> Result<PathBuf, ClientsError> {
    let mut sorted = requirements.to_vec();
    sorted.sort();
    let key = sorted.join("\n");
    let hash = short_hash(&[&key, &kernel_dir.to_string_lossy()]);
    let name = format!("pylib-{hash}");
    let marker = format!("kernel {}\n{key}\n", kernel_dir.display());
    let python = kernel_dir.join("venv").join("bin").join("python3");
    let dir = slot::ensure_slot(root, &name, &marker, progress, |tmp, final_dir| {
        progress.line(&format!(
            "installing the lab's python packages ({}) into `{}`",
            sorted.join(", "),
            final_dir.display()
        ));
        let constraints_file = tmp.join("constraints.txt");
        fs::write(&constraints_file, constraints.join("\n"))
            .map_err(|e| ClientsError::io("write", &constraints_file, e))?;
        let site = tmp.join("site-packages");
        cmd::run(
            "installing the lab's python packages",
            cmd::pip(&python, "install")
                .arg("--target")
                .arg(&site)
                .arg("-c")
                .arg(&constraints_file)
                .args(&sorted),
            progress,
        )?;
        let check = "import sys\nfrom importlib.metadata import version\nsys.path.insert(0, sys.argv[1])\nfor req in sys.argv[2:]:\n    name, want = req.split('==')\n    print(req, version(name) == want)";
        let out = cmd::run(
            "checking the lab's python packages",
            Command::new(&python)
                .args(["-c", check])
                .arg(&site)
                .args(&sorted),
            progress,
        )?;
        if let Some(bad) = out.lines().find(|l| !l.ends_with(" True")) {
            return Err(ClientsError::WrongVersion {
                what: "a lab python package".into(),
                expected: bad.trim_end_matches(" False").to_string(),
                found: "another version".into(),
                dir: final_dir.to_path_buf(),
            });
        }
        Ok(())
    })?;
    Ok(dir.join("site-packages"))
}
