//! Planning: labs → trials. Which labs a run covers, how each is loaded, and
//! how its steps expand into trials named `<lab>::<step>::<client>` (a
//! playground step once per parameter pair: `<step>-t<T>-m<M>`). Shared by
//! `run`, `list`, `report`, `grade` and `tests/labs.rs`, so a trial has one
//! name everywhere.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cassette::{CassetteError, CassetteSet};
use crate::ids::ClientId;
use crate::spec::lab::{Lab, ParamPair, StepKind};
use crate::spec::{self};

/// The labs directory could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list labs in `{path}`: {source}")]
pub struct DiscoverError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Every directory under `labs_root` that holds a `lab.toml`, sorted.
pub fn discover_labs(labs_root: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let entries = std::fs::read_dir(labs_root).map_err(|source| DiscoverError {
        path: labs_root.to_path_buf(),
        source,
    })?;
    let mut labs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("lab.toml").is_file())
        .collect();
    labs.sort();
    Ok(labs)
}

/// Why a lab's cassettes are not there for its trials (each fails with it).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CassettesUnavailable {
    /// Loading failed; shared by every trial of the lab. Shown as the
    /// rendered diagnostic (snippet and caret), as `lint` shows it.
    #[error("{}", .0.diagnostic().render())]
    Load(Arc<CassetteError>),
    /// The plan was made for listing only.
    #[error("cassettes not loaded (plan made for listing only)")]
    NotLoaded,
}

impl From<CassetteError> for CassettesUnavailable {
    fn from(e: CassetteError) -> Self {
        CassettesUnavailable::Load(Arc::new(e))
    }
}

/// A lab as loaded for a run: the validated spec and its cassettes (or why
/// they could not be loaded: every trial of the lab then fails with it).
pub struct LoadedLab {
    pub lab: Lab,
    pub cassettes: Result<CassetteSet, CassettesUnavailable>,
}

/// One trial to run.
#[derive(Clone)]
pub struct TrialDef {
    pub name: String,
    pub lab: Arc<LoadedLab>,
    pub step: usize,
    pub client: ClientId,
    pub pair: Option<ParamPair>,
}

impl TrialDef {
    /// The step this trial runs.
    pub fn step(&self) -> &crate::spec::lab::Step {
        &self.lab.lab.steps[self.step]
    }
}

/// What a run will do: the trials, plus labs that failed to load.
pub struct Plan {
    pub labs: Vec<Arc<LoadedLab>>,
    pub trials: Vec<TrialDef>,
    /// (lab dir, rendered error) of labs whose lab.toml or page is invalid.
    pub broken: Vec<(PathBuf, String)>,
}

impl Plan {
    /// The name of the trial that reports a lab which failed to load.
    pub fn broken_trial_name(dir: &Path) -> String {
        format!(
            "{}::lab.toml::spec",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        )
    }
}

/// Which labs to plan, and with which page.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    pub labs: &'a [PathBuf],
    /// Replace each lab's page (to run a lab.toml against another version of it).
    pub page_override: Option<&'a Path>,
}

/// Loads the labs and expands their steps into trials.
pub fn plan(selection: Selection<'_>) -> Plan {
    plan_with(selection, true)
}

/// Like [`plan`], without loading cassettes: for `labcheck list`, which only
/// names trials. (Loading and validating every cassette was two thirds of
/// `list`'s time on a 500-lab catalog: benches/catalog.rs.) The trials'
/// `cassettes` are an error saying so; do not run them.
pub fn plan_names_only(selection: Selection<'_>) -> Plan {
    plan_with(selection, false)
}

/// The trials of one loaded lab, in step order, then client, then pair.
pub fn trials_of(loaded: &Arc<LoadedLab>) -> Vec<TrialDef> {
    let mut trials = Vec::new();
    for (index, step) in loaded.lab.steps.iter().enumerate() {
        let pairs: Vec<Option<ParamPair>> = match &step.kind {
            StepKind::Playground { pairs, .. } => pairs.iter().copied().map(Some).collect(),
            _ => vec![None],
        };
        for client in &step.clients {
            for pair in &pairs {
                let step_name = match pair {
                    Some(p) => format!("{}-{}", step.id, p.label()),
                    None => step.id.to_string(),
                };
                trials.push(TrialDef {
                    name: format!("{}::{}::{}", loaded.lab.id, step_name, client),
                    lab: Arc::clone(loaded),
                    step: index,
                    client: *client,
                    pair: *pair,
                });
            }
        }
    }
    trials
}

