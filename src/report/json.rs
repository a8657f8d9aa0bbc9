//! The JSON report of one run (`labcheck report --format json`): every lab's
//! checklist verdict and every trial outcome, schema [`REPORT_SCHEMA`]
//! (documented in `docs/grading.md`).

use serde::Serialize;

use super::checklist::LabVerdict;
use super::leftovers::Leftover;
use super::outcome::Outcome;

/// Identifies the JSON layout; bumped on breaking changes.
pub const REPORT_SCHEMA: &str = "labcheck-report/1";

#[derive(Debug, Serialize)]
pub struct RunReport<'a> {
    pub schema: &'static str,
    pub run_id: &'a str,
    pub labs: Vec<LabEntry<'a>>,
    pub trials: &'a [Outcome],
    /// Resources a record or live run left in the account; absent when none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub left_behind: &'a [Leftover],
}

#[derive(Debug, Serialize)]
pub struct LabEntry<'a> {
    pub score: usize,
    pub max: usize,
    pub passed: bool,
    #[serde(flatten)]
    pub verdict: &'a LabVerdict,
}

/// Pretty JSON of the run.
pub fn render(
    run_id: &str,
    verdicts: &[LabVerdict],
    outcomes: &[Outcome],
    left_behind: &[Leftover],
) -> String {
    let report = RunReport {
        schema: REPORT_SCHEMA,
        run_id,
        labs: verdicts
            .iter()
            .map(|v| LabEntry {
                score: v.ticked(),
                max: v.items.len(),
                passed: v.passed(),
                verdict: v,
            })
            .collect(),
        trials: outcomes,
        left_behind,
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
