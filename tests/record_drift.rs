//! `labcheck drift` records a lab afresh (here from a local upstream whose
//! model changed its stop reason) and prints what moved against the
//! committed cassettes.

mod common;

use std::process::Command;

use common::repo;
use labcheck::record::Credentials;

const SEED: &str = "labs/4.1-invoke-fm-via-bedrock";

#[test]
fn drift_names_a_changed_stop_reason_and_leaves_the_committed_cassettes_alone() {
    let creds = Credentials::new(
        "AKIAEXAMPLEDRIFT0000",
        "driftTestSecret0000000000000000000000000",
        None,
        None,
        "t",
    );
    let up = common::edited_seed_upstream(creds.clone(), "/stopReason", "max_tokens", 1.0);
    let tmp = tempfile::tempdir().expect("tmp");
    let before = std::fs::read(repo().join(SEED).join("cassettes/converse.json")).expect("read");
    let out = Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .arg("drift")
        .arg(repo().join(SEED))
        .arg("--results-dir")
        .arg(tmp.path())
        .args(["--", "sdk-"])
        .env("LABCHECK_UPSTREAM", up.url())
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", tmp.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", tmp.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("labcheck drift");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(101), "drift found: {stdout}");
    assert!(
        stdout.contains(r#"stop reason Some("end_turn") -> Some("max_tokens")"#),
        "{stdout}"
    );
    assert!(stdout.contains("changed  converse.json"), "{stdout}");
    assert!(
        stdout.contains("3 of 4 interaction(s) unchanged"),
        "{stdout}"
    );
    let after = std::fs::read(repo().join(SEED).join("cassettes/converse.json")).expect("read");
    assert_eq!(before, after, "drift records into a scratch copy");
}
