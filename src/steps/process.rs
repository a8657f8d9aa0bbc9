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

/// A piece of stdout as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Time since the child started.
    pub at: Duration,
    pub bytes: usize,
}

/// What a finished (or killed) child showed.
#[derive(Debug, Clone, Default)]
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
}

/// The preamble put before a lab's block: report the failing line, in lab.md
/// terms, the way a student would see the terminal stop. `-e` because a student
/// following the page stops at the first command that fails.
fn preamble(first_line: usize) -> String {
    // LINENO counts from the script's first line; the block's first line is
    // script line PREAMBLE_LINES + 1.
    let place = if first_line == 0 {
        format!("command line $(($2 - {PREAMBLE_LINES}))")
    } else {
        format!(
            "lab.md line $(($2 + {}))",
            first_line as i64 - PREAMBLE_LINES as i64 - 1
        )
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

/// Writes `script` (a lab block whose first line is lab.md line `first_line`,
/// or 0 when it is not from the page) into the workspace and runs it with bash.
pub fn run_bash(
    script: &str,
    first_line: usize,
    env: &ChildEnv,
    timeout: Duration,
) -> Result<ProcessOutput, StepError> {
    let path = env.workspace.join(".labcheck-step.sh");
    let mut text = preamble(first_line);
    text.push_str(script);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    std::fs::write(&path, text).map_err(|e| StepError::Io {
        what: format!("writing {}", path.display()),
        source: e,
    })?;
    let mut cmd = Command::new("/bin/bash");
    cmd.arg(&path);
    run(cmd, env, timeout)
}

/// Runs `cmd` in the trial environment, bounded by `timeout`.
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

    let (tx, rx) = mpsc::channel::<(Duration, Vec<u8>)>();
    let stdout = child.stdout.take();
    let stdout_reader = thread::spawn(move || {
        let Some(mut out) = stdout else { return };
        let mut buf = [0u8; 8192];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send((started.elapsed(), buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let stderr = child.stderr.take();
    let stderr_reader = thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut err) = stderr {
            let _ignored_partial_read = err.read_to_end(&mut text);
        }
        text
    });

    let mut stdout_bytes = Vec::new();
    let mut pieces = Vec::new();
    let mut timed_out = false;
    let deadline = started + timeout;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        match rx.recv_timeout(deadline - now) {
            Ok((at, bytes)) => {
                pieces.push(Piece {
                    at,
                    bytes: bytes.len(),
                });
                stdout_bytes.extend_from_slice(&bytes);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if timed_out {
        // SAFETY: killpg only sends a signal to the group we created above.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
    let status = child.wait().map_err(|e| StepError::Io {
        what: "waiting for the step's process".into(),
        source: e,
    })?;
    // After the kill the pipe closes; drain what is left.
    while let Ok((at, bytes)) = rx.try_recv() {
        pieces.push(Piece {
            at,
            bytes: bytes.len(),
        });
        stdout_bytes.extend_from_slice(&bytes);
    }
    let _joined = stdout_reader.join();
    let stderr_bytes = stderr_reader.join().unwrap_or_default();
    Ok(ProcessOutput {
        exit_code: status.code(),
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
        pieces,
        timed_out,
        elapsed: started.elapsed(),
        started: Some(started),
    })
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
