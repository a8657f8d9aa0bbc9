//! Markdown for people reading CI: a summary fit for `$GITHUB_STEP_SUMMARY`
//! (a score table, then each lab's checklist with the reasons of what failed).

use std::fmt::Write as _;

use super::checklist::{ItemState, LabVerdict};
use super::leftovers::{Leftover, render_markdown};
use super::outcome::{Outcome, Status};

/// The summary of one run (`labcheck report --format markdown`); what a
/// record or live run left in the account last.
pub fn run_summary(
    run_id: &str,
    verdicts: &[LabVerdict],
    outcomes: &[Outcome],
    left_behind: &[Leftover],
) -> String {
    let failed = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .count();
    let mut out = format!("## labcheck run `{}`\n\n", cell(run_id));
    let _ = writeln!(
        out,
        "{} trial(s), {failed} failed{}\n",
        outcomes.len(),
        guards_note(outcomes)
    );
    out.push_str("| lab | score | not judged |\n|---|---|---|\n");
    for v in verdicts {
        let _ = writeln!(
            out,
            "| {} {} | {}/{} | {} |",
            if v.passed() { "✅" } else { "❌" },
            cell(&v.lab),
            v.ticked(),
            v.items.len(),
            v.not_judged()
        );
    }
    for v in verdicts {
        let _ = writeln!(out, "\n### {}\n", cell(&v.lab));
        for item in &v.items {
            let mark = match item.state {
                ItemState::Ticked => "- [x]",
                ItemState::Unticked => "- [ ]",
                ItemState::NotJudged => "- [ ] _(not judged)_",
            };
            let _ = writeln!(out, "{mark} {}. {}", item.index, item.text);
            for (trial, why) in &item.failed_by {
                let _ = writeln!(out, "  - ❌ `{}`: {}", trial, cell(why));
            }
        }
    }
    out.push_str(&render_markdown(left_behind));
    out
}

/// The network guards the outcomes ran under, e.g. `netns+proxy`, sorted.
pub fn guards(outcomes: &[Outcome]) -> Vec<&str> {
    let mut guards: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.network_guard.as_deref())
        .collect();
    guards.sort();
    guards.dedup();
    guards
}

/// The sandboxes the outcomes' step processes ran in, e.g.
/// `namespaces+uid 65534`, sorted.
pub fn sandboxes(outcomes: &[Outcome]) -> Vec<&str> {
    let mut found: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.sandbox.as_deref())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// `; network guard: netns+proxy; sandbox: …` when the outcomes say.
fn guards_note(outcomes: &[Outcome]) -> String {
    let mut note = String::new();
    let guards = guards(outcomes);
    if !guards.is_empty() {
        note.push_str(&format!("; network guard: {}", guards.join(", ")));
    }
    let sandboxes = sandboxes(outcomes);
    if !sandboxes.is_empty() {
        note.push_str(&format!("; sandbox: {}", sandboxes.join(", ")));
    }
    note
}

/// Text safe inside a table cell or list item: no pipes, no line breaks.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
