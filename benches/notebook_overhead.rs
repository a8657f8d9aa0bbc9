//! Notebook overhead: what running code as notebook cells in a Jupyter kernel
//! costs, against the same code run as one plain python script.
//!
//! `cargo bench --bench notebook_overhead` uses lab 6.2's client and template
//! cells and its cassettes, served at speed 0 (no stream delays), and builds
//! two notebooks: the setup cells alone, and the setup cells plus `BENCH_CELLS`
//! (default 40) cells that each make one Converse call and print the answer.
//! Each notebook runs as a `notebook` step (driver, nbclient, one kernel, in
//! the trial sandbox); the same code joined into one file runs as a `python`
//! step with the provisioned boto3 in the same sandbox. `BENCH_REPS` (default
//! 3) runs of each; minimums are used. Printed:
//!
//! - the kernel's start-up on its own (driver's `kernel` event: start to ready);
//! - per cell: (notebook with N cells − setup notebook) / N, the same for the
//!   script, their difference (the per-cell overhead; target ≤ 50 ms) and
//!   their ratio.

use std::path::Path;
use std::time::{Duration, Instant};

use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::ids::ClientId;
use labcheck::replay::{ReplayOptions, ReplayServer};
use labcheck::spec::lab::{CellSelection, FileSpec, NotebookStep, ProgramSource, StepKind};
use labcheck::spec::load_lab;
use labcheck::steps::{self, Invocation, StepOutput};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const LAB: &str = "labs/6.2-notebook-prompt-templates";

const CALL: &str = "print(summarize(ARTICLE, \"a product manager\"))\n";

/// The lab notebook's code cells `client` and `template`, as sources.
fn setup_cells() -> BenchResult<Vec<String>> {
    let nb = labcheck::content::Notebook::read(&Path::new(LAB).join("lab.ipynb"))?;
    Ok(nb
        .cells
        .iter()
        .filter(|c| matches!(c.id.as_deref(), Some("client" | "template")))
        .map(|c| c.source.clone())
        .collect())
}

fn notebook_json(cells: &[String]) -> String {
    let cells: Vec<serde_json::Value> = cells
        .iter()
        .map(|s| {
            serde_json::json!({"cell_type": "code", "metadata": {}, "execution_count": null,
                "outputs": [], "source": s})
        })
        .collect();
    serde_json::json!({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells})
        .to_string()
}

fn run_once(
    kind: &StepKind,
    client: ClientId,
    endpoint: &str,
) -> BenchResult<(Duration, StepOutput)> {
    let clients = labcheck::settings::clients(&labcheck::settings::Vars::capture());
    let workspace = tempfile::tempdir()?;
    let inv = Invocation {
        kind,
        client,
        pair: None,
        endpoint,
        region: "us-east-1",
        workspace: workspace.path().to_path_buf(),
        timeout: Duration::from_secs(600),
        progress: &StderrProgress,
        clients: &clients,
        guard: None,
        services: None,
        sandbox: labcheck::sandbox::Policy::Auto,
    };
    let started = Instant::now();
    let out = steps::run(&inv)?;
    let took = started.elapsed();
    if out.exit_code != Some(0) {
        return Err(format!("step failed:\n{}\n{}", out.stdout, out.stderr).into());
    }
    Ok((took, out))
}

fn main() -> BenchResult<()> {
    let n: usize = std::env::var("BENCH_CELLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
        .max(1);
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let lab = load_lab(Path::new(LAB))?;
    let set = CassetteSet::load_dir(&lab.cassettes)?;
    let server = ReplayServer::start_blocking(
        set,
        ReplayOptions {
            speed: 0.0,
            ..ReplayOptions::default()
        },
    )?;
    let endpoint = server.endpoint();
    let dir = tempfile::tempdir()?;
    let setup = setup_cells()?;
    let mut full = setup.clone();
    full.extend(std::iter::repeat_n(CALL.to_string(), n));

    let notebook = |name: &str, cells: &[String]| -> BenchResult<StepKind> {
        let path = dir.path().join(name);
        std::fs::write(&path, notebook_json(cells))?;
        Ok(StepKind::Notebook(NotebookStep {
            file: name.into(),
            path,
            from_workspace: false,
            cells: CellSelection::All,
            skip: Vec::new(),
            fill: Vec::new(),
            cell_timeout: Duration::from_secs(120),
            python: Vec::new(),
        }))
    };
    let script = |cells: &[String]| StepKind::Python {
        files: vec![FileSpec {
            path: "cells.py".into(),
            source: ProgramSource::Inline {
                text: cells.join("\n"),
            },
        }],
        run: ProgramSource::Inline {
            text: "python3 cells.py".into(),
        },
    };
    let kinds = [
        (
            "notebook, setup only",
            notebook("setup.ipynb", &setup)?,
            ClientId::Kernel,
        ),
        (
            "notebook, setup + N",
            notebook("full.ipynb", &full)?,
            ClientId::Kernel,
        ),
        ("script, setup only", script(&setup), ClientId::Boto3),
        ("script, setup + N", script(&full), ClientId::Boto3),
    ];
    println!(
        "Notebook overhead: {LAB}, speed 0, N = {n} Converse cells, {reps} runs (+1 warm-up) each, sandboxed"
    );
    let mut best = [f64::INFINITY; 4];
    let mut kernel_start = f64::INFINITY;
    for rep in 0..=reps {
        for (i, (name, kind, client)) in kinds.iter().enumerate() {
            let (took, out) = run_once(kind, *client, &endpoint)?;
            if rep == 0 {
                continue; // warm-up: provisioning, page cache
            }
            let secs = took.as_secs_f64();
            println!("  run {rep}: {name:<22} {secs:.3} s");
            best[i] = best[i].min(secs);
            if let Some(k) = out.notebook.as_ref().and_then(|r| r.kernel_start) {
                kernel_start = kernel_start.min(k.as_secs_f64());
            }
        }
    }
    let nb_cell = (best[1] - best[0]) / n as f64;
    let py_call = (best[3] - best[2]) / n as f64;
    let overhead_ms = (nb_cell - py_call) * 1000.0;
    println!(
        "kernel start-up (start → ready): {:.0} ms",
        kernel_start * 1000.0
    );
    println!(
        "notebook setup-only step: {:.3} s; script setup-only step: {:.3} s",
        best[0], best[2]
    );
    println!(
        "per cell: notebook {:.1} ms, script {:.1} ms per call; overhead {overhead_ms:.1} ms per cell (target ≤ 50 ms): {}",
        nb_cell * 1000.0,
        py_call * 1000.0,
        if overhead_ms <= 50.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!("ratio notebook / script per cell: {:.2}", nb_cell / py_call);
    server.shutdown();
    Ok(())
}
