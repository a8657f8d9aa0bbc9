//! Execution: a plan's trials run under libtest-mimic. `tests/labs.rs` (a
//! `harness = false` test) and `labcheck run`, `record` and `drift` all call
//! [`harness`]: one trial per lab × step × client as named by
//! [`crate::plan`], so libtest filters, `--exact`, `--list` and
//! `cargo nextest run` select them. Every trial runs in [`trial`] with its
//! own endpoint and workspace and writes its outcome file; the run ends with
//! each lab's ticked checklist from [`crate::report::console`] (skipped under
//! nextest, where every trial is its own process: `labcheck report` merges).

mod filters;
mod secrets;
pub mod trial;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::clients::{Clients, StderrProgress};
use crate::exit_code;
use crate::ids::ClientId;
use crate::mode::Mode;
use crate::plan::{self, Plan, Selection, TrialDef};
use crate::report::console::{self, EndOfRun};
use crate::report::{ResultsDir, Status};
use crate::settings::{Settings, SettingsError};
pub use filters::TestArgs;
pub use trial::{TrialError, TrialRun, run_step, run_step_on, run_trial};

/// How a run is set up: built at the edge from [`Settings`] and flags, passed
/// down as a value.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Lab directories to run.
    pub labs: Vec<PathBuf>,
    /// `target/labcheck/results`.
    pub results_root: PathBuf,
    /// Shared by all processes of one run (`NEXTEST_RUN_ID` under nextest).
    pub run_id: String,
    /// Replay speed factor: 1 = the recorded schedule, 0 = no delays
    /// (validated by [`crate::settings::parse_speed`]).
    pub speed: f64,
    /// Print the checklist at the end (off under nextest's process-per-test).
    pub print_checklist: bool,
    /// replay (default), record or live; see [`crate::mode`].
    pub mode: Mode,
    /// Replace each lab's page (to run a lab.toml against another version of its page).
    pub page_override: Option<PathBuf>,
    /// Record and live modes: upstream, record mode, credentials, token budget.
    pub proxy: crate::record::ProxySettings,
    /// Grading: a student's workspace, copied into each trial's workspace
    /// before its step runs ([`trial::seed_workspace`]).
    pub workspace: Option<PathBuf>,
    /// Network guard for step processes (`LABCHECK_NETGUARD`).
    pub netguard: crate::netguard::Policy,
    /// The provisioned clients' cache.
    pub clients: Clients,
    /// Sandbox for step processes (`LABCHECK_SANDBOX`).
    pub sandbox: crate::sandbox::Policy,
}

impl RunConfig {
    /// A replay run of `labs` with every other setting at its default:
    /// recorded timing, a fresh run id, no page override, default guard
    /// policy. Callers override fields with struct update syntax.
    pub fn new(labs: Vec<PathBuf>, results_root: PathBuf, clients: Clients) -> RunConfig {
        RunConfig {
            labs,
            results_root,
            run_id: crate::settings::fresh_run_id(),
            speed: 1.0,
            print_checklist: false,
            mode: Mode::Replay,
            page_override: None,
            proxy: Default::default(),
            workspace: None,
            netguard: Default::default(),
            clients,
            sandbox: Default::default(),
        }
    }

    /// A run of `labs` as `settings` say (mode, run id, speed, proxy, guard,
    /// clients), printing the checklist at the end unless under nextest.
    pub fn from_settings(
        labs: Vec<PathBuf>,
        results_root: PathBuf,
        settings: &Settings,
    ) -> RunConfig {
        RunConfig {
            labs,
            results_root,
            run_id: settings.run_id.clone(),
            speed: settings.speed,
            print_checklist: !settings.under_nextest,
            mode: settings.mode,
            page_override: None,
            proxy: settings.proxy.clone(),
            workspace: None,
            netguard: settings.netguard,
            clients: settings.clients.clone(),
            sandbox: settings.sandbox,
        }
    }

    /// The configuration `cargo test` uses: every lab under `<root>/labs`,
    /// results under the cargo target dir.
    pub fn for_cargo_test(root: &Path, settings: &Settings) -> Result<RunConfig, ConfigError> {
        Ok(RunConfig::from_settings(
            plan::discover_labs(&root.join("labs"))?,
            settings.cargo_results_dir(root),
            settings,
        ))
    }

    /// Which labs to plan, with which page.
    pub fn selection(&self) -> Selection<'_> {
        Selection {
            labs: &self.labs,
            page_override: self.page_override.as_deref(),
        }
    }

    /// The plan of this run: labs loaded, trials named.
    pub fn plan(&self) -> Plan {
        plan::plan(self.selection())
    }
}

/// Why a run could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    LabsDir(#[from] plan::DiscoverError),
}

/// Provisions the clients the selected trials need, before any trial runs,
/// so installs show progress once and do not count against trial time limits.
fn provision(clients: &Clients, defs: &[&TrialDef]) -> Vec<(ClientId, String)> {
    let mut needed: Vec<ClientId> = defs
        .iter()
        .map(|d| d.client)
        .filter(|c| crate::clients::PROVISIONED.contains(c))
        .collect();
    needed.sort();
    needed.dedup();
    needed
        .into_iter()
        .filter_map(|c| {
            clients
                .ensure(c, &StderrProgress)
                .err()
                .map(|e| (c, e.to_string()))
        })
        .collect()
}

