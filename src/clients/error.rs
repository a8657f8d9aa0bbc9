//! `ClientsError`: what failed while locating or provisioning a client, the command
//! that was run, the tail of its output and a hint at the fix.

use std::path::PathBuf;

use crate::ids::ClientId;

/// Provisioning a client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientsError {
    /// No directory to cache clients in could be found.
    #[error(
        "no cache directory for clients (hint: set `LABCHECK_CLIENTS_DIR`, `XDG_CACHE_HOME` or `HOME`)"
    )]
    NoCacheDir,

    /// A file system operation failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The python used to build the venv could not be found or run.
    #[error("cannot use python `{python}`: {detail} (hint: {hint})")]
    Python {
        python: String,
        detail: String,
        hint: &'static str,
    },

    /// An install command failed.
    #[error(
        "{what} failed: `{command}` {status}\n--- last lines of its output ---\n{output_tail}\n(hint: {hint})"
    )]
    Command {
        what: String,
        command: String,
        status: String,
        output_tail: String,
        hint: String,
    },

    /// The installed client does not report the pinned version.
    #[error(
        "{what} reports `{found}`, expected `{expected}` (hint: remove `{dir}` and run `labcheck clients install`)"
    )]
    WrongVersion {
        what: String,
        expected: String,
        found: String,
        dir: PathBuf,
    },

    /// The downloaded package does not have the expected layout.
    #[error("`{path}`: {detail} (hint: check the pin in `clients.lock.toml`)")]
    BadPackage { path: PathBuf, detail: String },

    /// The pinned build does not run on this machine.
    #[error("`{client}` cannot be provisioned on {platform}: {detail}")]
    Unsupported {
        client: ClientId,
        platform: String,
        detail: &'static str,
    },

    /// The client runs inside labcheck; there is nothing to install.
    #[error("`{client}` runs in process: there is no external client to provision")]
    InProcess { client: ClientId },
}

impl ClientsError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ClientsError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A hint for a failed pip/venv command, from what it printed.
pub(crate) fn hint_for(output: &str) -> String {
    let has = |needle: &str| output.contains(needle);
    if has("ensurepip is not") || has("No module named venv") || has("No module named ensurepip") {
        "python3 has no venv module: install python3-venv (Debian/Ubuntu) or set `LABCHECK_PYTHON`"
            .into()
    } else if has("DO NOT MATCH THE HASHES") {
        "the download does not match the sha256 pinned in `clients.lock.toml`".into()
    } else if has("Failed to establish a new connection")
        || has("Temporary failure in name resolution")
        || has("Could not fetch URL")
        || has("No matching distribution found")
        || has("Network is unreachable")
        || has("ReadTimeoutError")
    {
        "no network to PyPI? run `labcheck clients install` once online; the cache is reused offline".into()
    } else if has("No space left on device") {
        "the disk is full: free space or point `LABCHECK_CLIENTS_DIR` elsewhere".into()
    } else {
        "see the output above; `labcheck clients install` retries from scratch".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_fix() {
        assert!(hint_for("Error: ensurepip is not available").contains("python3-venv"));
        assert!(hint_for("ERROR: No matching distribution found for boto3==1").contains("online"));
        assert!(hint_for("boom").contains("labcheck clients install"));
    }
}
