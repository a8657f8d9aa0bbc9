//! The `labcheck` binary: parse flags, dispatch, turn errors into exit codes.
//! The only place that uses `anyhow`.

mod cli;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use cli::{Cli, ClientsAction, Command, Format};
use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::copy::{CopyOptions, copy_tree};
use labcheck::exit_code::{self, exit};
use labcheck::http::Limits;
use labcheck::plan::{self, Selection};
use labcheck::replay::{ReplayOptions, ReplayServer, Retention};
use labcheck::report::{LabVerdict, ResultsDir};
use labcheck::runner::{self, RunConfig};
use labcheck::settings::Settings;
use labcheck::spec;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit(exit_code::USAGE)
        }
    }
}

fn labs_or_default(labs: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    if !labs.is_empty() {
        return Ok(labs);
    }
    let found = plan::discover_labs(Path::new("labs"))?;
    if found.is_empty() {
        bail!(
            "no lab directories given and none found under ./labs (hint: `labcheck run labs/<id>`)"
        );
    }
    Ok(found)
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Run {
            labs,
            speed,
            results_dir,
            page,
            test_args,
        } => {
            let settings = Settings::from_env()?;
            let config = RunConfig {
                // `--speed` wins over `LABCHECK_SPEED`.
                speed: speed.unwrap_or(settings.speed),
                print_checklist: true,
                page_override: page,
                ..RunConfig::from_settings(labs_or_default(labs)?, results_dir, &settings)
            };
            Ok(exit(runner::harness(&libtest_args(test_args), config)))
        }
        Command::List { labs } => {
            let labs = labs_or_default(labs)?;
            // `list` names trials only: no cassette loading (see benches/catalog.rs).
            let plan = plan::plan_names_only(Selection {
                labs: &labs,
                page_override: None,
            });
            for (dir, error) in &plan.broken {
                eprintln!("error: {}: {error}", dir.display());
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for trial in &plan.trials {
                writeln!(out, "{}", trial.name)?;
            }
            out.flush()?;
            Ok(exit(if plan.broken.is_empty() {
                exit_code::OK
            } else {
                exit_code::USAGE
            }))
        }
        Command::Operations => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let models = labcheck::http::operations::listing();
            for line in models
                .iter()
                .chain(&labcheck::replay::openai::route_lines())
            {
                writeln!(out, "{line}")?;
            }
            out.flush()?;
            Ok(exit(exit_code::OK))
        }
        Command::Serve {
            dir,
            port,
            speed,
            region,
            header_timeout,
            max_connections,
            log,
        } => {
            let limits = Limits {
                header_read_timeout: header_timeout,
                max_connections,
            };
            serve(&dir, port, speed, &region, limits, log)
        }
        Command::Report {
            run_id,
            results_dir,
            labs,
            format,
            output,
        } => report(
            run_id,
            &results_dir,
            labs_or_default(labs)?,
            format,
            output.as_deref(),
        ),
        Command::Grade {
            lab,
            workspace,
            format,
            output,
            fail_under,
            speed,
        } => grade(
            &lab,
            workspace,
            format,
            output.as_deref(),
            fail_under,
            speed,
        ),
        Command::Record {
            lab,
            results_dir,
            test_args,
        } => record(&lab, results_dir, test_args),
        Command::Drift {
            lab,
            results_dir,
            test_args,
        } => drift(&lab, results_dir, test_args),
        Command::Lint {
            paths,
            format,
            models,
            today,
        } => lint(paths, format, models, today),
        Command::Models {
            action:
                cli::ModelsAction::Check {
                    regions,
                    gateway_version,
                    gateway_file,
                    today,
                },
        } => models_check(regions, gateway_version, gateway_file, today),
        Command::New { lab, force } => {
            let written = labcheck::scaffold::scaffold(&lab, force)?;
            eprintln!("labcheck new: {written}");
            Ok(exit(exit_code::OK))
        }
        Command::Capture { lab } => {
            let settings = Settings::from_env()?;
            let config = RunConfig {
                mode: labcheck::mode::Mode::Replay,
                speed: 0.0,
                ..RunConfig::from_settings(
                    vec![lab.clone()],
                    PathBuf::from("target/labcheck/results"),
                    &settings,
                )
            };
            let report = labcheck::capture::capture(&config)
                .with_context(|| format!("capturing {}", lab.display()))?;
            for line in report.to_string().lines() {
                eprintln!("labcheck capture: {line}");
            }
            Ok(exit(if report.not_run.is_empty() {
                exit_code::OK
            } else {
                exit_code::FAILED
            }))
        }
        Command::Clients { action } => {
            let clients = Settings::from_env()?.clients;
            match action {
                ClientsAction::Install => {
                    clients.ensure_all(&StderrProgress)?;
                    clients.ensure_moto(&StderrProgress)?;
                }
                ClientsAction::Dir => println!("{}", clients.root()?.display()),
            }
            Ok(exit(exit_code::OK))
        }
    }
}

