//! The `labcheck` binary: parse flags, dispatch, turn errors into exit codes.
//! The only place that uses `anyhow`.

mod cli;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use cli::{Cli, ClientsAction, Command};
use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::replay::{ReplayOptions, ReplayServer};
use labcheck::report::{LabVerdict, ResultsDir};
use labcheck::runner::{self, RunConfig};
use labcheck::{clients, spec};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn labs_or_default(labs: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
    if !labs.is_empty() {
        return Ok(labs);
    }
    let found = runner::discover_labs(Path::new("labs"))?;
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
            let mode = labcheck::mode::Mode::from_env()?;
            if !(speed >= 0.0 && speed.is_finite()) {
                bail!("--speed must be a number >= 0, got {speed}");
            }
            let config = RunConfig {
                labs: labs_or_default(labs)?,
                results_root: results_dir,
                run_id: runner::run_id_from_env(),
                speed,
                print_checklist: true,
                page_override: page,
                mode,
            };
            let args = libtest_mimic::Arguments::from_iter(
                std::iter::once("labcheck".to_string()).chain(test_args),
            );
            Ok(runner::harness(&args, config))
        }
        Command::List { labs } => {
            let config = RunConfig {
                labs: labs_or_default(labs)?,
                results_root: PathBuf::from("target/labcheck/results"),
                run_id: String::new(),
                speed: 0.0,
                print_checklist: false,
                page_override: None,
                mode: labcheck::mode::Mode::Replay,
            };
            // `list` names trials only: no cassette loading (see benches/catalog.rs).
            let plan = runner::plan_names_only(&config);
            for (dir, error) in &plan.broken {
                eprintln!("error: {}: {error}", dir.display());
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for trial in &plan.trials {
                writeln!(out, "{}", trial.name)?;
            }
            out.flush()?;
            Ok(if plan.broken.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Serve {
            dir,
            port,
            speed,
            region,
        } => serve(&dir, port, speed, &region),
        Command::Report {
            run_id,
            results_dir,
            labs,
        } => report(run_id, &results_dir, labs_or_default(labs)?),
        Command::Lint {
            paths,
            format,
            models,
            today,
        } => lint(paths, format, models, today),
        Command::Clients { action } => match action {
            ClientsAction::Install => {
                clients::ensure_all(&StderrProgress)?;
                Ok(ExitCode::SUCCESS)
            }
            ClientsAction::Dir => {
                println!("{}", clients::cache_dir()?.display());
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

fn serve(dir: &Path, port: u16, speed: f64, region: &str) -> Result<ExitCode> {
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
        server.served().len(),
        server.misses().len()
    );
    server.shutdown();
    Ok(ExitCode::SUCCESS)
}

/// The lines a student pastes to point their shell at the local endpoint.
fn setup_lines(endpoint: &str, region: &str, dir: &Path) -> String {
    let key = labcheck::steps::env::DUMMY_ACCESS_KEY_ID;
    let secret = labcheck::steps::env::DUMMY_SECRET_ACCESS_KEY;
    format!(
        "labcheck: serving {dir} at {endpoint} (Ctrl-C to stop)\n\
\n# bash / zsh\n\
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={endpoint}\n\
export AWS_REGION={region} AWS_DEFAULT_REGION={region}\n\
export AWS_ACCESS_KEY_ID={key} AWS_SECRET_ACCESS_KEY={secret}\n\
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_BEARER_TOKEN_BEDROCK\n\
\n# PowerShell\n\
$env:AWS_ENDPOINT_URL_BEDROCK_RUNTIME = \"{endpoint}\"\n\
$env:AWS_REGION = \"{region}\"; $env:AWS_DEFAULT_REGION = \"{region}\"\n\
$env:AWS_ACCESS_KEY_ID = \"{key}\"; $env:AWS_SECRET_ACCESS_KEY = \"{secret}\"\n\
Remove-Item Env:AWS_PROFILE, Env:AWS_SESSION_TOKEN, Env:AWS_BEARER_TOKEN_BEDROCK -ErrorAction SilentlyContinue\n\
\n# cmd.exe\n\
set AWS_ENDPOINT_URL_BEDROCK_RUNTIME={endpoint}\n\
set AWS_REGION={region}\n\
set AWS_DEFAULT_REGION={region}\n\
set AWS_ACCESS_KEY_ID={key}\n\
set AWS_SECRET_ACCESS_KEY={secret}\n\
set AWS_PROFILE=\n\
set AWS_SESSION_TOKEN=\n\
set AWS_BEARER_TOKEN_BEDROCK=\n\n",
        dir = dir.display()
    )
}

fn report(run_id: Option<String>, results_root: &Path, labs: Vec<PathBuf>) -> Result<ExitCode> {
    let run_id = match run_id {
        Some(id) => id,
        None => newest_run(results_root)?,
    };
    let outcomes = ResultsDir::new(results_root, &run_id).read_all()?;
    if outcomes.is_empty() {
        bail!(
            "run `{run_id}` has no outcome files under {}",
            results_root.display()
        );
    }
    let mut ok = true;
    for dir in labs {
        let lab = spec::load_lab(&dir).with_context(|| format!("loading {}", dir.display()))?;
        let verdict = LabVerdict::new(&lab.id.to_string(), &lab.checklist, &outcomes);
        ok &= verdict.passed();
        print!("{}", verdict.render());
    }
    let failed = outcomes
        .iter()
        .filter(|o| o.status == labcheck::report::Status::Failed)
        .count();
    println!("run {run_id}: {} trial(s), {failed} failed", outcomes.len());
    Ok(if ok && failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(runner::EXIT_FAILED)
    })
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

fn lint(
    paths: Vec<PathBuf>,
    format: cli::LintFormat,
    models: Option<PathBuf>,
    today: Option<String>,
) -> Result<ExitCode> {
    use labcheck::lint::{self, Date, LintOptions, ModelTable};
    let today = match today {
        Some(t) => {
            Date::parse(&t).with_context(|| format!("invalid --today `{t}` (hint: YYYY-MM-DD)"))?
        }
        None => Date::today_utc(),
    };
    let models = match models {
        Some(path) => ModelTable::read(&path)?,
        None => ModelTable::bundled()?,
    };
    let options = LintOptions { today, models };
    let found = lint::lint_paths(&labs_or_default(paths)?, &options)?;
    match format {
        cli::LintFormat::Text => print!("{}", lint::render_text(&found)),
        cli::LintFormat::Json => print!("{}", lint::render_json(&found)),
    }
    Ok(if lint::Summary::of(&found).errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
