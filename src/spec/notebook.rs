//! Stage 2 for a `notebook` step: the notebook file, the cells it runs and
//! skips (checked against the notebook's cells), the per-cell time limit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{Problem, SpecError};
use super::lab::{CellSelection, NotebookStep};
use super::model::RawStep;
use super::resolve::Ctx;
use crate::ipynb::{CellType, Notebook};

pub(crate) fn step(
    ctx: &Ctx<'_>,
    s: &RawStep,
    timeout: Duration,
) -> Result<NotebookStep, SpecError> {
    let dir = ctx.src.file.parent().unwrap_or(Path::new("."));
    let bad = |span: std::ops::Range<usize>, key: &str, message: String, hint: &str| {
        ctx.err(
            span,
            Problem::BadValue {
                key: key.to_string(),
                message,
            },
            hint,
        )
    };
    let (file, span) = match &s.notebook {
        Some(n) => (PathBuf::from(n.get_ref()), n.span()),
        None if ctx.page.path.extension().is_some_and(|e| e == "ipynb") => {
            let name = ctx.page.path.strip_prefix(dir).unwrap_or(&ctx.page.path);
            (name.to_path_buf(), s.kind.span())
        }
        None => {
            return Err(ctx.err(
                s.kind.span(),
                Problem::MissingKey {
                    key: "notebook".into(),
                    table: format!("step `{}`", s.id.get_ref()),
                },
                "name the notebook, e.g. `notebook = \"lab.ipynb\"`, or make it the page with `[lab] page`",
            ));
        }
    };
    let nb = Notebook::read(&dir.join(&file)).map_err(|e| {
        bad(
            span.clone(),
            "notebook",
            e.to_string(),
            "a Jupyter notebook (nbformat 4) in the lab directory",
        )
    })?;
    let cells = match &s.cells {
        None => CellSelection::All,
        Some(c) => selection(c).map_err(|m| {
            bad(
                c.span(),
                "cells",
                m,
                "write `all`, a range `3-12` or a list `3, 5, 7-9`",
            )
        })?,
    };
    let code_cell = |n: usize| nb.cell(n).is_some_and(|c| c.cell_type == CellType::Code);
    if let (CellSelection::Numbers(numbers), Some(c)) = (&cells, &s.cells)
        && let Some(n) = numbers.iter().find(|&&n| nb.cell(n).is_none())
    {
        return Err(bad(
            c.span(),
            "cells",
            format!("the notebook has no cell {n} (it has {})", nb.cells.len()),
            "cells are numbered from 1 over all cells, markdown included",
        ));
    }
    let skip = s
        .skip
        .as_ref()
        .map(Spanned::get_ref)
        .cloned()
        .unwrap_or_default();
    if let (Some(n), Some(sp)) = (skip.iter().find(|&&n| !code_cell(n)), &s.skip) {
        return Err(bad(
            sp.span(),
            "skip",
            format!("cell {n} is not a code cell of the notebook"),
            "list the numbers of code cells (1-based over all cells)",
        ));
    }
    let cell_timeout = s
        .cell_timeout
        .as_ref()
        .map(|t| ctx.timeout("step `cell_timeout`", t))
        .transpose()?
        .unwrap_or(timeout);
    Ok(NotebookStep {
        path: dir.join(&file),
        file,
        from_workspace: false,
        cells,
        skip,
        cell_timeout,
        python: Vec::new(),
    })
}

/// `[lab] python`: each entry `name==version`, nothing looser (a lab's
/// kernel must be the same for every student).
pub(crate) fn python_packages(
    ctx: &Ctx<'_>,
    list: &Spanned<Vec<String>>,
) -> Result<Vec<String>, SpecError> {
    for req in list.get_ref() {
        let pinned = req.split_once("==").is_some_and(|(name, version)| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!'))
        });
        if !pinned {
            return Err(ctx.err(
                list.span(),
                Problem::BadValue {
                    key: "python".into(),
                    message: format!("`{req}` is not pinned exactly"),
                },
                "write each package as `name==version`, e.g. `langchain-aws==0.2.1`",
            ));
        }
    }
    Ok(list.get_ref().clone())
}

/// `all`, `3-12`, `3, 5, 7-9` → the selection (numbers sorted, deduplicated).
fn selection(v: &Spanned<String>) -> Result<CellSelection, String> {
    let text = v.get_ref().trim();
    if text == "all" {
        return Ok(CellSelection::All);
    }
    let mut numbers = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("`{t}` is not a cell number (1 or more)"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("the range `{part}` is empty"));
                }
                numbers.extend(a..=b);
            }
            None => numbers.push(num(part)?),
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    Ok(CellSelection::Numbers(numbers))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sel(t: &str) -> Result<CellSelection, String> {
        selection(&Spanned::new(0..0, t.to_string()))
    }

    #[test]
    fn selections() {
        assert_eq!(sel("all").unwrap(), CellSelection::All);
        assert_eq!(
            sel("7-9, 3,5").unwrap(),
            CellSelection::Numbers(vec![3, 5, 7, 8, 9])
        );
        assert!(sel("0").unwrap_err().contains("not a cell number"));
        assert!(sel("5-2").unwrap_err().contains("empty"));
        assert!(sel("x").is_err());
    }
}
