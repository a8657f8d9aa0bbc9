//! Killing `labcheck record` with SIGKILL at random moments never leaves a
//! cassette that fails to load: writes are atomic (temp file, fsync, rename).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{SEED, repo};
use labcheck::cassette::CassetteSet;
use labcheck::record::Credentials;
use labcheck::record::verify::VerifyingUpstream;

const RUNS: u32 = 20;

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
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("kill test seed {seed}");
    let mut written_runs = 0;
    for run in 0..RUNS {
        // xorshift: the kill moment, 0..2000 ms after the start.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(seed % 2000);
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
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let loaded = CassetteSet::load_dir(&cassettes)
            .unwrap_or_else(|e| panic!("run {run} killed after {after:?}: {e}"));
        if !loaded.is_empty() {
            written_runs += 1;
        }
    }
    assert!(
        written_runs > 0,
        "no run got far enough to write: the kills tested nothing"
    );
    let stray: Vec<_> = std::fs::read_dir(&cassettes)
        .expect("list")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    eprintln!("{written_runs}/{RUNS} runs left cassettes; leftover temp files: {stray:?}");
}
