//! `labcheck new`: a first `lab.toml` written from a lab's page, for an author
//! to confirm rather than to type.
//!
//! The page is first turned into a [`Draft`]: its sections, its code blocks
//! (language, text, the prose just above each) and its checklist items. A
//! Markdown page gives one through [`Draft::from_page`]; any other page model
//! (a notebook's cells) only has to fill the same fields. From the draft,
//! each runnable block becomes a step (`plan`): a shell block calling `aws …`
//! a `shell` step with both CLI major versions, a python block a `python`
//! step with the file name the prose gives and the block that runs it, a Rust
//! block an `sdk` step, a prompt in a console section a `playground` step;
//! every other block is listed as skipped with the reason. Each checklist
//! item is bound to the steps of its own section, else to the steps whose
//! section and code share its words, else to the nearest step above it.
//! `render` writes the TOML with a `guess:` comment on every guess, and
//! [`scaffold`] checks that the result loads with [`crate::spec`] before it
//! is written.

mod bind;
mod guess;
mod plan;
mod render;

use std::path::{Path, PathBuf};

use crate::content::{LabPage, ReadError};
use crate::spec::{self, SpecError};

/// A page as `labcheck new` reads it, whatever its format.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// The page's own title (front matter), if any.
    pub title: Option<String>,
    /// The page file name, relative to the lab directory (`page = …`).
    pub page_name: String,
    pub sections: Vec<DraftSection>,
    /// Code blocks in page order.
    pub blocks: Vec<DraftBlock>,
    /// Checklist items in page order (numbered from 1 as in `proves`).
    pub checklist: Vec<DraftItem>,
    /// Whether the page is a notebook: its code cells become `notebook` steps.
    pub notebook: bool,
}

/// A heading.
#[derive(Debug, Clone)]
pub struct DraftSection {
    /// The name `lab.toml` points at (`section = "…"`).
    pub name: String,
    /// Whether the name is unique on the page (else blocks are inlined).
    pub unique: bool,
    pub line: usize,
}

/// A code block (or a notebook code cell).
#[derive(Debug, Clone)]
pub struct DraftBlock {
    pub lang: Option<String>,
    pub text: String,
    /// 1-based line (or cell number) for comments.
    pub line: usize,
    /// Index into [`Draft::sections`] of the nearest heading above.
    pub section: Option<usize>,
    /// 0-based position within that section, as `index = …` counts.
    pub index: usize,
    /// The prose between the previous block (or heading) and this block.
    pub prose: String,
    /// In a notebook: the 1-based number of the code cell this block is,
    /// when the kernel runs it (not a `%%bash`/`%%writefile` cell magic, not
    /// a fenced block of a markdown cell).
    pub kernel_cell: Option<usize>,
}

/// Whether a code cell's magic makes it something other than kernel code:
/// a shell script (`%%bash`, `%%sh`, `%%script`) or a file (`%%writefile`),
/// which the page model gives as bash or file blocks.
fn runs_outside_kernel(source: &str) -> bool {
    let first = source.trim_start().lines().next().unwrap_or("");
    ["%%bash", "%%sh", "%%script", "%%writefile"]
        .iter()
        .any(|m| first.split_whitespace().next() == Some(m))
}

/// A checklist item.
#[derive(Debug, Clone)]
pub struct DraftItem {
    pub text: String,
    pub line: usize,
    /// Index into [`Draft::sections`] of the nearest heading above.
    pub section: Option<usize>,
}

impl Draft {
    /// The draft of a Markdown page; `source` is the page's text (for the
    /// prose around blocks, which [`LabPage`] does not keep).
    pub fn from_page(page: &LabPage, source: &str, page_name: &str) -> Draft {
        let lines: Vec<&str> = source.lines().collect();
        let sections = page
            .headings
            .iter()
            .map(|h| DraftSection {
                name: h.text.clone(),
                unique: page.section(&h.text).is_ok(),
                line: h.line,
            })
            .collect();
        let mut blocks = Vec::with_capacity(page.blocks.len());
        // Prose starts after the previous block's closing fence or the heading.
        let mut prose_from = 1;
        for b in &page.blocks {
            let index = b.heading.map_or(0, |h| {
                page.section_blocks(h)
                    .position(|other| other.line == b.line)
                    .unwrap_or(0)
            });
            if let Some(h) = b.heading {
                prose_from = prose_from.max(page.headings[h].line + 1);
            }
            let prose = lines
                .get(prose_from.saturating_sub(1)..b.line.saturating_sub(1))
                .map(|ls| ls.join("\n"))
                .unwrap_or_default();
            let kernel_cell = b.cell.filter(|&c| {
                page.notebook.as_ref().is_some_and(|nb| {
                    nb.notebook.cells.get(c).is_some_and(|cell| {
                        cell.cell_type == crate::content::CellType::Code
                            && !runs_outside_kernel(&cell.source)
                    })
                })
            });
            blocks.push(DraftBlock {
                kernel_cell: kernel_cell.map(|c| c + 1),
                lang: b.lang.clone(),
                text: b.text.clone(),
                line: b.line,
                section: b.heading,
                index,
                prose,
            });
            prose_from = b.line + b.text.lines().count() + 2;
        }
        let section_of = |line: usize| page.headings.iter().rposition(|h| h.line < line);
        let checklist = page
            .checklist
            .iter()
            .map(|c| DraftItem {
                text: c.text.clone(),
                line: c.line,
                section: section_of(c.line),
            })
            .collect();
        Draft {
            notebook: page.notebook.is_some(),
            title: page.title().map(str::to_string),
            page_name: page_name.to_string(),
            sections,
            blocks,
            checklist,
        }
    }
}

