//! A Jupyter notebook (`.ipynb`, nbformat 4, any minor version) read into its
//! cells: index, id, tags, type, source text, saved execution count and
//! outputs. This is the raw notebook; [`super::LabPage::from_notebook`] turns
//! it into the same page model a `lab.md` gives (sections, code blocks,
//! checklist), and the `notebook` step kind runs its cells.
//!
//! Every position a user sees is a [`CellLocation`] — the cell's 1-based
//! number, its nbformat id when it has one, the 1-based line within the
//! cell's source — never a line of the JSON. Only a notebook whose JSON does
//! not parse, or does not have the nbformat shape, is located by JSON
//! `line:column` (what `serde_json` reports), together with the cell number
//! when the problem is inside a cell.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

pub use crate::diagnostic::CellLocation;

/// The largest notebook file read.
pub const MAX_NOTEBOOK: u64 = 64 << 20;

/// A parsed notebook.
#[derive(Debug, Clone, PartialEq)]
pub struct Notebook {
    /// Where it was read from (used in messages).
    pub path: PathBuf,
    /// Always 4.
    pub nbformat: u64,
    pub nbformat_minor: u64,
    /// The kernel language (`metadata.kernelspec.language`, else
    /// `metadata.language_info.name`, else `python`), lowercase.
    pub language: String,
    /// The cells, in notebook order.
    pub cells: Vec<Cell>,
}

/// The nbformat cell types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellType {
    Code,
    Markdown,
    Raw,
}

impl CellType {
    pub fn as_str(self) -> &'static str {
        match self {
            CellType::Code => "code",
            CellType::Markdown => "markdown",
            CellType::Raw => "raw",
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// 0-based position in [`Notebook::cells`]; messages say [`Cell::number`].
    pub index: usize,
    /// nbformat ≥ 4.5 cell id.
    pub id: Option<String>,
    pub cell_type: CellType,
    /// `metadata.tags`.
    pub tags: Vec<String>,
    /// The source, lines joined exactly as saved (a list source concatenated).
    pub source: String,
    /// Saved `execution_count` of a code cell (`None`: never run, or not code).
    pub execution_count: Option<u64>,
    /// Saved outputs of a code cell, in order.
    pub outputs: Vec<Output>,
}

impl Cell {
    /// 1-based cell number, as Jupyter shows cells to a reader.
    pub fn number(&self) -> usize {
        self.index + 1
    }

    /// Where line `line` (1-based) of this cell's source is.
    pub fn location(&self, line: usize) -> CellLocation {
        CellLocation {
            number: self.number(),
            id: self.id.clone(),
            line,
        }
    }

    /// The source's lines, 1-based.
    pub fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.source.lines().enumerate().map(|(i, l)| (i + 1, l))
    }

    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

/// One saved output of a code cell, text only (binary data such as images
/// is kept as its base64 text under its MIME type).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `stream`: `name` is `stdout` or `stderr`.
    Stream { name: String, text: String },
    /// `execute_result` / `display_data`: MIME type → text.
    Data {
        display: bool,
        execution_count: Option<u64>,
        data: Vec<(String, String)>,
    },
    /// `error`.
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
}

impl Output {
    /// Every piece of text the output shows, for scanning (secrets, ids).
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Output::Stream { text, .. } => vec![text],
            Output::Data { data, .. } => data.iter().map(|(_, t)| t.as_str()).collect(),
            Output::Error {
                ename,
                evalue,
                traceback,
            } => std::iter::once(ename.as_str())
                .chain([evalue.as_str()])
                .chain(traceback.iter().map(String::as_str))
                .collect(),
        }
    }
}

/// Where a [`NotebookError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotebookPosition {
    /// The file as a whole (empty, a directory, unreadable).
    File,
    /// JSON `line:column` (1-based), and the cell number when inside `cells`.
    Json {
        line: usize,
        column: usize,
        cell: Option<usize>,
    },
    /// A cell (for problems found after the JSON parsed).
    Cell(CellLocation),
}

impl fmt::Display for NotebookPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotebookPosition::File => Ok(()),
            NotebookPosition::Json { line, column, cell } => {
                write!(f, "{line}:{column}")?;
                match cell {
                    Some(n) => write!(f, " (cell {n})"),
                    None => Ok(()),
                }
            }
            NotebookPosition::Cell(c) => write!(f, "{c}"),
        }
    }
}

