//! Catalog benchmark: 500 generated labs (variants of the bundled labs, made
//! in a temp dir, never committed). Prints the time of the release binary's
//! `labcheck list` (target < 200 ms for 500 labs) and `labcheck lint` time per
//! lab as the catalog grows 50 → 100 → 200 → 500 (target: linear, i.e. a flat
//! per-lab time). Prints only; asserts nothing about time.
//!
//! Run: `cargo bench --bench catalog` (`LABCHECK_BENCH_RUNS=N` repetitions, default 5).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SIZES: [usize; 4] = [50, 100, 200, 500];
const SEEDS: [&str; 2] = ["labs/4.1-invoke-fm-via-bedrock", "labs/4.2-converse-api"];

/// The library's one directory copy; a bundled lab has no link to skip.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    labcheck::copy::copy_tree(from, to, &Default::default()).map(drop)
}

/// Lab `i`: a copy of a seed lab with its own title and page wording.
fn generate(root: &Path, i: usize) -> std::io::Result<PathBuf> {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join(SEEDS[i % SEEDS.len()]);
    let dir = root.join(format!(
        "{:03}-{}",
        i,
        seed.file_name()
            .map_or("lab".into(), |n| n.to_string_lossy())
    ));
    copy_dir(&seed, &dir)?;
    for name in ["lab.md", "lab.toml"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)?;
        let text = text.replacen("Lab: ", &format!("Lab {i}: "), 1);
        std::fs::write(&path, text)?;
    }
    Ok(dir)
}

/// A catalog root `catalog-N/labs/` holding symlinks to the first `n` labs.
fn catalog(root: &Path, all: &[PathBuf], n: usize) -> std::io::Result<PathBuf> {
    let cwd = root.join(format!("catalog-{n}"));
    let labs = cwd.join("labs");
    std::fs::create_dir_all(&labs)?;
    for lab in &all[..n] {
        if let Some(name) = lab.file_name() {
            std::os::unix::fs::symlink(lab, labs.join(name))?;
        }
    }
    Ok(cwd)
}

/// Median wall time of `labcheck <args>` run in `cwd`, and its exit code.
fn time(cwd: &Path, args: &[&str], runs: usize) -> (Duration, Option<i32>) {
    let mut times = Vec::with_capacity(runs);
    let mut code = None;
    for _ in 0..runs {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_labcheck"))
            .args(args)
            .current_dir(cwd)
            .env("LABCHECK_TODAY", "2026-11-26")
            .output()
            .expect("labcheck runs");
        times.push(started.elapsed());
        code = out.status.code();
    }
    times.sort();
    (times[times.len() / 2], code)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> std::io::Result<()> {
    let runs: usize = std::env::var("LABCHECK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let tmp = tempfile::tempdir()?;
    let generated = tmp.path().join("generated");
    let started = Instant::now();
    let all: Vec<PathBuf> = (0..SIZES[SIZES.len() - 1])
        .map(|i| generate(&generated, i))
        .collect::<Result<_, _>>()?;
    println!(
        "catalog: {} labs generated in {:.0} ms under {} (median of {runs} runs each)",
        all.len(),
        ms(started.elapsed()),
        tmp.path().display()
    );
    println!();
    println!("| labs | list (ms) | list exit | lint (ms) | lint per lab (ms) | lint exit |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut per_lab = Vec::new();
    let mut list_500 = Duration::ZERO;
    for n in SIZES {
        let cwd = catalog(tmp.path(), &all, n)?;
        let (list, list_code) = time(&cwd, &["list"], runs);
        let (lint, lint_code) = time(&cwd, &["lint"], runs);
        let each = ms(lint) / n as f64;
        per_lab.push(each);
        list_500 = list;
        println!(
            "| {n} | {:.1} | {} | {:.1} | {each:.2} | {} |",
            ms(list),
            list_code.map_or("-".into(), |c| c.to_string()),
            ms(lint),
            lint_code.map_or("-".into(), |c| c.to_string()),
        );
    }
    println!();
    println!(
        "list, {} labs: {:.1} ms (target < 200 ms: {})",
        SIZES[SIZES.len() - 1],
        ms(list_500),
        if ms(list_500) < 200.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    let ratio = per_lab[per_lab.len() - 1] / per_lab[0];
    println!(
        "lint per lab at {} vs {} labs: x{ratio:.2} (linear = about 1; process start-up is amortised as N grows)",
        SIZES[SIZES.len() - 1],
        SIZES[0]
    );
    Ok(())
}
