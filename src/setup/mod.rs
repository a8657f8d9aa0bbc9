//! Setup services emulated offline: every trial of a lab that declares
//! `[lab] services` gets a moto server of its own whose state starts empty.
//!
//! Servers come from a **fork server** (`launcher.py zygote`, see
//! `src/clients/moto_launcher.py`): one python process per moto install and
//! user that has imported moto and warmed its services once, listening on an
//! abstract unix socket. A trial connects, the fork server forks, the child
//! binds a free loopback port and writes `port=<port>` back — the readiness
//! signal: the port is listening before it is reported. The child serves
//! until the trial drops its connection (or dies: the kernel closes it), so
//! isolation is by process, also across nextest's one-process-per-trial, at
//! the cost of a fork (about 20 ms) instead of a python start (about 1 s).
//! The first trial on a machine starts the fork server; it exits after a
//! minute without children. Measured alternatives: `docs/setup-services.md`.

pub mod cleanup;
pub mod http;
pub mod seed;
pub mod state;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::clients::MotoInstall;

/// The account id moto reports (`MOTO_ACCOUNT_ID`): the one the cassette
/// scrubber writes, so ARNs from moto and from cassettes agree.
pub const ACCOUNT_ID: &str = crate::cassette::scrub::ACCOUNT;

/// How long a fork server may take to start, and a child to report its port.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Why no emulator could be had for a trial.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServicesError {
    #[error("cannot start moto's fork server `{launcher}`: {source}")]
    Spawn {
        launcher: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "moto's fork server did not start: {detail} (hint: run `labcheck clients install` again, or remove the moto slot it names)"
    )]
    NotReady { detail: String },
    #[error("moto did not report a port: {detail}")]
    NoPort { detail: String },
}

/// One trial's moto server; dropping it stops the server.
#[derive(Debug)]
pub struct MotoServer {
    conn: UnixStream,
    addr: SocketAddr,
}

impl MotoServer {
    /// A fresh, empty moto server from the fork server of `install`, which is
    /// started first when none runs.
    pub fn start(install: &MotoInstall) -> Result<MotoServer, ServicesError> {
        let name = zygote_name(install);
        let conn = match connect(&name) {
            Ok(c) => c,
            Err(_) => {
                spawn_zygote(install, &name)?;
                connect(&name).map_err(|e| ServicesError::NotReady {
                    detail: format!("it said it was ready, but connecting failed: {e}"),
                })?
            }
        };
        conn.set_read_timeout(Some(START_LIMIT))
            .map_err(|e| ServicesError::NoPort {
                detail: e.to_string(),
            })?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        // Byte by byte: later lines (unemulated calls) stay in the socket.
        while line.len() < 64 {
            match (&conn).read(&mut byte) {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => line.push(byte[0]),
                Ok(_) => break,
                Err(e) => {
                    return Err(ServicesError::NoPort {
                        detail: e.to_string(),
                    });
                }
            }
        }
        let text = String::from_utf8_lossy(&line);
        let port: u16 = text
            .strip_prefix("port=")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| ServicesError::NoPort {
                detail: format!("it said `{text}`"),
            })?;
        Ok(MotoServer {
            conn,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    /// `http://127.0.0.1:PORT`, the clients' `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Calls refused so far as not emulated offline, as `service operation`.
    pub fn unemulated(&self) -> Vec<String> {
        let mut text = Vec::new();
        if self.conn.set_nonblocking(true).is_ok() {
            let _ = (&self.conn).read_to_end(&mut text);
            let _ = self.conn.set_nonblocking(false);
        }
        String::from_utf8_lossy(&text)
            .lines()
            .filter_map(|l| l.strip_prefix("unemulated "))
            .map(str::to_string)
            .collect()
    }
}

/// One fork server per install (its key) and user.
fn zygote_name(install: &MotoInstall) -> String {
    // SAFETY: getuid never fails and touches no memory.
    let uid = unsafe { libc::getuid() };
    format!("labcheck-moto-{}-{uid}", install.key)
}

fn connect(name: &str) -> std::io::Result<UnixStream> {
    let addr = UnixAddr::from_abstract_name(name.as_bytes())?;
    UnixStream::connect_addr(&addr)
}

/// Starts the fork server and waits for its `ready` line (or `in use`: another
/// process started one at the same time; then that one serves).
fn spawn_zygote(install: &MotoInstall, name: &str) -> Result<(), ServicesError> {
    let launcher = install.launcher.display().to_string();
    let mut child = Command::new(&install.python)
        .arg(&install.launcher)
        .args(["zygote", name])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .env("MOTO_ACCOUNT_ID", ACCOUNT_ID)
        // Not a child of a trial's terminal or process group: it outlives
        // the test process that started it and serves the next ones.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| ServicesError::Spawn {
            launcher: launcher.clone(),
            source,
        })?;
    let stdout = child.stdout.take().expect("stdout was piped above");
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    // The launcher forks the server off and exits once it said its line.
    let status = child.wait();
    match (read, line.trim()) {
        (Ok(_), "labcheck-moto zygote ready" | "labcheck-moto zygote in use") => Ok(()),
        (Ok(_), other) => Err(ServicesError::NotReady {
            detail: format!("`{launcher}` said `{other}` and exited with {status:?}"),
        }),
        (Err(e), _) => Err(ServicesError::NotReady {
            detail: e.to_string(),
        }),
    }
}
