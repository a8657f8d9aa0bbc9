//! From a [`Draft`] to proposed steps: one per runnable block, the blocks
//! that run a script folded into the script's step, the rest listed as
//! skipped with the reason; then the checklist bindings ([`super::bind`]).

use std::collections::{BTreeMap, HashSet};

use super::guess::{self, Guess};
use super::{Draft, DraftBlock};
use crate::ids::Operation;

/// Where a step's text comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Origin {
    /// Block `block` of the draft.
    Block(usize),
    /// Inline text (a command labcheck made up, or a block whose section
    /// name is ambiguous), with why.
    Inline(String),
}

/// What kind of step, with its kind-specific values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Shell,
    Python {
        file: String,
        file_guessed: bool,
        run: Origin,
        boto3: bool,
    },
    Sdk {
        call: &'static str,
        call_guessed: bool,
        body: Option<String>,
        prompt: Option<String>,
        /// (identifier, version) the block names.
        guardrail: Option<(String, String)>,
    },
    Playground,
    /// A notebook's code cells from the first through `last`, in one
    /// kernel (state carries from cell to cell, as for a student).
    Notebook {
        last: usize,
    },
}

/// One proposed `[[step]]`.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub id: String,
    pub kind: Kind,
    /// The block the step comes from (program, file or prompt).
    pub block: usize,
    pub operation: Option<Operation>,
    pub model: Option<String>,
    /// Whether `model` was taken from elsewhere on the page.
    pub model_guessed: bool,
    /// Checklist items (1-based) and why they were bound.
    pub proves: Vec<usize>,
    pub proves_why: Vec<String>,
}

/// A block not turned into a step, and why.
#[derive(Debug, Clone)]
pub(crate) struct Skipped {
    pub block: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Proposal {
    pub steps: Vec<Step>,
    pub skipped: Vec<Skipped>,
    pub region: Option<String>,
}

/// A step id from a heading: lower-case words joined by `-`, at most five.
fn slug(heading: &str) -> String {
    let words: Vec<String> = heading
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(5)
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        "cells".into()
    } else {
        words.join("-")
    }
}

/// Whether a block's section is about the console (heading or prose).
fn console_section(draft: &Draft, b: &DraftBlock) -> bool {
    let heading = b
        .section
        .and_then(|s| draft.sections.get(s))
        .map_or("", |s| s.name.as_str());
    let text = format!("{heading}\n{}", b.prose).to_lowercase();
    text.contains("playground") || text.contains("console")
}

