//! What a run prints on the terminal, in one place: the end-of-run checklists,
//! a failed trial's message for libtest, and one-line warnings. The runner
//! decides when; this module decides what it looks like and where it goes.

use std::fmt::Write as _;
use std::path::Path;

use super::checklist::LabVerdict;
use super::leftovers::render_text;
use super::markdown::guards;
use super::outcome::{Outcome, ResultsDir};
use crate::spec::lab::Lab;

/// The end of a run: each lab's ticked checklist, then the network guards in
/// force, what a record or live run left in the account (read from the
/// run's results directory) and where the outcome files are.
#[derive(Debug, Clone)]
pub struct EndOfRun {
    pub text: String,
    /// Every judged checklist item of every lab is ticked.
    pub checklist_ok: bool,
}

impl EndOfRun {
    /// Builds the summary of `labs` from the run's `outcomes`.
    pub fn new<'a>(
        labs: impl IntoIterator<Item = &'a Lab>,
        outcomes: &[Outcome],
        results_dir: &Path,
    ) -> EndOfRun {
        let mut text = String::from("\n");
        let mut checklist_ok = true;
        for lab in labs {
            let verdict = LabVerdict::new(&lab.id.to_string(), &lab.checklist, outcomes);
            checklist_ok &= verdict.passed();
            text.push_str(&verdict.render());
        }
        let guards = guards(outcomes);
        if !guards.is_empty() {
            let _ = writeln!(text, "network guard: {}", guards.join(", "));
        }
        let sandboxes = super::markdown::sandboxes(outcomes);
        if !sandboxes.is_empty() {
            let _ = writeln!(text, "sandbox: {}", sandboxes.join(", "));
        }
        let results = ResultsDir {
            dir: results_dir.to_path_buf(),
        };
        match results.read_leftovers() {
            Ok(left) => text.push_str(&render_text(&left)),
            Err(e) => {
                let _ = writeln!(text, "left behind in AWS: unknown ({e})");
            }
        }
        let _ = writeln!(text, "results: {}", results_dir.display());
        EndOfRun { text, checklist_ok }
    }

    /// Prints it on stdout, after libtest's own summary.
    pub fn print(&self) {
        print!("{}", self.text);
    }
}

/// The message libtest prints under a failed trial: the step, then each
/// failure indented.
pub fn trial_failure(
    step: &str,
    kind: &str,
    line: usize,
    client: &str,
    failures: &[String],
) -> String {
    let mut msg = format!("step `{step}` ({kind}, lab.toml line {line}) under {client} failed:\n");
    for failure in failures {
        msg.push_str("  - ");
        msg.push_str(&failure.replace('\n', "\n    "));
        msg.push('\n');
    }
    msg
}

/// A one-line note on stderr (`labcheck: …`), for what does not fail a trial
/// but should be seen: a client that could not be provisioned up front, an
/// outcome file that could not be written, checks skipped against a real model.
pub fn note(line: &str) {
    eprintln!("labcheck: {line}");
}

/// Like [`note`], marked as a warning.
pub fn warn(line: &str) {
    eprintln!("labcheck: warning: {line}");
}

/// An error that stops the run before any trial (`error: …`).
pub fn error(line: &str) {
    eprintln!("error: {line}");
}

/// Text as is on stderr (e.g. the live token budget at the end of a run).
pub fn stderr(text: &str) {
    eprint!("{text}");
}
