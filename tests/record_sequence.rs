//! Recorded sequences and identifiers that flow between calls, end to end:
//! a boto3 script creates a job (the answer carries its ARN, with an account
//! id) and polls it by that ARN until it completes. Recording it through the
//! proxy from a SigV4-verifying local upstream captures the polls in order
//! (identical answers folded) with the account id scrubbed the same way in the
//! ARN the create call returned and in the path of every poll; replaying it,
//! the client sees the same states in the same order, in every trial from the
//! start, and the scrubbed ARN it got back still matches the polls.

mod common;

use common::repo;
use labcheck::cassette::CassetteSet;
use labcheck::ids::Operation;
use labcheck::mode::Mode;
use labcheck::record::verify::VerifyingUpstream;
use labcheck::record::{CredentialSource, Credentials, ProxySettings, RecordMode};
use labcheck::runner;

const LAB: &str = "tests/fixtures/poll-lab";
const UPSTREAM: &str = "tests/fixtures/poll-upstream";
const REAL_ACCOUNT: &str = "111122223333";
const JOB: &str = "model-invocation-job/b7x2k9q4m1pz";

fn creds() -> Credentials {
    Credentials::new(
        "AKIAPOLLRECORDEXAMPLE",
        "pollRecorderSecretKey/0123456789+abcdefg",
        None,
        None,
        "test",
    )
}

/// Every file under `dir`, concatenated as text.
fn all_text(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.push_str(&all_text(&p));
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).expect("read")));
        }
    }
    out
}

#[test]
fn a_recorded_polling_sequence_replays_in_order_in_every_trial_with_the_arn_flowing() {
    let set = CassetteSet::load_dir(repo().join(UPSTREAM)).expect("upstream cassettes");
    let up = VerifyingUpstream::start_blocking(set, creds(), "us-east-1", 0.0).expect("upstream");
    let tmp = tempfile::tempdir().expect("tmp");
    let lab = tmp.path().join("poll-lab");
    common::copy_dir(&repo().join(LAB), &lab);

    // Record the first step only: one trial owns the sequence it records.
    let results = tmp.path().join("results");
    let mut config = common::config(&lab, &results);
    config.mode = Mode::Record;
    config.proxy = ProxySettings {
        upstream: Some(up.url()),
        record_mode: RecordMode::Once,
        credentials: CredentialSource::Static(creds()),
        progress: false,
        ..ProxySettings::default()
    };
    let recorded = common::run(&config, "::poll::");
    assert_eq!(recorded.len(), 1);
    assert!(
        recorded[0].failures.is_empty(),
        "{}",
        common::failures(&recorded[0])
    );
    assert_eq!(up.verified(), 4, "create + 3 polls: {:?}", up.rejected());

    // The polls are one sequence, in order, the two InProgress answers folded.
    let set = CassetteSet::load_dir(lab.join("cassettes")).expect("recordings load");
    let polls: Vec<_> = set
        .interactions()
        .filter(|(_, _, it)| it.request.operation == Operation::InvokeModel)
        .map(|(_, _, it)| {
            let body = it.response.body.clone().unwrap_or_default();
            (body["status"].as_str().unwrap_or("?").to_string(), it.times)
        })
        .collect();
    assert_eq!(
        polls,
        [("InProgress".to_string(), 2), ("Completed".to_string(), 1)]
    );
    // The ARN is scrubbed alike where the create call returned it and where
    // the polls sent it, so the recorded requests match what replay returns.
    let scrubbed_arn = format!("arn:aws:bedrock:us-east-1:000000000000:{JOB}");
    let (_, _, create) = set
        .interactions()
        .find(|(_, _, it)| it.request.operation == Operation::Converse)
        .expect("the create call");
    let returned = create
        .response
        .body
        .as_ref()
        .and_then(|b| b.pointer("/output/message/content/0/text"))
        .and_then(|t| t.as_str());
    assert_eq!(returned, Some(scrubbed_arn.as_str()));
    for (_, _, it) in set
        .interactions()
        .filter(|(_, _, it)| it.request.operation == Operation::InvokeModel)
    {
        assert_eq!(it.request.model_id, scrubbed_arn);
    }
    assert!(!all_text(&lab.join("cassettes")).contains(REAL_ACCOUNT));

    // Replay: both steps (two trials, in parallel, one server each) see the
    // whole sequence from its start.
    let replay_results = tmp.path().join("replay-results");
    let config = common::config(&lab, &replay_results);
    let outcomes = common::run(&config, "");
    assert_eq!(outcomes.len(), 2);
    for o in &outcomes {
        assert!(
            o.failures.is_empty(),
            "{}: {}",
            o.trial,
            common::failures(o)
        );
    }
    // And once more, looking at what the client printed.
    let plan = config.plan();
    let def = plan
        .trials
        .iter()
        .find(|t| t.name.contains("::poll::"))
        .expect("the poll trial");
    let run = runner::run_step(def, &config).expect("step runs");
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    let stdout = run.output.stdout.clone();
    assert!(
        stdout.starts_with(&format!(
            "created {scrubbed_arn}\nstate InProgress\nstate InProgress\nstate Completed\nfinal Completed\n"
        )),
        "{stdout}"
    );
}