/// A notebook that cannot be read as nbformat 4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{position}: {problem} (hint: {})", path.display(), if matches!(position, NotebookPosition::File) { "" } else { ":" }, problem.hint())]
pub struct NotebookError {
    pub path: PathBuf,
    pub position: NotebookPosition,
    pub problem: NotebookProblem,
}

/// What is wrong with a notebook. Messages are lowercase with backticked values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotebookProblem {
    #[error("cannot read the notebook: {message}")]
    Io { message: String },
    #[error("the notebook is a directory")]
    IsDirectory,
    #[error("the notebook is empty")]
    Empty,
    #[error("the notebook is not UTF-8: byte 0x{byte:02x}")]
    NotUtf8 { byte: u8 },
    #[error("the notebook is not valid JSON: {message}")]
    NotJson { message: String },
    #[error("nbformat {nbformat} is unsupported, expected nbformat 4")]
    Unsupported { nbformat: u64 },
    #[error("not an nbformat 4 notebook: {message}")]
    BadShape { message: String },
    #[error("cell id `{id}` is used again (first by cell {first})")]
    DuplicateId { id: String, first: usize },
}

impl NotebookProblem {
    /// Stable kebab-case name, e.g. `notebook-unsupported`.
    pub fn kind(&self) -> &'static str {
        match self {
            NotebookProblem::Io { .. } => "notebook-io",
            NotebookProblem::IsDirectory => "notebook-is-directory",
            NotebookProblem::Empty => "notebook-empty",
            NotebookProblem::NotUtf8 { .. } => "notebook-not-utf8",
            NotebookProblem::NotJson { .. } => "notebook-not-json",
            NotebookProblem::Unsupported { .. } => "notebook-unsupported",
            NotebookProblem::BadShape { .. } => "notebook-bad-shape",
            NotebookProblem::DuplicateId { .. } => "notebook-duplicate-id",
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            NotebookProblem::Io { .. } => "check the notebook's permissions",
            NotebookProblem::IsDirectory => "name the `.ipynb` file itself",
            NotebookProblem::Empty | NotebookProblem::NotJson { .. } => {
                "save the notebook again from Jupyter, or fix the JSON at this position"
            }
            NotebookProblem::NotUtf8 { .. } => "save the notebook as UTF-8",
            NotebookProblem::Unsupported { .. } => {
                "convert it: `jupyter nbconvert --to notebook --nbformat 4 lab.ipynb`"
            }
            NotebookProblem::BadShape { .. } => {
                "compare with the nbformat 4 schema (https://nbformat.readthedocs.io), or save the notebook again from Jupyter"
            }
            NotebookProblem::DuplicateId { .. } => {
                "give each cell its own id (`nbformat`'s `validate` with `repair_duplicate_cell_ids`, or edit one)"
            }
        }
    }
}

impl NotebookError {
    pub fn kind(&self) -> &'static str {
        self.problem.kind()
    }
}

// ---- the raw nbformat shape -------------------------------------------------

#[derive(Deserialize)]
struct Header {
    nbformat: Option<u64>,
}

#[derive(Deserialize)]
struct RawNotebook {
    #[allow(dead_code)]
    nbformat: u64,
    #[serde(default)]
    nbformat_minor: u64,
    #[serde(default)]
    metadata: RawNbMetadata,
    cells: Vec<RawCell>,
}

#[derive(Deserialize, Default)]
struct RawNbMetadata {
    kernelspec: Option<RawLang>,
    language_info: Option<RawLangInfo>,
}

#[derive(Deserialize)]
struct RawLang {
    language: Option<String>,
}

#[derive(Deserialize)]
struct RawLangInfo {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawCell {
    id: Option<String>,
    cell_type: CellType,
    #[serde(default)]
    metadata: RawCellMetadata,
    source: Source,
    #[serde(default)]
    execution_count: Option<u64>,
    #[serde(default)]
    outputs: Vec<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct RawCellMetadata {
    #[serde(default)]
    tags: Vec<String>,
}

/// nbformat "multiline string": a string or a list of strings.
struct Source(String);

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Source, D::Error> {
        d.deserialize_any(MultilineVisitor).map(Source)
    }
}

struct MultilineVisitor;

impl<'de> Visitor<'de> for MultilineVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a list of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut out = String::new();
        while let Some(part) = seq.next_element::<String>()? {
            out.push_str(&part);
        }
        Ok(out)
    }
}

