//! The sandbox every step process runs in: one code path for `run`, `grade`,
//! `record` and `live` (and, later, notebook kernels).
//!
//! Built on `ferroday-cage` (MIT OR Apache-2.0, pure Rust: nothing to install).
//! Three guards, the strongest the machine allows ([`Guard::choose`]):
//!
//! - [`Guard::NsRoot`] (labcheck runs as root): user + PID + mount namespaces
//!   on an empty root that holds only read-only binds of the system and of the
//!   provisioned clients, the trial workspace (writable, at its own path),
//!   a minimal `/dev` and a fresh `/proc`; the command runs as an unprivileged uid
//!   with rlimits. Killing the namespace's init at the deadline kills every
//!   process in it, `setsid` children included.
//! - [`Guard::NsUser`] (rootless, user namespaces allowed): the same, as the
//!   calling user (root inside the namespace maps to it). The binds are
//!   locked (made in a parent user namespace, so the step cannot unmount or
//!   remount them); a Landlock domain scopes signals and abstract sockets.
//! - [`Guard::Landlock`] (no user namespaces, or forced): Landlock grants
//!   (read-only roots, the workspace writable) and rlimits on a plain child
//!   in its own session; no PID namespace, so only the command's process group
//!   is killed at the deadline.
//!
//! [`Guard::None`] runs the process as before, and says so.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use ferroday_cage::{
    Cage, FsAccess, IdRange, Identity, IdentityMap, KillHandle, LandlockScope, Limit, Network,
    Resource, Restriction, Stdio,
};

/// The unprivileged uid (and gid) student code runs as under [`Guard::NsRoot`].
pub const NOBODY: u32 = 65534;

/// Limits applied to every sandboxed step (documented in `docs/grading.md`).
pub mod limits {
    /// Processes (and threads) of the sandbox's uid.
    pub const PROCESSES: u64 = 256;
    /// Address space of each process: CPython with boto3 needs far less;
    /// a `bytearray(8 << 30)` fails with `MemoryError`.
    pub const ADDRESS_SPACE: u64 = 4 << 30;
    /// Largest file a step may write.
    pub const FILE_SIZE: u64 = 256 << 20;
    /// Open descriptors per process.
    pub const OPEN_FILES: u64 = 1024;
}

/// Which sandbox to use (`LABCHECK_SANDBOX`, parsed by [`crate::settings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// The strongest guard the machine allows.
    #[default]
    Auto,
    /// Landlock and rlimits alone, even where namespaces would work.
    Landlock,
    /// No sandbox (the report says `none`).
    Off,
}

/// The guard a step's processes ran under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Namespaces, as root, the command as `uid`.
    NsRoot { uid: u32 },
    /// Namespaces as the calling (unprivileged) user, plus Landlock.
    NsUser,
    /// Landlock and rlimits, no namespaces.
    Landlock,
    /// Nothing: the process runs like any child of labcheck.
    None,
}

impl std::fmt::Display for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Guard::NsRoot { uid } => write!(f, "namespaces+uid {uid}"),
            Guard::NsUser => f.write_str("namespaces+landlock (rootless)"),
            Guard::Landlock => f.write_str("landlock+rlimits"),
            Guard::None => f.write_str("none"),
        }
    }
}

impl Guard {
    /// The strongest guard `policy` permits on this machine.
    pub fn choose(policy: Policy) -> Guard {
        let landlock = ferroday_cage::host::landlock_abi().is_some();
        match policy {
            Policy::Off => Guard::None,
            Policy::Landlock if landlock => Guard::Landlock,
            Policy::Landlock => Guard::None,
            Policy::Auto => {
                // SAFETY: geteuid cannot fail and has no side effects.
                let root = unsafe { libc::geteuid() } == 0;
                let userns = ferroday_cage::host::userns_blocker().is_none();
                if root && userns && ferroday_cage::host::range_map_blocker().is_none() {
                    Guard::NsRoot { uid: NOBODY }
                } else if userns && landlock && !root {
                    Guard::NsUser
                } else if landlock {
                    Guard::Landlock
                } else {
                    Guard::None
                }
            }
        }
    }

