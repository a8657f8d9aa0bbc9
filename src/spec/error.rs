//! `SpecError`: a problem in `lab.toml` (or in `lab.md` as seen from it), with
//! the file, 1-based line and column, what was expected, and a hint saying
//! what to write instead. Rendered as
//! ``labs/x/lab.toml:14:9: unknown key `expct` in `step[0]` … (hint: did you mean `expect`?)``.
//!
//! [`SpecError::kind`] is a stable kebab-case name for tests and tools;
//! [`SpecError::diagnostic`] renders it with the source line and a caret
//! through the shared [`crate::diagnostic`] layer.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diagnostic::{CellLocation, Diagnostic, LineIndex, Severity};

/// A lab that cannot be loaded. See [`Problem`] for the kinds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("{}{}:{line}:{column}: {problem} (hint: {hint})", file.display(), CellTag(cell.as_ref()))]
pub struct SpecError {
    /// The file at fault (`…/lab.toml` or the page).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Characters the problem spans from `column` on its line (0: a point).
    pub width: usize,
    /// What is wrong, including what was expected.
    pub problem: Box<Problem>,
    /// What to write instead.
    pub hint: String,
    /// When the file is a notebook and the problem is in a cell: the cell;
    /// `line` and `column` are then within the cell's source.
    pub cell: Option<CellLocation>,
}

/// ` [cell 3 (id `x`)]` after a notebook's path, nothing otherwise.
pub(crate) struct CellTag<'a>(pub Option<&'a CellLocation>);

impl fmt::Display for CellTag<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => Ok(()),
            Some(c) => write!(f, " {}", c.tag()),
        }
    }
}

impl SpecError {
    /// Stable kebab-case name of the problem, e.g. `unknown-key`.
    pub fn kind(&self) -> &'static str {
        self.problem.kind()
    }
    pub fn line(&self) -> usize {
        self.line
    }
    pub fn column(&self) -> usize {
        self.column
    }
    pub fn file(&self) -> &Path {
        &self.file
    }
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
    pub fn hint(&self) -> &str {
        &self.hint
    }

    /// The error as a located diagnostic (code `spec/<kind>`): the file's
    /// line with a caret under the span, the hint as help, and the
    /// did-you-mean name when the hint offers exactly one.
    pub fn diagnostic(&self) -> Diagnostic {
        let code = format!("spec/{}", self.kind());
        let bytes = std::fs::read(&self.file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let suggestion = self
            .hint
            .strip_prefix("did you mean `")
            .and_then(|rest| rest.strip_suffix("`?"))
            .filter(|name| !name.contains('`'))
            .map(str::to_string);
        let d = Diagnostic::new(Severity::Error, &code, self.problem.to_string(), &self.file);
        let d = match &self.cell {
            // A notebook: the cell's own line, never a line of the JSON.
            Some(cell) => {
                let source = crate::content::Notebook::read(&self.file)
                    .ok()
                    .and_then(|nb| nb.cells.get(cell.number - 1).map(|c| c.source.clone()))
                    .unwrap_or_default();
                d.at_column(&source, self.line, self.column, self.width.max(1))
                    .in_cell(cell.clone())
            }
            None => d.at_column(&text, self.line, self.column, self.width.max(1)),
        };
        d.help(self.hint.clone()).suggestion(suggestion)
    }
}

