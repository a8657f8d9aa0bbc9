//! Lint of a notebook page. The page checks ([`super::page`]) run on the
//! notebook's layout text — code cells as fenced blocks, `%%bash` cells as
//! `bash` blocks, `!command` lines as shell commands — and every finding is
//! then moved to its cell: `lab.ipynb [cell 4 (id call)]:2:5`, the cell's own
//! line as snippet. Then the rules only a notebook has:
//!
//! - `notebook-output-secret`: a saved output holds an access key id, a
//!   session token or a secret access key (the scrubber's detectors);
//! - `notebook-output-arn`, `notebook-output-account-id`: a saved output names
//!   a real account (in an ARN, or next to the word "account");
//! - `notebook-output-error`: a cell was saved with an error output;
//! - `notebook-run-out-of-order`: saved execution counts show cells were run
//!   in another order than the page's;
//! - `notebook-bang-pip`: `!pip install` installs into the `pip` on `PATH`,
//!   not necessarily the kernel's environment;
//! - `script-never-run`: a `%%writefile x.py` cell no later cell runs.

use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::commands::Src;
use super::models::ModelTable;
use super::shell::{self, Command};
use crate::cassette::scrub::Scrubber;
use crate::content::notebook::{NotebookError, NotebookPosition};
use crate::content::{CellType, CodeBlock, LabPage, NotebookPage, Output};
use crate::diagnostic::{Diagnostic, Severity};

static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arn:aws(?:-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):[^\s'\x22,)\]}]*")
        .expect("static regex")
});

/// Account ids the AWS documentation uses in examples, and the scrubber's.
const EXAMPLE_ACCOUNTS: [&str; 4] = [
    "000000000000",
    "123456789012",
    "111122223333",
    "444455556666",
];

/// Longest piece of an output line quoted in a note.
const QUOTE_CHARS: usize = 100;

/// What the `!`/`%` lines of a code cell do besides shell commands.
#[derive(Debug, Default)]
pub(super) struct Magic {
    /// Scripts run (`%run x.py`), with their layout line.
    pub runs: Vec<(String, usize)>,
    /// A `%pip install boto3` (or `!pip …`) line.
    pub installs_boto3: bool,
    /// `!pip …` lines: layout line.
    bang_pips: Vec<usize>,
}

impl Magic {
    pub(super) fn diagnostics(&self, file: &Path, text: &str) -> Vec<Diagnostic> {
        self.bang_pips
            .iter()
            .map(|&line| {
                let msg = "`!pip` installs into the `pip` on `PATH`, which need not be the kernel's environment".to_string();
                Diagnostic::new(Severity::Warning, "notebook-bang-pip", msg, file)
                    .at(text, line, Some("!pip"))
                    .note("the import in the next cell then fails with `ModuleNotFoundError` although the install succeeded")
                    .help("use `%pip install …`, which installs into the running kernel's environment")
            })
            .collect()
    }
}

/// The shell commands of a python code cell's `!command` lines (columns kept:
/// the `!` becomes a space), and what its magics do. `!pip` lines are not
/// returned: they get the notebook rule instead of the shell ones.
pub(super) fn bang_commands(b: &CodeBlock) -> (Vec<Command>, Magic) {
    let mut cmds = Vec::new();
    let mut magic = Magic::default();
    let lines: Vec<&str> = b.text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let line = b.line + 1 + i;
        i += 1;
        let t = l.trim_start();
        let words: Vec<&str> = t.split_whitespace().collect();
        let pip_install = |w: &[&str]| {
            matches!(w.first(), Some(&("%pip" | "!pip" | "!pip3")))
                && w.contains(&"install")
                && w.iter()
                    .any(|x| x.trim_matches(['"', '\'']).starts_with("boto3"))
        };
        magic.installs_boto3 |= pip_install(&words);
        if let (Some(&"%run"), Some(script)) = (words.first(), words.get(1)) {
            magic.runs.push((script.to_string(), line));
        }
        let Some(rest) = t.strip_prefix('!') else {
            continue;
        };
        let first = rest.split_whitespace().next().unwrap_or_default();
        if matches!(first, "pip" | "pip3") {
            magic.bang_pips.push(line);
            continue;
        }
        // The `!` becomes a space (columns kept); `\` continues the command
        // on the next lines, as IPython passes them to the shell.
        let lead = l.len() - t.len();
        let mut command = format!("{} {rest}\n", &l[..lead]);
        let mut last = l;
        while last.trim_end().ends_with('\\') && i < lines.len() {
            last = lines[i];
            command.push_str(last);
            command.push('\n');
            i += 1;
        }
        cmds.extend(shell::split(&command, line));
    }
    (cmds, magic)
}

