//! Stage 2 for a `notebook` step: the notebook file, the cells it runs and
//! skips (checked against the notebook's cells), the per-cell time limit.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{Problem, SpecError};
use super::lab::{CellFill, CellSelection, NotebookStep};
use super::model::{CellRef, CellSelect, RawCells, RawFill, RawStep};
use super::resolve::Ctx;
use crate::content::{CellType, LookupError, Notebook};

pub(crate) fn step(
    ctx: &Ctx<'_>,
    s: &RawStep,
    timeout: Duration,
) -> Result<(NotebookStep, Notebook), SpecError> {
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
        None if ctx.page.notebook.is_some() => {
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
    let path = dir.join(&file);
    // The page's own notebook is already read (one reader: the page's cell
    // model); another notebook is read the same way, its errors at its cells.
    let nb = match &ctx.page.notebook {
        Some(page) if page.notebook.path == path || ctx.page.path == path => page.notebook.clone(),
        _ if !path.is_file() => {
            return Err(bad(
                span,
                "notebook",
                format!("no notebook `{}` in the lab directory", file.display()),
                "a Jupyter notebook (nbformat 4) in the lab directory",
            ));
        }
        _ => Notebook::read(&path).map_err(super::notebook_error)?,
    };
    let cells = match &s.cells {
        None => CellSelection::All,
        Some(c) => match c.get_ref() {
            RawCells::Text(t) => selection(t).map_err(|m| {
                bad(
                    c.span(),
                    "cells",
                    m,
                    "write `all`, a range `3-12` or a list `3, 5, 7-9`",
                )
            })?,
            RawCells::List(list) => {
                let mut numbers = Vec::new();
                for r in list {
                    numbers.extend(cell_set(ctx, c.span(), "cells", r, &nb)?);
                }
                numbers.sort_unstable();
                numbers.dedup();
                CellSelection::Numbers(numbers)
            }
        },
    };
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
    let mut skip = Vec::new();
    if let Some(sp) = &s.skip {
        for r in sp.get_ref() {
            skip.extend(cell_set(ctx, sp.span(), "skip", r, &nb)?);
        }
        skip.sort_unstable();
        skip.dedup();
    }
    let code_cell = |n: usize| nb.cell(n).is_some_and(|c| c.cell_type == CellType::Code);
    if let (Some(n), Some(sp)) = (skip.iter().find(|&&n| !code_cell(n)), &s.skip) {
        return Err(bad(
            sp.span(),
            "skip",
            format!("cell {n} is not a code cell of the notebook"),
            "list code cells: numbers (1-based over all cells), `{ cell = \"<id>\" }` or `{ tag = \"<tag>\" }`",
        ));
    }
    let fill = match &s.fill {
        None => Vec::new(),
        Some(list) => fills(ctx, dir, list, &nb)?,
    };
    let cell_timeout = s
        .cell_timeout
        .as_ref()
        .map(|t| ctx.timeout("step `cell_timeout`", t))
        .transpose()?
        .unwrap_or(timeout);
    let step = NotebookStep {
        path,
        file,
        from_workspace: false,
        cells,
        skip,
        fill,
        cell_timeout,
        python: Vec::new(),
    };
    Ok((step, nb))
}

/// `fill`: each code cell a student writes, and the lab file whose text
/// stands in for it when the lab's own notebook runs.
fn fills(
    ctx: &Ctx<'_>,
    dir: &Path,
    list: &Spanned<Vec<RawFill>>,
    nb: &Notebook,
) -> Result<Vec<CellFill>, SpecError> {
    let bad = |message: String, hint: &str| {
        ctx.err(
            list.span(),
            Problem::BadValue {
                key: "fill".into(),
                message,
            },
            hint,
        )
    };
    let mut out: Vec<CellFill> = Vec::new();
    for f in list.get_ref() {
        let cell = one_cell(
            ctx,
            list.span(),
            "fill",
            f.cell.as_ref(),
            f.tag.as_deref(),
            Some(nb),
        )?;
        if nb.cell(cell).is_none_or(|c| c.cell_type != CellType::Code) {
            return Err(bad(
                format!("cell {cell} is not a code cell of the notebook"),
                "fill the code cell the student writes",
            ));
        }
        if out.iter().any(|o| o.cell == cell) {
            return Err(bad(
                format!("cell {cell} is filled twice"),
                "give each cell one file",
            ));
        }
        let file = PathBuf::from(&f.file);
        // A lab file, never one outside the lab (`..`, an absolute path).
        if file.is_absolute()
            || file
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(bad(
                format!("`{}` is not a path inside the lab directory", f.file),
                "write a relative path without `..`, e.g. `solution/get_weather.py`",
            ));
        }
        let source = std::fs::read_to_string(dir.join(&file)).map_err(|e| {
            bad(
                format!("cannot read `{}`: {e}", f.file),
                "put the solution file in the lab directory",
            )
        })?;
        out.push(CellFill { cell, file, source });
    }
    Ok(out)
}

