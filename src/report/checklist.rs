//! The ticked checklist: each item of a lab's verification list with the
//! trials that proved it, and the lab's score.
//!
//! An item is ticked when every selected trial of the steps that prove it
//! passed; it stays unticked when any of them failed; it is "not judged" when
//! none of them ran in this run (a filtered run says so instead of guessing).

use std::fmt::Write as _;

use serde::Serialize;

use super::outcome::{Outcome, Status};
use crate::spec::lab::ChecklistItem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemState {
    Ticked,
    Unticked,
    NotJudged,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemVerdict {
    pub index: usize,
    pub text: String,
    pub state: ItemState,
    /// Trials that passed and prove this item.
    pub proven_by: Vec<String>,
    /// Trials that failed, with their first failure line.
    pub failed_by: Vec<(String, String)>,
    /// At least one proving trial emulated a console step.
    pub emulated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabVerdict {
    pub lab: String,
    pub items: Vec<ItemVerdict>,
}

impl LabVerdict {
    /// Builds the verdict of one lab from the outcomes of one run.
    pub fn new(lab: &str, checklist: &[ChecklistItem], outcomes: &[Outcome]) -> LabVerdict {
        let items = checklist
            .iter()
            .map(|item| {
                let relevant: Vec<&Outcome> = outcomes
                    .iter()
                    .filter(|o| o.lab == lab && o.proves.contains(&item.index))
                    .collect();
                let proven_by: Vec<String> = relevant
                    .iter()
                    .filter(|o| o.status == Status::Passed)
                    .map(|o| o.trial.clone())
                    .collect();
                let failed_by: Vec<(String, String)> = relevant
                    .iter()
                    .filter(|o| o.status == Status::Failed)
                    .map(|o| {
                        (
                            o.trial.clone(),
                            o.failures
                                .first()
                                .and_then(|f| f.lines().next())
                                .unwrap_or("failed")
                                .to_string(),
                        )
                    })
                    .collect();
                let state = if relevant.is_empty() {
                    ItemState::NotJudged
                } else if failed_by.is_empty() {
                    ItemState::Ticked
                } else {
                    ItemState::Unticked
                };
                ItemVerdict {
                    index: item.index,
                    text: item.text.clone(),
                    state,
                    proven_by,
                    failed_by,
                    emulated: relevant.iter().any(|o| o.emulated),
                }
            })
            .collect();
        LabVerdict {
            lab: lab.to_string(),
            items,
        }
    }

    pub fn ticked(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.state == ItemState::Ticked)
            .count()
    }

    pub fn not_judged(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.state == ItemState::NotJudged)
            .count()
    }

    /// The run fails when an item it judged is unticked.
    pub fn passed(&self) -> bool {
        self.items.iter().all(|i| i.state != ItemState::Unticked)
    }

    /// `4.1-invoke-fm-via-bedrock  4/4`, plus what was not judged.
    pub fn score_line(&self) -> String {
        let mut line = format!("{}  {}/{}", self.lab, self.ticked(), self.items.len());
        let nj = self.not_judged();
        if nj > 0 {
            let _ = write!(line, "  ({nj} not judged: no selected trial proves them)");
        }
        line
    }

    /// The checklist as printed at the end of a run.
    pub fn render(&self) -> String {
        let mut out = format!("checklist {}\n", self.lab);
        for item in &self.items {
            let mark = match item.state {
                ItemState::Ticked => "[x]",
                ItemState::Unticked => "[ ]",
                ItemState::NotJudged => "[?]",
            };
            let _ = writeln!(out, "  {mark} {}. {}", item.index, item.text);
            if item.emulated && item.state == ItemState::Ticked {
                let _ = writeln!(out, "        emulated via Converse (no console was driven)");
            }
            for trial in &item.proven_by {
                let _ = writeln!(out, "        ok     {trial}");
            }
            for (trial, why) in &item.failed_by {
                let _ = writeln!(out, "        FAILED {trial}: {why}");
            }
            if item.state == ItemState::NotJudged {
                let _ = writeln!(
                    out,
                    "        not judged: no selected trial proves this item"
                );
            }
        }
        out.push_str(&self.score_line());
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::outcome::OUTCOME_VERSION;

    fn item(index: usize, text: &str) -> ChecklistItem {
        ChecklistItem {
            index,
            text: text.into(),
            line: 10 + index,
            cell: None,
        }
    }

    fn outcome(trial: &str, proves: &[usize], status: Status) -> Outcome {
        Outcome {
            version: OUTCOME_VERSION,
            run_id: "r".into(),
            trial: trial.into(),
            lab: "lab".into(),
            step: "s".into(),
            client: "c".into(),
            proves: proves.to_vec(),
            status,
            emulated: false,
            failures: if status == Status::Failed {
                vec!["exit code: expected 0, got exit code 1\nmore".into()]
            } else {
                vec![]
            },
            duration_ms: 1,
            network_guard: None,
            sandbox: None,
        }
    }

    #[test]
    fn ticked_unticked_and_not_judged() {
        let checklist = [item(1, "a"), item(2, "b"), item(3, "c")];
        let outcomes = [
            outcome("lab::one::x", &[1], Status::Passed),
            outcome("lab::two::x", &[2], Status::Passed),
            outcome("lab::two::y", &[2], Status::Failed),
        ];
        let v = LabVerdict::new("lab", &checklist, &outcomes);
        assert_eq!(
            v.items.iter().map(|i| i.state).collect::<Vec<_>>(),
            [ItemState::Ticked, ItemState::Unticked, ItemState::NotJudged]
        );
        assert!(!v.passed());
        assert_eq!(
            v.score_line(),
            "lab  1/3  (1 not judged: no selected trial proves them)"
        );
        assert!(
            v.render()
                .contains("FAILED lab::two::y: exit code: expected 0, got exit code 1\n"),
            "{}",
            v.render()
        );
    }

    #[test]
    fn outcomes_of_other_labs_do_not_count() {
        let mut other = outcome("other::one::x", &[1], Status::Passed);
        other.lab = "other".into();
        let v = LabVerdict::new("lab", &[item(1, "a")], &[other]);
        assert_eq!(v.items[0].state, ItemState::NotJudged);
    }
}