/// The libtest trial of one planned trial.
fn libtest_trial(def: &TrialDef, config: &Arc<RunConfig>) -> Trial {
    let def_for_trial = def.clone();
    let config = Arc::clone(config);
    Trial::test(def.name.clone(), move || {
        let outcome = run_trial(&def_for_trial, &config);
        match outcome.status {
            Status::Passed => Ok(()),
            Status::Failed => {
                let step = def_for_trial.step();
                Err(Failed::from(console::trial_failure(
                    &step.id.to_string(),
                    step.kind.name(),
                    step.line,
                    &def_for_trial.client.to_string(),
                    &outcome.failures,
                )))
            }
        }
    })
    .with_kind(def.step().kind.name())
}

/// The one place the trial list is handed to libtest-mimic: the trials of
/// labs that failed to load (`broken`), then the planned trials, each with
/// its definition, in plan order (lab, step, client). A scheduler that
/// orders `planned` (e.g. longest first, by step kind) or picks a default
/// `--test-threads` when `args` gives none goes here.
fn run_trials(
    args: &Arguments,
    broken: Vec<Trial>,
    planned: Vec<(&TrialDef, Trial)>,
) -> libtest_mimic::Conclusion {
    let trials = broken
        .into_iter()
        .chain(planned.into_iter().map(|(_, trial)| trial))
        .collect();
    libtest_mimic::run(args, trials)
}

/// Runs the plan's trials under libtest-mimic with `args`, then prints each
/// lab's checklist. Returns the exit code ([`crate::exit_code`]):
/// [`exit_code::FAILED`] when a trial failed or a judged checklist item is
/// unticked, [`exit_code::USAGE`] when a lab could not be loaded.
pub fn harness(test_args: &TestArgs, config: RunConfig) -> u8 {
    let mut plan = config.plan();
    // Several filters: the trials none of them selects are dropped here,
    // before libtest-mimic (which takes one filter) sees the list.
    // A broken lab still makes the run exit 2 (as with one filter); only
    // its trial is dropped.
    let before = plan.trials.len();
    plan.trials
        .retain(|d| test_args.selects(&d.name, d.step().kind.name()));
    let dropped = before - plan.trials.len();
    let args = &test_args.args;
    // Longest trials first and a default `--test-threads` that fits trials
    // which mostly wait (src/schedule.rs); a user's `--test-threads` wins.
    let scheduled = crate::schedule::apply(args, config.mode, &mut plan.trials, |d| {
        let cassettes = d.lab.cassettes.as_ref().ok();
        crate::schedule::trial_cost(&d.lab.lab.steps[d.step], d.client, cassettes, config.speed)
    });
    let args = &scheduled;
    let config = Arc::new(config);
    let broken: Vec<Trial> = plan
        .broken
        .iter()
        .filter(|(dir, _)| test_args.selects(&Plan::broken_trial_name(dir), ""))
        .map(|(dir, error)| {
            let error = error.clone();
            Trial::test(Plan::broken_trial_name(dir), move || {
                Err(Failed::from(error))
            })
        })
        .collect();
    let mut selected: Vec<&TrialDef> = Vec::new();
    let mut planned: Vec<(&TrialDef, Trial)> = Vec::new();
    for def in &plan.trials {
        let trial = libtest_trial(def, &config);
        if !args.is_filtered_out(&trial) && !args.is_ignored(&trial) {
            selected.push(def);
        }
        planned.push((def, trial));
    }
    if !args.list {
        if dropped > 0 {
            console::note(&format!(
                "{dropped} trial(s) filtered out by the filters {}",
                test_args
                    .filters
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (client, error) in provision(&config.clients, &selected) {
            console::note(&format!("cannot provision {client}: {error}"));
        }
    }
    let conclusion = run_trials(args, broken, planned);
    if args.list {
        return exit_code::OK;
    }
    let mut checklist_ok = true;
    if config.print_checklist {
        let results = ResultsDir::new(&config.results_root, &config.run_id);
        let outcomes = results.read_all().unwrap_or_default();
        let end = EndOfRun::new(plan.labs.iter().map(|l| &l.lab), &outcomes, &results.dir);
        checklist_ok = end.checklist_ok;
        end.print();
    }
    if config.mode == Mode::Live {
        console::stderr(&config.proxy.budget.render());
    }
    if !plan.broken.is_empty() {
        return exit_code::USAGE;
    }
    if conclusion.has_failed() || !checklist_ok {
        exit_code::FAILED
    } else {
        exit_code::OK
    }
}

/// Entry point of `tests/labs.rs`: every lab of the crate at `root`, with
/// settings from the environment ([`Settings::from_env`]).
pub fn test_main(root: &str) -> ExitCode {
    let args = TestArgs::parse(std::env::args().skip(1));
    let config = Settings::from_env()
        .map_err(ConfigError::from)
        .and_then(|settings| RunConfig::for_cargo_test(Path::new(root), &settings));
    match config {
        Ok(config) => exit_code::exit(harness(&args, config)),
        Err(e) => {
            console::error(&e.to_string());
            exit_code::exit(exit_code::USAGE)
        }
    }
}
