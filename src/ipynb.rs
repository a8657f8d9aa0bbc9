//! A Jupyter notebook file (`.ipynb`, nbformat 4) read as its list of cells:
//! what a `notebook` step runs and what a notebook page's Markdown is made of.
//!
//! Only the parts labcheck uses are read: each cell's type, id, source
//! (a string or a list of lines), tags and, for grading, nothing of the saved
//! outputs (a student's notebook is always re-executed, never trusted).
//! Cells are numbered from 1 over all cells, in file order: "cell 7" is the
//! seventh cell whatever its type, as a student counts them in Jupyter.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The largest notebook file read (saved outputs with images make big files).
pub const MAX_NOTEBOOK: u64 = 64 << 20;

/// A notebook's cells, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notebook {
    pub path: PathBuf,
    pub cells: Vec<Cell>,
}

/// The kind of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellType {
    Code,
    Markdown,
    Raw,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// 1-based over all cells of the notebook.
    pub number: usize,
    pub cell_type: CellType,
    /// The nbformat 4.5 cell id, where the file has one.
    pub id: Option<String>,
    pub source: String,
    /// `metadata.tags`.
    pub tags: Vec<String>,
}

/// Why a file is not a notebook labcheck can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotebookError {
    #[error("{path}: cannot read: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}:{line}:{column}: not valid notebook JSON: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: nbformat {major} is unsupported (hint: open and save it in Jupyter, or run `jupyter nbconvert --to notebook --nbformat 4`)"
    )]
    Version { path: PathBuf, major: u64 },
    #[error("{path}: cell {number}: unknown cell_type `{found}` (expected code, markdown or raw)")]
    CellType {
        path: PathBuf,
        number: usize,
        found: String,
    },
}

#[derive(Deserialize)]
struct RawNotebook {
    nbformat: u64,
    cells: Vec<RawCell>,
}

#[derive(Deserialize)]
struct RawCell {
    cell_type: String,
    id: Option<String>,
    #[serde(default)]
    source: Source,
    #[serde(default)]
    metadata: RawMetadata,
}

#[derive(Deserialize, Default)]
struct RawMetadata {
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Source {
    Text(String),
    Lines(Vec<String>),
}

impl Default for Source {
    fn default() -> Self {
        Source::Text(String::new())
    }
}

impl Notebook {
    /// Reads and parses `path`: a regular file of at most [`MAX_NOTEBOOK`]
    /// bytes (never a FIFO or device, which could block or never end).
    pub fn read(path: &Path) -> Result<Notebook, NotebookError> {
        let io = |message: String| NotebookError::Io {
            path: path.to_path_buf(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
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
        let text = std::fs::read_to_string(path).map_err(|e| io(e.to_string()))?;
        Notebook::parse(path, &text)
    }

    /// Parses notebook JSON; `path` is only used in messages and kept.
    pub fn parse(path: &Path, text: &str) -> Result<Notebook, NotebookError> {
        let json_err = |e: serde_json::Error| NotebookError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        // The version first: an nbformat 3 file has `worksheets`, not `cells`.
        let value: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
        if let Some(major) = value.get("nbformat").and_then(serde_json::Value::as_u64)
            && major != 4
        {
            return Err(NotebookError::Version {
                path: path.to_path_buf(),
                major,
            });
        }
        let raw: RawNotebook = serde_json::from_value(value).map_err(json_err)?;
        debug_assert_eq!(raw.nbformat, 4);
        let cells = raw
            .cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let cell_type = match c.cell_type.as_str() {
                    "code" => CellType::Code,
                    "markdown" => CellType::Markdown,
                    "raw" => CellType::Raw,
                    other => {
                        return Err(NotebookError::CellType {
                            path: path.to_path_buf(),
                            number: i + 1,
                            found: other.to_string(),
                        });
                    }
                };
                Ok(Cell {
                    number: i + 1,
                    cell_type,
                    id: c.id,
                    source: match c.source {
                        Source::Text(t) => t,
                        Source::Lines(l) => l.concat(),
                    },
                    tags: c.metadata.tags,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Notebook {
            path: path.to_path_buf(),
            cells,
        })
    }

    /// The notebook as one Markdown text: Markdown cells as they are, code
    /// cells as fenced ```` ```python ```` blocks. A stand-in page for
    /// `lab.toml`'s checks (headings, checklist, code blocks) until notebook
    /// pages have their own parser with cell positions.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for cell in &self.cells {
            match cell.cell_type {
                CellType::Markdown => out.push_str(cell.source.trim_end()),
                CellType::Code => {
                    out.push_str("```python\n");
                    out.push_str(cell.source.trim_end());
                    out.push_str("\n```");
                }
                CellType::Raw => continue,
            }
            out.push_str("\n\n");
        }
        out
    }

    /// The cell numbered `number`.
    pub fn cell(&self, number: usize) -> Option<&Cell> {
        number.checked_sub(1).and_then(|i| self.cells.get(i))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Notebook, NotebookError> {
        Notebook::parse(Path::new("lab.ipynb"), text)
    }

    #[test]
    fn cells_are_numbered_over_all_types_and_sources_joined() {
        let nb = parse(
            r##"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
              {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Title\n", "- [ ] one"]},
              {"cell_type": "code", "id": "c1", "metadata": {"tags": ["setup"]}, "source": "print(1)", "outputs": [], "execution_count": null}
            ]}"##,
        )
        .unwrap();
        assert_eq!(nb.cells.len(), 2);
        assert_eq!(nb.cells[0].source, "# Title\n- [ ] one");
        assert_eq!(nb.cell(2).unwrap().tags, vec!["setup".to_string()]);
        assert_eq!(nb.cell(2).unwrap().cell_type, CellType::Code);
        assert!(nb.cell(0).is_none());
        let md = nb.to_markdown();
        assert!(
            md.contains("# Title\n- [ ] one\n\n```python\nprint(1)\n```"),
            "{md}"
        );
    }

    #[test]
    fn devices_and_directories_are_not_read() {
        let e = Notebook::read(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = Notebook::read(Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn nbformat_3_bad_json_and_unknown_cell_types_are_clear_errors() {
        let e = parse(r#"{"nbformat": 3, "worksheets": []}"#).unwrap_err();
        assert!(e.to_string().contains("nbformat 3 is unsupported"), "{e}");
        let e = parse("{\"nbformat\": 4,\n \"cells\": [}").unwrap_err();
        assert!(matches!(e, NotebookError::Json { line: 2, .. }), "{e:?}");
        let e = parse(r#"{"nbformat": 4, "metadata": {}}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `cells`"), "{e}");
        let e = parse(r#"{"nbformat": 4, "cells": [{"cell_type": "heading", "source": ""}]}"#)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("cell 1: unknown cell_type `heading`"),
            "{e}"
        );
    }
}
