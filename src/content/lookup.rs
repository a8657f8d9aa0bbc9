//! Addressing the page: a section by heading name, a code block by section and
//! 0-based index. Failures say what *is* there (the section's blocks, the
//! nearest heading names) so the author can fix the reference.

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
}

/// A code block as listed in a [`LookupError::MissingBlock`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSummary {
    pub index: usize,
    pub lang: Option<String>,
    pub line: usize,
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
            write!(
                f,
                "{} = `{}` at line {}",
                b.index,
                b.lang.as_deref().unwrap_or("(no language)"),
                b.line
            )?;
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
            })
            .collect();
        Err(LookupError::MissingBlock {
            section: self.headings[heading].text.clone(),
            index,
            blocks,
        })
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
