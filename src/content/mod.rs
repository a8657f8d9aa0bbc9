//! `lab.md`, the student page, read into what `lab.toml` can point at: the
//! front matter, the headings, the fenced code blocks (addressed by section
//! heading and 0-based index) and the `- [ ]` verification checklist.
//!
//! The page is parsed once with pulldown-cmark; every item keeps its 1-based
//! line so errors can point into `lab.md`. Hugo shortcode lines such as
//! `{{% notice tip %}}` or `{{< youtube x >}}` are blanked before parsing, so
//! the markdown between an opening and a closing shortcode is parsed as if
//! the shortcode were not there.
//!
//! A *section* is a heading and everything after it up to the next heading of
//! the same or a higher level (so blocks in sub-sections count too). Heading
//! names are compared after trimming and NFC normalisation, in their rendered
//! form (`` `x` `` becomes `x`) or as written in the source.
//!
//! A Jupyter notebook (`.ipynb`, [`notebook`]) is a page too: [`LabPage::read`]
//! picks the reader by extension and [`LabPage::from_notebook`] builds the same
//! model from its cells ([`cells`]); [`LabPage::notebook`] keeps the cells and
//! maps lines to cell positions.

pub mod cells;
mod front_matter;
mod lookup;
pub mod notebook;
mod walk;

use std::path::{Path, PathBuf};

pub use cells::NotebookPage;
pub use front_matter::FrontMatter;
pub use lookup::{CellSelector, LookupError};
pub use notebook::{Cell, CellLocation, CellType, Notebook, NotebookError, Output};
pub(crate) use walk::normalize;

/// A parsed lab page.
#[derive(Debug, Clone)]
pub struct LabPage {
    /// Where the page was read from (used in messages).
    pub path: PathBuf,
    pub front_matter: FrontMatter,
    /// Headings in page order.
    pub headings: Vec<Heading>,
    /// Fenced code blocks in page order.
    pub blocks: Vec<CodeBlock>,
    /// Every task-list item of the page, in page order.
    pub checklist: Vec<ChecklistEntry>,
    /// The notebook, when the page is one: its cells and the layout the
    /// lines above refer to ([`NotebookPage::locate`] gives cell positions).
    pub notebook: Option<Box<NotebookPage>>,
}

/// One heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// 1 for `#`, 6 for `######`.
    pub level: u8,
    /// Rendered text, trimmed and NFC-normalised (`` `x` `` becomes `x`).
    pub text: String,
    /// Source text without the `#` markers, trimmed and NFC-normalised.
    pub source: String,
    /// 1-based line.
    pub line: usize,
}

/// One fenced code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// First word of the info string (`bash`, `python`), `None` when empty.
    pub lang: Option<String>,
    /// The code, exactly as in the page (ends with a newline).
    pub text: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// Index into [`LabPage::headings`] of the nearest heading above it.
    pub heading: Option<usize>,
    /// In a notebook: index of the cell the block is (a code cell) or is in
    /// (a fenced block of a markdown cell).
    pub cell: Option<usize>,
}

/// One `- [ ]` / `- [x]` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistEntry {
    pub checked: bool,
    /// The item text as written in the source after the marker (inline
    /// markdown such as backticks kept), lines joined, NFC-normalised.
    pub text: String,
    /// 1-based line.
    pub line: usize,
}

/// Why a page could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    #[error("front matter opened with `{delimiter}` on line 1 is never closed")]
    UnterminatedFrontMatter { delimiter: &'static str },
    #[error("front matter is not valid TOML: {message}")]
    BadFrontMatter { message: String },
}

impl ContentError {
    /// 1-based line the error is about (front matter errors: line 1).
    pub fn line(&self) -> usize {
        1
    }
}

impl LabPage {
    /// Parses a page. `path` is only used in messages.
    pub fn parse(path: impl Into<PathBuf>, text: &str) -> Result<LabPage, ContentError> {
        let (front_matter, fm_len) = front_matter::split(text)?;
        let mut prepared = String::with_capacity(text.len());
        prepared.push_str(&blank(&text[..fm_len]));
        for line in text[fm_len..].split_inclusive('\n') {
            if is_shortcode_line(line) {
                prepared.push_str(&blank(line));
            } else {
                prepared.push_str(line);
            }
        }
        let walked = walk::walk(&prepared);
        Ok(LabPage {
            path: path.into(),
            front_matter,
            headings: walked.headings,
            blocks: walked.blocks,
            checklist: walked.checklist,
            notebook: None,
        })
    }

    /// Whether `path` names a notebook (`.ipynb`) rather than a Markdown page.
    pub fn is_notebook_path(path: &Path) -> bool {
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ipynb"))
    }

    /// Reads and parses the page at `path`: a notebook when it ends in
    /// `.ipynb`, Markdown otherwise.
    pub fn read(path: &Path) -> Result<LabPage, ReadError> {
        if LabPage::is_notebook_path(path) {
            return Notebook::read(path)
                .map(LabPage::from_notebook)
                .map_err(ReadError::Notebook);
        }
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        LabPage::parse(path, &text).map_err(ReadError::Content)
    }

    /// The front matter `title`, if any; for a notebook, its first `#`
    /// heading.
    pub fn title(&self) -> Option<&str> {
        match &self.notebook {
            None => self.front_matter.title(),
            Some(_) => self
                .headings
                .iter()
                .find(|h| h.level == 1)
                .map(|h| h.text.as_str()),
        }
    }

    /// Where layout line `line` is in the notebook (`None` for a Markdown page).
    pub fn cell_location(&self, line: usize) -> Option<CellLocation> {
        self.notebook.as_ref().and_then(|n| n.locate(line))
    }
}

/// Reading a page from disk failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Content(ContentError),
    #[error(transparent)]
    Notebook(NotebookError),
}

/// A line holding nothing but Hugo shortcodes (`{{% … %}}`, `{{< … >}}`).
fn is_shortcode_line(line: &str) -> bool {
    let mut rest = line.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let close = if rest.starts_with("{{%") {
            "%}}"
        } else if rest.starts_with("{{<") {
            ">}}"
        } else {
            return false;
        };
        match rest.find(close) {
            Some(end) => rest = rest[end + close.len()..].trim_start(),
            None => return false,
        }
    }
    true
}

/// Same byte length, newlines kept, everything else a space.
fn blank(s: &str) -> String {
    s.bytes()
        .map(|b| if b == b'\n' { '\n' } else { ' ' })
        .collect::<String>()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn shortcode_lines() {
        assert!(is_shortcode_line("{{% notice tip %}}\n"));
        assert!(is_shortcode_line("  {{< youtube abc >}} {{% /x %}}"));
        assert!(!is_shortcode_line("text {{% x %}}"));
        assert!(!is_shortcode_line("{{% unclosed"));
        assert!(!is_shortcode_line("\n"));
    }

    #[test]
    fn blank_keeps_length_and_newlines() {
        let s = "ab\nçd\n";
        let b = blank(s);
        assert_eq!(b.len(), s.len());
        assert_eq!(b.matches('\n').count(), 2);
    }
}

#[cfg(test)]
mod tests;
