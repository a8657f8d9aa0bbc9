//! The `notebook` step: a notebook's cells run in order in one real Jupyter
//! kernel, through nbclient, inside the trial's sandbox.
//!
//! labcheck reads the notebook ([`crate::content::Notebook`], the page's
//! cell model), keeps the selected code
//! cells, drops the skipped ones and satisfies `%pip install` / `!pip install`
//! lines offline ([`offline_pip`]); it writes that plan into the workspace and
//! runs [`DRIVER`] with the kernel venv's python (see `crate::clients`) in the
//! sandbox, with the trial's environment plus `AWS_SDK_UA_APP_ID` so the
//! replay server can tell the kernel's requests from a python step's. The
//! driver starts ipykernel (so the kernel is a child inside the same sandbox
//! and network guard), runs the cells, and prints one JSON line per cell:
//! its outputs and the kernel's iopub message times. Past a cell's time limit
//! the driver kills the kernel; past the step's, the sandbox kills everything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::env::ChildEnv;
use super::{Piece, StepError, StepOutput};
use crate::content::{Cell, CellType, Notebook};
use crate::spec::lab::NotebookStep;

/// The driver, embedded in the binary and written into each trial's workspace.
pub const DRIVER: &str = include_str!("notebook_driver.py");

/// What starts each line the driver prints (see [`DRIVER`]).
const PREFIX: &str = "labcheck-nb ";

/// The workspace directory holding the driver and its plan.
const WORK_DIR: &str = ".labcheck-notebook";

/// How a cell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    Ok,
    /// The cell raised: its last output is the error.
    Error,
    /// The cell passed its time limit; the kernel was killed.
    Timeout,
    /// The kernel died under the cell.
    Dead,
}

/// One iopub message of a cell, as the kernel timed it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    /// `stdout` / `stderr` for stream messages.
    pub name: Option<String>,
    /// Time since the step's kernel was asked to start.
    #[serde(skip)]
    pub at: Duration,
    #[serde(rename = "at")]
    epoch: f64,
    pub bytes: usize,
}

/// One cell as it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRun {
    /// The lab's number for the cell.
    pub number: usize,
    /// Its number in the notebook that ran (differs when grading a student
    /// notebook with cells added or removed).
    pub shown: usize,
    pub status: CellStatus,
    /// Every output as text: stream text, results and displays
    /// (`text/markdown`, `text/html` as text, `text/plain`), errors.
    pub text: String,
    /// For an error: `ename: evalue` and the traceback's last line.
    pub error: Option<CellError>,
    pub elapsed: Duration,
    pub messages: Vec<Message>,
}

/// The error a cell raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub ename: String,
    pub evalue: String,
    /// The traceback's last non-empty line, colour codes removed.
    pub last_line: String,
}

/// A notebook step's run: the cells that ran, and what labcheck did with
/// the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotebookRun {
    pub cells: Vec<CellRun>,
    /// Cells skipped or changed before the run, one line each.
    pub notes: Vec<String>,
    /// How long the kernel took to start.
    pub kernel_start: Option<Duration>,
    /// The cell time limit.
    pub cell_timeout: Duration,
    /// Lab cells the student's notebook lacks (grading).
    pub missing: Vec<MissingCell>,
}

impl NotebookRun {
    /// The first cell that did not end well.
    pub fn failed(&self) -> Option<&CellRun> {
        self.cells.iter().find(|c| c.status != CellStatus::Ok)
    }
}

/// Packages a `%pip install` line may name without reaching the network:
/// what the clients and kernel venvs hold (and the lab's `[lab] python`).
fn provisioned_packages() -> Vec<String> {
    let pins = crate::clients::Pins::embedded();
    let mut names: Vec<String> = pins
        .venv
        .requirements()
        .into_iter()
        .chain(pins.kernel.requirements())
        .filter_map(|r| r.split_once("==").map(|(n, _)| normalize(n)))
        .collect();
    names.extend(["pip", "setuptools", "jupyter"].map(String::from));
    names
}

/// PyPI's name normalisation (PEP 503).
fn normalize(name: &str) -> String {
    name.to_lowercase().replace(['_', '.'], "-")
}

