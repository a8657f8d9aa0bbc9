//! Provisioning the real clients labs are checked with — AWS CLI v1, AWS CLI v2 and
//! python with boto3 — at the versions pinned in `clients.lock.toml`, into a cache
//! outside `target/`, never using the machine's own `aws`, python packages or boto3.
//!
//! - **Cache**: `$LABCHECK_CLIENTS_DIR`, else `$XDG_CACHE_HOME/labcheck/clients`, else
//!   `~/.cache/labcheck/clients` ([`cache_dir`]). One subdirectory per client build,
//!   named after its pins (and, for the venv, the python that made it), so changing a
//!   pin re-provisions and old builds are left alone.
//! - **Venv** (`aws-cli-v1`, `boto3`): made by `$LABCHECK_PYTHON`, else `python3` on
//!   `PATH`, then `pip install` of the `[venv]` pins.
//! - **AWS CLI v2**: the Linux build inside the PyPI package `aws-cdk-asset-awscli-v2`,
//!   downloaded hash-checked with the venv's pip and unpacked; `dist/aws` is run as is.
//! - **Once**: installs run under a lock shared by all processes; a second caller waits,
//!   then finds the install done. A killed install is never trusted (see [`slot`]).
//!   Once provisioned, [`ensure`] is a lookup (memoised per process), cheap to call from
//!   every test thread.
//! - **Use**: [`Provisioned::bin_dir`] holds only the commands the client provides, as
//!   wrapper scripts: `aws` for either CLI, `python3` for boto3 (no `python`: a fresh
//!   Linux machine has none). Put it first on the child's `PATH`.
//! - `rust-sdk` runs in process: [`ensure`] answers [`ClientsError::InProcess`].
//!
//! The first install downloads about 90 MB from PyPI and takes a minute or two;
//! `labcheck clients install` ([`ensure_all`]) does it up front.

mod awscli_v2;
mod cmd;
mod error;
mod pins;
pub mod slot;
mod venv;
mod wrapper;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub use error::ClientsError;
pub use pins::{AwsCliV2Pins, LOCK_TOML, Pins, VenvPins};

use crate::ids::ClientId;

/// The clients that are provisioned (all but the in-process `rust-sdk`).
pub const PROVISIONED: [ClientId; 3] = [ClientId::AwsCliV1, ClientId::AwsCliV2, ClientId::Boto3];

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

/// The clients cache: `$LABCHECK_CLIENTS_DIR`, else `$XDG_CACHE_HOME/labcheck/clients`,
/// else `$HOME/.cache/labcheck/clients` (relative `XDG_CACHE_HOME` is ignored, per spec).
pub fn cache_dir() -> Result<PathBuf, ClientsError> {
    cache_dir_from(
        std::env::var_os("LABCHECK_CLIENTS_DIR"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

fn cache_dir_from(
    explicit: Option<OsString>,
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, ClientsError> {
    let non_empty = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty(explicit) {
        return Ok(dir);
    }
    if let Some(xdg) = non_empty(xdg).filter(|p| p.is_absolute()) {
        return Ok(xdg.join("labcheck").join("clients"));
    }
    non_empty(home)
        .map(|h| h.join(".cache").join("labcheck").join("clients"))
        .ok_or(ClientsError::NoCacheDir)
}

/// Provisions `client` in the default cache with the default python (environment read
/// at each call) and returns it. See [`Clients::ensure`].
pub fn ensure(client: ClientId, progress: &dyn Progress) -> Result<Provisioned, ClientsError> {
    Clients::from_env()?.ensure(client, progress)
}

/// Provisions every client in [`PROVISIONED`] (for `labcheck clients install`).
pub fn ensure_all(progress: &dyn Progress) -> Result<Vec<Provisioned>, ClientsError> {
    Clients::from_env()?.ensure_all(progress)
}

/// A clients cache and the python that builds its venv.
#[derive(Debug, Clone)]
pub struct Clients {
    root: PathBuf,
    python: Option<OsString>,
    path: Option<OsString>,
}

type Memo = Mutex<HashMap<(PathBuf, ClientId), Provisioned>>;

fn memo() -> &'static Memo {
    static MEMO: OnceLock<Memo> = OnceLock::new();
    MEMO.get_or_init(Memo::default)
}

impl Clients {
    /// [`cache_dir`], with the python from `LABCHECK_PYTHON` or `python3` on `PATH`.
    pub fn from_env() -> Result<Clients, ClientsError> {
        Ok(Clients::new(cache_dir()?))
    }

    /// A cache at `root`, python from `LABCHECK_PYTHON` or `python3` on `PATH`.
    pub fn new(root: PathBuf) -> Clients {
        Clients {
            root,
            python: std::env::var_os("LABCHECK_PYTHON").filter(|v| !v.is_empty()),
            path: std::env::var_os("PATH"),
        }
    }

    /// Builds the venv with this python instead.
    pub fn with_python(mut self, python: impl Into<OsString>) -> Clients {
        self.python = Some(python.into());
        self
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
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
        let key = (self.root.clone(), client);
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
            let dir = self.root.join(awscli_v2::slot_name(&pins.aws_cli_v2));
            if !slot::is_complete(&dir) {
                let venv = self.venv(&pins, progress)?;
                awscli_v2::ensure(&self.root, &venv.python(), &pins.aws_cli_v2, progress)?;
            }
            return Ok(Provisioned {
                client,
                bin_dir: dir.join("bin"),
                version: pins.aws_cli_v2.cli,
            });
        }
        let venv = self.venv(&pins, progress)?;
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

    fn venv(&self, pins: &Pins, progress: &dyn Progress) -> Result<venv::VenvSlot, ClientsError> {
        let python = venv::BasePython::find(self.python.clone(), self.path.clone())?;
        venv::ensure(&self.root, &python, &pins.venv, progress)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_prefers_explicit_then_absolute_xdg_then_home() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(
            cache_dir_from(s("/c"), s("/x"), s("/h")).unwrap(),
            PathBuf::from("/c")
        );
        assert_eq!(
            cache_dir_from(None, s("/x"), s("/h")).unwrap(),
            PathBuf::from("/x/labcheck/clients")
        );
        assert_eq!(
            cache_dir_from(s(""), s("rel"), s("/h")).unwrap(),
            PathBuf::from("/h/.cache/labcheck/clients")
        );
        assert!(matches!(
            cache_dir_from(None, None, None),
            Err(ClientsError::NoCacheDir)
        ));
    }

    #[test]
    fn rust_sdk_is_in_process() {
        let clients = Clients::new(PathBuf::from("/nonexistent"));
        let err = clients
            .ensure(ClientId::RustSdk, &|_: &str| {})
            .unwrap_err();
        assert!(matches!(err, ClientsError::InProcess { .. }), "{err}");
    }
}