    /// The guard to try when this one cannot start: Landlock after the
    /// rootless namespace guard (where the kernel has it), nothing after
    /// Landlock. Never after the root guard: Landlock keeps the caller's uid,
    /// so falling back would run student code as root (the step fails with
    /// the reason instead).
    pub fn fallback(&self) -> Option<Guard> {
        match self {
            Guard::NsUser if ferroday_cage::host::landlock_abi().is_some() => Some(Guard::Landlock),
            _ => None,
        }
    }

    /// The uid the command runs as, when it differs from labcheck's.
    pub fn uid(&self) -> Option<u32> {
        match self {
            Guard::NsRoot { uid } => Some(*uid),
            _ => None,
        }
    }

    /// Whether the guard kills every descendant at the deadline (a PID
    /// namespace), not only the command's process group.
    pub fn owns_the_tree(&self) -> bool {
        matches!(self, Guard::NsRoot { .. } | Guard::NsUser)
    }
}

/// Why a sandboxed process could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    #[error("sandbox ({guard}): {problem}")]
    Setup { guard: Guard, problem: Problem },
    #[error("sandbox ({guard}): preparing `{path}`: {source}")]
    Prepare {
        guard: Guard,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What went wrong starting, or waiting for, a sandboxed process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("no guard to start the process under")]
    NoGuard,
    #[error("joining the network namespace: {0}")]
    JoinNetns(std::io::Error),
    #[error("duplicating an output pipe: {0}")]
    Pipe(std::io::Error),
    #[error(transparent)]
    Cage(#[from] ferroday_cage::Error),
    #[error("the sandbox thread ended early")]
    ThreadEnded,
}