/// What is wrong. Messages are lowercase with backticked values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("cannot read the file: {message}")]
    Io { message: String },
    #[error("not UTF-8: byte 0x{byte:02x}")]
    NotUtf8 { byte: u8 },
    #[error("the page `{}` is a directory, expected a Markdown file or a notebook", page.display())]
    PageIsDirectory { page: PathBuf },
    #[error("{key} `{value}` is longer than the limit of {limit}")]
    DurationTooLong {
        key: String,
        value: String,
        limit: String,
    },
    #[error("invalid TOML: {message}")]
    TomlSyntax { message: String },
    #[error("unknown key `{key}` in {table}, expected one of {}", ticks(expected))]
    /// `table` is rendered for messages: `` `step[0].expect` `` or `the top level`.
    UnknownKey {
        key: String,
        table: String,
        expected: Vec<String>,
    },
    #[error("missing key `{key}` in {table}")]
    MissingKey { key: String, table: String },
    #[error("wrong type for {key}: {message}")]
    WrongType { key: String, message: String },
    #[error("unknown step kind `{kind}`, expected one of `shell`, `python`, `sdk`, `playground`")]
    UnknownKind { kind: String },
    #[error(
        "unknown client `{client}`, expected one of `aws-cli-v1`, `aws-cli-v2`, `boto3`, `rust-sdk`"
    )]
    UnknownClient { client: String },
    #[error(
        "client `{client}` cannot run a `{kind}` step, expected one of {}",
        ticks(allowed)
    )]
    ClientNotForKind {
        client: String,
        kind: &'static str,
        allowed: Vec<String>,
    },
    #[error("`clients` is empty, expected at least one client")]
    EmptyClients,
    #[error("client `{client}` is listed twice")]
    DuplicateClient { client: String },
    #[error(
        "key `{key}` does not apply to a `{kind}` step, expected only keys of {}",
        ticks(allowed)
    )]
    KeyNotForKind {
        key: String,
        kind: &'static str,
        allowed: Vec<String>,
    },
    #[error(
        "expectation `{key}` does not apply to a `{kind}` step: labcheck sees a model's response only for the `sdk` model calls and `playground` steps"
    )]
    ExpectNotForKind { key: String, kind: &'static str },
    #[error(
        "expectation `{key}` does not apply to an `{call}` call: it calls no model, so there is no stop reason or token usage"
    )]
    ExpectNotForCall { key: String, call: &'static str },
    #[error(
        "unknown sdk call `{call}`, expected one of `invoke`, `invoke-stream`, `converse`, `converse-stream`, `apply-guardrail`"
    )]
    UnknownCall { call: String },
    #[error("`{key}` must set exactly one of {}, found {found}", ticks(allowed))]
    BadSource {
        key: String,
        allowed: Vec<String>,
        found: String,
    },
    #[error("unknown section `{section}`: no heading with that text in the page")]
    UnknownSection {
        section: String,
        nearest: Vec<String>,
    },
    #[error("section `{section}` is ambiguous: the heading appears on lines {}", lines.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))]
    AmbiguousSection { section: String, lines: Vec<usize> },
    #[error("{message}")]
    MissingBlock { message: String },
    /// A `{ cell = … }` / `{ tag = … }` selector that does not name one cell;
    /// `kind` is `unknown-cell`, `unknown-tag`, `ambiguous-tag`, `no-code-in-cell`
    /// or `not-a-notebook`.
    #[error("{message}")]
    CellRef { kind: &'static str, message: String },
    #[error("{message}")]
    BadNotebook { kind: &'static str, message: String },
    #[error("checklist item {index} \"{text}\" is not proven by any step")]
    UnboundChecklistItem { index: usize, text: String },
    #[error("no checklist item {reference} in the page (it has {count} item{})", if *count == 1 { "" } else { "s" })]
    UnknownChecklistItem { reference: String, count: usize },
    #[error("duplicate step id `{id}` (first used on line {first_line})")]
    DuplicateStepId { id: String, first_line: usize },
    #[error("invalid step id `{id}`, expected letters, digits, `-`, `_` or `.`")]
    BadStepId { id: String },
    #[error(
        "invalid duration `{value}`, expected a number and a unit (`500ms`, `90s`, `2m`, `1h`, `365d`)"
    )]
    BadDuration { value: String },
    #[error("invalid regex `{pattern}`: {message}")]
    BadRegex { pattern: String, message: String },
    #[error("invalid JSON in `{key}`: {message}")]
    BadJson { key: String, message: String },
    #[error(
        "invalid JSON pointer `{pointer}`, expected an empty string (the whole document) or a path starting with `/`"
    )]
    BadJsonPointer { pointer: String },
    #[error(
        "unknown operation `{operation}`, expected an operation of a Bedrock service model (`labcheck operations` lists them)"
    )]
    UnknownOperation { operation: String },
    #[error("unknown or unemulated service `{service}`")]
    UnknownService { service: String },
    #[error("invalid value for `{key}`: {message}")]
    BadValue { key: String, message: String },
    #[error("the page `{}` does not exist", page.display())]
    MissingPage { page: PathBuf },
    #[error("the page cannot be parsed: {message}")]
    BadPage { message: String },
    #[error("the lab has no title, expected `[lab] title` or a `title` in the page's front matter")]
    MissingTitle,
    #[error("the lab has no `[[step]]`")]
    NoSteps,
}