/// The model id the page's code calls most (ties: the first seen).
fn page_model(draft: &Draft) -> Option<String> {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, b) in draft.blocks.iter().enumerate() {
        // A variable name (`modelId=CLAUDE`) is not an id: ids have a dot.
        if let Some(m) = guess::model_of(&b.text).filter(|m| m.contains('.')) {
            counts.entry(m).or_insert((0, i)).0 += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
        .map(|(m, _)| m)
}

pub(crate) fn propose(draft: &Draft) -> Proposal {
    let guesses: Vec<Guess> = draft
        .blocks
        .iter()
        .map(|b| guess::classify(b.lang.as_deref(), &b.text, console_section(draft, b)))
        .collect();
    let fallback_model = page_model(draft);
    let mut consumed = HashSet::new();
    let mut proposal = Proposal {
        region: draft.blocks.iter().find_map(|b| guess::region_of(&b.text)),
        ..Proposal::default()
    };
    let mut ids = HashSet::new();
    let mut step = |proposal: &mut Proposal, id: String, kind, block, op, model: Option<String>| {
        let (model, model_guessed) = match model {
            Some(m) => (Some(m), false),
            None => (fallback_model.clone(), fallback_model.is_some()),
        };
        let mut unique = id.clone();
        let mut n = 2;
        while !ids.insert(unique.clone()) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        proposal.steps.push(Step {
            id: unique,
            kind,
            block,
            operation: op,
            model,
            model_guessed,
            proves: Vec::new(),
            proves_why: Vec::new(),
        });
    };
    // A notebook's kernel cells: one `notebook` step per section that has
    // any, running the notebook from its first cell through the section's
    // last one; the call it checks is the last one its cells make.
    if draft.notebook {
        let mut by_section: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
        for (i, b) in draft.blocks.iter().enumerate() {
            if b.kernel_cell.is_some() {
                by_section.entry(b.section).or_default().push(i);
                consumed.insert(i);
            }
        }
        for blocks in by_section.values() {
            let Some(&last) = blocks.last() else { continue };
            let (mut op, mut model) = (None, None);
            for &i in blocks {
                if let Guess::Python {
                    operation: Some(o),
                    model: m,
                    ..
                } = &guesses[i]
                {
                    op = Some(*o);
                    // A variable name (`modelId=CLAUDE`) is not an id.
                    model = m.clone().filter(|m| m.contains('.')).or(model);
                }
            }
            let cell = draft.blocks[last].kernel_cell.unwrap_or(1);
            let id = draft.blocks[last]
                .section
                .and_then(|h| draft.sections.get(h))
                .map_or("notebook".to_string(), |h| {
                    format!("notebook-{}", slug(&h.name))
                });
            step(
                &mut proposal,
                id,
                Kind::Notebook { last: cell },
                last,
                op,
                model,
            );
        }
    }
    for (i, g) in guesses.iter().enumerate() {
        if consumed.contains(&i) {
            continue;
        }
        match g {
            Guess::Cli {
                command,
                operation,
                model,
            } => {
                let id = command.as_deref().map_or("cli".to_string(), |c| {
                    format!("cli-{}", guess::id_from_command(c))
                });
                step(&mut proposal, id, Kind::Shell, i, *operation, model.clone());
            }
            Guess::Python {
                boto3,
                operation,
                model,
            } => {
                let named = guess::file_named(&draft.blocks[i].prose, ".py");
                let file_guessed = named.is_none();
                let file = named.unwrap_or_else(|| format!("step_{}.py", proposal.steps.len() + 1));
                let runner = (i + 1..guesses.len()).find(|&j| {
                    !consumed.contains(&j)
                        && matches!(&guesses[j], Guess::RunsScript { file: f } if f == &file || f.ends_with(&format!("/{file}")))
                });
                let run = match runner {
                    Some(j) => {
                        consumed.insert(j);
                        Origin::Block(j)
                    }
                    None => Origin::Inline(format!("python3 {file}")),
                };
                let id = format!("python-{}", guess::id_from_file(&file));
                let kind = Kind::Python {
                    file,
                    file_guessed,
                    run,
                    boto3: *boto3,
                };
                step(&mut proposal, id, kind, i, *operation, model.clone());
            }
            Guess::Rust {
                operation,
                model,
                body,
                prompt,
                guardrail,
            } => {
                let (call, call_guessed) = match operation {
                    Some(Operation::InvokeModel) => ("invoke", false),
                    Some(Operation::InvokeModelWithResponseStream) => ("invoke-stream", false),
                    Some(Operation::ConverseStream) => ("converse-stream", false),
                    Some(Operation::Converse) => ("converse", false),
                    Some(Operation::ApplyGuardrail) => ("apply-guardrail", false),
                    // The SDK step calls these runtime operations only.
                    Some(_) | None => ("converse", true),
                };
                let kind = Kind::Sdk {
                    call,
                    call_guessed,
                    body: body.clone(),
                    prompt: prompt.clone(),
                    guardrail: guardrail.clone(),
                };
                let op = operation.or(Some(Operation::Converse));
                step(
                    &mut proposal,
                    format!("sdk-{call}"),
                    kind,
                    i,
                    op,
                    model.clone(),
                );
            }
            Guess::ConsolePrompt => {
                let id = "playground".to_string();
                step(
                    &mut proposal,
                    id,
                    Kind::Playground,
                    i,
                    Some(Operation::Converse),
                    None,
                );
            }
            Guess::RunsScript { file } => proposal.skipped.push(Skipped {
                block: i,
                reason: format!("runs `{file}`, which no python block before it is named as"),
            }),
            Guess::Setup => proposal.skipped.push(Skipped {
                block: i,
                reason:
                    "installs software (venv, pip): labcheck provisions python and boto3 itself"
                        .into(),
            }),
            Guess::Skip(reason) => proposal.skipped.push(Skipped {
                block: i,
                reason: (*reason).to_string(),
            }),
        }
    }
    super::bind::bind(draft, &mut proposal);
    proposal
}
