//! Helpers shared by the integration tests: run a lab's trials in process
//! through the same runner `cargo test` uses, with results in a temp dir.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use labcheck::report::Outcome;
use labcheck::runner::{self, RunConfig};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The provisioned clients' cache, as the environment says (the one
/// `cargo test` and `labcheck` use).
pub fn clients() -> labcheck::clients::Clients {
    labcheck::settings::clients(&labcheck::settings::Vars::capture())
}

/// A replay run of `lab` (whatever `LABCHECK_MODE` says) with results under `results`.
pub fn config(lab: &Path, results: &Path) -> RunConfig {
    RunConfig {
        run_id: "test".into(),
        ..RunConfig::new(vec![lab.to_path_buf()], results.to_path_buf(), clients())
    }
}

/// Runs every trial of `config` whose name contains `filter`, in parallel;
/// outcomes sorted by trial name. Panics if a lab fails to load.
pub fn run(config: &RunConfig, filter: &str) -> Vec<Outcome> {
    let plan = config.plan();
    assert!(
        plan.broken.is_empty(),
        "lab failed to load: {:?}",
        plan.broken
    );
    let trials: Vec<_> = plan
        .trials
        .iter()
        .filter(|t| t.name.contains(filter))
        .collect();
    assert!(!trials.is_empty(), "no trial matches {filter:?}");
    let mut outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = trials
            .iter()
            .map(|t| s.spawn(|| runner::run_trial(t, config)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("trial thread"))
            .collect()
    });
    outcomes.sort_by(|a, b| a.trial.cmp(&b.trial));
    outcomes
}

/// Copies a directory tree (labs are small) with the library's
/// [`labcheck::copy::copy_tree`]; a fixture has no link to skip.
pub fn copy_dir(from: &Path, to: &Path) {
    let skipped = labcheck::copy::copy_tree(from, to, &Default::default()).expect("copy");
    assert!(skipped.is_empty(), "fixture links not copied: {skipped:?}");
}

/// All failure text of an outcome, one string.
pub fn failures(o: &Outcome) -> String {
    o.failures.join("\n")
}

/// The seed lab's directory, relative to the repository.
pub const SEED: &str = "labs/4.1-invoke-fm-via-bedrock";

/// A private copy of the seed lab in the repository's layout (`labs/<id>`
/// beside `snapshots/`), so snapshot expectations resolve inside the copy.
pub fn seed_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join(SEED);
    copy_dir(&repo().join(SEED), &lab);
    copy_dir(&repo().join("snapshots"), &tmp.path().join("snapshots"));
    (tmp, lab)
}

/// A SigV4-verifying upstream serving the seed lab's cassettes with the JSON
/// body value at `pointer` replaced by `value` wherever it occurs: how tests
/// make "real Bedrock" answer differently from the committed cassettes.
pub fn edited_seed_upstream(
    creds: labcheck::record::Credentials,
    pointer: &str,
    value: &str,
    speed: f64,
) -> labcheck::record::verify::VerifyingUpstream {
    use labcheck::cassette::CassetteSet;
    let seed = CassetteSet::load_dir(repo().join(SEED).join("cassettes")).expect("seed");
    let mut files = seed.files().to_vec();
    for f in &mut files {
        for it in &mut f.cassette.interactions {
            if let Some(v) = it
                .response
                .body
                .as_mut()
                .and_then(|b| b.pointer_mut(pointer))
            {
                *v = value.into();
            }
        }
    }
    labcheck::record::verify::VerifyingUpstream::start_blocking(
        CassetteSet::from_files(files),
        creds,
        "us-east-1",
        speed,
    )
    .expect("verifying upstream")
}

/// A name no other test or process uses, to find a step's processes by
/// their command line (pids inside the sandbox are namespace-local).
pub fn unique_marker(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Live host processes whose command line contains `needle`, as
/// `pid: cmdline` (zombies are dead already and left out).
pub fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue; // not a process, or it exited meanwhile
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        if cmdline.contains(needle) && !zombie {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

/// Waits (bounded, 10 s) until no host process carries `needle`: SIGKILL is
/// delivered at once, but an exit takes a moment to finish.
pub fn assert_no_process_with(needle: &str, what: &str) {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let live = processes_with(needle);
        if live.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < give_up, "{what}: {live:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
