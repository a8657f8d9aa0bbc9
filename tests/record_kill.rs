//! Killing `labcheck record` with SIGKILL at random moments never leaves a
//! cassette that fails to load: writes are atomic (temp file, fsync, rename).
//!
//! The kill moments come from a seed (the clock, or `LABCHECK_KILL_SEED` to
//! replay a failure); a failure names the seed that reproduces it.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{SEED, repo};
use labcheck::cassette::CassetteSet;
use labcheck::record::Credentials;
use labcheck::record::verify::VerifyingUpstream;

const RUNS: u32 = 20;

/// Set it to the seed a failure printed to replay the same kill moments.
const SEED_VAR: &str = "LABCHECK_KILL_SEED";

fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{SEED_VAR}=`{v}` is not a u64")),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    }
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_torn_cassette() {
    let creds = Credentials::new(
        "AKIAEXAMPLEKILLREC00",
        "killTestSecret0000000000000000000000000",
        None,
        None,
        "t",
    );
    let set = CassetteSet::load_dir(repo().join(SEED).join("cassettes")).expect("seed");
    let up = VerifyingUpstream::start_blocking(set, creds.clone(), "us-east-1", 1.0).expect("up");
    let (tmp, lab) = common::seed_copy();
    let cassettes = lab.join("cassettes");
    std::fs::remove_dir_all(&cassettes).expect("clear");
    std::fs::create_dir(&cassettes).expect("mkdir");
    let seed = seed();
    let replay = format!("reproduce with {SEED_VAR}={seed}");
    eprintln!("kill test seed {seed} ({replay})");
    // xorshift never leaves 0.
    let mut state = if seed == 0 { 1 } else { seed };
    let mut written_runs = 0;
    for run in 0..RUNS {
        // xorshift: the kill moment, 0..2000 ms after the start.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let after = Duration::from_millis(state % 2000);
        let mut child = Command::new(env!("CARGO_BIN_EXE_labcheck"))
            .arg("record")
            .arg(&lab)
            .arg("--results-dir")
            .arg(tmp.path().join("results"))
            .args(["--", "sdk-"])
            .env("LABCHECK_UPSTREAM", up.url())
            .env("LABCHECK_RECORD", "all")
            .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", tmp.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                tmp.path().join("no-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn labcheck record");
        // The kill moment itself is what is random here; nothing is awaited.
        std::thread::sleep(after);
        // SIGKILL; it fails only if the child already exited, which is fine.
        let _already_exited = child.kill();
        child.wait().expect("reap labcheck record");
        let loaded = CassetteSet::load_dir(&cassettes)
            .unwrap_or_else(|e| panic!("run {run} killed after {after:?} ({replay}): {e}"));
        if !loaded.is_empty() {
            written_runs += 1;
        }
    }
    assert!(
        written_runs > 0,
        "no run got far enough to write: the kills tested nothing ({replay})"
    );
    let stray: Vec<_> = std::fs::read_dir(&cassettes)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    eprintln!("{written_runs}/{RUNS} runs left cassettes; leftover temp files: {stray:?}");
}
