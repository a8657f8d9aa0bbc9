//! Default parallelism: `labcheck run` on the bundled labs with the default
//! settings against the same run with `-- --test-threads 64`.
//!
//! `cargo bench --bench parallelism` runs, alternately, `BENCH_REPS` (default
//! 3) of each side after one warm-up run (which also provisions the clients):
//!
//! - **default**: `labcheck run labs/4.1-… labs/4.2-…` (the schedule of
//!   `src/schedule.rs`: longest trials first, its default thread count);
//! - **64 threads**: the same with `-- --test-threads 64`, every trial at once
//!   (the best wall time parallelism alone can give);
//! - **one per core**: `-- --test-threads <cores>`, libtest's own default and
//!   labcheck's before `src/schedule.rs` (for comparison; plan order is still
//!   longest first).
//!
//! Each run writes its outcome files to a fresh results directory; the longest
//! single trial (`duration_ms`) over all runs is printed too, as the floor no
//! schedule can beat. Prints the mean wall time of each side and the ratio
//! default / 64 (target: at most 1.3).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LABS: [&str; 2] = ["labs/4.1-invoke-fm-via-bedrock", "labs/4.2-converse-api"];
const TARGET_RATIO: f64 = 1.3;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One `labcheck run` with `extra` libtest arguments: its wall time and the
/// longest trial it recorded.
fn run(extra: &[&str]) -> BenchResult<(Duration, Duration)> {
    let results = tempfile::tempdir()?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_labcheck"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(LABS)
        .arg("--results-dir")
        .arg(results.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if !extra.is_empty() {
        cmd.arg("--").args(extra);
    }
    let started = Instant::now();
    let status = cmd.status()?;
    let wall = started.elapsed();
    if !status.success() {
        return Err(format!("labcheck run {extra:?} failed: {status}").into());
    }
    Ok((wall, longest_trial(results.path())?))
}

/// The largest `duration_ms` of the outcome files under `dir`.
fn longest_trial(dir: &Path) -> BenchResult<Duration> {
    let mut longest = 0u64;
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let outcome: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
                let ms = outcome["duration_ms"]
                    .as_u64()
                    .ok_or_else(|| format!("{}: no duration_ms", path.display()))?;
                longest = longest.max(ms);
                seen += 1;
            }
        }
    }
    if seen == 0 {
        return Err(format!("no outcome files under {}", dir.display()).into());
    }
    Ok(Duration::from_millis(longest))
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn main() -> BenchResult<()> {
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "Default parallelism: labcheck run {} on {cores} core(s), {reps} runs per side (+1 warm-up)",
        LABS.join(" ")
    );
    run(&[])?;
    let per_core = cores.to_string();
    let (mut default, mut wide, mut narrow) = (Vec::new(), Vec::new(), Vec::new());
    let mut longest = Duration::ZERO;
    for i in 0..reps {
        let (d, ld) = run(&[])?;
        let (w, lw) = run(&["--test-threads", "64"])?;
        let (n, ln) = run(&["--test-threads", &per_core])?;
        println!(
            "  run {}: default {:.3} s, 64 threads {:.3} s, one per core {:.3} s (longest trial {:.3} / {:.3} / {:.3} s)",
            i + 1,
            d.as_secs_f64(),
            w.as_secs_f64(),
            n.as_secs_f64(),
            ld.as_secs_f64(),
            lw.as_secs_f64(),
            ln.as_secs_f64()
        );
        default.push(d.as_secs_f64());
        wide.push(w.as_secs_f64());
        narrow.push(n.as_secs_f64());
        longest = longest.max(ld).max(lw).max(ln);
    }
    let (dm, wm, nm) = (mean(&default), mean(&wide), mean(&narrow));
    let ratio = dm / wm;
    println!("default      : mean {dm:.3} s");
    println!("64 threads   : mean {wm:.3} s");
    println!("one per core : mean {nm:.3} s");
    println!("longest trial: {:.3} s", longest.as_secs_f64());
    println!(
        "ratio default / 64: {ratio:.2}; target <= {TARGET_RATIO}: {}",
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
