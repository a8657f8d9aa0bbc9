//! Which of a lab's steps grade a student's work, and how: the lab's blocks
//! are replaced by the student's files.
//!
//! - `python` steps: every file the lab tells the student to create (e.g.
//!   `invoke_bedrock.py`) comes from the workspace; the lab's run command
//!   (`python3 invoke_bedrock.py`) runs it with the provisioned python.
//! - `shell` steps that leave files (the CLI's `output.json`): the student's
//!   files are judged as the lab's file expectations say; the command is not
//!   re-run. Answer text (`…/text` pointers) may differ from the cassette's, so
//!   it only has to be present.
//! - `notebook` steps: the student's notebook (the lab's notebook file name
//!   in the workspace, else its only `.ipynb`) is re-executed against replay;
//!   its saved outputs are never trusted.
//! - other `shell`, `sdk` and `playground` steps check the lab, not the
//!   student's work: they are skipped, with the reason.

use crate::spec::lab::{Expectations, FileSpec, Lab, ProgramSource, Step, StepKind};

/// A lab step grading does not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub step: String,
    pub proves: Vec<usize>,
    pub why: &'static str,
}

/// The lab with only its grading steps, rewritten to read the workspace.
pub fn graded_lab(lab: &Lab) -> (Lab, Vec<Skipped>) {
    let mut graded = lab.clone();
    let mut skipped = Vec::new();
    graded.steps = lab
        .steps
        .iter()
        .filter_map(|step| match graded_step(step) {
            Ok(s) => Some(s),
            Err(why) => {
                skipped.push(Skipped {
                    step: step.id.to_string(),
                    proves: step.proves.clone(),
                    why,
                });
                None
            }
        })
        .collect();
    (graded, skipped)
}

fn graded_step(step: &Step) -> Result<Step, &'static str> {
    let mut step = step.clone();
    match &step.kind {
        StepKind::Python { files, run } => {
            let files = files
                .iter()
                .map(|f| FileSpec {
                    path: f.path.clone(),
                    source: ProgramSource::Workspace {
                        path: f.path.clone(),
                    },
                })
                .collect();
            step.kind = StepKind::Python {
                files,
                run: run.clone(),
            };
            Ok(step)
        }
        StepKind::Shell { .. } if !step.expect.files.is_empty() => {
            step.kind = StepKind::Shell {
                program: ProgramSource::Inline {
                    text: ": graded from the files the student handed in".into(),
                },
            };
            let mut files = step.expect.files.clone();
            for file in &mut files {
                for (pointer, value) in file.json.iter_mut() {
                    if pointer.ends_with("/text") && value.is_string() {
                        *value = serde_json::Value::String("*".into());
                    }
                }
            }
            step.expect = Expectations {
                exit_code: Some(0),
                files,
                ..Expectations::default()
            };
            // The files are judged once, whichever client produced them.
            step.clients.truncate(1);
            Ok(step)
        }
        StepKind::Notebook(nb) => {
            // The student's notebook, re-executed: saved outputs are never read.
            let mut nb = nb.clone();
            nb.from_workspace = true;
            step.kind = StepKind::Notebook(nb);
            Ok(step)
        }
        StepKind::Shell { .. } => Err("a shell step that leaves no file to grade"),
        StepKind::Sdk { .. } => Err("an SDK check of the lab itself, not the student's work"),
        StepKind::Playground { .. } => Err("a console step: nothing in the workspace shows it"),
    }
}
