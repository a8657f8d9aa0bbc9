//! Checklist items bound to proposed steps: the steps of the item's own
//! section; else the steps whose heading, prose and code share the most of
//! its words (streaming items to streaming steps); else the nearest step
//! above it. Every binding is a guess and says which rule made it.

use std::collections::BTreeSet;

use super::Draft;
use super::plan::{Kind, Proposal, Step};

/// Words too common in lab pages to say which step an item is about.
const COMMON: &[&str] = &[
    "the", "and", "for", "with", "from", "that", "this", "your", "are", "được", "của", "cho",
    "một", "các", "trong", "bằng", "qua", "bước", "step", "lab",
];

fn words(text: &str) -> BTreeSet<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '_'))
        .filter(|w| w.chars().count() >= 3 && !COMMON.contains(w))
        .map(str::to_string)
        .collect()
}

fn streaming(words: &BTreeSet<String>) -> bool {
    words
        .iter()
        .any(|w| w.contains("stream") || w.contains("incremental"))
}

/// Everything a step is known by: heading, prose, code, run block, kind.
fn haystack(draft: &Draft, step: &Step) -> BTreeSet<String> {
    let b = &draft.blocks[step.block];
    let heading = b
        .section
        .and_then(|s| draft.sections.get(s))
        .map_or("", |s| s.name.as_str());
    let mut text = format!("{heading}\n{}\n{}", b.prose, b.text);
    match &step.kind {
        Kind::Shell => text.push_str(" cli aws"),
        Kind::Python { run, file, .. } => {
            text.push_str(&format!(" python script {file}"));
            if let super::plan::Origin::Block(j) = run {
                text.push_str(&draft.blocks[*j].text);
            }
        }
        Kind::Sdk { .. } => text.push_str(" sdk rust"),
        Kind::Playground => text.push_str(" playground console"),
        Kind::Notebook { .. } => text.push_str(" notebook cell kernel"),
    }
    if let Some(op) = step.operation {
        text.push_str(&format!(" {}", op.as_str()));
    }
    words(&text)
}

pub(crate) fn bind(draft: &Draft, proposal: &mut Proposal) {
    if proposal.steps.is_empty() {
        return;
    }
    let hay: Vec<BTreeSet<String>> = proposal.steps.iter().map(|s| haystack(draft, s)).collect();
    for (k, item) in draft.checklist.iter().enumerate() {
        let number = k + 1;
        let own: Vec<usize> = (0..proposal.steps.len())
            .filter(|&s| {
                item.section.is_some()
                    && draft.blocks[proposal.steps[s].block].section == item.section
            })
            .collect();
        let (chosen, why) = if !own.is_empty() {
            (own, "the step(s) of its section".to_string())
        } else {
            let item_words = words(&item.text);
            let item_streams = streaming(&item_words);
            let kind_words = [
                "cli",
                "python",
                "script",
                "boto3",
                "playground",
                "console",
                "sdk",
                "rust",
            ];
            let scored: Vec<(i64, Vec<&String>)> = hay
                .iter()
                .map(|h| {
                    let shared: Vec<&String> =
                        item_words.iter().filter(|w| h.contains(*w)).collect();
                    let mut score = shared.len() as i64;
                    if item_streams != streaming(h) {
                        score -= 2;
                    }
                    // Naming the way the step is done ("CLI", "script",
                    // "Playground") says more than any other word.
                    if kind_words
                        .iter()
                        .any(|w| item_words.contains(*w) && h.contains(*w))
                    {
                        score += 2;
                    }
                    (score, shared)
                })
                .collect();
            let best = scored.iter().map(|(s, _)| *s).max().unwrap_or(0);
            if best > 0 {
                let chosen: Vec<usize> =
                    (0..scored.len()).filter(|&s| scored[s].0 == best).collect();
                (chosen, String::new())
            } else {
                let above = proposal
                    .steps
                    .iter()
                    .rposition(|s| draft.blocks[s.block].line < item.line)
                    .unwrap_or(0);
                (vec![above], "the nearest step above it".to_string())
            }
        };
        for s in chosen {
            let why = if why.is_empty() {
                let shared: Vec<String> = words(&item.text)
                    .into_iter()
                    .filter(|w| hay[s].contains(w))
                    .map(|w| format!("`{w}`"))
                    .collect();
                format!("words it shares with the step: {}", shared.join(", "))
            } else {
                why.clone()
            };
            proposal.steps[s].proves.push(number);
            proposal.steps[s]
                .proves_why
                .push(format!("{number}: {why}"));
        }
    }
}
