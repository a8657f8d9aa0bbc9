//! Execution of one trial: its own endpoint (replay server, or proxy in
//! record and live modes), its own temporary workspace (seeded from a
//! student's workspace when grading), the network guard for child processes,
//! the step run with its client, the expectations judged, the outcome file
//! written.

use std::path::Path;
use std::time::Instant;

use super::{RunConfig, secrets};
use crate::cassette::scrub::Scrubber;
use crate::clients::StderrProgress;
use crate::copy::{CopyOptions, SkippedLink, copy_tree};
use crate::expect;
use crate::mode::Mode;
use crate::netguard::{Attempt, NetGuard};
use crate::plan::TrialDef;
use crate::record::passthrough::{NameMap, SetupProxy, SetupProxySettings};
use crate::report::leftovers::Leftover;
use crate::report::outcome::OUTCOME_VERSION;
use crate::report::{Outcome, ResultsDir, Status, console};
use crate::setup::cleanup::RunPrefix;
use crate::setup::{self, MotoServer, seed::Seed};
use crate::spec::lab::Resource;
use crate::spec::lab::StepKind;
use crate::steps::{self, Invocation};

/// Directories of a seed workspace that are not copied into a trial:
/// version control, virtualenvs and caches (the provisioned python and
/// boto3 are used, never the student's own).
pub const SKIPPED_DIRS: &[&str] = &[".git", ".venv", "venv", "__pycache__", "node_modules"];

/// Copies a seed workspace (a student's hand-in) into a trial's workspace:
/// student code never runs in, or writes to, the directory handed in. Links
/// follow [`crate::copy`]'s rule; the skipped ones are returned.
pub fn seed_workspace(seed: &Path, workspace: &Path) -> std::io::Result<Vec<SkippedLink>> {
    copy_tree(
        seed,
        workspace,
        &CopyOptions {
            skip_dir_names: SKIPPED_DIRS,
            skip_paths: &[],
        },
    )
}

/// Runs one trial and writes its outcome file. In record and live modes the
/// outcome is scrubbed (see `runner/secrets.rs`) before anything is made of it.
pub fn run_trial(def: &TrialDef, config: &RunConfig) -> Outcome {
    let started = Instant::now();
    let step = def.step();
    let mut from_endpoint = None;
    let mut leftovers = Vec::new();
    let (failures, network_guard, sandbox) =
        match step_run(def, config, &mut from_endpoint, &mut leftovers) {
            Ok(run) => (
                run.failures.iter().map(|f| f.to_string()).collect(),
                run.network_guard,
                run.output.sandbox.map(|g| g.to_string()),
            ),
            Err(e) => {
                let mut failures = vec![format!("could not run the step: {e}")];
                if let TrialError::Step { ignored_links, .. } = &e {
                    failures.extend(
                        ignored_links
                            .iter()
                            .map(|link| ignored_link_failure(link).to_string()),
                    );
                }
                (failures, None, None)
            }
        };
    let scrubber = secrets::trial_scrubber(config, &def.lab.lab.dir, from_endpoint);
    let failures = secrets::scrub_failures(scrubber.as_ref(), failures);
    let leftovers = secrets::scrub_leftovers(scrubber.as_ref(), leftovers);
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
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        network_guard,
        sandbox,
    };
    let results = ResultsDir::new(&config.results_root, &config.run_id);
    if let Err(e) = results.write(&outcome) {
        console::warn(&e.to_string());
    }
    if let Err(e) = results.write_leftovers(&def.name, &leftovers) {
        console::warn(&e.to_string());
    }
    outcome
}

