//! One lint finding and its two renderings: rustc-style text with a source
//! snippet and caret, and the versioned JSON report (shape in `docs/lint.md`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Version of the `--format json` report.
pub const JSON_VERSION: u32 = 1;

/// How bad a finding is. Only errors make `labcheck lint` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One finding, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable kebab-case check name, e.g. `aws-cli-v2-blob`, `spec/unbound-checklist-item`.
    pub code: String,
    /// What is wrong, lowercase, values in backticks.
    pub message: String,
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters (1 when the finding is about the whole line).
    pub column: usize,
    /// Characters to underline from `column` (0: none).
    pub width: usize,
    /// The source line, for the snippet (absent when not helpful).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// What the student would see, sources, context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &str, message: impl Into<String>, file: &Path) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            message: message.into(),
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            width: 0,
            snippet: None,
            notes: Vec::new(),
            help: None,
        }
    }

    /// Points at `line` of `text` (the whole file), underlining `needle` if
    /// it occurs on that line, else the line's non-blank part.
    pub fn at(mut self, text: &str, line: usize, needle: Option<&str>) -> Self {
        self.line = line;
        let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        let (column, width) = match needle.and_then(|n| src.find(n).map(|i| (i, n))) {
            Some((i, n)) => (src[..i].chars().count() + 1, n.chars().count()),
            None => {
                let lead = src.len() - src.trim_start().len();
                (src[..lead].chars().count() + 1, src.trim().chars().count())
            }
        };
        self.column = column;
        self.width = width;
        self.snippet = Some(src.to_string());
        self
    }

    /// Points at a line and column without a snippet.
    pub fn at_position(mut self, line: usize, column: usize) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// rustc-style rendering, ending with a blank line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}[{}]: {}",
            self.severity.as_str(),
            self.code,
            self.message
        );
        let gutter = " ".repeat(self.line.to_string().len());
        let _ = writeln!(
            out,
            "{gutter}--> {}:{}:{}",
            self.file.display(),
            self.line,
            self.column
        );
        if let Some(src) = &self.snippet {
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{} | {}", self.line, src.trim_end());
            if self.width > 0 {
                let pad = " ".repeat(self.column - 1);
                let _ = writeln!(out, "{gutter} | {pad}{}", "^".repeat(self.width));
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "{gutter} = note: {note}");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{gutter} = help: {help}");
        }
        out.push('\n');
        out
    }
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic]) -> Summary {
        let mut s = Summary::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
        }
        s
    }
}

/// Text report: every diagnostic, then a one-line summary.
pub fn render_text(diagnostics: &[Diagnostic]) -> String {
    let mut out: String = diagnostics.iter().map(Diagnostic::render).collect();
    let s = Summary::of(diagnostics);
    let _ = writeln!(
        out,
        "lint: {} error(s), {} warning(s), {} info",
        s.errors, s.warnings, s.infos
    );
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    summary: Summary,
    diagnostics: &'a [Diagnostic],
}

/// JSON report (`{"version":1,"summary":{…},"diagnostics":[…]}`), pretty, newline-terminated.
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let report = JsonReport {
        version: JSON_VERSION,
        summary: Summary::of(diagnostics),
        diagnostics,
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