fn serve(
    dir: &Path,
    port: u16,
    speed: f64,
    region: &str,
    limits: Limits,
    log: bool,
) -> Result<ExitCode> {
    let cassette_dir = if dir.join("lab.toml").is_file() {
        spec::load_lab(dir)
            .map(|lab| lab.cassettes)
            .unwrap_or_else(|_| dir.join("cassettes"))
    } else {
        dir.to_path_buf()
    };
    let set = CassetteSet::load_dir(&cassette_dir)
        .with_context(|| format!("loading cassettes from {}", cassette_dir.display()))?;
    let options = ReplayOptions {
        port,
        speed,
        label: cassette_dir.display().to_string(),
        // A long-running server keeps counts and the last few misses, not a
        // growing log.
        retention: Retention::Recent,
        limits,
        capture: None,
        on_served: log.then(|| served_hook(no_color())),
    };
    let server = ReplayServer::start_blocking(set, options)?;
    let endpoint = server.endpoint();
    print!("{}", setup_lines(&endpoint, region, &cassette_dir));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(tokio::signal::ctrl_c())?;
    eprintln!(
        "labcheck: stopping; served {} request(s), {} unmatched",
        server.served_count(),
        server.miss_count()
    );
    server.shutdown();
    Ok(exit(exit_code::OK))
}

