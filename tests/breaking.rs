//! Breaking a lab breaks its test: each way a lab can rot turns the right
//! trial red, with a message that says why.

mod common;

use std::path::{Path, PathBuf};

use common::{config, failures, run};
use labcheck::report::Status;

/// A private copy of the seed lab, with `edit` applied to one of its files.
fn broken_lab(file: &str, edit: impl FnOnce(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let (tmp, lab) = common::seed_copy();
    let path = lab.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing in {file}");
    std::fs::write(&path, edited).expect("write");
    (tmp, lab)
}

fn results() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn only(outcomes: &[labcheck::report::Outcome], suffix: &str) -> String {
    let o = outcomes
        .iter()
        .find(|o| o.trial.ends_with(suffix))
        .unwrap_or_else(|| panic!("no trial {suffix}"));
    assert_eq!(o.status, Status::Failed, "{} should fail", o.trial);
    failures(o)
}

#[test]
fn changed_prompt_fails_with_the_nearest_cassette_and_field() {
    let (_tmp, lab) = broken_lab("lab.md", |t| {
        t.replace("(RAG) trong 3 câu.", "(RAG) trong 5 câu.")
    });
    let r = results();
    let outcomes = run(&config(&lab, r.path()), "::playground-t0.9-m500::");
    let why = only(&outcomes, "::playground-t0.9-m500::rust-sdk");
    assert!(why.contains("matched no cassette"), "{why}");
    assert!(
        why.contains("/messages/0/content/0/text"),
        "the differing field is named: {why}"
    );
    assert!(
        why.contains("trong 3 câu") && why.contains("trong 5 câu"),
        "recorded and received values shown: {why}"
    );
}

#[test]
fn removed_checklist_binding_is_a_spec_error_naming_the_item() {
    let (_tmp, lab) = broken_lab("lab.toml", |t| t.replace("proves = [4]", "proves = [3]"));
    let plan = config(&lab, Path::new("unused")).plan();
    assert_eq!(plan.broken.len(), 1, "the lab must not load");
    let why = &plan.broken[0].1;
    assert!(
        why.contains("Streaming script in ra text từng phần"),
        "{why}"
    );
    assert!(
        why.contains("proves"),
        "the hint says how to bind it: {why}"
    );
}

#[test]
fn script_that_prints_the_text_without_calling_bedrock_fails() {
    let (_tmp, lab) = broken_lab("lab.md", |t| {
        let start = t.find("import boto3").expect("Bước 3 script");
        let end = t[start..].find("```").expect("end of block") + start;
        format!(
            "{}print('Retrieval Augmented Generation (RAG) is a technique ... without retraining the model.')\n{}",
            &t[..start],
            &t[end..]
        )
    });
    let r = results();
    let outcomes = run(&config(&lab, r.path()), "::python-invoke::");
    let why = only(&outcomes, "::python-invoke::boto3");
    assert!(why.contains("never called Bedrock"), "{why}");
    assert!(
        !why.contains("stdout: expected to contain"),
        "the text itself was printed: {why}"
    );
}

#[test]
fn stream_printed_all_at_once_fails_the_incremental_check() {
    let (_tmp, lab) = broken_lab("lab.md", |t| {
        t.replace(
            "        print(chunk['delta'].get('text', ''), end='', flush=True)\nprint()",
            "        parts.append(chunk['delta'].get('text', ''))\nprint(''.join(parts))",
        )
        .replace("# Stream response\n", "# Stream response\nparts = []\n")
    });
    let r = results();
    let outcomes = run(&config(&lab, r.path()), "::python-stream::");
    let why = only(&outcomes, "::python-stream::boto3");
    assert!(why.contains("incremental output"), "{why}");
    assert!(why.contains("1 piece(s)"), "{why}");
}

#[test]
fn stream_served_without_delays_fails_the_incremental_check() {
    let (_tmp, lab) = broken_lab("cassettes/invoke-stream.json", |t| {
        let re = regex::Regex::new(r#""delay_ms": *\d+"#).expect("regex");
        re.replace_all(&t, "\"delay_ms\": 0").into_owned()
    });
    let r = results();
    let outcomes = run(&config(&lab, r.path()), "::sdk-invoke-stream::");
    let why = only(&outcomes, "::sdk-invoke-stream::rust-sdk");
    assert!(why.contains("incremental output"), "{why}");
}

#[test]
fn output_that_differs_from_its_snapshot_fails_with_the_diff() {
    let (tmp, lab) = broken_lab("cassettes/converse.json", |t| {
        t.replace(
            "không cần huấn luyện lại mô hình.",
            "không cần huấn luyện lại mô hình!",
        )
    });
    let r = results();
    let outcomes = run(&config(&lab, r.path()), "::sdk-converse::");
    let why = only(&outcomes, "::sdk-converse::rust-sdk");
    assert!(why.contains("snapshot `4.1-sdk-converse`"), "{why}");
    assert!(why.contains("cargo insta review"), "{why}");
    drop(tmp);
}

/// An author with no cassettes yet sees the request each trial sent, in the
/// failure and in the results JSON, so they know what to record.
#[test]
fn empty_cassette_set_shows_the_request_in_failure_and_results() {
    let (_tmp, lab) = common::seed_copy();
    for entry in std::fs::read_dir(lab.join("cassettes")).expect("cassettes") {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove");
    }
    let r = results();
    let outcomes = run(&config(&lab, r.path()), "::playground-t0.9-m500::");
    let why = only(&outcomes, "::playground-t0.9-m500::rust-sdk");
    assert!(why.contains("the cassette set is empty"), "{why}");
    assert!(
        why.contains("request received: Converse POST model `"),
        "{why}"
    );
    assert!(
        why.contains("\"maxTokens\": 500"),
        "the body is shown: {why}"
    );
    let mut in_json = 0;
    for entry in walk(r.path()) {
        if entry.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&entry).expect("outcome");
            let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
            in_json += doc
                .to_string()
                .matches("request received: Converse")
                .count();
        }
    }
    assert!(in_json >= 1, "no results JSON quotes the request");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