/// A cell's source with its `%pip install` / `!pip install` lines satisfied
/// offline: a line naming only provisioned packages becomes `pass` plus a
/// comment (and a note), a line naming others raises in the kernel, saying
/// which. Nothing reaches the network. `None` when the cell has no such line.
pub fn offline_pip(source: &str, provisioned: &[String]) -> Option<(String, Vec<String>)> {
    let mut changed = false;
    let mut notes = Vec::new();
    let mut out = String::new();
    for line in source.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = &body[..body.len() - body.trim_start().len()];
        let words: Vec<&str> = body.split_whitespace().collect();
        let args = match words.as_slice() {
            ["%pip" | "!pip" | "!pip3" | "%pip3", "install", rest @ ..] => rest,
            ["!python" | "!python3", "-m", "pip", "install", rest @ ..] => rest,
            _ => {
                out.push_str(line);
                continue;
            }
        };
        changed = true;
        let packages: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !a.starts_with('-'))
            .collect();
        let missing: Vec<String> = packages
            .iter()
            .map(|p| {
                let p = p.trim_matches(['"', '\'']);
                let end = p
                    .find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
                    .unwrap_or(p.len());
                normalize(&p[..end])
            })
            .filter(|p| !provisioned.contains(p))
            .collect();
        let command = body.trim();
        let newline = &line[body.len()..];
        if args
            .iter()
            .any(|a| matches!(*a, "-r" | "--requirement" | "-e"))
            || !missing.is_empty()
        {
            let what = if missing.is_empty() {
                "a requirements file".to_string()
            } else {
                missing.join(", ")
            };
            notes.push(format!(
                "`{command}`: {what} is not provisioned; the line raises instead of installing"
            ));
            out.push_str(&format!(
                "{indent}raise RuntimeError({:?}){newline}",
                format!("labcheck: `{command}` needs {what}, which labcheck does not provision (no network in a trial)")
            ));
        } else {
            notes.push(format!(
                "`{command}` satisfied offline (labcheck provisions it)"
            ));
            out.push_str(&format!(
                "{indent}pass  # labcheck: satisfied offline: {command}{newline}"
            ));
        }
    }
    changed.then_some((out, notes))
}

/// The notebook file a step runs: the lab's, or when grading the student's
/// (the lab's file name in the workspace, else the workspace's only notebook).
fn notebook_path(step: &NotebookStep, workspace: &Path) -> Result<PathBuf, StepError> {
    if !step.from_workspace {
        return Ok(step.path.clone());
    }
    let named = workspace.join(&step.file);
    if named.is_file() {
        return Ok(named);
    }
    let found: Vec<PathBuf> = std::fs::read_dir(workspace)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "ipynb") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(StepError::MissingWorkspaceFile {
            path: step.file.clone(),
        }),
    }
}

#[derive(serde::Serialize)]
struct PlanCell {
    /// The lab's number for the cell (what `lab.toml` names).
    number: usize,
    /// Its number in the notebook that runs (the student's, when grading).
    #[serde(skip)]
    shown: usize,
    source: String,
}

/// The student's cells for the lab's selected code cells: matched by cell
/// id where the lab's cell has one (a student who adds or deletes cells
/// shifts the numbers, not the ids), else by number. A lab cell with no
/// counterpart is missing.
fn student_cells<'a>(
    step: &NotebookStep,
    lab: &Notebook,
    student: &'a Notebook,
    notes: &mut Vec<String>,
) -> (Vec<(usize, &'a Cell)>, Vec<MissingCell>) {
    let mut cells = Vec::new();
    let mut missing = Vec::new();
    for want in lab
        .cells
        .iter()
        .filter(|c| c.cell_type == CellType::Code && step.cells.contains(c.number()))
    {
        let found = match &want.id {
            Some(id) => student.cells.iter().find(|c| c.id.as_ref() == Some(id)),
            None => student.cell(want.number()),
        };
        match found.filter(|c| c.cell_type == CellType::Code) {
            Some(cell) => {
                if cell.number() != want.number() {
                    notes.push(format!(
                        "lab cell {} is cell {} of the student's notebook",
                        want.number(),
                        cell.number()
                    ));
                }
                cells.push((want.number(), cell));
            }
            None => missing.push(MissingCell {
                number: want.number(),
                id: want.id.clone(),
            }),
        }
    }
    (cells, missing)
}

/// A lab cell the student's notebook does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCell {
    pub number: usize,
    pub id: Option<String>,
}

