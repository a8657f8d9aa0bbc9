//! Running a step's program as a child process: bash, a clean environment, a
//! time limit, and stdout captured with the time each piece arrived.
//!
//! Arrival times are what the `incremental` expectation judges, so stdout is
//! read on its own thread with whatever each `read` returns, never buffered
//! line by line.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::StepError;
use super::env::ChildEnv;
use crate::sandbox::{self, Guard};

/// The most of each stream (stdout, stderr) a step keeps: the rest is read
/// and dropped, so a step that prints without end cannot grow labcheck's
/// memory, and [`truncation_marker`] says how much went.
pub const MAX_CAPTURE: usize = 8 << 20;

/// The line appended to a stream that passed [`MAX_CAPTURE`]; reports and
/// failures show it with the rest of the output.
pub fn truncation_marker(dropped: u64) -> String {
    format!(
        "\n[labcheck: output truncated: {dropped} more bytes beyond the {} MiB limit were dropped]\n",
        MAX_CAPTURE >> 20
    )
}

/// A piece of stdout as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Time since the child started.
    pub at: Duration,
    pub bytes: usize,
}

/// What a finished (or killed) child showed.
#[derive(Debug, Clone)]
pub struct ProcessOutput {
    /// `None` when the child was killed by a signal (or by the time limit).
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub pieces: Vec<Piece>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// When the child was spawned: `Piece::at` counts from here.
    pub started: Option<Instant>,
    /// The sandbox the process ran in (`none` when unguarded).
    pub sandbox: Guard,
}

/// The preamble put before a lab's block: report the failing line, in lab.md
/// terms, the way a student would see the terminal stop. `-e` because a student
/// following the page stops at the first command that fails.
fn preamble(origin: &ScriptOrigin) -> String {
    // LINENO counts from the script's first line; the block's first line is
    // script line PREAMBLE_LINES + 1.
    let place = match origin {
        ScriptOrigin::Page { line: 0 } => format!("command line $(($2 - {PREAMBLE_LINES}))"),
        ScriptOrigin::Page { line } => format!(
            "lab.md line $(($2 + {}))",
            *line as i64 - PREAMBLE_LINES as i64 - 1
        ),
        ScriptOrigin::Cell(c) => {
            // Only id characters nbformat allows: the text lands in a bash string.
            let id: String =
                c.id.as_deref()
                    .unwrap_or_default()
                    .chars()
                    .filter(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
                    .collect();
            let id = if id.is_empty() {
                String::new()
            } else {
                format!(" (id {id})")
            };
            format!(
                "notebook cell {}{id}, line $(($2 + {}))",
                c.number,
                c.line as i64 - PREAMBLE_LINES as i64 - 1
            )
        }
    };
    // Only the first line of a multi-line command is shown: the rest (a JSON
    // body, say) would push the client's own error out of the stderr tail.
    format!(
        r#"set -eE -o pipefail
__labcheck_err() {{ local first="${{3%%$'\n'*}}"; [ "$first" = "$3" ] || first="$first …"; echo "labcheck: {place}: \`$first\` exited with status $1" >&2; }}
trap '__labcheck_err $? $LINENO "$BASH_COMMAND"' ERR
"#
    )
}

/// Lines [`preamble`] puts before the block.
const PREAMBLE_LINES: usize = 3;

/// Where a script's first line is on the page, for the failing-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptOrigin {
    /// `lab.md` line (0: not from the page, e.g. an inline command).
    Page { line: usize },
    /// A notebook cell and the cell line of the script's first line.
    Cell(crate::spec::CellLocation),
}

/// Writes `script` (a lab block whose first line is lab.md line `first_line`,
/// or 0 when it is not from the page) into the workspace and runs it with bash.
pub fn run_bash(
    script: &str,
    first_line: usize,
    env: &ChildEnv,
    timeout: Duration,
) -> Result<ProcessOutput, StepError> {
    run_bash_at(
        script,
        &ScriptOrigin::Page { line: first_line },
        env,
        timeout,
    )
}

/// [`run_bash`] for a script from anywhere on the page, notebook cells included.
pub fn run_bash_at(
    script: &str,
    origin: &ScriptOrigin,
    env: &ChildEnv,
    timeout: Duration,
) -> Result<ProcessOutput, StepError> {
    let path = env.workspace.join(".labcheck-step.sh");
    let mut text = preamble(origin);
    text.push_str(script);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(|e| StepError::Io {
        what: format!("writing {}", path.display()),
        source: e,
    })?;
    if env.sandbox == Guard::None {
        let mut cmd = Command::new("/bin/bash");
        cmd.arg(&path);
        return run(cmd, env, timeout);
    }
    run_sandboxed(Path::new("/bin/bash"), vec![path.into()], env, timeout)
}