/// One process to run in the sandbox.
pub struct Request {
    pub guard: Guard,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The complete environment (nothing is inherited).
    pub env: Vec<(String, OsString)>,
    /// The trial workspace: the working directory, and the one writable tree.
    pub workspace: PathBuf,
    /// Trees the command may read (and execute) at their own paths, beyond
    /// the system directories: the provisioned clients and their python.
    pub read_only: Vec<PathBuf>,
    /// A network namespace to run in (the network guard's), if any.
    pub netns: Option<Arc<OwnedFd>>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// System trees every guard lets the command read and execute.
const SYSTEM_READ: &[&str] = &["/usr", "/etc", "/opt"];
/// Debian's merged-/usr links, recreated in the namespace root.
const USR_LINKS: &[(&str, &str)] = &[
    ("bin", "usr/bin"),
    ("lib", "usr/lib"),
    ("lib64", "usr/lib64"),
    ("sbin", "usr/sbin"),
];

/// Called once with the command's exit code (`None`: killed by a signal),
/// or why it could not be collected.
pub type OnExit = Box<dyn FnOnce(Result<Option<i32>, Problem>) + Send>;

/// A started sandboxed process.
pub struct Started {
    kill: Kill,
    /// Held for the run: the namespace root is removed when dropped.
    _root: Option<tempfile::TempDir>,
}

enum Kill {
    Cage(KillHandle),
    /// The command's pid, which leads its own session and process group.
    Group(i32),
}

impl Started {
    /// SIGKILL to everything the guard holds. Killing a finished sandbox is
    /// not an error.
    pub fn kill(&self) {
        match &self.kill {
            Kill::Cage(handle) => {
                let _already_gone = handle.kill();
            }
            Kill::Group(pgid) => {
                // SAFETY: killpg only sends a signal to the group we created.
                unsafe {
                    libc::killpg(*pgid, libc::SIGKILL);
                }
            }
        }
    }
}

/// Starts `req` under its guard; `on_exit` hears when it ended. The process
/// is waited for on a thread of its own, which first joins `req.netns` so the
/// sandbox is born in that network namespace.
pub fn spawn(req: Request, on_exit: OnExit) -> Result<Started, SandboxError> {
    let guard = req.guard;
    let setup = |problem: Problem| SandboxError::Setup { guard, problem };
    if guard == Guard::None {
        // Nothing to apply: the caller runs such a process itself
        // (`steps::process::run`), so a `None` here is a caller's mistake.
        return Err(setup(Problem::NoGuard));
    }
    let root = match guard {
        Guard::NsRoot { .. } | Guard::NsUser => Some(namespace_root(guard)?),
        _ => None,
    };
    if let Some(uid) = guard.uid() {
        chown_tree(&req.workspace, uid).map_err(|source| SandboxError::Prepare {
            guard,
            path: req.workspace.clone(),
            source,
        })?;
    }
    let root_path = root.as_ref().map(|r| r.path().to_path_buf());
    let (started_tx, started_rx) = mpsc::sync_channel::<Result<Kill, Problem>>(1);
    std::thread::spawn(move || {
        if let Some(ns) = &req.netns {
            // SAFETY: setns changes only this thread's network namespace; the
            // sandbox forked from it inherits it.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                let e = std::io::Error::last_os_error();
                let _ = started_tx.send(Err(Problem::JoinNetns(e)));
                return;
            }
        }
        let running = match &root_path {
            Some(root) => build_cage(&req, root).and_then(|cage| {
                let running = cage.spawn()?;
                // The cage keeps copies of the pipe ends: drop it, or the
                // readers never see end of file.
                drop(cage);
                Ok(running)
            }),
            None => build_restriction(&req).and_then(|r| {
                let running = r.spawn()?;
                drop(r);
                Ok(running)
            }),
        };
        // Our copies of the write ends go too, for the same reason.
        drop(req);
        let mut running = match running {
            Ok(running) => running,
            Err(e) => {
                let _ = started_tx.send(Err(e));
                return;
            }
        };
        let kill = if root_path.is_some() {
            running.kill_handle().map(Kill::Cage).map_err(Problem::from)
        } else {
            Ok(Kill::Group(running.pid() as i32))
        };
        let ok = kill.is_ok();
        if started_tx.send(kill).is_err() || !ok {
            let _ = running.kill();
        }
        let status = running.wait().map(|s| s.code()).map_err(Problem::from);
        on_exit(status);
    });
    let kill = started_rx
        .recv()
        .map_err(|_| setup(Problem::ThreadEnded))?
        .map_err(setup)?;
    Ok(Started { kill, _root: root })
}

/// An empty directory to become the namespace's `/`: owned by labcheck,
/// traversable by the sandbox's uid, with the merged-/usr links.
fn namespace_root(guard: Guard) -> Result<tempfile::TempDir, SandboxError> {
    let prepare = |path: &Path, source| SandboxError::Prepare {
        guard,
        path: path.to_path_buf(),
        source,
    };
    let root = tempfile::Builder::new()
        .prefix("labcheck-sandbox-root-")
        .tempdir()
        .map_err(|e| prepare(&std::env::temp_dir(), e))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| prepare(root.path(), e))?;
    for (link, target) in USR_LINKS {
        if Path::new("/").join(target).exists() {
            std::os::unix::fs::symlink(target, root.path().join(link))
                .map_err(|e| prepare(root.path(), e))?;
        }
    }
    Ok(root)
}

/// Gives `dir` and everything in it to `uid`, so the step can write its
/// workspace (labcheck, as root, still reads and removes it afterwards).
/// Links are changed themselves, never followed.
fn chown_tree(dir: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid))?;
    if std::fs::symlink_metadata(dir)?.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                chown_tree(&entry.path(), uid)?;
            } else {
                std::os::unix::fs::lchown(entry.path(), Some(uid), Some(uid))?;
            }
        }
    }
    Ok(())
}

fn rlimits_of() -> [(Resource, u64); 5] {
    [
        (Resource::Processes, limits::PROCESSES),
        (Resource::AddressSpace, limits::ADDRESS_SPACE),
        (Resource::FileSize, limits::FILE_SIZE),
        (Resource::OpenFiles, limits::OPEN_FILES),
        (Resource::CoreDump, 0),
    ]
}

