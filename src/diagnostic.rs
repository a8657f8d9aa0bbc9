//! One located problem — in `lab.toml`, a page, a cassette or found by lint —
//! and its two renderings: rustc-style text drawn by `annotate-snippets` (the
//! renderer rustc and cargo use: the source line, a caret under the span, notes
//! and help) and a serde shape for the versioned JSON of `labcheck lint`.
//!
//! Every error family converts into a [`Diagnostic`] (`SpecError::diagnostic`,
//! `CassetteError::diagnostic`); lint builds them directly. Positions are
//! 1-based lines and character columns; [`LineIndex`] turns byte offsets into
//! them in `O(log lines)`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};
use serde::Serialize;

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

/// Whether text renderings carry ANSI colours. The binary decides (terminal,
/// `NO_COLOR`); the library never looks at the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Color {
    #[default]
    Never,
    Always,
}

/// A position inside a notebook: cell number (1-based), id, line in the cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CellLocation {
    /// 1-based cell number.
    pub number: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// 1-based line within the cell's source.
    pub line: usize,
}

impl CellLocation {
    /// `[cell 3 (id setup)]`, written after a notebook's path where a
    /// Markdown page has nothing (`lab.ipynb [cell 3 (id setup)]:2:5`).
    pub fn tag(&self) -> String {
        match &self.id {
            Some(id) => format!("[cell {} (id {id})]", self.number),
            None => format!("[cell {}]", self.number),
        }
    }
}

impl std::fmt::Display for CellLocation {
    /// `cell 3 (id `setup`), line 2`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cell {}", self.number)?;
        if let Some(id) = &self.id {
            write!(f, " (id `{id}`)")?;
        }
        write!(f, ", line {}", self.line)
    }
}