/// Runs `program` in the sandbox `env.sandbox` names, bounded by `timeout`:
/// the same limit and output rules as [`run`], with the guard killing the
/// whole tree (see [`crate::sandbox`]).
pub fn run_sandboxed(
    program: &Path,
    args: Vec<std::ffi::OsString>,
    env: &ChildEnv,
    timeout: Duration,
) -> Result<ProcessOutput, StepError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| StepError::Io { what, source }
    };
    let (tx, rx) = mpsc::channel::<Event>();
    let mut guard = env.sandbox;
    // The probes in `Guard::choose` can miss a refusal (a container's seccomp
    // profile, say): a guard that fails to start falls back to the next one,
    // and the output names the guard that was in force.
    let (running, out_r, err_r, started) = loop {
        let (out_r, out_w) = std::io::pipe().map_err(io("creating the stdout pipe"))?;
        let (err_r, err_w) = std::io::pipe().map_err(io("creating the stderr pipe"))?;
        let exit_tx = tx.clone();
        let started = Instant::now();
        let request = sandbox::Request {
            guard,
            program: program.to_path_buf(),
            args: args.clone(),
            env: env.vars(),
            workspace: env.workspace.clone(),
            read_only: env.read_only.clone(),
            netns: env.guard.as_ref().and_then(|g| g.netns.clone()),
            stdout: out_w.into(),
            stderr: err_w.into(),
        };
        let on_exit: sandbox::OnExit = Box::new(move |status| {
            let _receiver_may_be_gone = exit_tx.send(Event::Ended(status));
        });
        match sandbox::spawn(request, on_exit) {
            Ok(running) => break (running, out_r, err_r, started),
            Err(e) => match guard.fallback() {
                Some(next) => guard = next,
                None => {
                    return Err(StepError::Spawn {
                        program: program.display().to_string(),
                        source: std::io::Error::other(e.to_string()),
                    });
                }
            },
        }
    };
    spawn_reader(Some(out_r), Stream::Stdout, started, tx.clone());
    spawn_reader(Some(err_r), Stream::Stderr, started, tx);
    let mut seen = Seen::default();
    let timed_out = wait_until(&rx, &mut seen, started.checked_add(timeout));
    // Whether the kill below may be what ended the command: then a status the
    // library could not collect (the kill raced its wait) means "killed".
    let killed = seen.ended.is_none();
    running.kill();
    // The kill ends every process the guard holds; their pipe ends close and
    // the status arrives once the kernel has torn the tree down.
    let grace = Instant::now() + PIPE_GRACE;
    while !seen.finished() {
        match rx.recv_timeout(grace.saturating_duration_since(Instant::now())) {
            Ok(event) => seen.take(event),
            Err(_) => break,
        }
    }
    let exit_code = match seen.ended.take() {
        Some(Err(problem)) if !killed => {
            return Err(StepError::Io {
                what: "waiting for the sandboxed step".into(),
                source: std::io::Error::other(problem),
            });
        }
        Some(Ok(code)) if !timed_out => code,
        _ => None,
    };
    Ok(seen.output(exit_code, timed_out, started, guard))
}

/// Receives events until the step is over or `deadline` passes; true when
/// the deadline passed first.
fn wait_until(rx: &mpsc::Receiver<Event>, seen: &mut Seen, deadline: Option<Instant>) -> bool {
    while !seen.finished() {
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            // A limit too large to add to an instant is no limit in practice.
            None => Duration::MAX,
        };
        if left.is_zero() {
            return true;
        }
        match rx.recv_timeout(left) {
            Ok(event) => seen.take(event),
            Err(mpsc::RecvTimeoutError::Timeout) => return true,
            // Every sender is gone: nothing more can arrive.
            Err(mpsc::RecvTimeoutError::Disconnected) => return false,
        }
    }
    false
}

