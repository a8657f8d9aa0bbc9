//! Live mode against a local upstream: refused without `LABCHECK_LIVE=1`;
//! with it, trials go through the metering proxy, which writes nothing and
//! refuses the request that would exceed `LABCHECK_MAX_TOKENS`; `replay_only`
//! expectations are skipped.

mod common;

use std::sync::Arc;

use assert_cmd::Command;
use common::{SEED, config, failures, repo};
use labcheck::mode::Mode;
use labcheck::record::{Budget, CredentialSource, Credentials, ProxySettings};
use labcheck::report::Status;
use labcheck::runner;

#[test]
fn live_mode_without_the_opt_in_is_refused_naming_labcheck_live() {
    let out = Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .args(["run", SEED])
        .current_dir(repo())
        .env("LABCHECK_MODE", "live")
        .env_remove("LABCHECK_LIVE")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LABCHECK_LIVE=1"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing ran");
}

fn dir_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_budget_refuses_the_request_that_would_exceed_it_and_nothing_is_written() {
    let creds = Credentials::new(
        "AKIAEXAMPLELIVEMTR00",
        "liveTestSecret000000000000000000000000000",
        None,
        None,
        "t",
    );
    // Live models answer in other words: the upstream's text differs from the
    // committed cassettes, so only a `replay_only` stdout check can pass.
    let up = common::edited_seed_upstream(
        creds.clone(),
        "/content/0/text",
        "Another wording of the answer.",
        0.0,
    );
    let (_tmp, lab) = common::seed_copy();
    let toml = std::fs::read_to_string(lab.join("lab.toml")).expect("lab.toml");
    let exact = "stdout = { contains = [\"Retrieval Augmented Generation (RAG) is a technique\"] }\nmax_output_tokens = 256";
    assert!(toml.contains(exact));
    std::fs::write(
        lab.join("lab.toml"),
        toml.replace(exact, &format!("{exact}\nreplay_only = [\"stdout\"]")),
    )
    .expect("write");
    let before = dir_bytes(&lab.join("cassettes"));
    let results = tempfile::tempdir().expect("results");
    let mut cfg = config(&lab, results.path());
    cfg.mode = Mode::Live;
    // sdk-invoke asks for 256 and spends 14 + 119; sdk-converse then asks for
    // 500: 133 + 500 > 600.
    let budget = Arc::new(Budget::new(600));
    cfg.proxy = ProxySettings {
        upstream: Some(up.url()),
        credentials: CredentialSource::Static(creds),
        budget: Arc::clone(&budget),
        ..ProxySettings::default()
    };
    let plan = cfg.plan();
    let trial = |name: &str| {
        let def = plan
            .trials
            .iter()
            .find(|t| t.name.contains(name))
            .unwrap_or_else(|| panic!("no trial {name}"));
        runner::run_trial(def, &cfg)
    };
    // Passes although the text differs: its stdout check is replay-only.
    let first = trial("::sdk-invoke::");
    assert_eq!(first.status, Status::Passed, "{}", failures(&first));
    assert_eq!(budget.total(), 133);
    let second = trial("::sdk-converse::");
    assert_eq!(second.status, Status::Failed);
    assert!(
        failures(&second).contains("LABCHECK_MAX_TOKENS=600"),
        "{}",
        failures(&second)
    );
    assert_eq!(budget.total(), 133, "the refused request spent nothing");
    assert_eq!(up.verified(), 1, "the refused request never went upstream");
    assert!(
        budget
            .render()
            .contains("4.1-invoke-fm-via-bedrock 14 in + 119 out"),
        "{}",
        budget.render()
    );
    assert_eq!(
        dir_bytes(&lab.join("cassettes")),
        before,
        "live mode writes nothing"
    );
}
