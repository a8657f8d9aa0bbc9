//! A [`GradeReport`] as text (the terminal), JSON (an LMS), JUnit XML (CI) or
//! Markdown (a pull-request comment or `$GITHUB_STEP_SUMMARY`).

use std::fmt::Write as _;

use super::{GradeReport, GradeState};
use crate::report::junit::{self, Case, Suite};
use crate::report::markdown::cell;

/// The ticked checklist and the score, for a terminal.
pub fn text(r: &GradeReport) -> String {
    let mut out = format!("grade {} (workspace {})\n", r.lab, r.workspace);
    for item in &r.items {
        let mark = match item.state {
            GradeState::Ticked => "[x]",
            GradeState::Unticked => "[ ]",
            GradeState::NotGraded => "[-]",
        };
        let _ = writeln!(
            out,
            "  {mark} {}. {}  ({}/{})",
            item.index, item.text, item.points, item.max_points
        );
        for reason in &item.reasons {
            let _ = writeln!(out, "        {}", reason.replace('\n', "\n        "));
        }
    }
    if !r.network_guard.is_empty() {
        let _ = writeln!(out, "network guard: {}", r.network_guard.join(", "));
    }
    if !r.sandbox.is_empty() {
        let _ = writeln!(out, "sandbox: {}", r.sandbox.join(", "));
    }
    for link in &r.skipped_links {
        let _ = writeln!(out, "workspace: {link}");
    }
    let _ = writeln!(out, "score {}/{}", r.score, r.max);
    out
}

/// The versioned JSON document (`docs/grading.md`).
pub fn json(r: &GradeReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// One test case per checklist item (not graded items are skipped).
pub fn junit(r: &GradeReport) -> String {
    let cases = r
        .items
        .iter()
        .map(|item| Case {
            classname: r.lab.clone(),
            name: format!("{}. {}", item.index, item.text),
            time_ms: r
                .trials
                .iter()
                .filter(|t| item.trials.contains(&t.name))
                .map(|t| t.duration_ms)
                .sum(),
            failure: (item.state == GradeState::Unticked).then(|| {
                let first = item
                    .reasons
                    .first()
                    .and_then(|f| f.lines().next())
                    .unwrap_or("not ticked")
                    .to_string();
                (first, item.reasons.join("\n"))
            }),
            skipped: (item.state == GradeState::NotGraded).then(|| item.reasons.join("; ")),
        })
        .collect();
    let suite = Suite {
        name: r.lab.clone(),
        cases,
        system_out: Some(format!("score {}/{}\n", r.score, r.max)),
        system_err: None,
    };
    junit::render("labcheck grade", &[suite])
}

/// A Markdown summary: score, then the checklist with reasons.
pub fn markdown(r: &GradeReport) -> String {
    let mut out = format!("## Grade: {} — {}/{}\n\n", cell(&r.title), r.score, r.max);
    for item in &r.items {
        let mark = match item.state {
            GradeState::Ticked => "- [x]",
            GradeState::Unticked => "- [ ]",
            GradeState::NotGraded => "- [ ] _(not graded)_",
        };
        let _ = writeln!(
            out,
            "{mark} {}. {} ({}/{})",
            item.index, item.text, item.points, item.max_points
        );
        for reason in &item.reasons {
            let _ = writeln!(out, "  - {}", cell(reason));
        }
    }
    if !r.network_guard.is_empty() {
        let _ = writeln!(out, "\nNetwork guard: {}", r.network_guard.join(", "));
    }
    if !r.sandbox.is_empty() {
        let _ = writeln!(out, "\nSandbox: {}", r.sandbox.join(", "));
    }
    out
}
