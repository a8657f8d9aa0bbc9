//! AWS CLI v2, the official Linux build carried by the PyPI package
//! `aws-cdk-asset-awscli-v2`: downloaded by pip (hash-checked), unpacked by a stdlib
//! python script, and run as `dist/aws` through a wrapper. Both use the provisioned
//! venv's python: a fresh Debian python3 has no pip of its own.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::ClientsError;
use super::pins::{AwsCliV2Pins, short_hash};
use super::{Progress, cmd, slot, wrapper};

const EXTRACT_PY: &str = include_str!("extract_awscli_v2.py");

/// The slot's directory name: CLI version plus a hash of the pin.
pub(crate) fn slot_name(pins: &AwsCliV2Pins) -> String {
    let hash = short_hash(&[&pins.package, &pins.version, &pins.sha256, &pins.cli]);
    format!("aws-cli-v2-{}-{hash}", pins.cli)
}

/// Ensures the CLI v2 slot under `root`; returns its `bin` directory. `python` has pip.
pub(crate) fn ensure(
    root: &Path,
    python: &Path,
    pins: &AwsCliV2Pins,
    progress: &dyn Progress,
) -> Result<PathBuf, ClientsError> {
    let marker = format!(
        "{}=={} (AWS CLI {})\n",
        pins.package, pins.version, pins.cli
    );
    let dir = slot::ensure_slot(
        root,
        &slot_name(pins),
        &marker,
        progress,
        |tmp, final_dir| {
            progress.line(&format!(
                "installing AWS CLI v2 {} ({}=={}, ~70 MB) into `{}`",
                pins.cli,
                pins.package,
                pins.version,
                final_dir.display()
            ));
            build(tmp, final_dir, python, pins, progress)
        },
    )?;
    Ok(dir.join("bin"))
}

fn build(
    tmp: &Path,
    final_dir: &Path,
    python: &Path,
    pins: &AwsCliV2Pins,
    progress: &dyn Progress,
) -> Result<(), ClientsError> {
    let download = tmp.join("download");
    let req = tmp.join("requirements.txt");
    fs::write(&req, format!("{}\n", pins.requirement()))
        .map_err(|e| ClientsError::io("write", &req, e))?;
    cmd::run(
        "downloading AWS CLI v2",
        Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--require-hashes",
                "--disable-pip-version-check",
            ])
            .args(["--no-input", "-r"])
            .arg(&req)
            .arg("-d")
            .arg(&download)
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME"),
        progress,
    )?;
    let wheel = single_wheel(&download)?;
    let script = tmp.join("extract_awscli_v2.py");
    fs::write(&script, EXTRACT_PY).map_err(|e| ClientsError::io("write", &script, e))?;
    cmd::run(
        "unpacking AWS CLI v2",
        Command::new(python)
            .arg(&script)
            .arg(&wheel)
            .arg(&pins.cli)
            .arg(tmp),
        progress,
    )?;
    for leftover in [&download, &script, &req] {
        let res = if leftover.is_dir() {
            fs::remove_dir_all(leftover)
        } else {
            fs::remove_file(leftover)
        };
        res.map_err(|e| ClientsError::io("remove", leftover, e))?;
    }
    // The zip records modes, but make sure the entry point can run whatever it said.
    let aws = tmp.join("dist").join("aws");
    let mut perms = fs::metadata(&aws)
        .map_err(|e| ClientsError::io("find the unpacked CLI", &aws, e))?
        .permissions();
    perms.set_mode(perms.mode() | 0o755);
    fs::set_permissions(&aws, perms).map_err(|e| ClientsError::io("make executable", &aws, e))?;

    let out = cmd::run(
        "checking AWS CLI v2",
        Command::new(&aws).arg("--version"),
        progress,
    )?;
    let expected = format!("aws-cli/{} ", pins.cli);
    if !out.starts_with(&expected) {
        return Err(ClientsError::WrongVersion {
            what: "`aws --version` of the unpacked CLI v2".into(),
            expected: expected.trim().to_string(),
            found: out.trim().to_string(),
            dir: final_dir.to_path_buf(),
        });
    }
    let bin = tmp.join("bin");
    fs::create_dir_all(&bin).map_err(|e| ClientsError::io("create", &bin, e))?;
    wrapper::write(
        &bin.join("aws"),
        &[final_dir.join("dist").join("aws")],
        false,
    )
}

fn single_wheel(dir: &Path) -> Result<PathBuf, ClientsError> {
    let entries = fs::read_dir(dir).map_err(|e| ClientsError::io("read", dir, e))?;
    let mut wheels = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| ClientsError::io("read", dir, e))?.path();
        if path.extension().is_some_and(|x| x == "whl") {
            wheels.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(wheels) {
        Ok([wheel]) => Ok(wheel),
        Err(found) => Err(ClientsError::BadPackage {
            path: dir.to_path_buf(),
            detail: format!("expected one downloaded wheel, found {}", found.len()),
        }),
    }
}