/// The `lab.toml` text `labcheck new` proposes for `draft`.
pub fn lab_toml(draft: &Draft) -> Result<String, NewError> {
    let proposal = plan::propose(draft);
    if proposal.steps.is_empty() {
        return Err(NewError::NoSteps {
            skipped: proposal.skipped.len(),
        });
    }
    Ok(render::render(draft, &proposal))
}

/// What [`scaffold`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    /// The text written.
    pub text: String,
    /// Steps written.
    pub steps: usize,
    /// Lines marked `guess:` for the author to confirm.
    pub guesses: usize,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wrote {} with {} step(s); confirm the {} line(s) marked `guess:`, then run `labcheck capture {}`",
            self.path.display(),
            self.steps,
            self.guesses,
            self.path.parent().unwrap_or(Path::new(".")).display()
        )
    }
}

/// Why `labcheck new` wrote nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NewError {
    #[error("`{}` already exists (hint: pass `--force` to replace it)", path.display())]
    Exists { path: PathBuf },
    #[error(transparent)]
    Page(#[from] ReadError),
    #[error(
        "the page has no code block labcheck can run ({skipped} skipped), so there is no step to write (hint: labcheck runs bash blocks calling `aws`, python blocks and Rust blocks; see docs/authoring.md)"
    )]
    NoSteps { skipped: usize },
    #[error(
        "the lab.toml labcheck wrote does not load (a bug in `labcheck new`, please report it):\n{0}"
    )]
    Invalid(Box<SpecError>),
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lab's page and its draft: `dir/lab.md`, else the notebook in `dir`
/// (`lab.ipynb`, or the only `.ipynb` there), read through its layout text.
fn read_page(dir: &Path) -> Result<(LabPage, Draft), NewError> {
    let markdown = dir.join(spec::DEFAULT_PAGE);
    if !markdown.exists()
        && let Some(notebook) = notebook_in(dir)
    {
        let page = LabPage::read(&notebook)?;
        let layout = page
            .notebook
            .as_ref()
            .map(|nb| nb.text.clone())
            .unwrap_or_default();
        let name = notebook
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let draft = Draft::from_page(&page, &layout, &name);
        return Ok((page, draft));
    }
    let source = std::fs::read_to_string(&markdown).map_err(|source| ReadError::Io {
        path: markdown.clone(),
        source,
    })?;
    let page = LabPage::parse(&markdown, &source).map_err(ReadError::Content)?;
    let draft = Draft::from_page(&page, &source, spec::DEFAULT_PAGE);
    Ok((page, draft))
}

/// `dir/lab.ipynb`, else the only `.ipynb` file in `dir`.
fn notebook_in(dir: &Path) -> Option<PathBuf> {
    let named = dir.join("lab.ipynb");
    if named.is_file() {
        return Some(named);
    }
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && LabPage::is_notebook_path(p));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Reads `dir/lab.md` (or its notebook), writes `dir/lab.toml` (refused when it exists unless
/// `force`), after checking it loads against the page.
pub fn scaffold(dir: &Path, force: bool) -> Result<Written, NewError> {
    let path = dir.join(spec::LAB_FILE);
    if path.exists() && !force {
        return Err(NewError::Exists { path });
    }
    let (page, draft) = read_page(dir)?;
    let text = lab_toml(&draft)?;
    let lab =
        spec::parse_lab(dir, text.as_bytes(), &page).map_err(|e| NewError::Invalid(Box::new(e)))?;
    std::fs::write(&path, &text).map_err(|source| NewError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(Written {
        guesses: text.matches("guess:").count(),
        steps: lab.steps.len(),
        path,
        text,
    })
}

#[cfg(test)]
mod tests;