/// Why a trial's step could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrialError {
    #[error(transparent)]
    Endpoint(#[from] crate::endpoint::EndpointError),
    /// The step could not start; `ignored_links` are the handed-in
    /// workspace's links that were not copied (often the reason a file the
    /// step needs is missing).
    #[error("{source}")]
    Step {
        source: Box<steps::StepError>,
        ignored_links: Vec<SkippedLink>,
    },
    #[error("cannot create the trial workspace: {0}")]
    Workspace(std::io::Error),
    #[error("cannot start the network guard: {0}")]
    Guard(std::io::Error),
    #[error("cannot provision the setup-services emulator: {0}")]
    Emulator(#[from] crate::clients::ClientsError),
    #[error(transparent)]
    Services(#[from] crate::setup::ServicesError),
    #[error(transparent)]
    Seed(#[from] crate::setup::seed::SeedError),
    #[error("cannot start the setup services' pass-through: {0}")]
    SetupProxy(#[from] crate::record::RecordError),
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
    /// Links of the seed workspace that were not copied into the trial's.
    pub skipped_links: Vec<SkippedLink>,
}

/// The setup pass-through of a record or live trial: the author's
/// credentials, the lab's region, `LABCHECK_SETUP_UPSTREAM` if set, and a
/// prefix of this trial's own (a run's trials run at once and create the
/// same names).
fn start_setup_proxy(
    def: &TrialDef,
    config: &RunConfig,
    made: &[Resource],
) -> Result<SetupProxy, TrialError> {
    let lab = &def.lab.lab;
    let prefix = RunPrefix::from_run_id(&format!("{}/{}", config.run_id, def.name));
    let credentials = crate::record::resolve_credentials(&config.proxy.credentials)?;
    let proxy = SetupProxy::start_blocking(SetupProxySettings {
        credentials,
        region: lab.region.clone(),
        upstream: config.proxy.setup_upstream.clone(),
        names: NameMap::new(
            &format!("{}-", prefix.as_str()),
            made.iter().map(Resource::name),
        ),
        // The lab's services, and those its seed writes to (labcheck's own
        // calls, which moto would serve in replay whatever the list).
        services: lab
            .services
            .iter()
            .map(|c| crate::spec::services::signing_name(c).to_string())
            .chain(
                made.iter()
                    .map(|r| crate::spec::services::signing_name(r.service()).to_string()),
            )
            .collect(),
        calls: std::sync::Arc::clone(&config.proxy.setup_calls),
    })?;
    console::note(&format!(
        "{}: setup services through the pass-through at {} (names prefixed `{}-`)",
        def.name,
        proxy.url(),
        prefix.as_str()
    ));
    Ok(proxy)
}

/// Deletes the lab's declared and seeded resources through the trial's pass-through and
/// lists what is still there: cleanup failures, then what the pass-through
/// saw created and not deleted.
fn clean_up(def: &TrialDef, proxy: &SetupProxy, made: &[Resource]) -> Vec<Leftover> {
    let lab = &def.lab.lab;
    let mut report = setup::cleanup::cleanup(&proxy.url(), &lab.region, made);
    // Named as in the account: the lab's own names may be the author's
    // unprefixed resources.
    for (resource, _) in &mut report.failed {
        *resource = proxy.real_name(resource);
    }
    setup::cleanup::leftovers(
        &lab.id.to_string(),
        &def.name,
        &report,
        &proxy.outstanding(),
    )
}

/// Runs one trial's step against its own endpoint and workspace and judges
/// it; [`run_trial`] turns this into an outcome file. What it returns is
/// unscrubbed (the step's output as the step saw it).
pub fn run_step(def: &TrialDef, config: &RunConfig) -> Result<TrialRun, TrialError> {
    step_run(def, config, &mut None, &mut Vec::new())
}

/// [`run_step`], handing out the endpoint's scrubber as soon as the endpoint
/// is up, so that a step that then fails to run is still reported scrubbed,
/// and what a record or live trial left in the account, also when its step
/// could not run.
fn step_run(
    def: &TrialDef,
    config: &RunConfig,
    scrubber: &mut Option<Scrubber>,
    leftovers: &mut Vec<Leftover>,
) -> Result<TrialRun, TrialError> {
    let server = crate::endpoint::start(
        config.mode,
        &def.lab.lab,
        &def.lab.cassettes,
        config.speed,
        &config.proxy,
    )?;
    *scrubber = server.scrubber();
    run_step_cleaning(def, config, server, leftovers)
}

/// [`run_step`] against an endpoint the caller started (`labcheck capture`
/// gives a replay server in capture mode); it is finished here.
pub fn run_step_on(
    def: &TrialDef,
    config: &RunConfig,
    server: Box<dyn crate::endpoint::TrialEndpoint>,
) -> Result<TrialRun, TrialError> {
    run_step_cleaning(def, config, server, &mut Vec::new())
}

/// The setup services of one trial, as [`run_step_cleaning`] prepared them.
struct TrialSetup {
    /// Replay: the trial's own moto.
    moto: Option<MotoServer>,
    /// Record and live: the re-signing pass-through to real AWS.
    proxy: Option<SetupProxy>,
    seed: Option<Seed>,
}

impl TrialSetup {
    /// Where labcheck's own calls (seed, state checks) go.
    fn addr(&self) -> Option<std::net::SocketAddr> {
        self.moto
            .as_ref()
            .map(MotoServer::addr)
            .or_else(|| self.proxy.as_ref().map(SetupProxy::addr))
    }
}

/// [`run_step_on`], then, once a record or live trial's pass-through is up,
/// the cleanup of what the trial made, whatever happened in between (a seed
/// that failed halfway, a step that could not start); what is left goes to
/// `leftovers`.
fn run_step_cleaning(
    def: &TrialDef,
    config: &RunConfig,
    server: Box<dyn crate::endpoint::TrialEndpoint>,
    leftovers: &mut Vec<Leftover>,
) -> Result<TrialRun, TrialError> {
    let lab = &def.lab.lab;
    let step = def.step();
    let runs_process = matches!(
        step.kind,
        StepKind::Shell { .. } | StepKind::Python { .. } | StepKind::Notebook(_)
    );
    // The lab's setup services: in replay a fresh moto for this trial alone;
    // in record and live modes real AWS behind the re-signing pass-through,
    // with this trial's prefix on the lab's declared names. Either is seeded
    // as the lab says. Only child processes call them.
    let wants_setup = runs_process && !lab.services.is_empty();
    let seed = match (&lab.seed, wants_setup) {
        (Some(path), true) => Some(Seed::load(path)?),
        _ => None,
    };
    let moto = if wants_setup && config.mode == Mode::Replay {
        let install = config.clients.ensure_moto(&StderrProgress)?;
        Some(MotoServer::start(&install)?)
    } else {
        None
    };
    // What labcheck deletes after a record or live trial: the lab's
    // declared resources and what its seed made.
    let mut made: Vec<Resource> = lab.resources.clone();
    made.extend(seed.iter().flat_map(Seed::resources));
    made.sort();
    made.dedup();
    let setup_proxy = if wants_setup && config.mode != Mode::Replay {
        Some(start_setup_proxy(def, config, &made)?)
    } else {
        None
    };
    let setup = TrialSetup {
        moto,
        proxy: setup_proxy,
        seed,
    };
    let ran = run_with_setup(def, config, server, &setup, runs_process);
    // What the trial made in the real account goes again, whatever the
    // verdict; what the cleanup could not delete is reported, not failed.
    if let Some(proxy) = &setup.proxy {
        *leftovers = clean_up(def, proxy, &made);
    }
    ran
}

/// The part of a trial that runs with its setup services up: the seed, the
/// network guard, the step, the expectations (state included).
fn run_with_setup(
    def: &TrialDef,
    config: &RunConfig,
    server: Box<dyn crate::endpoint::TrialEndpoint>,
    setup: &TrialSetup,
    runs_process: bool,
) -> Result<TrialRun, TrialError> {
    let lab = &def.lab.lab;
    let step = def.step();
    if let (Some(addr), Some(seed)) = (setup.addr(), &setup.seed) {
        seed.apply(addr, &lab.region)?;
    }
    let workspace = tempfile::Builder::new()
        .prefix("labcheck-trial-")
        .tempdir()
        .map_err(TrialError::Workspace)?;
    let skipped_links = match &config.workspace {
        Some(seed) => seed_workspace(seed, workspace.path()).map_err(TrialError::Workspace)?,
        None => Vec::new(),
    };
    let endpoint = server.endpoint();
    // Only child processes need a guard: sdk/playground steps run in process
    // against the explicit endpoint.
    let guard = if runs_process && config.mode == Mode::Replay {
        let services = setup.moto.as_ref().map(MotoServer::addr);
        Some(
            NetGuard::start_with(&endpoint, services, config.netguard)
                .map_err(TrialError::Guard)?,
        )
    } else {
        None
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
        clients: &config.clients,
        guard: guard.as_ref().map(|g| g.child()),
        services: setup.proxy.as_ref().map(SetupProxy::url),
        sandbox: config.sandbox,
    };
    // The step's own setup calls spend the run's call budget; labcheck's
    // seed, state checks and cleanup do not.
    let meter = |on: bool| {
        if let Some(proxy) = &setup.proxy {
            proxy.meter(on);
        }
    };
    meter(true);
    let output = steps::run(&invocation);
    meter(false);
    let output = output.map_err(|source| TrialError::Step {
        source: Box::new(source),
        ignored_links: skipped_links.clone(),
    })?;
    let refused = guard.as_ref().map(|g| g.attempts()).unwrap_or_default();
    let served = server.served();
    let misses = server.misses();
    let openai_misses = server.openai_misses();
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
    let mut failures = if config.mode != Mode::Replay {
        let (live, skipped) = step.expect.for_live();
        if !skipped.is_empty() {
            console::note(&format!(
                "{}: skipped in {} mode (replay_only, exact model text): {}",
                def.name,
                config.mode,
                skipped.join(", ")
            ));
        }
        expect::check(&live, &output, &ctx)
    } else {
        expect::check(&step.expect, &output, &ctx)
    };
    if let Some(moto) = &setup.moto {
        failures.extend(
            moto.unemulated()
                .iter()
                .map(|call| unemulated_failure(call)),
        );
    }
    if let Some(addr) = setup.addr() {
        failures.extend(
            setup::state::check(addr, &lab.region, &step.expect.state)
                .into_iter()
                .map(|m| expect::Failure {
                    subject: "state".into(),
                    message: format!("{} is missing: {}", m.expected, m.detail),
                    hint: None,
                }),
        );
    }
    for attempt in refused {
        failures.insert(0, refused_failure(&attempt));
    }
    for miss in openai_misses {
        failures.insert(0, openai_miss_failure(&miss, &lab.cassettes));
    }
    // A failing trial says which links of the handed-in workspace were
    // ignored: a student whose `invoke_bedrock.py` is a link to elsewhere
    // otherwise sees only "No such file" and cannot tell why.
    if !failures.is_empty() {
        failures.extend(skipped_links.iter().map(ignored_link_failure));
    }
    Ok(TrialRun {
        output,
        failures,
        network_guard,
        skipped_links,
    })
}

/// The note a failing trial carries for each workspace link it ignored.
pub fn ignored_link_failure(link: &SkippedLink) -> expect::Failure {
    expect::Failure {
        subject: "workspace".into(),
        message: format!("{link} (the link was ignored; nothing it points to was read)"),
        hint: Some(
            "hand in the file itself, not a symbolic link: labcheck does not copy a link that points out of the workspace"
                .into(),
        ),
    }
}

/// The failure of a step that made a call the emulator refused as not
/// emulated offline (`call` = `service operation`).
pub fn unemulated_failure(call: &str) -> expect::Failure {
    expect::Failure {
        subject: "services".into(),
        message: format!("not emulated offline: run it live (`{call}`)"),
        hint: Some(
            "this call needs real AWS (see docs/setup-services.md for what is emulated); check the step with `LABCHECK_MODE=live`"
                .into(),
        ),
    }
}

/// The failure of a trial whose step sent an OpenAI-compatible request no
/// cassette answers (its Bedrock misses are judged in [`expect`]).
fn openai_miss_failure(miss: &str, cassette_dir: &std::path::Path) -> expect::Failure {
    expect::Failure {
        subject: "replay".into(),
        message: format!(
            "an OpenAI-compatible request matched no cassette in {}\n{miss}",
            cassette_dir.display()
        ),
        hint: Some(
            "if the lab changed on purpose, re-record its cassettes with `labcheck record` (AWS_BEARER_TOKEN_BEDROCK set)"
                .into(),
        ),
    }
}

/// The failure of a trial whose step reached for a host the guard refused.
fn refused_failure(attempt: &Attempt) -> expect::Failure {
    // OpenSearch Serverless collections are reached at their own host, which
    // no endpoint variable redirects: their data plane is not emulated.
    if attempt.host.contains(".aoss.amazonaws.com") {
        return unemulated_failure(&format!("aoss data plane at {}", attempt.host));
    }
    expect::Failure {
        subject: "network".into(),
        message: format!(
            "the step tried to reach `{}` ({}); labcheck's guard refused it: in replay only the trial's endpoint is reachable",
            attempt.host, attempt.method
        ),
        hint: Some(
            "call Bedrock through the endpoint labcheck sets (AWS_ENDPOINT_URL_BEDROCK_RUNTIME): do not pass `endpoint_url=None`, unset the variable, or call other services (sts, s3)"
                .into(),
        ),
    }
}
