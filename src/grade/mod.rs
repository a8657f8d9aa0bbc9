//! Grading a student's workspace against a lab: the lab's steps run with the
//! student's own files in place of the lab's blocks, and the page's checklist
//! becomes a score an LMS can read.
//!
//! The workspace is copied once into a staging directory
//! ([`crate::runner::trial::seed_workspace`]: no symlink out of it is
//! followed, each skipped link is listed in the report), and every trial runs
//! in its own copy of that, under
//! the step's time limit, with only the environment labcheck sets
//! ([`crate::steps::env::ChildEnv`]) and the network guard. A missing file is a
//! failed step with a hint, never an error of the tool. The JSON form of
//! [`GradeReport`] is documented in `docs/grading.md` (schema
//! [`GRADE_SCHEMA`]).

pub mod plan;
pub mod render;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cassette::CassetteSet;
use crate::clients::{Clients, StderrProgress};
use crate::plan::LoadedLab;
use crate::report::checklist::ItemState;
use crate::report::{LabVerdict, Outcome, Status};
use crate::runner::{self, RunConfig};

/// Identifies the JSON layout of [`GradeReport`]; bumped on breaking changes.
pub const GRADE_SCHEMA: &str = "labcheck-grade/1";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GradeError {
    #[error("workspace `{0}` is not a directory (hint: pass the folder the student handed in)")]
    NoWorkspace(PathBuf),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error("cannot copy workspace `{path}`: {source}")]
    Copy {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How to grade.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    pub workspace: PathBuf,
    /// Replay speed factor (1 = recorded timing: streaming is judged on it).
    pub speed: f64,
    pub netguard: crate::netguard::Policy,
    /// The provisioned clients' cache.
    pub clients: Clients,
    /// The sandbox for student code (`LABCHECK_SANDBOX`; default: the strongest).
    pub sandbox: crate::sandbox::Policy,
}

/// State of one checklist item in a grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GradeState {
    /// Every grading trial that proves it passed: full points.
    Ticked,
    /// A grading trial that proves it failed: no points; see `reasons`.
    Unticked,
    /// No step the student's work can show proves it (e.g. a console step):
    /// not counted in `max`.
    NotGraded,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeItem {
    pub index: usize,
    pub text: String,
    pub state: GradeState,
    pub points: u32,
    pub max_points: u32,
    /// Why points were lost (one line per unmet expectation, with hints), or
    /// why the item is not graded.
    pub reasons: Vec<String>,
    /// Trials that judged this item.
    pub trials: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeTrial {
    pub name: String,
    pub step: String,
    pub client: String,
    pub status: Status,
    pub failures: Vec<String>,
    pub duration_ms: u64,
    pub network_guard: Option<String>,
    /// The sandbox the step's processes ran in (see [`crate::sandbox`]).
    pub sandbox: Option<String>,
}

/// The grade of one workspace against one lab.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeReport {
    pub schema: &'static str,
    pub lab: String,
    pub title: String,
    pub workspace: String,
    pub score: u32,
    pub max: u32,
    pub items: Vec<GradeItem>,
    pub trials: Vec<GradeTrial>,
    /// The guards the step processes ran under, e.g. `["netns+proxy"]`.
    pub network_guard: Vec<String>,
    /// The sandboxes the step processes ran in, e.g. `["namespaces+uid 65534"]`.
    pub sandbox: Vec<String>,
    /// Symlinks of the workspace that were not copied, and why.
    pub skipped_links: Vec<String>,
}

impl GradeReport {
    /// Score as a percentage of `max` (100 when nothing is gradable).
    pub fn percent(&self) -> f64 {
        if self.max == 0 {
            100.0
        } else {
            f64::from(self.score) * 100.0 / f64::from(self.max)
        }
    }
}