/// Runs `cmd` in the trial environment, bounded by `timeout`.
///
/// The limit holds whatever the child does with its output: the step ends
/// when bash has exited *and* both pipes are closed, or at the deadline,
/// whichever comes first. A child that closes its stdout and keeps running, a
/// grandchild that holds the pipes open, a child that ignores SIGTERM: at the
/// deadline the whole process group gets SIGKILL. The group is killed in every
/// case once bash has exited, so nothing a step left behind outlives it.
pub fn run(
    mut cmd: Command,
    env: &ChildEnv,
    timeout: Duration,
) -> Result<ProcessOutput, StepError> {
    cmd.current_dir(&env.workspace)
        .env_clear()
        .envs(env.vars())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own process group, so the time limit kills bash and everything it started.
        .process_group(0);
    if let Some(ns) = env.guard.as_ref().and_then(|g| g.netns.clone()) {
        use std::os::fd::AsRawFd;
        // SAFETY: setns is a single syscall, async-signal-safe between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| StepError::Spawn {
        program: format!("{:?}", cmd.get_program()),
        source: e,
    })?;
    let pid = child.id() as i32;

    let (tx, rx) = mpsc::channel::<Event>();
    spawn_reader(child.stdout.take(), Stream::Stdout, started, tx.clone());
    spawn_reader(child.stderr.take(), Stream::Stderr, started, tx.clone());
    spawn_exit_watch(pid, tx);

    let mut seen = Seen::default();
    let timed_out = wait_until(&rx, &mut seen, started.checked_add(timeout));
    // Bash is alive, or exited but not yet reaped (the exit watch does not
    // reap), so `pid` still names our group: no other process can have it.
    kill_group(pid);
    let status = child.wait().map_err(|e| StepError::Io {
        what: "waiting for the step's process".into(),
        source: e,
    })?;
    // The kill closed every pipe end the group held; what is left in the pipes
    // arrives now. A process that left the group (setsid) may still hold a
    // pipe: it gets a short grace, then its output is left behind unread.
    let grace = Instant::now() + PIPE_GRACE;
    while !(seen.stdout_closed && seen.stderr_closed) {
        match rx.recv_timeout(grace.saturating_duration_since(Instant::now())) {
            Ok(event) => seen.take(event),
            Err(_) => break,
        }
    }
    Ok(seen.output(status.code(), timed_out, started, Guard::None))
}

/// How long, after the group was killed, its pipes may take to close.
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// Which pipe a reader reads.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// What the reader threads and the exit watch report to [`run`].
enum Event {
    /// Bytes read from a pipe, with the time since spawn they arrived.
    Read(Stream, Duration, Vec<u8>),
    /// The pipe reached end of file (or failed: nothing more will come).
    Closed(Stream),
    /// Bash exited; it is left unreaped for [`kill_group`].
    Exited,
    /// The sandboxed command ended: its exit code (`None`: a signal), or
    /// why its status could not be collected.
    Ended(Result<Option<i32>, crate::sandbox::Problem>),
}

/// What [`run`] has received so far.
#[derive(Default)]
struct Seen {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    pieces: Vec<Piece>,
    stdout_closed: bool,
    stderr_closed: bool,
    exited: bool,
    ended: Option<Result<Option<i32>, crate::sandbox::Problem>>,
    /// Bytes read beyond [`MAX_CAPTURE`] and dropped, per stream.
    stdout_dropped: u64,
    stderr_dropped: u64,
}

/// Appends to `kept` what fits under [`MAX_CAPTURE`]; returns what did not.
fn keep_capped(kept: &mut Vec<u8>, bytes: &[u8]) -> u64 {
    let room = MAX_CAPTURE.saturating_sub(kept.len());
    let n = room.min(bytes.len());
    kept.extend_from_slice(&bytes[..n]);
    (bytes.len() - n) as u64
}

impl Seen {
    fn take(&mut self, event: Event) {
        match event {
            Event::Read(Stream::Stdout, at, bytes) => {
                let dropped = keep_capped(&mut self.stdout, &bytes);
                let kept = bytes.len() - dropped as usize;
                // Pieces describe what was kept: past the cap nothing is.
                if kept > 0 {
                    self.pieces.push(Piece { at, bytes: kept });
                }
                self.stdout_dropped += dropped;
            }
            Event::Read(Stream::Stderr, _, bytes) => {
                self.stderr_dropped += keep_capped(&mut self.stderr, &bytes);
            }
            Event::Closed(Stream::Stdout) => self.stdout_closed = true,
            Event::Closed(Stream::Stderr) => self.stderr_closed = true,
            Event::Exited => self.exited = true,
            Event::Ended(status) => {
                self.exited = true;
                self.ended = Some(status);
            }
        }
    }

