//! A notebook as a lab page: markdown cells give headings, fenced code blocks
//! and checklist items (each cell walked on its own, so an unclosed fence in
//! one cell cannot swallow the next), code cells are the page's code blocks in
//! order, within the section of the nearest heading above them.
//!
//! Items of a [`LabPage`] carry 1-based lines. For a notebook these are lines
//! of a *layout text* ([`NotebookPage::text`]) in which every cell has a
//! header line, its source lines and a footer line — a code cell is written
//! as a fenced block (```` ```python ```` … ```` ``` ````), so the Markdown
//! checks of `lint` read it as they read a page. [`NotebookPage::locate`] maps a
//! layout line back to the cell and the line within it; that is what every
//! message shows.
//!
//! A code cell starting with `%%bash`, `%%sh` or `%%script bash|sh` is a
//! `bash` block whose text is the cell without that magic line (what a shell
//! step should run); a `%%writefile x.py` cell is a `python` block holding
//! what it writes (a `python` step's file). Empty code cells (or a magic line
//! alone) are not blocks.

use super::walk::walk;
use super::{CodeBlock, FrontMatter, LabPage};
use crate::content::notebook::{CellLocation, CellType, Notebook};

/// The notebook behind a [`LabPage`], with the layout its lines refer to.
#[derive(Debug, Clone)]
pub struct NotebookPage {
    pub notebook: Notebook,
    /// The layout text (see the module docs).
    pub text: String,
    /// Layout line of each cell's header line; the cell's line `k` is layout
    /// line `header + k`.
    headers: Vec<usize>,
    /// Number of source lines of each cell (at least 1).
    lens: Vec<usize>,
}

impl NotebookPage {
    /// The cell and line within it of layout line `line`. Header and footer
    /// lines map to the cell's first and last line.
    pub fn locate(&self, line: usize) -> Option<CellLocation> {
        let i = self
            .headers
            .partition_point(|&h| h <= line)
            .checked_sub(1)?;
        let cell = &self.notebook.cells[i];
        let within = line.saturating_sub(self.headers[i]).clamp(1, self.lens[i]);
        Some(cell.location(within))
    }

    /// The layout line of line `line` (1-based) of cell `index` (0-based).
    pub fn layout_line(&self, index: usize, line: usize) -> Option<usize> {
        self.headers.get(index).map(|h| h + line)
    }

    /// Line `line` (1-based) of a cell's source, for snippets.
    pub fn cell_line(&self, loc: &CellLocation) -> Option<&str> {
        let cell = self.notebook.cells.get(loc.number.checked_sub(1)?)?;
        cell.source.lines().nth(loc.line.checked_sub(1)?)
    }
}

/// The shell a cell magic runs its body in, if the cell is one.
pub fn shell_magic(source: &str) -> Option<&'static str> {
    let first = source.lines().next()?.trim();
    let mut words = first.split_whitespace();
    match (words.next()?, words.next()) {
        ("%%bash", _) | ("%%script", Some("bash")) => Some("bash"),
        ("%%sh", _) | ("%%script", Some("sh")) => Some("sh"),
        _ => None,
    }
}

/// The file a `%%writefile [-a] name` cell writes, if it is one.
pub fn writefile_magic(source: &str) -> Option<&str> {
    let mut words = source.lines().next()?.split_whitespace();
    if words.next()? != "%%writefile" {
        return None;
    }
    words.rfind(|w| !w.starts_with('-'))
}

/// The language of a file by its extension (`x.py` → python, `x.sh` → bash).
fn lang_of_file(name: &str) -> Option<&'static str> {
    match name.rsplit_once('.')?.1 {
        "py" => Some("python"),
        "sh" | "bash" => Some("bash"),
        "json" => Some("json"),
        _ => None,
    }
}

/// A fence longer than any backtick run in `text` (at least three).
fn fence_for(text: &str) -> String {
    let longest = text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    "`".repeat(longest.max(2) + 1)
}