/// `script-never-run` for a `%%writefile x.py` cell no later cell runs.
pub(super) fn written_script_never_run(
    page: &LabPage,
    b: &CodeBlock,
    runs: &[(String, usize)],
    src: &Src<'_>,
) -> Option<Diagnostic> {
    let cell = &page.notebook.as_ref()?.notebook.cells[b.cell?];
    if cell.cell_type != CellType::Code {
        return None;
    }
    let name = crate::content::cells::writefile_magic(&cell.source)?;
    if !name.ends_with(".py") {
        return None;
    }
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let run = runs
        .iter()
        .any(|(r, l)| *l > b.line && base(r) == base(name));
    (!run).then(|| {
        Diagnostic::new(
            Severity::Warning,
            "script-never-run",
            format!("`{name}` is written but no later cell runs it"),
            src.file,
        )
        .at(src.text, b.line, Some(name))
        .help(format!(
            "add a cell `!python3 {name}` (or `%run {name}`) after it"
        ))
    })
}

/// Every lint finding of a notebook page, located by cell.
pub(super) fn check(page: &LabPage, region: &str, table: &ModelTable) -> Vec<Diagnostic> {
    let Some(nb) = page.notebook.as_deref() else {
        return Vec::new();
    };
    let mut out: Vec<Diagnostic> = super::page::check(page, &nb.text, region, table)
        .into_iter()
        .map(|d| to_cell(d, nb))
        .collect();
    out.extend(outputs(nb));
    out.extend(run_order(nb));
    out.sort_by_key(|d| (d.cell.as_ref().map_or(0, |c| c.number), d.line, d.column));
    out
}

/// A finding on a layout line, moved to its cell with the cell's line as
/// snippet (header and footer lines of a cell point at its first/last line).
fn to_cell(d: Diagnostic, nb: &NotebookPage) -> Diagnostic {
    let Some(loc) = nb.locate(d.line) else {
        return d;
    };
    let src = nb.cell_line(&loc).unwrap_or_default().to_string();
    let layout = nb.text.lines().nth(d.line.saturating_sub(1)).unwrap_or("");
    let d = if layout == src && d.snippet.is_some() {
        let mut d = d;
        d.line = loc.line;
        d.snippet = Some(src);
        d
    } else {
        d.at_line(loc.line, &src, None)
    };
    d.in_cell(loc)
}

/// The output rules: secrets, accounts, saved errors.
fn outputs(nb: &NotebookPage) -> Vec<Diagnostic> {
    let file = &nb.notebook.path;
    let scrubber = Scrubber::builtin();
    let mut out = Vec::new();
    for cell in nb
        .notebook
        .cells
        .iter()
        .filter(|c| c.cell_type == CellType::Code)
    {
        let at = |sev, code: &str, msg: String| {
            Diagnostic::new(sev, code, msg, file)
                .at_position(1, 1)
                .in_cell(cell.location(1))
        };
        let mut reported: HashSet<&'static str> = HashSet::new();
        for (k, o) in cell.outputs.iter().enumerate() {
            let what = output_name(o);
            if let Output::Error { ename, evalue, .. } = o {
                let first = evalue.lines().next().unwrap_or_default();
                let msg = format!(
                    "cell {} was saved with an error output: `{}`",
                    cell.number(),
                    quote(&scrubber.text(&format!("{ename}: {first}")))
                );
                out.push(
                    at(Severity::Warning, "notebook-output-error", msg)
                        .note("a student sees the error before running anything; labcheck re-runs the cell and ignores saved outputs")
                        .help("fix the cell, then restart the kernel and run all before saving, or clear its outputs"),
                );
            }
            for text in o.texts() {
                for (n, line) in text.lines().enumerate() {
                    let where_ = || {
                        format!(
                            "output {} ({what}), line {}: `{}`",
                            k + 1,
                            n + 1,
                            quote(&scrubber.text(line))
                        )
                    };
                    let found = scrubber.findings(line);
                    let secret = found.iter().find(|(r, kind)| {
                        *kind != "account-id" && !line[r.clone()].contains("EXAMPLE")
                    });
                    if let Some((_, kind)) = secret
                        && reported.insert("secret")
                    {
                        let what = if *kind == "access-key" {
                            "an access key id"
                        } else {
                            "a secret key or session token"
                        };
                        let msg = format!("a saved output of cell {} holds {what}", cell.number());
                        out.push(
                            at(Severity::Error, "notebook-output-secret", msg)
                                .note(where_())
                                .help("deactivate the key, then clear the outputs before committing: `jupyter nbconvert --clear-output --inplace <notebook>`"),
                        );
                    }
                    let arn = ARN
                        .captures_iter(line)
                        .find(|c| !EXAMPLE_ACCOUNTS.contains(&&c[1]));
                    if let Some(c) = arn
                        && reported.insert("arn")
                    {
                        let msg = format!(
                            "a saved output of cell {} holds an ARN with account id `{}`",
                            cell.number(),
                            &c[1]
                        );
                        out.push(
                            at(Severity::Warning, "notebook-output-arn", msg)
                                .note(where_())
                                .help("clear the outputs before committing, or replace the account with the documentation placeholder `111122223333`"),
                        );
                    } else if line.to_ascii_lowercase().contains("account")
                        && let Some((r, _)) = found.iter().find(|(r, kind)| {
                            *kind == "account-id" && !EXAMPLE_ACCOUNTS.contains(&&line[r.clone()])
                        })
                        && reported.insert("account")
                    {
                        let msg = format!(
                            "a saved output of cell {} holds account id `{}`",
                            cell.number(),
                            &line[r.clone()]
                        );
                        out.push(
                            at(Severity::Warning, "notebook-output-account-id", msg)
                                .note(where_())
                                .help("clear the outputs before committing, or replace the account with the documentation placeholder `111122223333`"),
                        );
                    }
                }
            }
        }
    }
    out
}

