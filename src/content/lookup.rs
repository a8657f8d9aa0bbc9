//! Addressing the page: a section by heading name, a code block by section and
//! 0-based index; in a notebook also a cell by nbformat id or by tag
//! ([`CellSelector`]). Failures say what *is* there (the section's blocks, the
//! nearest heading names, the nearest cell ids) so the author can fix the
//! reference.

use std::fmt;

use super::{CodeBlock, LabPage, normalize};

/// A reference into the page that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    #[error("no heading `{section}` in the page")]
    UnknownSection {
        section: String,
        /// Closest heading names, best first (at most 3).
        nearest: Vec<String>,
    },
    #[error("heading `{section}` appears {} times (lines {})", lines.len(), join(lines))]
    AmbiguousSection { section: String, lines: Vec<usize> },
    #[error(
        "section `{section}` has no code block {index} (it has {})",
        BlockList(blocks)
    )]
    MissingBlock {
        section: String,
        index: usize,
        blocks: Vec<BlockSummary>,
    },
    #[error("{selector} points at a cell, but the page is not a notebook")]
    NotANotebook { selector: CellSelector },
    #[error("no cell with id `{id}` in the notebook")]
    UnknownCell {
        id: String,
        /// Closest cell ids, best first (at most 3).
        nearest: Vec<String>,
    },
    #[error("no cell tagged `{tag}` in the notebook")]
    UnknownTag {
        tag: String,
        /// Closest tags, best first (at most 3).
        nearest: Vec<String>,
    },
    #[error("tag `{tag}` is on {} cells (cells {}), expected one", cells.len(), join(cells))]
    AmbiguousTag {
        tag: String,
        /// 1-based cell numbers.
        cells: Vec<usize>,
    },
    #[error(
        "{selector} is a {cell_type} cell (cell {number}) with {count} code blocks, expected one"
    )]
    NoCodeInCell {
        selector: CellSelector,
        number: usize,
        cell_type: &'static str,
        count: usize,
    },
}

/// A cell of a notebook page, as a step names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellSelector {
    /// `{ cell = "…" }`: the nbformat cell id.
    Id(String),
    /// `{ tag = "…" }`: the one cell carrying this tag.
    Tag(String),
}

impl fmt::Display for CellSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellSelector::Id(id) => write!(f, "cell `{id}`"),
            CellSelector::Tag(tag) => write!(f, "tag `{tag}`"),
        }
    }
}

/// A code block as listed in a [`LookupError::MissingBlock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSummary {
    pub index: usize,
    pub lang: Option<String>,
    pub line: usize,
    /// In a notebook: where the block is (then shown instead of `line`).
    pub cell: Option<super::CellLocation>,
}

struct BlockList<'a>(&'a [BlockSummary]);

impl fmt::Display for BlockList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no code blocks");
        }
        let n = self.0.len();
        write!(f, "{n} code block{}: ", if n == 1 { "" } else { "s" })?;
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let lang = b.lang.as_deref().unwrap_or("(no language)");
            match &b.cell {
                Some(c) => write!(f, "{} = `{lang}` in cell {}", b.index, c.number)?,
                None => write!(f, "{} = `{lang}` at line {}", b.index, b.line)?,
            }
        }
        Ok(())
    }
}

fn join(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl LabPage {
    /// Index into [`LabPage::headings`] of the heading named `name` (rendered
    /// or source form, after trimming and NFC).
    pub fn section(&self, name: &str) -> Result<usize, LookupError> {
        let wanted = normalize(name);
        let found: Vec<usize> = (0..self.headings.len())
            .filter(|&i| self.headings[i].text == wanted || self.headings[i].source == wanted)
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(LookupError::UnknownSection {
                section: wanted.clone(),
                nearest: self.nearest_headings(&wanted),
            }),
            many => Err(LookupError::AmbiguousSection {
                section: wanted,
                lines: many.iter().map(|&i| self.headings[i].line).collect(),
            }),
        }
    }

    /// The fenced code blocks of the section under heading `heading`, up to the
    /// next heading of the same or a higher level.
    pub fn section_blocks(&self, heading: usize) -> impl Iterator<Item = &CodeBlock> {
        let h = &self.headings[heading];
        let end = self.headings[heading + 1..]
            .iter()
            .find(|next| next.level <= h.level)
            .map_or(usize::MAX, |next| next.line);
        self.blocks
            .iter()
            .filter(move |b| b.line > h.line && b.line < end)
    }

    /// The `index`-th (0-based) fenced code block of section `section`.
    pub fn block(&self, section: &str, index: usize) -> Result<&CodeBlock, LookupError> {
        let heading = self.section(section)?;
        let mut blocks = self.section_blocks(heading);
        if let Some(b) = blocks.nth(index) {
            return Ok(b);
        }
        let blocks = self
            .section_blocks(heading)
            .enumerate()
            .map(|(index, b)| BlockSummary {
                index,
                lang: b.lang.clone(),
                line: b.line,
                cell: self.cell_location(b.line + 1),
            })
            .collect();
        Err(LookupError::MissingBlock {
            section: self.headings[heading].text.clone(),
            index,
            blocks,
        })
    }

    /// The code block of the one cell `selector` names: a code cell, or a
    /// markdown cell holding exactly one fenced block.
    pub fn cell_block(&self, selector: &CellSelector) -> Result<&CodeBlock, LookupError> {
        let Some(nb) = self.notebook.as_ref().map(|n| &n.notebook) else {
            return Err(LookupError::NotANotebook {
                selector: selector.clone(),
            });
        };
        let cell = match selector {
            CellSelector::Id(id) => nb.cell_by_id(id).ok_or_else(|| LookupError::UnknownCell {
                id: id.clone(),
                nearest: nb.nearest_ids(id),
            })?,
            CellSelector::Tag(tag) => {
                let found: Vec<_> = nb.cells_with_tag(tag).collect();
                match found.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(LookupError::UnknownTag {
                            tag: tag.clone(),
                            nearest: nb.nearest_tags(tag),
                        });
                    }
                    many => {
                        return Err(LookupError::AmbiguousTag {
                            tag: tag.clone(),
                            cells: many.iter().map(|c| c.number()).collect(),
                        });
                    }
                }
            }
        };
        let blocks: Vec<&CodeBlock> = self
            .blocks
            .iter()
            .filter(|b| b.cell == Some(cell.index))
            .collect();
        match blocks.as_slice() {
            [one] => Ok(one),
            _ => Err(LookupError::NoCodeInCell {
                selector: selector.clone(),
                number: cell.number(),
                cell_type: cell.cell_type.as_str(),
                count: blocks.len(),
            }),
        }
    }

    /// Up to three heading names closest to `name`, best first.
    pub fn nearest_headings(&self, name: &str) -> Vec<String> {
        let mut scored: Vec<(f64, &str)> = self
            .headings
            .iter()
            .map(|h| {
                (
                    strsim::normalized_levenshtein(name, &h.text),
                    h.text.as_str(),
                )
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .filter(|(s, _)| *s > 0.3)
            .take(3)
            .map(|(_, t)| t.to_string())
            .collect()
    }
}