    /// The output of the finished step, each capped stream with its marker.
    fn output(
        self,
        exit_code: Option<i32>,
        timed_out: bool,
        started: Instant,
        sandbox: Guard,
    ) -> ProcessOutput {
        let text = |bytes: &[u8], dropped: u64| {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            if dropped > 0 {
                text.push_str(&truncation_marker(dropped));
            }
            text
        };
        ProcessOutput {
            exit_code,
            stdout: text(&self.stdout, self.stdout_dropped),
            stderr: text(&self.stderr, self.stderr_dropped),
            pieces: self.pieces,
            timed_out,
            elapsed: started.elapsed(),
            started: Some(started),
            sandbox,
        }
    }

    /// Bash has exited and both pipes are closed: the step is over.
    fn finished(&self) -> bool {
        self.exited && self.stdout_closed && self.stderr_closed
    }
}

/// Reads `pipe` on its own thread, reporting whatever each `read` returns
/// (arrival times are what the `incremental` expectation judges).
fn spawn_reader(
    pipe: Option<impl Read + Send + 'static>,
    stream: Stream,
    started: Instant,
    tx: mpsc::Sender<Event>,
) {
    thread::spawn(move || {
        if let Some(mut pipe) = pipe {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let event = Event::Read(stream, started.elapsed(), buf[..n].to_vec());
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        let _receiver_may_be_gone = tx.send(Event::Closed(stream));
    });
}

/// Waits on its own thread for bash to exit, without reaping it: while it is
/// unreaped its pid cannot be reused, so [`kill_group`] cannot hit a stranger.
fn spawn_exit_watch(pid: i32, tx: mpsc::Sender<Event>) {
    thread::spawn(move || {
        loop {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid writes only into `info`; WNOWAIT leaves the child
            // for `Child::wait` to reap.
            let rc = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                )
            };
            if rc == 0 {
                break;
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                // Not our child any more (ECHILD): it exited and was reaped.
                break;
            }
        }
        let _receiver_may_be_gone = tx.send(Event::Exited);
    });
}