/// Runs the step's cells in one kernel, in the sandbox `env` names.
pub fn run(
    step: &NotebookStep,
    env: &ChildEnv,
    kernel_bin: &Path,
    extra_packages: Option<&Path>,
    timeout: Duration,
) -> Result<StepOutput, StepError> {
    if env.sandbox == crate::sandbox::Guard::None {
        return Err(StepError::NoSandbox);
    }
    let path = notebook_path(step, &env.workspace)?;
    let nb = Notebook::read(&path).map_err(|e| StepError::Notebook(e.to_string()))?;
    let mut notes = Vec::new();
    let (cells, missing) = if step.from_workspace {
        let lab = Notebook::read(&step.path).map_err(|e| StepError::Notebook(e.to_string()))?;
        student_cells(step, &lab, &nb, &mut notes)
    } else {
        let picked = nb
            .cells
            .iter()
            .filter(|c| c.cell_type == CellType::Code && step.cells.contains(c.number()))
            .map(|c| (c.number(), c))
            .collect();
        (picked, Vec::new())
    };
    let mut provisioned = provisioned_packages();
    provisioned.extend(
        step.python
            .iter()
            .filter_map(|r| r.split_once("==").map(|(n, _)| normalize(n))),
    );
    let mut plan_cells = Vec::new();
    for (number, cell) in cells {
        if step.skip.contains(&number) {
            notes.push(format!("cell {number}: skipped (lab.toml `skip`)"));
            continue;
        }
        // A cell the student writes: the lab's solution file when the lab's
        // own notebook runs; when grading, the student's cell as written.
        let fill = step
            .fill
            .iter()
            .find(|f| f.cell == number && !step.from_workspace);
        if let Some(f) = fill {
            notes.push(format!("cell {number}: filled from {}", f.file.display()));
        }
        let text = fill.map_or(&cell.source, |f| &f.source);
        let source = match offline_pip(text, &provisioned) {
            Some((source, why)) => {
                notes.extend(why.into_iter().map(|n| format!("cell {number}: {n}")));
                source
            }
            None => text.clone(),
        };
        plan_cells.push(PlanCell {
            number,
            shown: cell.number(),
            source,
        });
    }
    let cells = plan_cells;
    let dir = env.workspace.join(WORK_DIR);
    let io = |what: String| move |source| StepError::Io { what, source };
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let plan = serde_json::json!({
        "cells": cells,
        "cell_timeout": step.cell_timeout.as_secs_f64(),
        "app_id": crate::ids::KERNEL_APP_ID,
        "python_path": extra_packages,
    });
    let plan_path = dir.join("plan.json");
    std::fs::write(&plan_path, plan.to_string())
        .map_err(io(format!("writing {}", plan_path.display())))?;
    let driver = dir.join("notebook_driver.py");
    std::fs::write(&driver, DRIVER).map_err(io(format!("writing {}", driver.display())))?;
    let started = std::time::SystemTime::now();
    let out = super::process::run_sandboxed(
        &kernel_bin.join("python3"),
        vec![driver.into(), plan_path.into()],
        env,
        timeout,
    )?;
    let mut run = parse_events(&out.stdout, started, step.cell_timeout, notes);
    run.missing = missing;
    for cell in &mut run.cells {
        cell.shown = cells
            .iter()
            .find(|c| c.number == cell.number)
            .map_or(cell.number, |c| c.shown);
    }
    Ok(output(run, out))
}

