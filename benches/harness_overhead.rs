//! Harness overhead: the seed lab's trials through `labcheck run` vs the same
//! client commands run bare.
//!
//! `cargo bench --bench harness_overhead` times, alternately, `BENCH_REPS`
//! (default 5) runs of each side after one warm-up run of each:
//!
//! - **labcheck**: the release `labcheck run labs/4.1-invoke-fm-via-bedrock
//!   -- --test-threads 1` (libtest trials, expectations, served/User-Agent
//!   checks, outcome files, checklist).
//! - **bare**: this same executable re-run as `--bare`, which for the same
//!   trials (step × client × playground pair) starts the same replay server
//!   (one per trial, as the runner does), makes an empty workspace, and runs
//!   the page's bash block / writes the page's python files and runs the
//!   page's command with `bash -c` under the same [`ChildEnv`] variables and
//!   provisioned clients, or makes the same aws-sdk-bedrockruntime call
//!   (`steps::sdk`). It checks only that each command succeeded.
//!
//! Both sides are one process, one trial after the other, at the same replay
//! speed (`BENCH_SPEED`, default 1 = recorded stream delays on both sides).
//! Prints mean ± sd and min of each side and the overhead ratio.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use labcheck::cassette::CassetteSet;
use labcheck::clients::{self, StderrProgress};
use labcheck::ids::ClientId;
use labcheck::replay::{ReplayOptions, ReplayServer};
use labcheck::spec::lab::{ParamPair, ProgramSource, StepKind};
use labcheck::spec::load_lab;
use labcheck::steps::env::ChildEnv;
use labcheck::steps::sdk;

const LAB: &str = "labs/4.1-invoke-fm-via-bedrock";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn text(src: &ProgramSource) -> BenchResult<&str> {
    match src {
        ProgramSource::Block { text, .. } | ProgramSource::Inline { text } => Ok(text),
        ProgramSource::Workspace { path } => {
            Err(format!("workspace source `{}` has no bare form", path.display()).into())
        }
    }
}

/// `bash -c script` in the trial environment; fails unless it exits 0.
fn bash(script: &str, env: &ChildEnv) -> BenchResult<()> {
    let out = Command::new("/bin/bash")
        .arg("-c")
        .arg(script)
        .current_dir(&env.workspace)
        .env_clear()
        .envs(env.vars())
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "bare command failed ({}):\n{script}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

/// The bare side: every trial's client command, nothing else.
fn bare(speed: f64) -> BenchResult<()> {
    let lab = load_lab(Path::new(LAB))?;
    let set = CassetteSet::load_dir(&lab.cassettes)?;
    let mut bins: Vec<(ClientId, PathBuf)> = Vec::new();
    let provisioned = labcheck::settings::clients(&labcheck::settings::Vars::capture());
    for client in clients::PROVISIONED {
        bins.push((client, provisioned.ensure(client, &StderrProgress)?.bin_dir));
    }
    let timeout = Duration::from_secs(60);
    for step in &lab.steps {
        let pairs: Vec<Option<ParamPair>> = match &step.kind {
            StepKind::Playground { pairs, .. } => pairs.iter().copied().map(Some).collect(),
            _ => vec![None],
        };
        for client in &step.clients {
            for pair in &pairs {
                let options = ReplayOptions {
                    speed,
                    ..ReplayOptions::default()
                };
                let server = ReplayServer::start_blocking(set.clone(), options)?;
                let workspace = tempfile::tempdir()?;
                let env = ChildEnv {
                    workspace: workspace.path().to_path_buf(),
                    endpoint: server.endpoint(),
                    region: lab.region.clone(),
                    client_bin: bins
                        .iter()
                        .find(|(c, _)| c == client)
                        .map(|(_, b)| b.clone()),
                    guard: None,
                    services: None,
                    // The bare client, as before the sandbox: comparable figures.
                    sandbox: labcheck::sandbox::Guard::None,
                    read_only: Vec::new(),
                };
                env.prepare()?;
                match &step.kind {
                    StepKind::Shell { program } => bash(text(program)?, &env)?,
                    StepKind::Python { files, run } => {
                        for f in files {
                            std::fs::write(workspace.path().join(&f.path), text(&f.source)?)?;
                        }
                        bash(text(run)?, &env)?;
                    }
                    StepKind::Sdk { call } => {
                        let out = sdk::run(call, &env.endpoint, &lab.region, timeout)?;
                        if out.exit_code != Some(0) {
                            return Err(format!("sdk call failed: {}", out.stderr).into());
                        }
                    }
                    StepKind::Notebook(_) => {
                        return Err("notebook steps: see benches/notebook_overhead.rs".into());
                    }
                    StepKind::Playground {
                        model,
                        prompt,
                        system,
                        ..
                    } => {
                        let p = pair.unwrap_or(ParamPair::DEFAULTS[0]);
                        let request = labcheck::spec::lab::ConverseRequest {
                            model: model.clone(),
                            prompt: prompt.clone(),
                            system: system.clone(),
                            max_tokens: Some(p.max_tokens),
                            temperature: Some(p.temperature),
                            top_p: None,
                            guardrail: None,
                        };
                        let out =
                            sdk::converse_once(&request, &env.endpoint, &lab.region, timeout)?;
                        if out.exit_code != Some(0) {
                            return Err(format!("converse failed: {}", out.stderr).into());
                        }
                    }
                }
                server.shutdown();
            }
        }
    }
    Ok(())
}

/// Runs `cmd` to completion; its wall time, or an error with its output.
fn timed(mut cmd: Command) -> BenchResult<Duration> {
    let started = Instant::now();
    let out = cmd.stdin(Stdio::null()).output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(took)
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    (mean, sd, min)
}

fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let speed: f64 = std::env::var("BENCH_SPEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    if args.get(1).map(String::as_str) == Some("--bare") {
        return bare(speed);
    }
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let labcheck = env!("CARGO_BIN_EXE_labcheck");
    let results = tempfile::tempdir()?;
    let me = std::env::current_exe()?;
    let harness_cmd = || {
        let mut c = Command::new(labcheck);
        c.args(["run", LAB, "--speed", &speed.to_string(), "--results-dir"])
            .arg(results.path())
            .args(["--", "--test-threads", "1"]);
        c
    };
    let bare_cmd = || {
        let mut c = Command::new(&me);
        c.arg("--bare").env("BENCH_SPEED", speed.to_string());
        c
    };
    println!(
        "Harness overhead: {LAB}, speed {speed}, {reps} runs per side (+1 warm-up each), one trial at a time"
    );
    timed(harness_cmd())?;
    timed(bare_cmd())?;
    let (mut h, mut b) = (Vec::new(), Vec::new());
    for i in 0..reps {
        let th = timed(harness_cmd())?.as_secs_f64();
        let tb = timed(bare_cmd())?.as_secs_f64();
        println!("  run {}: labcheck {th:.3} s, bare {tb:.3} s", i + 1);
        h.push(th);
        b.push(tb);
    }
    let (hm, hs, hmin) = stats(&h);
    let (bm, bs, bmin) = stats(&b);
    println!("labcheck run : mean {hm:.3} s ± {hs:.3}, min {hmin:.3} s");
    println!("bare commands: mean {bm:.3} s ± {bs:.3}, min {bmin:.3} s");
    let overhead = (hm - bm) / bm * 100.0;
    println!(
        "overhead: {overhead:+.1}% of mean ({:+.1}% of min); target <= 10%: {}",
        (hmin - bmin) / bmin * 100.0,
        if overhead <= 10.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
