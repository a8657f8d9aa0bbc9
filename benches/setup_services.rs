//! What the setup-services emulator (moto) costs a trial, and why a fork
//! server hands it out.
//!
//! `cargo bench --bench setup_services` prints, after one warm-up of each:
//!
//! 1. **per trial**: lab 5.1's `python-whoami` step (boto3, sandbox, network
//!    guard, outcome judged) run through `runner::run_step`, its program
//!    replaced by one that calls no AWS service, so both sides run the same
//!    trial: **with** the lab's `services` and seed (a fresh moto from the
//!    fork server, seeded, relayed into the guard, handed back) and
//!    **without** them. `BENCH_REPS` (default 10) of each, alternated;
//!    median, mean, the difference and the ratio.
//! 2. **isolation designs**, from the raw launcher: a fresh `launcher.py
//!    serve` per trial (python start to listening port), a fork-server
//!    handout (connect to `port=` line), and a reset of one warm server
//!    (`POST /moto-api/reset`, which isolates nothing by itself when trials
//!    run at once).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use labcheck::clients::StderrProgress;
use labcheck::plan::{LoadedLab, TrialDef};
use labcheck::runner::{RunConfig, run_step};
use labcheck::setup::MotoServer;
use labcheck::spec::lab::{FileSpec, ProgramSource, StepKind};

const LAB: &str = "labs/5.1-knowledge-base-setup";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mean(v: &[Duration]) -> Duration {
    v.iter().sum::<Duration>() / u32::try_from(v.len()).unwrap_or(1)
}

fn ms(d: Duration) -> String {
    format!("{:7.1} ms", d.as_secs_f64() * 1000.0)
}

/// The two sides' trial: `python-whoami` printing without calling AWS.
fn trial(config: &RunConfig, with_services: bool) -> BenchResult<TrialDef> {
    let plan = config.plan();
    let def = plan
        .trials
        .into_iter()
        .find(|t| t.name.contains("python-whoami"))
        .ok_or("lab 5.1 has no python-whoami trial")?;
    let mut lab = def.lab.lab.clone();
    let step = &mut lab.steps[def.step];
    step.kind = StepKind::Python {
        files: vec![FileSpec {
            path: PathBuf::from("whoami.py"),
            source: ProgramSource::Inline {
                text: "print('000000000000')\nprint('arn:aws:sts::000000000000:user/moto')\n"
                    .into(),
            },
        }],
        run: ProgramSource::Inline {
            text: "python3 whoami.py".into(),
        },
    };
    if !with_services {
        lab.services.clear();
        lab.seed = None;
    }
    Ok(TrialDef {
        lab: Arc::new(LoadedLab {
            lab,
            cassettes: def.lab.cassettes.clone(),
        }),
        ..def
    })
}

fn time_trial(def: &TrialDef, config: &RunConfig) -> BenchResult<Duration> {
    let start = Instant::now();
    let run = run_step(def, config)?;
    if !run.failures.is_empty() {
        return Err(format!("{}: {:?}", def.name, run.failures).into());
    }
    Ok(start.elapsed())
}

fn per_trial(config: &RunConfig, reps: usize) -> BenchResult<()> {
    let with = trial(config, true)?;
    let without = trial(config, false)?;
    time_trial(&with, config)?;
    time_trial(&without, config)?;
    let (mut w, mut wo) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        w.push(time_trial(&with, config)?);
        wo.push(time_trial(&without, config)?);
    }
    let (mw, mwo) = (median(&mut w), median(&mut wo));
    println!("per trial ({reps} reps, python-whoami under boto3, same program):");
    println!("  with moto     median {}  mean {}", ms(mw), ms(mean(&w)));
    println!("  without moto  median {}  mean {}", ms(mwo), ms(mean(&wo)));
    println!(
        "  moto adds     {} per trial (ratio {:.2})",
        ms(mw.saturating_sub(mwo)),
        mw.as_secs_f64() / mwo.as_secs_f64()
    );
    Ok(())
}

fn designs(config: &RunConfig, reps: usize) -> BenchResult<()> {
    let install = config.clients.ensure_moto(&StderrProgress)?;
    // Fresh python server per trial.
    let mut fresh = Vec::new();
    for _ in 0..reps.min(5) {
        let start = Instant::now();
        let mut child = Command::new(&install.python)
            .arg(&install.launcher)
            .arg("serve")
            .env_clear()
            .env("MOTO_ACCOUNT_ID", labcheck::setup::ACCOUNT_ID)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
        fresh.push(start.elapsed());
        drop(child.stdin.take());
        child.wait()?;
        if !line.starts_with("labcheck-moto port=") {
            return Err(format!("launcher said `{line}`").into());
        }
    }
    // Fork-server handout.
    drop(MotoServer::start(&install)?);
    let mut fork = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        let server = MotoServer::start(&install)?;
        fork.push(start.elapsed());
        drop(server);
    }
    // Reset of one warm server.
    let server = MotoServer::start(&install)?;
    let mut reset = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        let mut s = TcpStream::connect(server.addr())?;
        s.write_all(b"POST /moto-api/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        BufReader::new(s).read_line(&mut out)?;
        reset.push(start.elapsed());
        if !out.contains(" 200") {
            return Err(format!("reset answered `{out}`").into());
        }
    }
    println!("isolation designs (time until an empty server answers):");
    println!("  fresh python server  median {}", ms(median(&mut fresh)));
    println!("  fork-server handout  median {}", ms(median(&mut fork)));
    println!(
        "  reset a warm server  median {}  (shared: not isolated when trials overlap)",
        ms(median(&mut reset))
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let clients = labcheck::settings::clients(&labcheck::settings::Vars::capture());
    let results = tempfile::tempdir()?;
    let config = RunConfig {
        speed: 0.0,
        ..RunConfig::new(
            vec![Path::new(LAB).to_path_buf()],
            results.path().to_path_buf(),
            clients,
        )
    };
    per_trial(&config, reps)?;
    designs(&config, reps)?;
    Ok(())
}