/// The driver's lines → the run; lines without [`PREFIX`] are ignored.
fn parse_events(
    stdout: &str,
    started: std::time::SystemTime,
    cell_timeout: Duration,
    notes: Vec<String>,
) -> NotebookRun {
    #[derive(Deserialize)]
    #[serde(tag = "event", rename_all = "lowercase")]
    enum Event {
        Kernel {
            started: f64,
            ready: f64,
        },
        Cell {
            number: usize,
            status: CellStatus,
            started: f64,
            ended: f64,
            outputs: Vec<serde_json::Value>,
            messages: Vec<Message>,
        },
    }
    let epoch0 = started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let since = |t: f64| Duration::try_from_secs_f64((t - epoch0).max(0.0)).unwrap_or_default();
    let mut run = NotebookRun {
        notes,
        cell_timeout,
        ..NotebookRun::default()
    };
    for line in stdout.lines() {
        let Some(json) = line.strip_prefix(PREFIX) else {
            continue;
        };
        match serde_json::from_str::<Event>(json) {
            Ok(Event::Kernel { started, ready }) => {
                run.kernel_start = Duration::try_from_secs_f64((ready - started).max(0.0)).ok();
            }
            Ok(Event::Cell {
                number,
                status,
                started,
                ended,
                outputs,
                mut messages,
            }) => {
                for m in &mut messages {
                    m.at = since(m.epoch);
                }
                let (text, error) = render_outputs(&outputs);
                run.cells.push(CellRun {
                    number,
                    shown: number,
                    status,
                    text,
                    error,
                    elapsed: Duration::try_from_secs_f64((ended - started).max(0.0))
                        .unwrap_or_default(),
                    messages,
                });
            }
            Err(_) => continue,
        }
    }
    run
}

/// Removes ANSI colour sequences (IPython colours its tracebacks).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Text of HTML with its tags removed (enough to judge `text/html` outputs).
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn joined(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => String::new(),
    }
}