/// One entry of `cells` or `skip` → cell numbers: a number, a range
/// string, a cell by id, or every cell with a tag.
fn cell_set(
    ctx: &Ctx<'_>,
    span: Range<usize>,
    key: &str,
    r: &CellRef,
    nb: &Notebook,
) -> Result<Vec<usize>, SpecError> {
    match r {
        CellRef::Number(n) => Ok(vec![*n]),
        CellRef::Text(t) => match selection(t) {
            Ok(CellSelection::Numbers(n)) => Ok(n),
            Ok(CellSelection::All) => Ok((1..=nb.cells.len()).collect()),
            Err(message) => Err(ctx.err(
                span,
                Problem::BadValue {
                    key: key.to_string(),
                    message,
                },
                "a range is written `\"3-12\"`; select a cell by id with `{ cell = \"<id>\" }`",
            )),
        },
        CellRef::Select(sel) => match (&sel.cell, &sel.tag) {
            (Some(id), None) => by_id(ctx, span, id, nb).map(|n| vec![n]),
            (None, Some(tag)) => {
                let found: Vec<usize> = nb.cells_with_tag(tag).map(|c| c.number()).collect();
                if found.is_empty() {
                    let e = LookupError::UnknownTag {
                        tag: tag.clone(),
                        nearest: nb.nearest_tags(tag),
                    };
                    return Err(ctx.lookup_error(span, e));
                }
                Ok(found)
            }
            _ => Err(one_of(ctx, span, key)),
        },
    }
}

/// The one cell an expectation names (`cell = 7`, `cell = "<id>"`, or
/// `tag = "<tag>"` on exactly one cell) → its number.
pub(crate) fn one_cell(
    ctx: &Ctx<'_>,
    span: Range<usize>,
    key: &str,
    cell: Option<&CellRef>,
    tag: Option<&str>,
    nb: Option<&Notebook>,
) -> Result<usize, SpecError> {
    // A `{ tag = "…" }` value is the same as the `tag` key.
    let (cell, tag) = match (cell, tag) {
        (
            Some(CellRef::Select(CellSelect {
                cell: None,
                tag: Some(t),
            })),
            None,
        ) => (None, Some(t.as_str())),
        other => other,
    };
    let number = match (cell, tag) {
        (Some(CellRef::Number(n)), None) => *n,
        (Some(CellRef::Text(id)), None)
        | (
            Some(CellRef::Select(CellSelect {
                cell: Some(id),
                tag: None,
            })),
            None,
        ) => {
            let Some(nb) = nb else {
                return Err(one_of(ctx, span, key));
            };
            by_id(ctx, span.clone(), id, nb)?
        }
        (None, Some(tag)) => {
            let Some(nb) = nb else {
                return Err(one_of(ctx, span, key));
            };
            let found: Vec<usize> = nb.cells_with_tag(tag).map(|c| c.number()).collect();
            match found.as_slice() {
                [one] => *one,
                [] => {
                    let e = LookupError::UnknownTag {
                        tag: tag.to_string(),
                        nearest: nb.nearest_tags(tag),
                    };
                    return Err(ctx.lookup_error(span, e));
                }
                _ => {
                    let e = LookupError::AmbiguousTag {
                        tag: tag.to_string(),
                        cells: found,
                    };
                    return Err(ctx.lookup_error(span, e));
                }
            }
        }
        _ => return Err(one_of(ctx, span, key)),
    };
    if let Some(nb) = nb
        && nb.cell(number).is_none()
    {
        return Err(ctx.err(
            span,
            Problem::BadValue {
                key: key.to_string(),
                message: format!(
                    "the notebook has no cell {number} (it has {})",
                    nb.cells.len()
                ),
            },
            "cells are numbered from 1 over all cells, markdown included",
        ));
    }
    Ok(number)
}

fn by_id(ctx: &Ctx<'_>, span: Range<usize>, id: &str, nb: &Notebook) -> Result<usize, SpecError> {
    match nb.cell_by_id(id) {
        Some(c) => Ok(c.number()),
        None => {
            let e = LookupError::UnknownCell {
                id: id.to_string(),
                nearest: nb.nearest_ids(id),
            };
            Err(ctx.lookup_error(span, e))
        }
    }
}

fn one_of(ctx: &Ctx<'_>, span: Range<usize>, key: &str) -> SpecError {
    ctx.err(
        span,
        Problem::BadValue {
            key: key.to_string(),
            message:
                "name a cell by exactly one of: its number, `cell = \"<id>\"`, `tag = \"<tag>\"`"
                    .to_string(),
        },
        "e.g. `{ cell = 7 }`, `{ cell = \"converse\" }` or `{ tag = \"converse\" }`",
    )
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
fn selection(text: &str) -> Result<CellSelection, String> {
    let text = text.trim();
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
        selection(t)
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