impl LabPage {
    /// The page model of a notebook (see the module docs).
    pub fn from_notebook(notebook: Notebook) -> LabPage {
        let mut text = String::new();
        let mut headers = Vec::with_capacity(notebook.cells.len());
        let mut lens = Vec::with_capacity(notebook.cells.len());
        let mut headings = Vec::new();
        let mut blocks: Vec<CodeBlock> = Vec::new();
        let mut checklist = Vec::new();
        let mut line = 1; // layout line of the next line written
        for cell in &notebook.cells {
            let header = line;
            let n = cell.source.lines().count().max(1);
            headers.push(header);
            lens.push(n);
            let fence = fence_for(&cell.source);
            match cell.cell_type {
                CellType::Code => {
                    // A cell magic's body is the block: what bash runs, or
                    // the file `%%writefile` writes.
                    let writes = writefile_magic(&cell.source);
                    let magic = shell_magic(&cell.source)
                        .or(writes.map(|f| lang_of_file(f).unwrap_or("text")));
                    let lang = magic.unwrap_or(notebook.language.as_str());
                    text.push_str(&format!("{fence}{lang}\n"));
                    let (code, first) = match magic {
                        // The magic line stands where a fence would.
                        Some(_) => (
                            cell.source.split_once('\n').map_or("", |(_, rest)| rest),
                            header + 1,
                        ),
                        None => (cell.source.as_str(), header),
                    };
                    // Nothing to run (an empty cell, a magic alone): no block.
                    if !code.trim().is_empty() {
                        let mut code = code.to_string();
                        if !code.ends_with('\n') {
                            code.push('\n');
                        }
                        blocks.push(CodeBlock {
                            lang: Some(lang.to_string()),
                            text: code,
                            line: first,
                            heading: headings.len().checked_sub(1),
                            cell: Some(cell.index),
                        });
                    }
                }
                CellType::Markdown => {
                    text.push('\n');
                    let walked = walk(&cell.source);
                    let base = headings.len();
                    for mut h in walked.headings {
                        h.line += header;
                        headings.push(h);
                    }
                    for mut b in walked.blocks {
                        b.line += header;
                        b.heading = match b.heading {
                            Some(i) => Some(base + i),
                            None => base.checked_sub(1),
                        };
                        b.cell = Some(cell.index);
                        blocks.push(b);
                    }
                    for mut c in walked.checklist {
                        c.line += header;
                        checklist.push(c);
                    }
                }
                CellType::Raw => text.push('\n'),
            }
            for l in cell.source.lines() {
                text.push_str(l);
                text.push('\n');
            }
            if cell.source.lines().next().is_none() {
                text.push('\n');
            }
            match cell.cell_type {
                CellType::Code => {
                    text.push_str(&fence);
                    text.push('\n');
                }
                _ => text.push('\n'),
            }
            line = header + n + 2;
        }
        LabPage {
            path: notebook.path.clone(),
            front_matter: FrontMatter::default(),
            headings,
            blocks,
            checklist,
            notebook: Some(Box::new(NotebookPage {
                notebook,
                text,
                headers,
                lens,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::CellSelector;

    const NB: &str = r###"{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"language": "python"}},
 "cells": [
  {"id": "t", "cell_type": "markdown", "metadata": {}, "source": "# Invoke a model\n\nIntro."},
  {"id": "s1", "cell_type": "markdown", "metadata": {}, "source": "## Step 1\n\n```bash\naws --version\n```\n"},
  {"id": "c1", "cell_type": "code", "metadata": {"tags": ["invoke"]}, "source": ["import boto3\n", "print(1)"], "outputs": []},
  {"id": "c2", "cell_type": "code", "metadata": {"tags": ["x"]}, "source": "%%bash\naws s3 ls\n", "outputs": []},
  {"id": "e", "cell_type": "code", "metadata": {"tags": ["x"]}, "source": "", "outputs": []},
  {"id": "v", "cell_type": "markdown", "metadata": {}, "source": "## Verify\n\n- [ ] the model answered\n- [ ] it streamed"}
 ]}"###;

    fn page() -> LabPage {
        LabPage::from_notebook(Notebook::parse("lab.ipynb", NB.as_bytes()).expect("parses"))
    }

    #[test]
    fn markdown_cells_give_sections_checklist_and_fenced_blocks() {
        let p = page();
        let names: Vec<&str> = p.headings.iter().map(|h| h.text.as_str()).collect();
        assert_eq!(names, ["Invoke a model", "Step 1", "Verify"]);
        assert_eq!(p.title(), Some("Invoke a model"));
        let items: Vec<&str> = p.checklist.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(items, ["the model answered", "it streamed"]);
        // The fenced block of the markdown cell, then the two non-empty code cells.
        let step1 = p.section("Step 1").expect("section");
        let langs: Vec<_> = p
            .section_blocks(step1)
            .map(|b| (b.lang.as_deref(), b.cell))
            .collect();
        assert_eq!(
            langs,
            [
                (Some("bash"), Some(1)),
                (Some("python"), Some(2)),
                (Some("bash"), Some(3))
            ]
        );
        assert_eq!(p.block("Step 1", 2).expect("block").text, "aws s3 ls\n");
    }

    #[test]
    fn layout_lines_map_back_to_cells() {
        let p = page();
        let nb = p.notebook.as_ref().expect("notebook");
        // Line 2 of cell 3 (`print(1)`).
        let b = p.block("Step 1", 1).expect("block");
        let loc = p.cell_location(b.line + 2).expect("in a cell");
        assert_eq!(
            (loc.number, loc.id.as_deref(), loc.line),
            (3, Some("c1"), 2)
        );
        assert_eq!(nb.cell_line(&loc), Some("print(1)"));
        let layout: Vec<&str> = nb.text.lines().collect();
        assert_eq!(layout[b.line + 1], "print(1)");
        // Checklist item lines are in the last cell.
        let last = p.cell_location(p.checklist[1].line).expect("cell");
        assert_eq!((last.number, last.line), (6, 4));
    }

    #[test]
    fn selectors_by_id_and_tag() {
        let p = page();
        let by_id = p.cell_block(&CellSelector::Id("c2".into())).expect("c2");
        assert_eq!(by_id.text, "aws s3 ls\n");
        let by_tag = p
            .cell_block(&CellSelector::Tag("invoke".into()))
            .expect("tag");
        assert_eq!(by_tag.cell, Some(2));
        let e = p
            .cell_block(&CellSelector::Tag("x".into()))
            .expect_err("two");
        assert_eq!(
            e.to_string(),
            "tag `x` is on 2 cells (cells 4, 5), expected one"
        );
        let e = p
            .cell_block(&CellSelector::Id("c3".into()))
            .expect_err("none");
        assert!(
            matches!(e, crate::content::LookupError::UnknownCell { ref nearest, .. } if nearest[0] == "c1" || nearest[0] == "c2"),
            "{e:?}"
        );
        let e = p
            .cell_block(&CellSelector::Id("t".into()))
            .expect_err("markdown, no code");
        assert_eq!(
            e.to_string(),
            "cell `t` is a markdown cell (cell 1) with 0 code blocks, expected one"
        );
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    /// Lines a generated cell may hold: headings, checklist items, fences,
    /// magics, `!` commands, prose, blank lines.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            "#{1,3} [A-Za-z ]{0,8}",
            "- \\[[ x]\\] [a-z ]{0,8}",
            Just("```bash".to_string()),
            Just("```".to_string()),
            Just("%%bash".to_string()),
            Just("%%writefile x.py".to_string()),
            "![a-z ]{0,8}",
            "[a-z`= ]{0,12}",
            Just(String::new()),
        ]
    }

    fn cell() -> impl Strategy<Value = serde_json::Value> {
        (
            prop_oneof![Just("markdown"), Just("code"), Just("raw")],
            prop::collection::vec(line(), 0..6),
            any::<bool>(),
        )
            .prop_map(|(kind, lines, newline)| {
                let mut source = lines.join("\n");
                if newline && !source.is_empty() {
                    source.push('\n');
                }
                serde_json::json!({"cell_type": kind, "metadata": {}, "source": source, "outputs": []})
            })
    }

    proptest! {
        /// Every heading, block and checklist line maps to an existing line of
        /// its cell, and a block's code lines are the cell's lines.
        #[test]
        fn page_lines_map_back_to_their_cells(cells in prop::collection::vec(cell(), 0..8)) {
            let nb = serde_json::json!({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells});
            let bytes = serde_json::to_vec(&nb).expect("json");
            let page = LabPage::from_notebook(Notebook::parse("p.ipynb", &bytes).expect("valid"));
            let layout = page.notebook.as_ref().expect("notebook");
            let layout_lines: Vec<&str> = layout.text.lines().collect();
            for line in page.headings.iter().map(|h| h.line).chain(page.checklist.iter().map(|c| c.line)) {
                let loc = layout.locate(line).expect("in a cell");
                prop_assert_eq!(layout.cell_line(&loc), Some(layout_lines[line - 1]));
            }
            for b in &page.blocks {
                let cell = &layout.notebook.cells[b.cell.expect("a cell")];
                for (k, code) in b.text.lines().enumerate() {
                    let loc = layout.locate(b.line + 1 + k).expect("in a cell");
                    prop_assert_eq!(loc.number, cell.number());
                    prop_assert_eq!(layout.cell_line(&loc), Some(code));
                }
            }
        }
    }
}
