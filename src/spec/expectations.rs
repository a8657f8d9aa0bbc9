//! Stage 2 for `[step.expect]`: regexes compiled, JSON pointers checked,
//! operations parsed, defaults applied.

use std::path::PathBuf;
use std::str::FromStr;

use super::error::{Problem, SpecError};
use super::lab::{
    CellExpect, Expectations, FileExpect, IncrementalExpect, ServedExpect, TextExpect,
};
use super::model::{RawExpect, RawTextExpect};
use super::resolve::{Ctx, did_you_mean};
use crate::ids::Operation;

/// Default `min_pieces` of `incremental`.
pub const DEFAULT_MIN_PIECES: usize = 3;

/// Whether labcheck sees the model's answer of a step (its stop reason and
/// token usage), or what kind of step it is that does not.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ModelView {
    Response,
    None { kind: &'static str },
}

pub(crate) fn expectations(
    ctx: &Ctx<'_>,
    raw: &RawExpect,
    runs_process: bool,
    kind: &'static str,
    sees: ModelView,
    services: &[String],
    notebook: Option<&crate::content::Notebook>,
) -> Result<Expectations, SpecError> {
    // A shell or python step's process talks to the model itself, and
    // ApplyGuardrail has no model answer: a stop reason and token usage never
    // reach the step's result, so these keys would always be misjudged ("the
    // response had none"). Refuse them.
    if let ModelView::None { kind: what } = sees {
        let model_only = [
            (
                "max_output_tokens",
                raw.max_output_tokens.as_ref().map(|v| v.span()),
            ),
            ("stop_reasons", raw.stop_reasons.first().map(|v| v.span())),
        ];
        if let Some((key, span)) = model_only
            .into_iter()
            .find_map(|(k, sp)| sp.map(|sp| (k, sp)))
        {
            let (problem, hint) = if what == "apply-guardrail" {
                (
                    Problem::ExpectNotForCall {
                        key: key.to_string(),
                        call: what,
                    },
                    format!("remove `{key}`; check the guardrail's `action: …` line with `stdout`"),
                )
            } else {
                (
                    Problem::ExpectNotForKind {
                        key: key.to_string(),
                        kind: what,
                    },
                    format!(
                        "remove `{key}`; for a `{what}` step, check what its program \
                         prints with `stdout`"
                    ),
                )
            };
            return Err(ctx.err(span, problem, hint));
        }
    }
    let files = raw
        .files
        .iter()
        .map(|f| {
            let json = f
                .json
                .iter()
                .map(|(k, v)| Ok((ctx.pointer(k)?, v.clone())))
                .collect::<Result<_, SpecError>>()?;
            Ok(FileExpect {
                path: PathBuf::from(&f.path),
                is_json: f.is_json || !f.json.is_empty(),
                json,
                contains: f.contains.clone(),
            })
        })
        .collect::<Result<_, SpecError>>()?;
    let served = raw
        .served
        .iter()
        .map(|s| {
            let op = Operation::from_str(s.operation.get_ref()).map_err(|_| {
                let names: Vec<&str> = Operation::all().map(|o| o.as_str()).collect();
                ctx.err(
                    s.operation.span(),
                    Problem::UnknownOperation {
                        operation: s.operation.get_ref().clone(),
                    },
                    did_you_mean(s.operation.get_ref(), &names),
                )
            })?;
            Ok(ServedExpect {
                operation: op.as_str().to_string(),
                model: s.model.clone(),
                count: s.count.unwrap_or(1),
            })
        })
        .collect::<Result<_, SpecError>>()?;
    let incremental = raw
        .incremental
        .as_ref()
        .map(|i| {
            let cell = i
                .get_ref()
                .cell
                .as_ref()
                .map(|c| super::notebook::one_cell(ctx, i.span(), "cell", Some(c), None, notebook))
                .transpose()?;
            Ok::<_, SpecError>(IncrementalExpect {
                min_pieces: i.get_ref().min_pieces.unwrap_or(DEFAULT_MIN_PIECES),
                cell,
            })
        })
        .transpose()?;
    if kind != "notebook"
        && let Some(first) = raw.cells.first()
    {
        let problem = Problem::ExpectNotForKind {
            key: "cells".to_string(),
            kind,
        };
        let hint = format!("remove `cells`; for a `{kind}` step, check its output with `stdout`");
        return Err(ctx.err(first.span(), problem, hint));
    }
    let cells = raw
        .cells
        .iter()
        .map(|spanned| {
            let c = spanned.get_ref();
            let cell = super::notebook::one_cell(
                ctx,
                spanned.span(),
                "cell",
                c.cell.as_ref(),
                c.tag.as_deref(),
                notebook,
            )?;
            Ok(CellExpect {
                cell,
                text: TextExpect {
                    contains: c.contains.clone(),
                    not_contains: c.not_contains.clone(),
                    matches: c
                        .matches
                        .iter()
                        .map(|m| ctx.regex(m))
                        .collect::<Result<_, _>>()?,
                    json: Default::default(),
                },
            })
        })
        .collect::<Result<_, SpecError>>()?;
    Ok(Expectations {
        // Shell and python steps must exit 0 unless the lab says otherwise.
        exit_code: raw.exit_code.or(runs_process.then_some(0)),
        stdout: text(ctx, &raw.stdout)?,
        stderr: text(ctx, &raw.stderr)?,
        files,
        incremental,
        served,
        max_output_tokens: raw.max_output_tokens.as_ref().map(|v| *v.get_ref()),
        stop_reasons: raw
            .stop_reasons
            .iter()
            .map(|v| v.get_ref().clone())
            .collect(),
        snapshot: raw.snapshot.clone(),
        replay_only: raw.replay_only.clone(),
        state: raw
            .state
            .iter()
            .map(|s| super::services::state(ctx, s, services))
            .collect::<Result<_, _>>()?,
        cells,
    })
}

fn text(ctx: &Ctx<'_>, raw: &RawTextExpect) -> Result<TextExpect, SpecError> {
    Ok(TextExpect {
        contains: raw.contains.clone(),
        not_contains: raw.not_contains.clone(),
        matches: raw
            .matches
            .iter()
            .map(|m| ctx.regex(m))
            .collect::<Result<_, _>>()?,
        json: raw
            .json
            .iter()
            .map(|(k, v)| Ok((ctx.pointer(k)?, v.clone())))
            .collect::<Result<_, SpecError>>()?,
    })
}