fn fd_of(fd: &OwnedFd) -> Result<Stdio, Problem> {
    fd.try_clone().map(Stdio::from_fd).map_err(Problem::Pipe)
}

fn build_cage(req: &Request, root: &Path) -> Result<Cage, Problem> {
    let mut b = Cage::builder().rootfs(root);
    for dir in SYSTEM_READ.iter().map(Path::new).filter(|d| d.exists()) {
        b = b.bind_ro(dir, dir);
    }
    for dir in req.read_only.iter().filter(|d| d.exists()) {
        b = b.bind_ro(dir, dir);
    }
    b = b
        .bind(&req.workspace, &req.workspace)
        .current_dir(&req.workspace)
        // The network guard's namespace (joined by the spawning thread), or
        // the host's where there is none: the refusing proxy guards it.
        .network(Network::Host)
        .resolv_conf(false)
        // No private tmpfs on /tmp: the namespace root under it is not
        // writable, so a write to /tmp fails as it does under Landlock.
        .mount_tmp(false)
        .base_env(false)
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_os_str())))
        .stdin(Stdio::Null)
        .stdout(fd_of(&req.stdout)?)
        .stderr(fd_of(&req.stderr)?)
        .command(&req.program)
        .args(&req.args);
    for (resource, value) in rlimits_of() {
        b = b.rlimit(resource, Limit::of(value), Limit::of(value));
    }
    match req.guard {
        Guard::NsRoot { uid } => {
            let map = vec![
                IdRange {
                    inside: 0,
                    outside: 0,
                    count: 1,
                },
                IdRange {
                    inside: uid,
                    outside: uid,
                    count: 1,
                },
            ];
            b = b
                .identity_map(IdentityMap::ranges(map.clone(), map))
                .run_as(Identity::new(uid, uid));
        }
        _ => {
            // Root inside the step's user namespace cannot unmount or remount
            // the read-only binds: they are locked, made in a parent user
            // namespace. The Landlock scopes keep it from signalling labcheck
            // or reaching its abstract sockets.
            b = b.landlock_scope([LandlockScope::Signal, LandlockScope::AbstractUnixSocket]);
        }
    }
    Ok(b.build()?)
}

fn build_restriction(req: &Request) -> Result<Restriction, Problem> {
    let mut b = Restriction::builder();
    let read = FsAccess::READ | FsAccess::EXECUTE;
    for dir in SYSTEM_READ
        .iter()
        .chain(["/bin", "/lib", "/lib64", "/sbin", "/proc", "/dev"].iter())
        .map(Path::new)
        .filter(|d| d.exists())
    {
        b = b.landlock_fs(read, dir);
    }
    for dir in req.read_only.iter().filter(|d| d.exists()) {
        b = b.landlock_fs(read, dir);
    }
    for dev in ["/dev/null", "/dev/zero", "/dev/tty"]
        .iter()
        .map(Path::new)
        .filter(|d| d.exists())
    {
        b = b.landlock_fs(FsAccess::READ | FsAccess::WRITE, dev);
    }
    b = b
        .landlock_fs(read | FsAccess::WRITE, &req.workspace)
        .landlock_scope([LandlockScope::Signal, LandlockScope::AbstractUnixSocket])
        .current_dir(&req.workspace)
        .base_env(false)
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_os_str())))
        .stdin(Stdio::Null)
        .stdout(fd_of(&req.stdout)?)
        .stderr(fd_of(&req.stderr)?)
        .command(&req.program)
        .args(&req.args);
    for (resource, value) in rlimits_of() {
        b = b.rlimit(resource, Limit::of(value), Limit::of(value));
    }
    Ok(b.build()?)
}

/// Where the sandboxed command's temporary files go (`TMPDIR`): a directory
/// of the workspace under every guard, so `/tmp` itself can stay unwritable
/// (a write there fails rather than landing in a private copy).
pub fn tmp_dir(workspace: &Path) -> PathBuf {
    workspace.join(".tmp")
}

#[cfg(test)]
mod tests;