fn plan_with(selection: Selection<'_>, load_cassettes: bool) -> Plan {
    let mut plan = Plan {
        labs: Vec::new(),
        trials: Vec::new(),
        broken: Vec::new(),
    };
    let load = |dir: &PathBuf| -> Result<LoadedLab, String> {
        let lab = match selection.page_override {
            // Against another page, every broken reference at once: the
            // first error alone would hide the rest.
            Some(page) => spec::load_lab_with_page(dir, page).map_err(|e| {
                let mut all = vec![e.diagnostic().render()];
                for other in spec::broken_references(dir, page) {
                    let text = other.diagnostic().render();
                    if !all.contains(&text) {
                        all.push(text);
                    }
                }
                all.join("\n")
            }),
            None => spec::load_lab(dir).map_err(|e| e.diagnostic().render()),
        }?;
        let cassettes = if load_cassettes {
            CassetteSet::load_dir(&lab.cassettes).map_err(Into::into)
        } else {
            Err(CassettesUnavailable::NotLoaded)
        };
        Ok(LoadedLab { lab, cassettes })
    };
    for (dir, loaded) in selection
        .labs
        .iter()
        .zip(load_parallel(selection.labs, load))
    {
        match loaded {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                plan.trials.extend(trials_of(&loaded));
                plan.labs.push(loaded);
            }
            Err(e) => plan.broken.push((dir.clone(), e)),
        }
    }
    plan
}

/// `load` over `items` on the machine's cores, results in input order. Lab
/// loading (TOML, page, cassettes) is independent per lab; on a 500-lab
/// catalog this halves `labcheck list` on 2 cores (benches/catalog.rs).
fn load_parallel<T, R, F>(items: &[T], load: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 8 {
        return items.iter().map(&load).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&load).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(results) => results,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn trials_are_named_lab_step_client_and_playground_pairs_expand() {
        let labs = discover_labs(&repo().join("labs")).expect("labs");
        let plan = plan_names_only(Selection {
            labs: &labs,
            page_override: None,
        });
        assert!(plan.broken.is_empty(), "{:?}", plan.broken);
        let names: Vec<&str> = plan.trials.iter().map(|t| t.name.as_str()).collect();
        assert!(
            names.contains(&"4.1-invoke-fm-via-bedrock::cli-invoke::aws-cli-v2"),
            "{names:?}"
        );
        assert!(
            names.contains(&"4.1-invoke-fm-via-bedrock::playground-t0.9-m500::rust-sdk"),
            "{names:?}"
        );
        // Names are unique: libtest's `--exact` and outcome files rely on it.
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        // Listing plans never load cassettes.
        assert!(plan.labs.iter().all(|l| l.cassettes.is_err()));
        for t in &plan.trials {
            assert!(t.name.contains(&format!("::{}", t.client)), "{}", t.name);
            assert!(t.name.starts_with(&t.lab.lab.id.to_string()), "{}", t.name);
        }
    }

    #[test]
    fn a_lab_that_fails_to_load_is_broken_not_planned() {
        let bad = repo().join("tests/fixtures/bad/unknown-key-step");
        let good = repo().join("labs/4.2-converse-api");
        let plan = plan(Selection {
            labs: &[bad.clone(), good],
            page_override: None,
        });
        assert_eq!(plan.broken.len(), 1);
        assert_eq!(plan.broken[0].0, bad);
        assert_eq!(plan.labs.len(), 1);
        assert!(plan.labs[0].cassettes.is_ok());
        assert_eq!(
            Plan::broken_trial_name(&bad),
            "unknown-key-step::lab.toml::spec"
        );
    }
}