/// Grades `opts.workspace` against the lab in `lab_dir`.
pub fn grade(lab_dir: &Path, opts: &GradeOptions) -> Result<GradeReport, GradeError> {
    if !opts.workspace.is_dir() {
        return Err(GradeError::NoWorkspace(opts.workspace.clone()));
    }
    let lab = crate::spec::load_lab(lab_dir)?;
    let (graded, skipped) = plan::graded_lab(&lab);
    let cassettes = CassetteSet::load_dir(&graded.cassettes).map_err(Into::into);
    let loaded = Arc::new(LoadedLab {
        lab: graded,
        cassettes,
    });
    let copy_error = |source| GradeError::Copy {
        path: opts.workspace.clone(),
        source,
    };
    // One staged copy: links are judged once, and every trial copies plain files.
    let staging = tempfile::Builder::new()
        .prefix("labcheck-grade-")
        .tempdir()
        .map_err(copy_error)?;
    let skipped_links =
        runner::trial::seed_workspace(&opts.workspace, staging.path()).map_err(copy_error)?;
    let results = tempfile::tempdir().ok();
    let results_root = results
        .as_ref()
        .map_or_else(std::env::temp_dir, |d| d.path().to_path_buf());
    let config = RunConfig {
        speed: opts.speed,
        workspace: Some(staging.path().to_path_buf()),
        netguard: opts.netguard,
        sandbox: opts.sandbox,
        ..RunConfig::new(
            vec![lab_dir.to_path_buf()],
            results_root,
            opts.clients.clone(),
        )
    };
    let mut outcomes: Vec<Outcome> = Vec::new();
    for def in crate::plan::trials_of(&loaded) {
        if crate::clients::PROVISIONED.contains(&def.client) {
            // A provisioning error fails the trial below, with its message.
            let _ = opts.clients.ensure(def.client, &StderrProgress);
        }
        outcomes.push(runner::run_trial(&def, &config));
    }
    let mut report = build_report(&lab, opts, &outcomes, &skipped);
    // An item lost while links were ignored says so: the link is often why a
    // file the step needs is missing.
    for item in report
        .items
        .iter_mut()
        .filter(|i| i.state == GradeState::Unticked)
    {
        item.reasons.extend(
            skipped_links
                .iter()
                .map(|link| runner::trial::ignored_link_failure(link).to_string()),
        );
    }
    report.skipped_links = skipped_links.iter().map(ToString::to_string).collect();
    Ok(report)
}

fn build_report(
    lab: &crate::spec::lab::Lab,
    opts: &GradeOptions,
    outcomes: &[Outcome],
    skipped: &[plan::Skipped],
) -> GradeReport {
    let lab_id = lab.id.to_string();
    let verdict = LabVerdict::new(&lab_id, &lab.checklist, outcomes);
    let items: Vec<GradeItem> = verdict
        .items
        .iter()
        .map(|v| {
            let judged: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| o.proves.contains(&v.index))
                .collect();
            let (state, reasons) = match v.state {
                ItemState::Ticked => (GradeState::Ticked, Vec::new()),
                ItemState::Unticked => (
                    GradeState::Unticked,
                    judged
                        .iter()
                        .filter(|o| o.status == Status::Failed)
                        .flat_map(|o| o.failures.iter().map(move |f| format!("{}: {f}", o.step)))
                        .collect(),
                ),
                ItemState::NotJudged => (
                    GradeState::NotGraded,
                    skipped
                        .iter()
                        .filter(|s| s.proves.contains(&v.index))
                        .map(|s| format!("step `{}` is not graded: {}", s.step, s.why))
                        .collect(),
                ),
            };
            let max_points = u32::from(state != GradeState::NotGraded);
            GradeItem {
                index: v.index,
                text: v.text.clone(),
                state,
                points: u32::from(state == GradeState::Ticked),
                max_points,
                reasons,
                trials: judged.iter().map(|o| o.trial.clone()).collect(),
            }
        })
        .collect();
    let mut guards: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.network_guard.clone())
        .collect();
    guards.sort();
    guards.dedup();
    let mut sandboxes: Vec<String> = outcomes.iter().filter_map(|o| o.sandbox.clone()).collect();
    sandboxes.sort();
    sandboxes.dedup();
    GradeReport {
        schema: GRADE_SCHEMA,
        lab: lab_id,
        title: lab.title.clone(),
        workspace: opts.workspace.display().to_string(),
        score: items.iter().map(|i| i.points).sum(),
        max: items.iter().map(|i| i.max_points).sum(),
        items,
        trials: outcomes
            .iter()
            .map(|o| GradeTrial {
                name: o.trial.clone(),
                step: o.step.clone(),
                client: o.client.clone(),
                status: o.status,
                failures: o.failures.clone(),
                duration_ms: o.duration_ms,
                network_guard: o.network_guard.clone(),
                sandbox: o.sandbox.clone(),
            })
            .collect(),
        network_guard: guards,
        sandbox: sandboxes,
        skipped_links: Vec::new(),
    }
}