/// `notebook-run-out-of-order`: the first code cell whose saved execution
/// count is not above the one of an earlier cell.
fn run_order(nb: &NotebookPage) -> Option<Diagnostic> {
    let mut prev: Option<(usize, u64)> = None;
    for cell in &nb.notebook.cells {
        let Some(count) = cell
            .execution_count
            .filter(|_| cell.cell_type == CellType::Code)
        else {
            continue;
        };
        if let Some((before, before_count)) = prev
            && count <= before_count
        {
            let msg = format!(
                "cells were run out of order: cell {} has execution count {count}, cell {before} above it {before_count}",
                cell.number()
            );
            return Some(
                Diagnostic::new(Severity::Warning, "notebook-run-out-of-order", msg, &nb.notebook.path)
                    .at_position(1, 1)
                    .in_cell(cell.location(1))
                    .note("the saved outputs may depend on state a reader running top to bottom does not have")
                    .help("restart the kernel and run all cells before saving (Kernel → Restart Kernel and Run All Cells)"),
            );
        }
        prev = Some((cell.number(), count));
    }
    None
}

fn output_name(o: &Output) -> String {
    match o {
        Output::Stream { name, .. } => format!("`{name}`"),
        Output::Data { display: true, .. } => "`display_data`".to_string(),
        Output::Data { .. } => "`execute_result`".to_string(),
        Output::Error { .. } => "`error`".to_string(),
    }
}

/// At most [`QUOTE_CHARS`] characters of `s`, trimmed, `…` when cut.
/// A saved output line as a note shows it: already scrubbed; the scrubber's
/// key placeholder is named rather than shown (an AKIA-shaped literal in a
/// message reads like a leak), then cut at [`QUOTE_CHARS`].
fn quote(s: &str) -> String {
    let named = s.replace(crate::cassette::scrub::ACCESS_KEY, "[SCRUBBED_ACCESS_KEY]");
    let t = named.trim();
    match t.char_indices().nth(QUOTE_CHARS) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// A notebook that does not parse, as a lint error: at the JSON `line:column`
/// (with the JSON line as snippet) when the JSON is at fault, at the cell
/// otherwise.
pub(super) fn error_diagnostic(e: &NotebookError, bytes: &[u8]) -> Diagnostic {
    let d = Diagnostic::new(Severity::Error, e.kind(), e.problem.to_string(), &e.path)
        .help(e.problem.hint());
    match &e.position {
        NotebookPosition::File => d,
        NotebookPosition::Json { line, column, cell } => {
            let text = String::from_utf8_lossy(bytes);
            let d = d.at_column(&text, *line, *column, 1);
            match cell {
                Some(n) => d.note(format!("in cell {n}")),
                None => d,
            }
        }
        NotebookPosition::Cell(loc) => d.at_position(loc.line, 1).in_cell(loc.clone()),
    }
}

#[cfg(test)]
mod tests;