impl Problem {
    /// Stable kebab-case name.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Io { .. } => "io",
            Problem::NotUtf8 { .. } => "not-utf8",
            Problem::PageIsDirectory { .. } => "page-is-directory",
            Problem::DurationTooLong { .. } => "duration-too-long",
            Problem::TomlSyntax { .. } => "toml-syntax",
            Problem::UnknownKey { .. } => "unknown-key",
            Problem::MissingKey { .. } => "missing-key",
            Problem::WrongType { .. } => "wrong-type",
            Problem::UnknownKind { .. } => "unknown-kind",
            Problem::UnknownClient { .. } => "unknown-client",
            Problem::ClientNotForKind { .. } => "client-not-for-kind",
            Problem::EmptyClients => "empty-clients",
            Problem::DuplicateClient { .. } => "duplicate-client",
            Problem::KeyNotForKind { .. } => "key-not-for-kind",
            Problem::ExpectNotForKind { .. } | Problem::ExpectNotForCall { .. } => {
                "expect-not-for-kind"
            }
            Problem::UnknownCall { .. } => "unknown-call",
            Problem::BadSource { .. } => "bad-source",
            Problem::UnknownSection { .. } => "unknown-section",
            Problem::AmbiguousSection { .. } => "ambiguous-section",
            Problem::MissingBlock { .. } => "missing-block",
            Problem::CellRef { kind, .. } | Problem::BadNotebook { kind, .. } => kind,
            Problem::UnboundChecklistItem { .. } => "unbound-checklist-item",
            Problem::UnknownChecklistItem { .. } => "unknown-checklist-item",
            Problem::DuplicateStepId { .. } => "duplicate-step-id",
            Problem::BadStepId { .. } => "bad-step-id",
            Problem::BadDuration { .. } => "bad-duration",
            Problem::BadRegex { .. } => "bad-regex",
            Problem::BadJson { .. } => "bad-json",
            Problem::BadJsonPointer { .. } => "bad-json-pointer",
            Problem::UnknownOperation { .. } => "unknown-operation",
            Problem::UnknownService { .. } => "unknown-service",
            Problem::BadValue { .. } => "bad-value",
            Problem::MissingPage { .. } => "missing-page",
            Problem::BadPage { .. } => "bad-page",
            Problem::MissingTitle => "missing-title",
            Problem::NoSteps => "no-steps",
        }
    }
}

/// `` `a`, `b`, `c` ``.
pub(crate) fn ticks(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate to `word`, if it is close enough to be a typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    nearest_all(word, candidates).into_iter().next()
}

/// All candidates tied for closest to `word`, if close enough to be a typo.
pub(crate) fn nearest_all<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .collect();
    let best = scored.iter().map(|(d, _)| *d).min();
    scored
        .into_iter()
        .filter(|(d, _)| Some(*d) == best)
        .map(|(_, c)| c)
        .collect()
}

/// A file's text, for turning byte spans into 1-based line:column (through
/// a [`LineIndex`]: locating every step of a long file stays linear).
pub(crate) struct Source<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    lines: LineIndex,
}

impl<'a> Source<'a> {
    pub(crate) fn new(file: &'a Path, text: &'a str) -> Source<'a> {
        Source {
            file,
            text,
            lines: LineIndex::new(text),
        }
    }

    /// Builds an error at the start of `span` (`None`: 1:1), spanning its
    /// first line.
    pub(crate) fn error(
        &self,
        span: Option<Range<usize>>,
        problem: Problem,
        hint: impl fmt::Display,
    ) -> SpecError {
        let (line, column, width) = span.map_or((1, 1, 0), |s| {
            let (line, column) = self.lines.line_col(self.text, s.start);
            let width = self
                .text
                .get(s.clone())
                .map_or(0, |t| t.lines().next().unwrap_or("").chars().count());
            (line, column, width)
        });
        SpecError {
            file: self.file.to_path_buf(),
            line,
            column,
            width,
            problem: Box::new(problem),
            hint: hint.to_string(),
            cell: None,
        }
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.lines.line_col(self.text, offset).0
    }
}

/// An error in a page line (column 1).
pub(crate) fn page_error(
    file: &Path,
    line: usize,
    problem: Problem,
    hint: impl fmt::Display,
) -> SpecError {
    SpecError {
        file: file.to_path_buf(),
        line,
        column: 1,
        width: 0,
        problem: Box::new(problem),
        hint: hint.to_string(),
        cell: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_count_chars_and_span_one_line() {
        let t = "ab\nưx = 1\n";
        let src = Source::new(Path::new("lab.toml"), t);
        let e = src.error(Some(0..2), Problem::NoSteps, "h");
        assert_eq!((e.line, e.column, e.width), (1, 1, 2));
        // `x` follows a 2-byte character: column 2, not 3.
        let e = src.error(Some(3 + "ư".len()..t.len()), Problem::NoSteps, "h");
        assert_eq!((e.line, e.column, e.width), (2, 2, 5));
        assert_eq!(src.line_of(3), 2);
    }

    #[test]
    fn nearest_finds_typos_only() {
        let keys = ["expect", "exit_code", "stdout"];
        assert_eq!(nearest("expct", keys), Some("expect"));
        assert_eq!(nearest("stdot", keys), Some("stdout"));
        assert_eq!(nearest("completely-different", keys), None);
    }
}