/// SIGKILL to every process of the group led by `pid`. An empty group
/// (everything already exited) is not an error.
fn kill_group(pid: i32) {
    // SAFETY: killpg only sends a signal; `pid` leads the group we created.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}

/// Writes `contents` to `rel` inside the workspace, creating parent dirs.
pub fn write_file(workspace: &Path, rel: &Path, contents: &str) -> Result<(), StepError> {
    let path = workspace.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| StepError::Io {
            what: format!("creating {}", parent.display()),
            source: e,
        })?;
    }
    std::fs::write(&path, contents).map_err(|e| StepError::Io {
        what: format!("writing {}", path.display()),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path) -> ChildEnv {
        ChildEnv {
            workspace: dir.to_path_buf(),
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            client_bin: None,
            guard: None,
            services: None,
            sandbox: Guard::None,
            read_only: Vec::new(),
        }
    }

    #[test]
    fn failing_command_is_reported_with_its_lab_md_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = run_bash(
            "echo one\nfalse\necho never\n",
            40,
            &env(dir.path()),
            Duration::from_secs(10),
        )
        .expect("run");
        assert_eq!(out.exit_code, Some(1));
        assert_eq!(out.stdout, "one\n");
        assert!(
            out.stderr
                .contains("labcheck: lab.md line 41: `false` exited with status 1"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn failing_command_in_a_notebook_cell_is_reported_by_cell_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A `%%bash` cell: the script's first line is line 2 of cell 4.
        let origin = ScriptOrigin::Cell(crate::spec::CellLocation {
            number: 4,
            id: Some("run-$(id)".into()),
            line: 2,
        });
        let out = run_bash_at(
            "echo one\nfalse\n",
            &origin,
            &env(dir.path()),
            Duration::from_secs(10),
        )
        .expect("run");
        assert_eq!(out.exit_code, Some(1));
        assert!(
            out.stderr.contains(
                "labcheck: notebook cell 4 (id run-id), line 3: `false` exited with status 1"
            ),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn multi_line_command_is_shown_by_its_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = run_bash(
            "echo ok\nfalse '{\n  \"json\": 1\n}'\n",
            0,
            &env(dir.path()),
            Duration::from_secs(10),
        )
        .expect("run");
        assert!(
            out.stderr.contains("`false '{ …` exited with status 1"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn time_limit_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = run_bash(
            "echo started\nsleep 30 | cat\n",
            1,
            &env(dir.path()),
            Duration::from_millis(300),
        )
        .expect("run");
        assert!(out.timed_out);
        assert_eq!(out.exit_code, None);
        assert!(
            out.elapsed < Duration::from_secs(10),
            "took {:?}",
            out.elapsed
        );
        assert_eq!(out.stdout, "started\n");
    }

    /// Processes of group `pgid` that are still running (zombies are dead:
    /// they only wait for their parent to reap them).
    fn live_members(pgid: i32) -> Vec<String> {
        let mut live = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue; // not a process, or it exited meanwhile
            };
            // `pid (comm) state ppid pgrp …`; comm may hold spaces and parens.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid)
                && fields.first() != Some(&"Z")
            {
                live.push(stat);
            }
        }
        live
    }

    /// Waits (bounded) until no process of `pgid` runs: SIGKILL is delivered
    /// at once but a process takes a moment to finish exiting, so a check
    /// right after the step returns could see one mid-exit.
    fn assert_group_gone(pgid: i32) {
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            let live = live_members(pgid);
            if live.is_empty() {
                return;
            }
            assert!(
                Instant::now() < give_up,
                "processes of group {pgid} survived the step: {live:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn group_of(dir: &Path) -> i32 {
        std::fs::read_to_string(dir.join("group.pid"))
            .expect("the script wrote its pid")
            .trim()
            .parse()
            .expect("a pid")
    }

    #[test]
    fn time_limit_holds_when_the_child_closes_its_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        // bash leads the group: its pid ($$) is the group id.
        let script = "echo $$ > group.pid\nexec >&- 2>&-\nsleep 300\n";
        let limit = Duration::from_secs(2);
        let out = run_bash(script, 1, &env(dir.path()), limit).expect("run");
        assert!(out.timed_out, "{out:?}");
        assert_eq!(out.exit_code, None, "killed, not exited");
        assert!(out.elapsed >= limit, "ended before its limit: {out:?}");
        // Generous: only a step that waits for `sleep 300` would exceed it.
        assert!(
            out.elapsed < Duration::from_secs(60),
            "took {:?}",
            out.elapsed
        );
        assert_group_gone(group_of(dir.path()));
        // The trial-level "time limit" failure is asserted in tests/deadline.rs
        // (steps must not depend on expect: docs/architecture.md).
    }

    #[test]
    fn time_limit_holds_when_a_grandchild_keeps_the_pipes_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        // bash exits at once; the background sleep holds stdout and stderr
        // and ignores SIGTERM.
        let script = "echo $$ > group.pid\n(trap '' TERM; sleep 300) &\necho started\n";
        let limit = Duration::from_secs(2);
        let out = run_bash(script, 1, &env(dir.path()), limit).expect("run");
        assert!(out.timed_out, "{out:?}");
        assert_eq!(out.stdout, "started\n");
        assert!(
            out.elapsed < Duration::from_secs(60),
            "took {:?}",
            out.elapsed
        );
        assert_group_gone(group_of(dir.path()));
    }

    #[test]
    fn what_a_finished_step_left_behind_is_killed() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The leftover closed its output, so the step is over when bash exits.
        let script = "echo $$ > group.pid\n(exec >&- 2>&-; sleep 300) &\necho done\n";
        let out = run_bash(script, 1, &env(dir.path()), Duration::from_secs(60)).expect("run");
        assert!(!out.timed_out, "{out:?}");
        assert_eq!(out.exit_code, Some(0));
        assert_eq!(out.stdout, "done\n");
        assert_group_gone(group_of(dir.path()));
    }

    #[test]
    fn stdout_pieces_keep_their_arrival_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The child paces its own output; nothing here waits on a timer.
        let script = "for i in 1 2 3; do printf 'p%s ' $i; sleep 0.1; done\n";
        let out = run_bash(script, 1, &env(dir.path()), Duration::from_secs(10)).expect("run");
        assert_eq!(out.stdout, "p1 p2 p3 ");
        assert_eq!(
            out.pieces.iter().map(|p| p.bytes).sum::<usize>(),
            out.stdout.len()
        );
        assert!(out.pieces.len() >= 3, "{:?}", out.pieces);
        assert!(out.pieces.windows(2).all(|w| w[0].at <= w[1].at));
    }
}