/// One problem, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable kebab-case name, e.g. `aws-cli-v2-blob`, `spec/unknown-key`, `cassette-invalid`.
    pub code: String,
    /// What is wrong, lowercase, values in backticks.
    pub message: String,
    pub file: PathBuf,
    /// In a notebook: the cell; `line` and `column` are then within the
    /// cell's source and `snippet` is the cell's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellLocation>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters (1 when the finding is about the whole line).
    pub column: usize,
    /// Characters to underline from `column` (0: a single caret).
    pub width: usize,
    /// The source line, for the snippet (absent when not helpful or secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// What the student would see, sources, context.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The one replacement that is probably meant (a typo's nearest name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &str, message: impl Into<String>, file: &Path) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            message: message.into(),
            file: file.to_path_buf(),
            cell: None,
            line: 1,
            column: 1,
            width: 0,
            snippet: None,
            notes: Vec::new(),
            help: None,
            suggestion: None,
        }
    }

    /// Points at `line` of `text` (the whole file), underlining `needle` if
    /// it occurs on that line, else the line's non-blank part.
    pub fn at(self, text: &str, line: usize, needle: Option<&str>) -> Self {
        let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
        self.at_line(line, src, needle)
    }

    /// Like [`Diagnostic::at`], given the line's text (callers that place
    /// many diagnostics in one file split it into lines once).
    pub fn at_line(mut self, line: usize, src: &str, needle: Option<&str>) -> Self {
        self.line = line;
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

    /// Points at `line:column` of `text` with a caret `width` characters wide
    /// (clamped to the line), showing that line.
    pub fn at_column(mut self, text: &str, line: usize, column: usize, width: usize) -> Self {
        let src = text.lines().nth(line.saturating_sub(1));
        self.line = line;
        self.column = column.max(1);
        let room = src.map_or(0, |s| s.chars().count().saturating_sub(self.column - 1));
        self.width = width.min(room);
        self.snippet = src.map(str::to_string);
        self
    }

    /// Points at a line and column without a snippet.
    pub fn at_position(mut self, line: usize, column: usize) -> Self {
        self.line = line;
        self.column = column;
        self
    }

    /// Marks the position as inside a notebook cell (`line` is the cell's).
    pub fn in_cell(mut self, cell: CellLocation) -> Self {
        self.cell = Some(cell);
        self
    }

    /// The path as shown: `lab.ipynb [cell 3 (id setup)]` in a notebook.
    pub fn shown_path(&self) -> String {
        let path = self.file.display();
        match &self.cell {
            None => path.to_string(),
            Some(c) => format!("{path} {}", c.tag()),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    /// rustc-style plain rendering, ending with a newline.
    pub fn render(&self) -> String {
        self.render_with(Color::Never)
    }

    /// rustc-style rendering, ending with a newline.
    pub fn render_with(&self, color: Color) -> String {
        let renderer = match color {
            Color::Never => Renderer::plain(),
            Color::Always => Renderer::styled(),
        };
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
            Severity::Info => Level::INFO,
        };
        let path = self.shown_path();
        let title = level
            .primary_title(self.message.as_str())
            .id(self.code.as_str());
        let mut group = match &self.snippet {
            Some(src) => {
                let src = src.trim_end();
                let start = byte_of_char(src, self.column.saturating_sub(1));
                let end = byte_of_char(src, self.column.saturating_sub(1) + self.width);
                title.element(
                    Snippet::source(src)
                        .line_start(self.line)
                        .path(path.as_str())
                        .annotation(AnnotationKind::Primary.span(start..end)),
                )
            }
            None => title.element(
                Origin::path(path.as_str())
                    .line(self.line)
                    .char_column(self.column),
            ),
        };
        for note in &self.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        let suggestion = self
            .suggestion
            .as_ref()
            .filter(|s| !self.help.as_deref().is_some_and(|h| h.contains(s.as_str())))
            .map(|s| format!("did you mean `{s}`?"));
        for help in self.help.iter().chain(suggestion.as_ref()) {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let mut out = renderer.render(&[group]);
        out.push('\n');
        out
    }
}

/// Byte offset of the `n`th character of `s` (its length past the end).
fn byte_of_char(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(i, _)| i)
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

/// Every diagnostic, then a one-line summary naming `what` (`lint`).
pub fn render_text(what: &str, diagnostics: &[Diagnostic], color: Color) -> String {
    // A blank line after each, as rustc and cargo separate theirs.
    let mut out: String = diagnostics
        .iter()
        .map(|d| d.render_with(color) + "\n")
        .collect();
    let s = Summary::of(diagnostics);
    let _ = writeln!(
        out,
        "{what}: {} error(s), {} warning(s), {} info",
        s.errors, s.warnings, s.infos
    );
    out
}

/// Version of the JSON report ([`render_json`]); the shape is in `docs/lint.md`.
/// Adding an optional field keeps it; changing or removing one bumps it.
pub const JSON_VERSION: u32 = 1;

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

/// Byte offsets of a text's line starts, for turning many byte offsets into
/// line:column without rescanning the text each time.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// 1-based line and character column of byte `offset` in `text` (the
    /// text this index was built from); offsets past the end clamp to it.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }
}

/// 1-based line and column of the first byte of `bytes` that is not UTF-8
/// (the column counts the valid characters before it, plus one).
pub fn utf8_error_position(bytes: &[u8], e: &std::str::Utf8Error) -> (usize, usize) {
    let valid = &bytes[..e.valid_up_to()];
    // `valid` is UTF-8 by construction; an empty fallback only moves the column.
    let text = std::str::from_utf8(valid).unwrap_or_default();
    let line = text.matches('\n').count() + 1;
    let line_start = text.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_chars_and_lines() {
        let t = "ab\nưx = 1\n";
        let ix = LineIndex::new(t);
        assert_eq!(ix.line_col(t, 0), (1, 1));
        assert_eq!(ix.line_col(t, 3), (2, 1));
        assert_eq!(ix.line_col(t, 3 + "ư".len()), (2, 2));
        assert_eq!(ix.line_col(t, t.len()), (3, 1));
    }

    #[test]
    fn utf8_position_names_the_bad_byte() {
        let bytes = std::hint::black_box(b"{\n  \"a\": \"\xc6\xb0x\xff\"\n}");
        let e = std::str::from_utf8(bytes).expect_err("bad");
        // `  "a": "ưx` is 10 characters (`ư` is one): the bad byte is column 11.
        assert_eq!(utf8_error_position(bytes, &e), (2, 11));
    }

    #[test]
    fn renders_snippet_caret_notes_and_help() {
        let text = "a = 1\nexpct = 2\n";
        let d = Diagnostic::new(
            Severity::Error,
            "spec/unknown-key",
            "unknown key `expct`",
            Path::new("lab.toml"),
        )
        .at_column(text, 2, 1, 5)
        .note("a note")
        .help("use `expect`")
        .suggestion(Some("expect".into()));
        let out = d.render();
        assert!(
            out.starts_with("error[spec/unknown-key]: unknown key `expct`\n"),
            "{out}"
        );
        assert!(out.contains("--> lab.toml:2:1"), "{out}");
        assert!(out.contains("2 | expct = 2"), "{out}");
        assert!(out.contains("  | ^^^^^"), "{out}");
        assert!(out.contains("= note: a note"), "{out}");
        assert!(out.contains("= help: use `expect`"), "{out}");
        // The help already names the suggestion: not repeated.
        assert!(!out.contains("did you mean"), "{out}");
        assert!(!out.contains('\x1b'), "plain has no colour: {out}");
        assert!(d.render_with(Color::Always).contains('\x1b'));
    }
}