/// The outputs of a cell as one text, and its error.
pub fn render_outputs(outputs: &[serde_json::Value]) -> (String, Option<CellError>) {
    let mut text = String::new();
    let mut error = None;
    let mut push = |t: &str| {
        text.push_str(t);
        if !t.ends_with('\n') {
            text.push('\n');
        }
    };
    for o in outputs {
        match o.get("output_type").and_then(|t| t.as_str()) {
            Some("stream") => push(&joined(o.get("text").unwrap_or(&serde_json::Value::Null))),
            Some("execute_result" | "display_data") => {
                let data = o.get("data");
                let get = |mime: &str| data.and_then(|d| d.get(mime)).map(joined);
                if let Some(md) = get("text/markdown") {
                    push(&md);
                }
                if let Some(html) = get("text/html") {
                    push(&html_text(&html));
                }
                // The plain repr of a rich display is `<IPython…Markdown object>`:
                // shown only when nothing richer is there.
                if let Some(plain) = get("text/plain")
                    && (get("text/markdown").is_none() && get("text/html").is_none())
                {
                    push(&plain);
                }
            }
            Some("error") => {
                let field = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                let traceback = o
                    .get("traceback")
                    .and_then(|t| t.as_array())
                    .map(|t| {
                        t.iter()
                            .filter_map(|l| l.as_str())
                            .map(strip_ansi)
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default();
                let last_line = traceback
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                push(&traceback);
                error = Some(CellError {
                    ename: field("ename"),
                    evalue: field("evalue"),
                    last_line,
                });
            }
            _ => {}
        }
    }
    (text, error)
}

/// The run as a [`StepOutput`]: every cell's text (headed `[cell N]`) as
/// stdout, stdout stream messages as pieces, exit code 0 when every cell
/// ran clean (1 when one raised, none when one was killed).
fn output(run: NotebookRun, process: super::process::ProcessOutput) -> StepOutput {
    let mut stdout = String::new();
    let mut pieces = Vec::new();
    for cell in &run.cells {
        stdout.push_str(&format!("[cell {}]\n", cell.number));
        stdout.push_str(&cell.text);
        pieces.extend(
            cell.messages
                .iter()
                .filter(|m| m.kind == "stream" && m.name.as_deref() == Some("stdout"))
                .map(|m| Piece {
                    at: m.at,
                    bytes: m.bytes,
                }),
        );
    }
    let mut stderr = String::new();
    for note in &run.notes {
        stderr.push_str(&format!("labcheck: {note}\n"));
    }
    let failed = run.failed().map(|c| c.status);
    if let Some(cell) = run.failed() {
        let what = match (&cell.status, &cell.error) {
            (CellStatus::Error, Some(e)) => format!("raised {}", e.last_line),
            (CellStatus::Timeout, _) => format!(
                "did not finish within {:?}; the kernel was killed",
                run.cell_timeout
            ),
            (CellStatus::Dead, _) => "killed the kernel".to_string(),
            _ => "failed".to_string(),
        };
        stderr.push_str(&format!("labcheck: cell {} {what}\n", cell.number));
    }
    stderr.push_str(&process.stderr);
    let timed_out = process.timed_out || failed == Some(CellStatus::Timeout);
    let exit_code = match (process.exit_code, failed) {
        (_, Some(CellStatus::Timeout | CellStatus::Dead)) => None,
        (_, Some(_)) => Some(1),
        (code, None) => code,
    };
    StepOutput {
        exit_code,
        stdout,
        stderr,
        pieces,
        timed_out,
        elapsed: process.elapsed,
        sandbox: Some(process.sandbox),
        notebook: Some(run),
        ..StepOutput::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pip_lines_for_provisioned_packages_become_pass() {
        let prov = provisioned_packages();
        let (src, notes) = offline_pip(
            "%pip install -U boto3 botocore --quiet\nimport boto3\n",
            &prov,
        )
        .unwrap();
        assert_eq!(
            src,
            "pass  # labcheck: satisfied offline: %pip install -U boto3 botocore --quiet\nimport boto3\n"
        );
        assert!(notes[0].contains("satisfied offline"), "{notes:?}");
        assert!(offline_pip("import os\nprint(1)", &prov).is_none());
    }

    #[test]
    fn pip_lines_for_other_packages_raise_instead_of_installing() {
        let prov = provisioned_packages();
        let (src, notes) = offline_pip("!pip install langchain-aws==0.2.1 boto3", &prov).unwrap();
        assert!(src.starts_with("raise RuntimeError("), "{src}");
        assert!(src.contains("langchain-aws"), "{src}");
        assert!(notes[0].contains("not provisioned"), "{notes:?}");
        let (src, _) = offline_pip("    !pip install -r requirements.txt", &prov).unwrap();
        assert!(src.starts_with("    raise"), "{src}");
    }

    #[test]
    fn outputs_render_streams_rich_displays_and_errors() {
        let outputs: Vec<serde_json::Value> = serde_json::from_str(
            r#"[
              {"output_type": "stream", "name": "stdout", "text": ["a\n", "b"]},
              {"output_type": "display_data", "data": {"text/plain": "<IPython.core.display.Markdown object>", "text/markdown": "**hi**"}, "metadata": {}},
              {"output_type": "execute_result", "data": {"text/html": "<b>x &amp; y</b>", "text/plain": "xy"}, "metadata": {}, "execution_count": 1},
              {"output_type": "execute_result", "data": {"text/plain": "42"}, "metadata": {}, "execution_count": 2},
              {"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": ["\u001b[31mZeroDivisionError\u001b[39m  Traceback", "\u001b[31mZeroDivisionError\u001b[39m: division by zero"]}
            ]"#,
        )
        .unwrap();
        let (text, error) = render_outputs(&outputs);
        assert!(text.starts_with("a\nb\n**hi**\nx & y\n42\n"), "{text}");
        assert!(!text.contains("Markdown object"), "{text}");
        let e = error.unwrap();
        assert_eq!(e.ename, "ZeroDivisionError");
        assert_eq!(e.last_line, "ZeroDivisionError: division by zero");
    }

    #[test]
    fn forged_or_foreign_lines_are_ignored() {
        let run = parse_events(
            "hello\n{\"event\": \"cell\"}\nlabcheck-nb {\"event\": \"kernel\", \"started\": 1.0, \"ready\": 2.5}\n",
            std::time::UNIX_EPOCH,
            Duration::from_secs(1),
            Vec::new(),
        );
        assert!(run.cells.is_empty());
        assert_eq!(run.kernel_start, Some(Duration::from_millis(1500)));
    }
}