/// A multiline string from a JSON value (outputs are read leniently).
fn multiline(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(parts)) => {
            parts.iter().filter_map(serde_json::Value::as_str).collect()
        }
        Some(other @ (serde_json::Value::Object(_) | serde_json::Value::Number(_))) => {
            other.to_string()
        }
        _ => String::new(),
    }
}

fn output(v: &serde_json::Value) -> Option<Output> {
    let s = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    match v.get("output_type")?.as_str()? {
        "stream" => Some(Output::Stream {
            name: s("name").unwrap_or_else(|| "stdout".to_string()),
            text: multiline(v.get("text")),
        }),
        kind @ ("execute_result" | "display_data") => {
            let data = v
                .get("data")
                .and_then(serde_json::Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(mime, val)| (mime.clone(), multiline(Some(val))))
                        .collect()
                })
                .unwrap_or_default();
            Some(Output::Data {
                display: kind == "display_data",
                execution_count: v.get("execution_count").and_then(serde_json::Value::as_u64),
                data,
            })
        }
        "error" => Some(Output::Error {
            ename: s("ename").unwrap_or_default(),
            evalue: s("evalue").unwrap_or_default(),
            traceback: v
                .get("traceback")
                .and_then(serde_json::Value::as_array)
                .map(|t| {
                    t.iter()
                        .filter_map(|l| l.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }),
        _ => None,
    }
}

impl Notebook {
    /// Reads and parses the notebook at `path`.
    pub fn read(path: &Path) -> Result<Notebook, NotebookError> {
        let err = |problem| NotebookError {
            path: path.to_path_buf(),
            position: NotebookPosition::File,
            problem,
        };
        let io = |message: String| err(NotebookProblem::Io { message });
        let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
        if meta.is_dir() {
            return Err(err(NotebookProblem::IsDirectory));
        }
        // Never a FIFO or a device, which could block or never end; never a
        // file too big to be a notebook (saved images make big ones).
        if !meta.is_file() {
            return Err(io("not a regular file".into()));
        }
        if meta.len() > MAX_NOTEBOOK {
            return Err(io(format!(
                "{} bytes, more than the {} MiB a notebook may have",
                meta.len(),
                MAX_NOTEBOOK >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
        Notebook::parse(path, &bytes)
    }

    /// Parses notebook bytes. `path` is only used in messages.
    pub fn parse(path: impl Into<PathBuf>, bytes: &[u8]) -> Result<Notebook, NotebookError> {
        let path = path.into();
        let fail = |position, problem| NotebookError {
            path: path.clone(),
            position,
            problem,
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(fail(NotebookPosition::File, NotebookProblem::Empty));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let (line, column) = crate::diagnostic::utf8_error_position(bytes, &e);
                let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
                let position = NotebookPosition::Json {
                    line,
                    column,
                    cell: None,
                };
                return Err(fail(position, NotebookProblem::NotUtf8 { byte }));
            }
        };
        // Syntax first, then the top level: a list or a string is not a
        // notebook, and serde would read a list as a struct's fields in order.
        if let Err(e) = serde_json::from_str::<de::IgnoredAny>(text) {
            let problem = NotebookProblem::NotJson {
                message: strip_position(&e),
            };
            return Err(fail(json_position(&e, None), problem));
        }
        let start = text.len() - text.trim_start().len();
        if !text[start..].starts_with('{') {
            let (line, column) = crate::diagnostic::LineIndex::new(text).line_col(text, start);
            let found = match text[start..].chars().next() {
                Some('[') => "a list",
                Some('"') => "a string",
                _ => "a single value",
            };
            let problem = NotebookProblem::BadShape {
                message: format!("the top level is {found}, expected an object with `cells`"),
            };
            let position = NotebookPosition::Json {
                line,
                column,
                cell: None,
            };
            return Err(fail(position, problem));
        }
        // Then the version alone: an nbformat 3 file has `worksheets`, not
        // `cells`, and deserves "unsupported", not "missing field `cells`".
        let header: Header = serde_json::from_str(text).map_err(|e| {
            let position = json_position(&e, None);
            let message = strip_position(&e);
            let problem = if e.is_syntax() || e.is_eof() {
                NotebookProblem::NotJson { message }
            } else {
                NotebookProblem::BadShape { message }
            };
            fail(position, problem)
        })?;
        match header.nbformat {
            Some(4) => {}
            Some(nbformat) => {
                return Err(fail(
                    NotebookPosition::Json {
                        line: 1,
                        column: 1,
                        cell: None,
                    },
                    NotebookProblem::Unsupported { nbformat },
                ));
            }
            None => {
                return Err(fail(
                    NotebookPosition::Json {
                        line: 1,
                        column: 1,
                        cell: None,
                    },
                    NotebookProblem::BadShape {
                        message: "missing field `nbformat`".to_string(),
                    },
                ));
            }
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawNotebook = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let cell = cell_of(e.path());
            let at = e.path().to_string();
            let inner = e.into_inner();
            let mut message = strip_position(&inner);
            if at != "." && !at.is_empty() {
                message = format!("{message} at `{at}`");
            }
            fail(
                json_position(&inner, cell),
                NotebookProblem::BadShape { message },
            )
        })?;

        let language = raw
            .metadata
            .kernelspec
            .and_then(|k| k.language)
            .or(raw.metadata.language_info.and_then(|l| l.name))
            .unwrap_or_else(|| "python".to_string())
            .to_lowercase();
        let mut cells = Vec::with_capacity(raw.cells.len());
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (index, c) in raw.cells.into_iter().enumerate() {
            let cell = Cell {
                index,
                id: c.id,
                cell_type: c.cell_type,
                tags: c.metadata.tags,
                source: c.source.0,
                execution_count: c.execution_count,
                outputs: c.outputs.iter().filter_map(output).collect(),
            };
            if let Some(id) = &cell.id
                && let Some(&first) = ids.get(id)
            {
                return Err(fail(
                    NotebookPosition::Cell(cell.location(1)),
                    NotebookProblem::DuplicateId {
                        id: id.clone(),
                        first: first + 1,
                    },
                ));
            }
            if let Some(id) = &cell.id {
                ids.insert(id.clone(), index);
            }
            cells.push(cell);
        }
        Ok(Notebook {
            path,
            nbformat: 4,
            nbformat_minor: raw.nbformat_minor,
            language,
            cells,
        })
    }

    /// The cell with nbformat id `id`.
    /// The cell numbered `number` (1-based, over all cells).
    pub fn cell(&self, number: usize) -> Option<&Cell> {
        number.checked_sub(1).and_then(|i| self.cells.get(i))
    }

    pub fn cell_by_id(&self, id: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.id.as_deref() == Some(id))
    }

    /// Every cell tagged `tag`, in order.
    pub fn cells_with_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Cell> {
        self.cells.iter().filter(move |c| c.has_tag(tag))
    }

    /// Up to three cell ids closest to `id`, best first.
    pub fn nearest_ids(&self, id: &str) -> Vec<String> {
        nearest(id, self.cells.iter().filter_map(|c| c.id.as_deref()))
    }

    /// Up to three tags closest to `tag`, best first.
    pub fn nearest_tags(&self, tag: &str) -> Vec<String> {
        let mut all: Vec<&str> = self
            .cells
            .iter()
            .flat_map(|c| c.tags.iter().map(String::as_str))
            .collect();
        all.sort_unstable();
        all.dedup();
        nearest(tag, all.into_iter())
    }
}

fn nearest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = names
        .map(|n| (strsim::normalized_levenshtein(wanted, n), n))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .filter(|(s, _)| *s > 0.3)
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// The 1-based cell number an error path such as `cells[2].source` is in.
fn cell_of(path: &serde_path_to_error::Path) -> Option<usize> {
    let mut segments = path.iter();
    while let Some(s) = segments.next() {
        if matches!(s, serde_path_to_error::Segment::Map { key } if key == "cells")
            && let Some(serde_path_to_error::Segment::Seq { index }) = segments.next()
        {
            return Some(index + 1);
        }
    }
    None
}

fn json_position(e: &serde_json::Error, cell: Option<usize>) -> NotebookPosition {
    NotebookPosition::Json {
        line: e.line().max(1),
        column: e.column().max(1),
        cell,
    }
}

/// serde_json's message without its trailing ` at line L column C` (the
/// position is carried separately).
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests;
