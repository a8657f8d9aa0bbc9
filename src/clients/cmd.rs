//! Running one install command: its output is streamed line by line to the caller's
//! [`Progress`] and its last lines are kept for the error if it fails.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::Progress;
use super::error::{ClientsError, hint_for};

const TAIL_LINES: usize = 25;

/// Creates a venv of `base_python` at `venv` and returns the venv's python.
pub(crate) fn create_venv(
    what: &str,
    base_python: &Path,
    venv: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf, ClientsError> {
    run(
        what,
        Command::new(base_python).arg("-m").arg("venv").arg(venv),
        progress,
    )?;
    Ok(venv.join("bin").join("python3"))
}

/// `python -m pip --disable-pip-version-check --no-input`, cleared of the
/// author's settings that would leak other packages into the install
/// (`PYTHONPATH`, `PYTHONHOME`) or send it elsewhere (`PIP_USER`,
/// `PIP_TARGET`, `PIP_PREFIX`, `PIP_REQUIRE_VIRTUALENV`): every slot is built
/// the same on every machine. `subcommand` goes first (`install`, `check`).
pub(crate) fn pip(python: &Path, subcommand: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        subcommand,
        "--disable-pip-version-check",
        "--no-input",
    ]);
    for var in [
        "PYTHONPATH",
        "PYTHONHOME",
        "PIP_REQUIRE_VIRTUALENV",
        "PIP_USER",
        "PIP_TARGET",
        "PIP_PREFIX",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd`, forwarding its stdout and stderr lines (indented) to `progress`.
/// Returns its stdout on success; a [`ClientsError::Command`] naming `what` otherwise.
pub(crate) fn run(
    what: &str,
    cmd: &mut Command,
    progress: &dyn Progress,
) -> Result<String, ClientsError> {
    let command = display(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ClientsError::Command {
            what: what.to_string(),
            command: command.clone(),
            status: "could not start".into(),
            output_tail: e.to_string(),
            hint: "is the program installed and on PATH?".into(),
        })?;
    let tail = Mutex::new(VecDeque::with_capacity(TAIL_LINES));
    let stdout = child.stdout.take().expect("stdout was piped above");
    let stderr = child.stderr.take().expect("stderr was piped above");
    let mut out = String::new();
    std::thread::scope(|s| {
        s.spawn(|| pump(stderr, progress, &tail, None));
        pump(stdout, progress, &tail, Some(&mut out));
    });
    let status = child
        .wait()
        .map_err(|e| ClientsError::io("wait for", command.clone(), e))?;
    if status.success() {
        return Ok(out);
    }
    let output_tail = tail
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .collect::<Vec<_>>()
        .join("\n");
    Err(ClientsError::Command {
        what: what.to_string(),
        command,
        status: match status.code() {
            Some(code) => format!("exited with {code}"),
            None => format!("was killed ({status})"),
        },
        hint: hint_for(&output_tail),
        output_tail,
    })
}

/// Reads `from` to its end, splitting on `\n` and `\r` (pip redraws its progress bar
/// with `\r`), forwarding non-empty lines and keeping the last ones in `tail`.
fn pump(
    from: impl Read,
    progress: &dyn Progress,
    tail: &Mutex<VecDeque<String>>,
    mut keep: Option<&mut String>,
) {
    let mut reader = BufReader::new(from);
    let mut buf = Vec::new();
    while let Ok(n) = reader.read_until(b'\n', &mut buf) {
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        if let Some(keep) = keep.as_deref_mut() {
            keep.push_str(&text);
        }
        for line in text
            .split(['\n', '\r'])
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
        {
            progress.line(&format!("    {line}"));
            let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.to_string());
        }
        buf.clear();
    }
}

/// The command as a shell-like line, for messages.
pub(crate) fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let a = a.to_string_lossy();
            if a.contains([' ', '\'', '"']) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