/// Whether colour is off: stderr is not a terminal, or NO_COLOR is set (no-color.org).
fn no_color() -> bool {
    !std::io::IsTerminal::is_terminal(&std::io::stderr())
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `serve --log`: one line per answered request on stderr.
fn served_hook(plain: bool) -> labcheck::replay::ServedHook {
    labcheck::replay::ServedHook(std::sync::Arc::new(move |entry| {
        let line = labcheck::replay::log_line(entry);
        let hit = entry.interaction.is_some();
        if plain {
            eprintln!("labcheck serve: {line}");
        } else {
            // Green for an answer, red for a miss.
            let colour = if hit { "32" } else { "31" };
            eprintln!("labcheck serve: \x1b[{colour}m{line}\x1b[0m");
        }
    }))
}

/// The lines a student pastes to point their shell at the local endpoint:
/// one endpoint variable per Bedrock service (the runtime at the root, the
/// others under their path prefix), region, dummy keys.
fn setup_lines(endpoint: &str, region: &str, dir: &Path) -> String {
    use labcheck::ids::Service;
    let key = labcheck::steps::env::DUMMY_ACCESS_KEY_ID;
    let secret = labcheck::steps::env::DUMMY_SECRET_ACCESS_KEY;
    let each = |line: &dyn Fn(&str, &str) -> String| -> String {
        Service::ALL
            .iter()
            .map(|s| line(s.endpoint_env(), &s.endpoint_url(endpoint)))
            .collect()
    };
    let bash = each(&|var, url| format!("export {var}={url}\n"));
    let powershell = each(&|var, url| format!("$env:{var} = \"{url}\"\n"));
    let cmd = each(&|var, url| format!("set {var}={url}\n"));
    let openai_key = labcheck::steps::env::DUMMY_OPENAI_API_KEY;
    let openai = labcheck::steps::env::OPENAI_BASE_PATH;
    format!(
        "labcheck: serving {dir} at {endpoint} (Ctrl-C to stop)\n\
\n# bash / zsh\n\
{bash}\
export AWS_REGION={region} AWS_DEFAULT_REGION={region}\n\
export AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret}\n\
export OPENAI_BASE_URL={endpoint}{openai} OPENAI_API_KEY={openai_key}\n\
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_BEARER_TOKEN_BEDROCK\n\
\n# PowerShell\n\
{powershell}\
$env:AWS_REGION = \"{region}\"; $env:AWS_DEFAULT_REGION = \"{region}\"\n\
$env:AWS_ACCESS_KEY_ID = \"{key}\"; $env:AWS_SECRET_ACCESS_KEY = \"{secret}\"\n\
$env:OPENAI_BASE_URL = \"{endpoint}{openai}\"; $env:OPENAI_API_KEY = \"{openai_key}\"\n\
Remove-Item Env:AWS_PROFILE, Env:AWS_SESSION_TOKEN, Env:AWS_BEARER_TOKEN_BEDROCK -ErrorAction SilentlyContinue\n\
\n# cmd.exe\n\
{cmd}\
set AWS_REGION={region}\n\
set AWS_DEFAULT_REGION={region}\n\
set AWS_ACCESS_KEY_ID={key}\n\
set AWS_SECRET_ACCESS_KEY={secret}\n\
set OPENAI_BASE_URL={endpoint}{openai}\n\
set OPENAI_API_KEY={openai_key}\n\
set AWS_PROFILE=\n\
set AWS_SESSION_TOKEN=\n\
set AWS_BEARER_TOKEN_BEDROCK=\n\n",
        dir = dir.display()
    )
}

/// Writes `text` to `output`, or stdout.
fn emit(text: &str, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn grade(
    lab: &Path,
    workspace: PathBuf,
    format: Format,
    output: Option<&Path>,
    fail_under: Option<f64>,
    speed: f64,
) -> Result<ExitCode> {
    // `--speed` and `--fail-under` were checked by clap (settings::parse_*).
    let settings = Settings::from_env()?;
    let options = labcheck::grade::GradeOptions {
        workspace,
        speed,
        netguard: settings.netguard,
        clients: settings.clients,
        sandbox: settings.sandbox,
    };
    let report = labcheck::grade::grade(lab, &options)?;
    use labcheck::grade::render;
    let text = match format {
        Format::Text => render::text(&report),
        Format::Json => render::json(&report) + "\n",
        Format::Junit => render::junit(&report),
        Format::Markdown => render::markdown(&report),
    };
    emit(&text, output)?;
    for link in &report.skipped_links {
        eprintln!("labcheck: workspace: {link}");
    }
    Ok(exit(match fail_under {
        Some(p) if report.percent() < p => exit_code::FINDINGS,
        _ => exit_code::OK,
    }))
}

fn report(
    run_id: Option<String>,
    results_root: &Path,
    labs: Vec<PathBuf>,
    format: Format,
    output: Option<&Path>,
) -> Result<ExitCode> {
    let run_id = match run_id.or(Settings::from_env()?.run_id_given) {
        Some(id) => id,
        None => newest_run(results_root)?,
    };
    let results = ResultsDir::new(results_root, &run_id);
    let outcomes = results.read_all()?;
    let left_behind = results.read_leftovers()?;
    if outcomes.is_empty() {
        bail!(
            "run `{run_id}` has no outcome files under {}",
            results_root.display()
        );
    }
    let plan = plan::plan_names_only(Selection {
        labs: &labs,
        page_override: None,
    });
    if let Some((dir, error)) = plan.broken.first() {
        bail!("loading {}: {error}", dir.display());
    }
    let verdicts: Vec<LabVerdict> = plan
        .labs
        .iter()
        .map(|l| LabVerdict::new(&l.lab.id.to_string(), &l.lab.checklist, &outcomes))
        .collect();
    let ok = verdicts.iter().all(LabVerdict::passed);
    let failed = outcomes
        .iter()
        .filter(|o| o.status == labcheck::report::Status::Failed)
        .count();
    use labcheck::report::{json, junit, markdown};
    let text = match format {
        Format::Text => {
            let mut text: String = verdicts.iter().map(LabVerdict::render).collect();
            let guards = markdown::guards(&outcomes);
            if !guards.is_empty() {
                text.push_str(&format!("network guard: {}\n", guards.join(", ")));
            }
            let sandboxes = markdown::sandboxes(&outcomes);
            if !sandboxes.is_empty() {
                text.push_str(&format!("sandbox: {}\n", sandboxes.join(", ")));
            }
            text.push_str(&labcheck::report::leftovers::render_text(&left_behind));
            text.push_str(&format!(
                "run {run_id}: {} trial(s), {failed} failed\n",
                outcomes.len()
            ));
            text
        }
        Format::Json => json::render(&run_id, &verdicts, &outcomes, &left_behind) + "\n",
        Format::Markdown => markdown::run_summary(&run_id, &verdicts, &outcomes, &left_behind),
        Format::Junit => {
            let suites: Vec<junit::Suite> = verdicts
                .iter()
                .map(|v| junit::Suite {
                    name: v.lab.clone(),
                    cases: junit::cases_of(&outcomes, &v.lab),
                    system_out: Some(v.render()),
                    system_err: labcheck::report::leftovers::junit_system_err(&left_behind, &v.lab),
                })
                .collect();
            junit::render(&format!("labcheck run {run_id}"), &suites)
        }
    };
    emit(&text, output)?;
    Ok(exit(if ok && failed == 0 {
        exit_code::OK
    } else {
        exit_code::FAILED
    }))
}

fn newest_run(results_root: &Path) -> Result<String> {
    let mut newest: Option<(std::time::SystemTime, String)> = None;
    for entry in std::fs::read_dir(results_root)
        .with_context(|| format!("reading {}", results_root.display()))?
    {
        let entry = entry?;
        let modified = entry.metadata()?.modified()?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
            newest = Some((modified, name));
        }
    }
    newest
        .map(|(_, n)| n)
        .context("no runs recorded yet (hint: run `labcheck run` or `cargo test` first)")
}

/// The run configuration of `record` and `drift`: record mode at the recorded
/// speed, the rest from settings.
fn record_config(lab: PathBuf, results_dir: PathBuf) -> Result<RunConfig> {
    let settings = Settings::from_env()?;
    Ok(RunConfig {
        print_checklist: true,
        mode: labcheck::mode::Mode::Record,
        speed: 1.0,
        netguard: Default::default(),
        ..RunConfig::from_settings(vec![lab], results_dir, &settings)
    })
}

/// libtest arguments, with any number of name filters.
fn libtest_args(test_args: Vec<String>) -> runner::TestArgs {
    runner::TestArgs::parse(test_args)
}

fn record(lab: &Path, results_dir: PathBuf, test_args: Vec<String>) -> Result<ExitCode> {
    let spec = spec::load_lab(lab).with_context(|| format!("loading {}", lab.display()))?;
    let config = record_config(lab.to_path_buf(), results_dir)?;
    eprintln!(
        "labcheck record: {} -> {} (mode {}, upstream {})",
        spec.id,
        spec.cassettes.display(),
        config.proxy.record_mode,
        config.proxy.upstream.as_deref().unwrap_or("real Bedrock")
    );
    Ok(exit(runner::harness(&libtest_args(test_args), config)))
}

fn drift(lab: &Path, results_dir: PathBuf, test_args: Vec<String>) -> Result<ExitCode> {
    let spec = spec::load_lab(lab).with_context(|| format!("loading {}", lab.display()))?;
    let committed = CassetteSet::load_dir(&spec.cassettes)
        .with_context(|| format!("loading {}", spec.cassettes.display()))?;
    // A scratch copy of the lab whose cassette dir starts empty.
    let scratch = tempfile::tempdir()?;
    let copy = scratch.path().join(spec.id.to_string());
    let skipped = copy_tree(
        &spec.dir,
        &copy,
        &CopyOptions {
            skip_dir_names: &[],
            skip_paths: &[&spec.cassettes],
        },
    )?;
    for link in skipped {
        eprintln!("labcheck drift: {link}");
    }
    let fresh_dir = copy.join(
        spec.cassettes
            .strip_prefix(&spec.dir)
            .unwrap_or(Path::new("cassettes")),
    );
    std::fs::create_dir_all(&fresh_dir)?;
    let mut config = record_config(copy, results_dir)?;
    config.proxy.record_mode = labcheck::record::RecordMode::All;
    config.print_checklist = false;
    let code = runner::harness(&libtest_args(test_args), config);
    let fresh = CassetteSet::load_dir(&fresh_dir)?;
    let drifts = labcheck::record::drift::compare_sets(&committed, &fresh);
    let old = spec.max_age.map_or_else(Vec::new, |max| {
        labcheck::record::drift::too_old(&committed, max, std::time::SystemTime::now())
    });
    print!(
        "{}",
        labcheck::record::drift::render(&drifts, &old, spec.max_age)
    );
    let drifted = drifts.iter().any(|d| !d.changes.is_empty()) || !old.is_empty();
    // A failed trial (or broken lab) says more than a drift: it wins.
    Ok(exit(if code == exit_code::OK && drifted {
        exit_code::FINDINGS
    } else {
        code
    }))
}

fn lint(
    paths: Vec<PathBuf>,
    format: cli::LintFormat,
    models: Option<PathBuf>,
    today: Option<String>,
) -> Result<ExitCode> {
    use labcheck::cassette::age::{parse_day, today_utc};
    use labcheck::lint::{self, LintOptions, ModelTable};
    // `--today` wins over `LABCHECK_TODAY`; lint needs no other setting.
    let vars = labcheck::settings::Vars::capture();
    let (today, origin) = match today {
        Some(t) => (Some(t), "`--today`"),
        None => (
            vars.text("LABCHECK_TODAY")?.map(str::to_string),
            "env var `LABCHECK_TODAY`",
        ),
    };
    let today = match today {
        Some(t) => parse_day(&t)
            .with_context(|| format!("invalid value for {origin}: `{t}` (hint: YYYY-MM-DD)"))?,
        None => today_utc(),
    };
    let models = match models {
        // `--models FILE` adds rows to the bundled table or overrides them.
        Some(path) => ModelTable::bundled()?.with_rows_from(ModelTable::read(&path)?),
        None => ModelTable::bundled()?,
    };
    let options = LintOptions { today, models };
    let found = lint::lint_paths(&labs_or_default(paths)?, &options)?;
    match format {
        cli::LintFormat::Text => {
            // Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
            let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let color = if color {
                lint::Color::Always
            } else {
                lint::Color::Never
            };
            print!("{}", lint::render_text_with(&found, color))
        }
        cli::LintFormat::Json => print!("{}", lint::render_json(&found)),
    }
    Ok(exit(if lint::Summary::of(&found).errors > 0 {
        exit_code::FINDINGS
    } else {
        exit_code::OK
    }))
}

/// `labcheck models check`: Bedrock itself when live mode is opted into and
/// credentials resolve, else the gateway package data (saying why).
fn models_check(
    regions: Vec<String>,
    gateway_version: Option<String>,
    gateway_file: Option<PathBuf>,
    today: Option<String>,
) -> Result<ExitCode> {
    use labcheck::cassette::age::{format_day, parse_day, today_utc};
    use labcheck::lint::ModelTable;
    use labcheck::models_check::{self as mc, Fallback, GatewayData};
    let vars = labcheck::settings::Vars::capture();
    let settings = Settings::from_vars(&vars)?;
    let today = match today.or(vars.text("LABCHECK_TODAY")?.map(str::to_string)) {
        Some(t) => parse_day(&t)
            .with_context(|| format!("invalid date `{t}` for `--today` (hint: YYYY-MM-DD)"))?,
        None => today_utc(),
    };
    let table = ModelTable::bundled()?;
    let fallback = if settings.mode == labcheck::mode::Mode::Live {
        let regions = if regions.is_empty() {
            lab_regions()
        } else {
            regions
        };
        if regions.len() > mc::MAX_REGIONS {
            bail!(
                "{} regions to ask, more than {} (hint: pass fewer `--region`)",
                regions.len(),
                mc::MAX_REGIONS
            );
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        match runtime.block_on(mc::bedrock::default_credentials()) {
            Ok(creds) => {
                let mut answers = Vec::new();
                for region in &regions {
                    eprintln!("labcheck: ListFoundationModels in `{region}`");
                    let models = runtime.block_on(mc::list_foundation_models(
                        settings.bedrock_endpoint.as_deref(),
                        region,
                        &creds,
                        std::time::Duration::from_secs(30),
                    ))?;
                    answers.push((region.clone(), models));
                }
                let report = mc::compare_bedrock(&table, &answers);
                print!("{}", report.render(&table));
                return Ok(exit(if report.changes.is_empty() {
                    exit_code::OK
                } else {
                    exit_code::FINDINGS
                }));
            }
            Err(e) => Fallback::NoCredentials(e.to_string()),
        }
    } else {
        Fallback::NotLive
    };
    eprintln!("labcheck: {fallback}");
    let data = match gateway_file {
        Some(path) => GatewayData::read(&path, gateway_version.as_deref())?,
        None => {
            eprintln!(
                "labcheck: downloading {}{} from PyPI (pip's progress follows)",
                mc::gateway::PACKAGE,
                gateway_version
                    .as_deref()
                    .map_or(" (newest)".to_string(), |v| format!(" {v}"))
            );
            let dir = tempfile::tempdir()?;
            mc::gateway::download(&settings.python, gateway_version.as_deref(), dir.path())?
        }
    };
    let report = mc::compare_gateway(&table, &data, &format_day(today));
    print!("{}", report.render(&table));
    Ok(exit(if report.changes.is_empty() {
        exit_code::OK
    } else {
        exit_code::FINDINGS
    }))
}

/// The regions of the labs under ./labs (`us-east-1` when there are none).
fn lab_regions() -> Vec<String> {
    let mut regions: Vec<String> = plan::discover_labs(Path::new("labs"))
        .unwrap_or_default()
        .iter()
        .filter_map(|dir| labcheck::spec::load_lab(dir).ok())
        .map(|lab| lab.region)
        .collect();
    regions.sort();
    regions.dedup();
    if regions.is_empty() {
        regions.push(labcheck::spec::DEFAULT_REGION.to_string());
    }
    regions
}
