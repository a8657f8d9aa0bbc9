//! Sharding: the lab trials run as 3 nextest partitions (`--partition
//! hash:k/3`) sharing one `LABCHECK_RUN_ID`, merged by `labcheck report`,
//! give the same report as one unpartitioned run; a stale run's outcomes are
//! never mixed in.
//!
//! Runs `cargo nextest` inside the test, against the same target dir (the
//! outer `cargo test` holds no build lock while tests run, and the `labs`
//! test binary is built by the first partition, then fresh for the others).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use labcheck::report::outcome::OUTCOME_VERSION;
use labcheck::report::{Outcome, ResultsDir, Status};

use common::repo;

/// `<target>` from `<target>/debug/labcheck`.
fn target_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_labcheck"));
    bin.parent()
        .and_then(Path::parent)
        .expect("target dir above the binary")
        .to_path_buf()
}

const KEPT_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "TMPDIR",
    "CARGO_HOME",
    "RUSTFLAGS",
    "LABCHECK_CLIENTS_DIR",
];

fn nextest(run_id: &str, partition: Option<&str>) -> String {
    // `cargo` from PATH (the rustup proxy), as the user's shell would run it.
    let mut cmd = Command::new("cargo");
    cmd.current_dir(repo()).args([
        "nextest",
        "run",
        "--test",
        "labs",
        "--no-fail-fast",
        "--no-tests=pass",
    ]);
    if let Some(p) = partition {
        cmd.args(["--partition", p]);
    }
    // The environment of the shell that started `cargo test`, not the one
    // cargo gives a test (CARGO_PKG_*, CARGO_BIN_EXE_*, LD_LIBRARY_PATH,
    // NEXTEST_*): with those the nested cargo rebuilds the dependency graph.
    cmd.env_clear();
    for (k, v) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if KEPT_ENV.contains(&k.as_ref()) || k.starts_with("RUSTUP_") {
            cmd.env(k.as_ref(), v);
        }
    }
    cmd.env("CARGO_TARGET_DIR", target_dir())
        .env("LABCHECK_RUN_ID", run_id);
    let out = cmd
        .output()
        .expect("cargo nextest runs (cargo-nextest installed?)");
    // Failing trials are compared like passing ones; a nextest that could
    // not run at all (exit code other than 0 or 100) is a test failure.
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(100)),
        "cargo nextest {partition:?} exited with {code:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn report(run_id: &str, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .current_dir(repo())
        .args([
            "report",
            "--run-id",
            run_id,
            "--format",
            format,
            "--results-dir",
        ])
        .arg(target_dir().join("labcheck/results"))
        .output()
        .expect("labcheck report");
    assert!(
        matches!(out.status.code(), Some(0) | Some(101)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run id itself differs between the two runs: blank it out.
    String::from_utf8_lossy(&out.stdout).replace(run_id, "<run>")
}

fn trials(run_id: &str) -> Vec<String> {
    ResultsDir::new(&target_dir().join("labcheck/results"), run_id)
        .read_all()
        .expect("outcomes")
        .into_iter()
        .map(|o| o.trial)
        .collect()
}

#[test]
fn three_partitions_merged_equal_one_run() {
    let stamp = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let sharded = format!("partition-test-{stamp}-sharded");
    let single = format!("partition-test-{stamp}-single");
    // A stale, failed outcome of a real trial under another run id.
    let stale = ResultsDir::new(
        &target_dir().join("labcheck/results"),
        &format!("partition-test-{stamp}-stale"),
    );
    stale
        .write(&Outcome {
            version: OUTCOME_VERSION,
            run_id: "stale".into(),
            trial: "4.1-invoke-fm-via-bedrock::cli-invoke::aws-cli-v1".into(),
            lab: "4.1-invoke-fm-via-bedrock".into(),
            step: "cli-invoke".into(),
            client: "aws-cli-v1".into(),
            proves: vec![2],
            status: Status::Failed,
            emulated: false,
            failures: vec!["stale: from another run".into()],
            duration_ms: 1,
            network_guard: None,
            sandbox: None,
        })
        .expect("stale outcome");

    let mut per_shard = Vec::new();
    for k in 1..=3 {
        nextest(&sharded, Some(&format!("hash:{k}/3")));
        let so_far = trials(&sharded);
        per_shard.push(so_far.len());
    }
    nextest(&single, None);

    // Every trial ran exactly once across the shards, and the shards split the work.
    let all = trials(&single);
    assert!(all.len() >= 10, "{all:?}");
    assert_eq!(trials(&sharded), all);
    assert!(
        per_shard[0] < all.len() && per_shard[1] <= per_shard[2],
        "{per_shard:?}"
    );

    let merged = report(&sharded, "text");
    assert_eq!(merged, report(&single, "text"));
    assert!(!merged.contains("stale"), "{merged}");
    assert_eq!(report(&sharded, "markdown"), report(&single, "markdown"));
    let _ = std::fs::remove_dir_all(stale.dir);
}
