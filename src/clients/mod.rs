//! Provisioning the real clients labs are checked with — AWS CLI v1, AWS CLI v2 and
//! python with boto3 — at the versions pinned in `clients.lock.toml`, into a cache
//! outside `target/`, never using the machine's own `aws`, python packages or boto3.
//!
//! - **Cache**: `$LABCHECK_CLIENTS_DIR`, else `$XDG_CACHE_HOME/labcheck/clients`, else
//!   `~/.cache/labcheck/clients` ([`crate::settings::clients_dir`]). One subdirectory per client build,
//!   named after its pins (and, for the venv, the python that made it), so changing a
//!   pin re-provisions and old builds are left alone.
//! - **Venv** (`aws-cli-v1`, `boto3`): made by `$LABCHECK_PYTHON`, else `python3` on
//!   `PATH`, then `pip install` of the `[venv]` pins.
//! - **AWS CLI v2**: the Linux build inside the PyPI package `aws-cdk-asset-awscli-v2`,
//!   downloaded hash-checked with the venv's pip and unpacked; `dist/aws` is run as is.
//! - **Once**: installs run under a lock shared by all processes; a second caller waits,
//!   then finds the install done. A killed install is never trusted (see [`slot`]).
//!   Once provisioned, [`Clients::ensure`] is a lookup (memoised per process), cheap to call from
//!   every test thread.
//! - **Use**: [`Provisioned::bin_dir`] holds only the commands the client provides, as
//!   wrapper scripts: `aws` for either CLI, `python3` for boto3 (no `python`: a fresh
//!   Linux machine has none). Put it first on the child's `PATH`.
//! - **Kernel** (`kernel`): ipykernel and nbclient in their own venv whose python also
//!   sees the `[venv]` boto3 (see [`kernel`]); `bin_dir` holds its `python3`.
//! - `rust-sdk` runs in process: [`Clients::ensure`] answers [`ClientsError::InProcess`].
//!
//! The first install downloads about 90 MB from PyPI and takes a minute or two;
//! `labcheck clients install` ([`Clients::ensure_all`]) does it up front.

mod awscli_v2;
mod cmd;
mod error;
mod kernel;
mod moto;
mod pins;
pub mod slot;
mod venv;
mod wrapper;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub use error::ClientsError;
pub use moto::MotoInstall;
pub use pins::{AwsCliV2Pins, KernelPins, LOCK_TOML, MotoPins, Pins, VenvPins};

use crate::ids::ClientId;

/// The clients that are provisioned (all but the in-process `rust-sdk`).
pub const PROVISIONED: [ClientId; 4] = [
    ClientId::AwsCliV1,
    ClientId::AwsCliV2,
    ClientId::Boto3,
    ClientId::Kernel,
];

/// A client ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub client: ClientId,
    /// Holds only the client's commands (`aws`, or `python3`) as wrapper scripts.
    pub bin_dir: PathBuf,
    /// The pinned version: awscli's for `aws-cli-v1`, the CLI's for `aws-cli-v2`,
    /// boto3's for `boto3`.
    pub version: String,
}

/// Where install messages go. The caller decides; [`StderrProgress`] is the default.
pub trait Progress: Sync {
    /// One line: what is being installed, or a line of the installer's output.
    fn line(&self, line: &str);
}

impl<F: Fn(&str) + Sync> Progress for F {
    fn line(&self, line: &str) {
        self(line)
    }
}

/// Prints each progress line to stderr as `labcheck: <line>`, so a CI log shows
/// a long first install moving.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrProgress;

impl Progress for StderrProgress {
    fn line(&self, line: &str) {
        eprintln!("labcheck: {line}");
    }
}

/// A clients cache and the python that builds its venv.
#[derive(Debug, Clone)]
pub struct Clients {
    /// `None` when no cache dir could be found: provisioning then fails with
    /// [`ClientsError::NoCacheDir`].
    root: Option<PathBuf>,
    python: Option<OsString>,
    path: Option<OsString>,
}

type Memo = Mutex<HashMap<(PathBuf, ClientId), Provisioned>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Memo::default)
}

impl Clients {
    /// A cache at `root`; the venv's python must be given with
    /// [`Clients::with_python`] or found on [`Clients::with_path`].
    pub fn new(root: PathBuf) -> Clients {
        Clients::from_parts(Some(root), None, None)
    }

    /// A cache at `root` (none: provisioning fails with a hint), the venv built
    /// by `python`, else by `python3` found on `path`. The values come from
    /// [`crate::settings`] (`LABCHECK_CLIENTS_DIR`…, `LABCHECK_PYTHON`, `PATH`).
    pub fn from_parts(
        root: Option<PathBuf>,
        python: Option<OsString>,
        path: Option<OsString>,
    ) -> Clients {
        Clients { root, python, path }
    }

    /// Looks for `python3` on this search path (a `PATH` value).
    pub fn with_path(mut self, path: impl Into<OsString>) -> Clients {
        self.path = Some(path.into());
        self
    }

    /// Builds the venv with this python instead.
    pub fn with_python(mut self, python: impl Into<OsString>) -> Clients {
        self.python = Some(python.into());
        self
    }

