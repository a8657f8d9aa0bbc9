//! Labs × steps × clients as libtest-mimic trials, and the end-of-run report.
//!
//! `tests/labs.rs` (a `harness = false` test) and `labcheck run` both call
//! [`harness`]: one trial per lab × step × client, named
//! `<lab>::<step>::<client>` so libtest filters, `--exact`, `--list` and
//! `cargo nextest run` select them. Every trial starts its own replay server
//! and workspace, writes its outcome file, and the run ends with each lab's
//! ticked checklist (skipped under nextest, where every trial is its own
//! process: `labcheck report` merges those).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::cassette::CassetteSet;
use crate::clients::{self, StderrProgress};
use crate::expect;
use crate::ids::ClientId;
use crate::report::outcome::OUTCOME_VERSION;
use crate::report::{LabVerdict, Outcome, ResultsDir, Status};
use crate::spec::lab::{Lab, ParamPair, StepKind};
use crate::spec::{self};
use crate::steps::{self, Invocation};

/// Exit code of a run with failed trials or unticked checklist items (as `cargo test`).
pub const EXIT_FAILED: u8 = 101;
/// Exit code when a lab could not be loaded (invalid lab.toml or page).
pub const EXIT_CONFIG: u8 = 2;

/// How a run is set up; read once at the edge (env and flags), passed down.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Lab directories to run.
    pub labs: Vec<PathBuf>,
    /// `target/labcheck/results`.
    pub results_root: PathBuf,
    /// Shared by all processes of one run (`NEXTEST_RUN_ID` under nextest).
    pub run_id: String,
    /// Replay speed factor: 1 = the recorded schedule, 0 = no delays.
    pub speed: f64,
    /// Print the checklist at the end (off under nextest's process-per-test).
    pub print_checklist: bool,
    /// replay (default), record or live; see [`crate::mode`].
    pub mode: crate::mode::Mode,
    /// Replace each lab's page (to run a lab.toml against another version of its page).
    pub page_override: Option<PathBuf>,
    /// Record and live modes: upstream, record mode, credentials, token budget.
    pub proxy: crate::record::ProxySettings,
    /// Grading: a student's workspace, copied into each trial's workspace
    /// before its step runs (see [`crate::grade`]).
    pub workspace: Option<PathBuf>,
    /// Network guard for step processes (`LABCHECK_NETGUARD`).
    pub netguard: crate::netguard::Policy,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("invalid value for env var `{var}`: `{value}` (hint: {hint})")]
    BadEnv {
        var: &'static str,
        value: String,
        hint: &'static str,
    },
    #[error(transparent)]
    Mode(#[from] crate::mode::ModeError),
    #[error(transparent)]
    Proxy(#[from] crate::record::RecordError),
    #[error("cannot list labs in `{path}`: {source}")]
    LabsDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl RunConfig {
    /// A replay run of `labs` with every other setting at its default:
    /// recorded timing, a fresh run id, no page override, proxy guard policy
    /// from its default. Callers override fields with struct update syntax.
    pub fn new(labs: Vec<PathBuf>, results_root: PathBuf) -> RunConfig {
        RunConfig {
            labs,
            results_root,
            run_id: run_id_from_env(),
            speed: 1.0,
            print_checklist: false,
            mode: crate::mode::Mode::Replay,
            page_override: None,
            proxy: Default::default(),
            workspace: None,
            netguard: Default::default(),
        }
    }

    /// The configuration `cargo test` uses: every lab under `<root>/labs`,
    /// results under the cargo target dir.
    pub fn for_cargo_test(root: &Path) -> Result<RunConfig, ConfigError> {
        let mode = crate::mode::Mode::from_env()?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Ok(RunConfig {
            labs: discover_labs(&root.join("labs"))?,
            results_root: target.join("labcheck").join("results"),
            run_id: run_id_from_env(),
            speed: speed_from_env()?,
            print_checklist: std::env::var_os("NEXTEST_RUN_ID").is_none(),
            page_override: None,
            mode,
            proxy: crate::record::ProxySettings::from_env()?,
            workspace: None,
            netguard: netguard_from_env()?,
        })
    }
}

/// Every directory under `labs_root` that holds a `lab.toml`, sorted.
pub fn discover_labs(labs_root: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(labs_root).map_err(|source| ConfigError::LabsDir {
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

/// `LABCHECK_RUN_ID`, else `NEXTEST_RUN_ID`, else a fresh id from time and pid.
///
/// `LABCHECK_RUN_ID` wins so that CI shards (matrix jobs, each with its own
/// nextest run id) can share one id set from the workflow run.
pub fn run_id_from_env() -> String {
    for var in ["LABCHECK_RUN_ID", "NEXTEST_RUN_ID"] {
        if let Ok(id) = std::env::var(var)
            && !id.is_empty()
        {
            return id;
        }
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("run-{secs}-{}", std::process::id())
}

/// `LABCHECK_NETGUARD`: `auto` (default: a loopback-only network namespace
/// where permitted, plus the refusing proxy) or `proxy` (the proxy alone).
pub fn netguard_from_env() -> Result<crate::netguard::Policy, ConfigError> {
    crate::netguard::Policy::from_env().map_err(|value| ConfigError::BadEnv {
        var: "LABCHECK_NETGUARD",
        value,
        hint: "`auto` (namespace where permitted, plus proxy) or `proxy`",
    })
}

/// `LABCHECK_SPEED`: replay speed factor (default 1).
pub fn speed_from_env() -> Result<f64, ConfigError> {
    match std::env::var("LABCHECK_SPEED") {
        Err(_) => Ok(1.0),
        Ok(v) => match v.parse::<f64>() {
            Ok(s) if s >= 0.0 && s.is_finite() => Ok(s),
            _ => Err(ConfigError::BadEnv {
                var: "LABCHECK_SPEED",
                value: v,
                hint: "a number >= 0; 1 = recorded timing, 0 = no delays",
            }),
        },
    }
}

/// A lab as loaded for a run: the validated spec and its cassettes (or why
/// they could not be loaded: every trial of the lab then fails with it).
pub struct LoadedLab {
    pub lab: Lab,
    pub cassettes: Result<CassetteSet, String>,
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

/// What a run will do: the trials, plus labs that failed to load.
pub struct Plan {
    pub labs: Vec<Arc<LoadedLab>>,
    pub trials: Vec<TrialDef>,
    /// (lab dir, rendered error) of labs whose lab.toml or page is invalid.
    pub broken: Vec<(PathBuf, String)>,
}

/// Loads the labs and expands their steps into trials.
pub fn plan(config: &RunConfig) -> Plan {
    plan_with(config, true)
}

/// Like [`plan`], without loading cassettes: for `labcheck list`, which only
/// names trials. (Loading and validating every cassette was two thirds of
/// `list`'s time on a 500-lab catalog: benches/catalog.rs.) The trials'
/// `cassettes` are an error saying so; do not run them.
pub fn plan_names_only(config: &RunConfig) -> Plan {
    plan_with(config, false)
}

fn plan_with(config: &RunConfig, load_cassettes: bool) -> Plan {
    let mut plan = Plan {
        labs: Vec::new(),
        trials: Vec::new(),
        broken: Vec::new(),
    };
    let load = |dir: &PathBuf| -> Result<LoadedLab, String> {
        let lab = match &config.page_override {
            Some(page) => spec::load_lab_with_page(dir, page),
            None => spec::load_lab(dir),
        }
        .map_err(|e| e.to_string())?;
        let cassettes = if load_cassettes {
            CassetteSet::load_dir(&lab.cassettes).map_err(|e| e.to_string())
        } else {
            Err("cassettes not loaded (plan made for listing only)".to_string())
        };
        Ok(LoadedLab { lab, cassettes })
    };
    for (dir, loaded) in config.labs.iter().zip(load_parallel(&config.labs, load)) {
        let loaded = match loaded {
            Ok(loaded) => Arc::new(loaded),
            Err(e) => {
                plan.broken.push((dir.clone(), e));
                continue;
            }
        };
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
                    plan.trials.push(TrialDef {
                        name: format!("{}::{}::{}", loaded.lab.id, step_name, client),
                        lab: Arc::clone(&loaded),
                        step: index,
                        client: *client,
                        pair: *pair,
                    });
                }
            }
        }
        plan.labs.push(loaded);
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

/// Runs one trial and writes its outcome file.
pub fn run_trial(def: &TrialDef, config: &RunConfig) -> Outcome {
    let started = Instant::now();
    let step = &def.lab.lab.steps[def.step];
    let (failures, network_guard) = match run_step(def, config) {
        Ok(run) => (
            run.failures.iter().map(|f| f.to_string()).collect(),
            run.network_guard,
        ),
        Err(e) => (vec![format!("could not run the step: {e}")], None),
    };
    let outcome = Outcome {
        version: OUTCOME_VERSION,
        run_id: config.run_id.clone(),
        trial: def.name.clone(),
        lab: def.lab.lab.id.to_string(),
        step: step.id.to_string(),
        client: def.client.to_string(),
        proves: step.proves.clone(),
        status: if failures.is_empty() {
            Status::Passed
        } else {
            Status::Failed
        },
        emulated: matches!(step.kind, StepKind::Playground { .. }),
        failures,
        duration_ms: started.elapsed().as_millis() as u64,
        network_guard,
    };
    if let Err(e) = ResultsDir::new(&config.results_root, &config.run_id).write(&outcome) {
        eprintln!("labcheck: warning: {e}");
    }
    outcome
}

/// Why a trial's step could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrialError {
    #[error(transparent)]
    Endpoint(#[from] crate::endpoint::EndpointError),
    #[error(transparent)]
    Step(#[from] steps::StepError),
    #[error("cannot create the trial workspace: {0}")]
    Workspace(std::io::Error),
    #[error("cannot start the network guard: {0}")]
    Guard(std::io::Error),
}

/// One trial's step as run and judged, before it becomes an [`Outcome`].
#[derive(Debug)]
pub struct TrialRun {
    /// What the step showed.
    pub output: steps::StepOutput,
    /// Unmet expectations; empty when the trial passed.
    pub failures: Vec<expect::Failure>,
    /// The network guard in force for the step's process, if any.
    pub network_guard: Option<String>,
}

/// Runs one trial's step against its own endpoint and workspace and judges
/// it; [`run_trial`] turns this into an outcome file.
pub fn run_step(def: &TrialDef, config: &RunConfig) -> Result<TrialRun, TrialError> {
    let lab = &def.lab.lab;
    let step = &lab.steps[def.step];
    let server = crate::endpoint::start(
        config.mode,
        lab,
        &def.lab.cassettes,
        config.speed,
        &config.proxy,
    )?;
    let workspace = tempfile::Builder::new()
        .prefix("labcheck-trial-")
        .tempdir()
        .map_err(TrialError::Workspace)?;
    if let Some(seed) = &config.workspace {
        crate::grade::copy_workspace(seed, workspace.path()).map_err(TrialError::Workspace)?;
    }
    let endpoint = server.endpoint();
    // Only child processes need a guard: sdk/playground steps run in process
    // against the explicit endpoint.
    let guard = match step.kind {
        StepKind::Shell { .. } | StepKind::Python { .. }
            if config.mode == crate::mode::Mode::Replay =>
        {
            Some(
                crate::netguard::NetGuard::start(&endpoint, config.netguard)
                    .map_err(TrialError::Guard)?,
            )
        }
        _ => None,
    };
    let network_guard = guard.as_ref().map(|g| g.kind().to_string());
    let invocation = Invocation {
        kind: &step.kind,
        client: def.client,
        pair: def.pair,
        endpoint: &endpoint,
        region: &lab.region,
        workspace: workspace.path().to_path_buf(),
        timeout: step.timeout,
        progress: &StderrProgress,
        guard: guard.as_ref().map(|g| g.child()),
    };
    let output = steps::run(&invocation)?;
    let refused = guard.as_ref().map(|g| g.attempts()).unwrap_or_default();
    let served = server.served();
    let misses = server.misses();
    server.finish()?;
    let ctx = expect::Context {
        client: def.client,
        served: &served,
        misses: &misses,
        pair: def.pair,
        workspace: workspace.path(),
        timeout: step.timeout,
        cassette_dir: &lab.cassettes,
        lab_dir: &lab.dir,
    };
    // Against a real model (live, or recording), exact-text checks cannot hold.
    let mut failures = if config.mode != crate::mode::Mode::Replay {
        let (live, skipped) = step.expect.for_live();
        if !skipped.is_empty() {
            eprintln!(
                "labcheck: {}: skipped in {} mode (replay_only, exact model text): {}",
                def.name,
                config.mode,
                skipped.join(", ")
            );
        }
        expect::check(&live, &output, &ctx)
    } else {
        expect::check(&step.expect, &output, &ctx)
    };
    for attempt in refused {
        failures.insert(0, crate::netguard::refused_failure(&attempt));
    }
    Ok(TrialRun {
        output,
        failures,
        network_guard,
    })
}

/// The failure message libtest prints for a failed trial.
fn failure_message(def: &TrialDef, outcome: &Outcome) -> String {
    let step = &def.lab.lab.steps[def.step];
    let mut msg = format!(
        "step `{}` ({}, lab.toml line {}) under {} failed:\n",
        step.id,
        step.kind.name(),
        step.line,
        def.client
    );
    for failure in &outcome.failures {
        msg.push_str("  - ");
        msg.push_str(&failure.replace('\n', "\n    "));
        msg.push('\n');
    }
    msg
}

/// Provisions the clients the selected trials need, before any trial runs,
/// so installs show progress once and do not count against trial time limits.
fn provision(defs: &[&TrialDef]) -> Vec<(ClientId, String)> {
    let mut needed: Vec<ClientId> = defs
        .iter()
        .map(|d| d.client)
        .filter(|c| clients::PROVISIONED.contains(c))
        .collect();
    needed.sort();
    needed.dedup();
    needed
        .into_iter()
        .filter_map(|c| {
            clients::ensure(c, &StderrProgress)
                .err()
                .map(|e| (c, e.to_string()))
        })
        .collect()
}

/// Runs the plan's trials under libtest-mimic with `args`, then prints each
/// lab's checklist. The exit code is libtest's, or [`EXIT_FAILED`] when a
/// judged checklist item is unticked.
pub fn harness(args: &Arguments, config: RunConfig) -> ExitCode {
    let mut plan = plan(&config);
    // schedule: longest trials first, default --test-threads (src/schedule.rs).
    let scheduled = crate::schedule::apply(args, config.mode, &mut plan.trials, |d| {
        let cassettes = d.lab.cassettes.as_ref().ok();
        crate::schedule::trial_cost(&d.lab.lab.steps[d.step], d.client, cassettes, config.speed)
    });
    let args = &scheduled;
    // end schedule
    let config = Arc::new(config);
    let mut trials: Vec<Trial> = Vec::new();
    for (dir, error) in &plan.broken {
        let name = format!(
            "{}::lab.toml::spec",
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let error = error.clone();
        trials.push(Trial::test(name, move || Err(Failed::from(error))));
    }
    let mut defs_by_trial = Vec::new();
    for def in &plan.trials {
        let def_for_trial = def.clone();
        let config = Arc::clone(&config);
        let trial = Trial::test(def.name.clone(), move || {
            let outcome = run_trial(&def_for_trial, &config);
            match outcome.status {
                Status::Passed => Ok(()),
                Status::Failed => Err(Failed::from(failure_message(&def_for_trial, &outcome))),
            }
        })
        .with_kind(def.lab.lab.steps[def.step].kind.name());
        let selected = !args.is_filtered_out(&trial) && !args.is_ignored(&trial);
        defs_by_trial.push((def, selected));
        trials.push(trial);
    }
    let selected: Vec<&TrialDef> = defs_by_trial
        .iter()
        .filter(|(_, s)| *s)
        .map(|(d, _)| *d)
        .collect();
    if !args.list {
        for (client, error) in provision(&selected) {
            eprintln!("labcheck: cannot provision {client}: {error}");
        }
    }
    let conclusion = libtest_mimic::run(args, trials);
    if args.list {
        return ExitCode::SUCCESS;
    }
    let mut checklist_ok = true;
    if config.print_checklist {
        let outcomes = ResultsDir::new(&config.results_root, &config.run_id)
            .read_all()
            .unwrap_or_default();
        println!();
        for loaded in &plan.labs {
            let verdict =
                LabVerdict::new(&loaded.lab.id.to_string(), &loaded.lab.checklist, &outcomes);
            checklist_ok &= verdict.passed();
            print!("{}", verdict.render());
        }
        let guards = crate::report::markdown::guards(&outcomes);
        if !guards.is_empty() {
            println!("network guard: {}", guards.join(", "));
        }
        println!(
            "results: {}",
            ResultsDir::new(&config.results_root, &config.run_id)
                .dir
                .display()
        );
    }
    if config.mode == crate::mode::Mode::Live {
        eprint!("{}", config.proxy.budget.render());
    }
    if !plan.broken.is_empty() {
        return ExitCode::from(EXIT_CONFIG);
    }
    if conclusion.has_failed() || !checklist_ok {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Entry point of `tests/labs.rs`: every lab of the crate at `root`.
pub fn test_main(root: &str) -> ExitCode {
    let args = Arguments::from_args();
    match RunConfig::for_cargo_test(Path::new(root)) {
        Ok(config) => harness(&args, config),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
