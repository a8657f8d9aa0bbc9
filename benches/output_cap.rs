//! Output cap: a step that prints 1 GiB (the hostile student) and
//! labcheck's own peak memory while it runs.
//!
//! `cargo bench --bench output_cap` runs `head -c 1GiB /dev/zero` as a step
//! (`BENCH_GIB`, default 1) in the strongest sandbox this machine allows,
//! and prints this process's peak RSS (`VmHWM`) before and after, the bytes
//! kept and the truncation marker. Without the cap the peak grows by the
//! output's size; with it, by about 2 × 8 MiB (stdout kept, plus the lossy
//! UTF-8 copy) and the reader's buffers.

use std::time::Duration;

use labcheck::sandbox::{Guard, Policy};
use labcheck::steps::env::ChildEnv;
use labcheck::steps::process;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gib: u64 = std::env::var("BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let workspace = tempfile::tempdir()?;
    let sandbox = Guard::choose(Policy::Auto);
    let env = ChildEnv {
        workspace: workspace.path().to_path_buf(),
        endpoint: "http://127.0.0.1:9".into(),
        region: "us-east-1".into(),
        client_bin: None,
        guard: None,
        services: None,
        sandbox,
        read_only: Vec::new(),
    };
    env.prepare()?;
    let before = peak_rss_kib();
    let script = format!("head -c {} /dev/zero\n", gib << 30);
    let out = process::run_bash(&script, 0, &env, Duration::from_secs(600))?;
    let after = peak_rss_kib();
    println!("sandbox: {sandbox}");
    println!("printed: {gib} GiB in {:.1?}", out.elapsed);
    println!("kept: {} bytes of stdout", out.stdout.len());
    println!(
        "marker: {}",
        out.stdout.lines().last().unwrap_or_default().trim_end()
    );
    println!("peak RSS: {before} KiB before, {after} KiB after");
    Ok(())
}