    /// The cache root.
    pub fn root(&self) -> Result<&Path, ClientsError> {
        self.root.as_deref().ok_or(ClientsError::NoCacheDir)
    }

    /// Returns `client` ready to run, installing it first if needed (with messages to
    /// `progress`). Safe to call from many threads and processes at once.
    pub fn ensure(
        &self,
        client: ClientId,
        progress: &dyn Progress,
    ) -> Result<Provisioned, ClientsError> {
        if client == ClientId::RustSdk {
            return Err(ClientsError::InProcess { client });
        }
        let key = (self.root()?.to_path_buf(), client);
        if let Some(done) = memo().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(done.clone());
        }
        let provisioned = self.provision(client, progress)?;
        memo()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, provisioned.clone());
        Ok(provisioned)
    }

    /// Provisions every client in [`PROVISIONED`].
    pub fn ensure_all(&self, progress: &dyn Progress) -> Result<Vec<Provisioned>, ClientsError> {
        PROVISIONED
            .into_iter()
            .map(|c| self.ensure(c, progress))
            .collect()
    }

    fn provision(
        &self,
        client: ClientId,
        progress: &dyn Progress,
    ) -> Result<Provisioned, ClientsError> {
        let pins = Pins::embedded();
        if client == ClientId::AwsCliV2 {
            let platform = (std::env::consts::OS, std::env::consts::ARCH);
            if platform != ("linux", "x86_64") {
                return Err(ClientsError::Unsupported {
                    client,
                    platform: format!("{}/{}", platform.0, platform.1),
                    detail: "the pinned `aws-cdk-asset-awscli-v2` bundles the Linux x86_64 build only",
                });
            }
            // Already there: no need to look at python at all.
            let root = self.root()?;
            let dir = root.join(awscli_v2::slot_name(&pins.aws_cli_v2));
            if !slot::is_complete(&dir) {
                let venv = self.venv(&pins, progress)?;
                awscli_v2::ensure(root, &venv.python(), &pins.aws_cli_v2, progress)?;
            }
            return Ok(Provisioned {
                client,
                bin_dir: dir.join("bin"),
                version: pins.aws_cli_v2.cli,
            });
        }
        let venv = self.venv(&pins, progress)?;
        if client == ClientId::Kernel {
            let python = venv::BasePython::find(self.python.clone(), self.path.clone())?;
            let dir = kernel::ensure(self.root()?, &python, &pins.kernel, &venv, progress)?;
            return Ok(Provisioned {
                client,
                bin_dir: dir.join("bin-kernel"),
                version: pins.kernel.ipykernel,
            });
        }
        let (bin_dir, version) = match client {
            ClientId::AwsCliV1 => (venv.bin_aws_cli_v1(), pins.venv.awscli),
            _ => (venv.bin_boto3(), pins.venv.boto3),
        };
        Ok(Provisioned {
            client,
            bin_dir,
            version,
        })
    }

    /// moto in server mode, installing it first if needed (its own venv,
    /// see `moto.rs`). Memoised per process like [`Clients::ensure`].
    pub fn ensure_moto(&self, progress: &dyn Progress) -> Result<MotoInstall, ClientsError> {
        static DONE: OnceLock<Mutex<HashMap<PathBuf, MotoInstall>>> = OnceLock::new();
        let done = DONE.get_or_init(Mutex::default);
        let root = self.root()?.to_path_buf();
        if let Some(m) = done.lock().unwrap_or_else(|p| p.into_inner()).get(&root) {
            return Ok(m.clone());
        }
        let python = venv::BasePython::find(self.python.clone(), self.path.clone())?;
        let install = moto::ensure(&root, &python, &Pins::embedded().moto, progress)?;
        done.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(root, install.clone());
        Ok(install)
    }

    /// A lab's extra python packages (`[lab] python`, each `name==version`)
    /// in their own slot, for its notebook kernel; returns the directory to
    /// put on the kernel's `PYTHONPATH`. Provisions the kernel first.
    pub fn lab_packages(
        &self,
        requirements: &[String],
        progress: &dyn Progress,
    ) -> Result<PathBuf, ClientsError> {
        let kernel = self.ensure(ClientId::Kernel, progress)?;
        let kernel_dir = kernel.bin_dir.parent().unwrap_or(&kernel.bin_dir);
        let pins = Pins::embedded();
        let constraints: Vec<String> = pins
            .venv
            .requirements()
            .into_iter()
            .chain(pins.kernel.requirements())
            .collect();
        kernel::ensure_lab_packages(
            self.root()?,
            kernel_dir,
            requirements,
            &constraints,
            progress,
        )
    }

    fn venv(&self, pins: &Pins, progress: &dyn Progress) -> Result<venv::VenvSlot, ClientsError> {
        let python = venv::BasePython::find(self.python.clone(), self.path.clone())?;
        venv::ensure(self.root()?, &python, &pins.venv, progress)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rust_sdk_is_in_process() {
        let clients = Clients::new(PathBuf::from("/nonexistent"));
        let err = clients
            .ensure(ClientId::RustSdk, &|_: &str| {})
            .unwrap_err();
        assert!(matches!(err, ClientsError::InProcess { .. }), "{err}");
    }
}
