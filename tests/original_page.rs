//! The original course page (tests/fixtures/original/lab.md, byte-identical to
//! the seed) run under the corrected lab's expectations fails, and each failing
//! trial says why in words a course author understands.

mod common;

use common::{config, failures, repo, run};
use labcheck::report::Status;

#[test]
fn original_page_fails_where_a_student_would() {
    let results = tempfile::tempdir().expect("tempdir");
    let outcomes = run(
        &config(&repo().join("tests/fixtures/original"), results.path()),
        "",
    );
    let why = |trial: &str| -> String {
        let o = outcomes
            .iter()
            .find(|o| o.trial.ends_with(trial))
            .unwrap_or_else(|| panic!("no trial {trial}"));
        assert_eq!(
            o.status,
            Status::Failed,
            "{trial} passed on the original page"
        );
        failures(o)
    };
    // AWS CLI v2 rejects the raw JSON --body before sending anything.
    let v2 = why("::cli-invoke::aws-cli-v2");
    assert!(v2.contains("Invalid base64"), "{v2}");
    assert!(
        v2.contains("fileb://"),
        "the hint should say what to write: {v2}"
    );
    // CLI v1 sends it, and Bedrock answers that the model reached end of life.
    let v1 = why("::cli-invoke::aws-cli-v1");
    assert!(v1.contains("ResourceNotFoundException"), "{v1}");
    assert!(v1.contains("end of life"), "{v1}");
    // `python` does not exist on a fresh Linux machine.
    for trial in ["::python-invoke::boto3", "::python-stream::boto3"] {
        let text = why(trial);
        assert!(text.contains("python: command not found"), "{text}");
        assert!(text.contains("only `python3`"), "{text}");
    }
    // The Rust SDK and the emulated console reach Bedrock and get the end-of-life error.
    for trial in [
        "::sdk-invoke::rust-sdk",
        "::sdk-invoke-stream::rust-sdk",
        "::sdk-converse::rust-sdk",
        "::playground-t0.1-m100::rust-sdk",
    ] {
        let text = why(trial);
        assert!(text.contains("end of its life"), "{trial}: {text}");
    }
    assert!(
        outcomes.iter().all(|o| o.status == Status::Failed),
        "every step of the original page fails today"
    );
}
