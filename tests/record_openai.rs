//! Bedrock's OpenAI-compatible endpoint through the runner: the fixture lab
//! passes in replay (the `openai` client judged incremental), and recording
//! it forwards the author's Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`) to
//! an upstream that accepts only that key, while the key — echoed back by the
//! upstream, split across two stream events — lands in no cassette, outcome
//! file, report or printed line.

mod common;

use std::process::{Command, Output};

use common::repo;
use labcheck::cassette::{CassetteFile, CassetteSet};
use labcheck::record::Credentials;
use labcheck::record::verify::VerifyingUpstream;
use serde_json::Value;

const LAB: &str = "tests/fixtures/openai-lab";

/// A Bedrock API key with no well-known prefix: only the scrubber that knows
/// the key in use can find it.
const KEY: &str = "pLbRkTk9QzX2vW7mN4sJ8hF3dG6yR1eA5uC0oIqW";

#[test]
fn the_openai_fixture_lab_passes_in_replay_and_streams_incrementally() {
    let results = tempfile::tempdir().expect("results");
    let config = common::config(&repo().join(LAB), results.path());
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
}

fn labcheck(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Output {
    let none = std::env::temp_dir().join("labcheck-no-aws-config");
    Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .args(args)
        .env_remove("AWS_BEARER_TOKEN_BEDROCK")
        .envs(envs.iter().copied())
        .env_remove("AWS_PROFILE")
        .env_remove("LABCHECK_MODE")
        .env_remove("LABCHECK_RECORD")
        .env_remove("NEXTEST_RUN_ID")
        .env("AWS_CONFIG_FILE", &none)
        .env("AWS_SHARED_CREDENTIALS_FILE", &none)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("labcheck runs")
}

/// Every file under `dir` with its text.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            out.push((p, text));
        }
    }
    out
}

/// Where `KEY` shows in `text`: the value or any 8-character piece of it.
fn leaked(text: &str) -> Option<&'static str> {
    (0..=KEY.len() - 8)
        .map(|i| &KEY[i..i + 8])
        .find(|piece| text.contains(piece))
}

/// The fixture's cassettes with the key echoed: the chat stream's deltas
/// carry it split in two, the Responses answer quotes the header.
fn echoing_upstream(creds: Credentials) -> VerifyingUpstream {
    let set = CassetteSet::load_dir(repo().join(LAB).join("cassettes")).expect("fixture");
    let mut files: Vec<CassetteFile> = set.files().to_vec();
    for f in &mut files {
        for it in &mut f.cassette.openai {
            if let Some(events) = it.response.sse.as_mut() {
                let (a, b) = KEY.split_at(20);
                for (ev, text) in events.iter_mut().skip(2).zip([" key ", a, b]) {
                    if let Some(v) = ev.data.pointer_mut("/choices/0/delta/content") {
                        *v = Value::from(text);
                    }
                }
            }
            if let Some(v) = it
                .response
                .body
                .as_mut()
                .and_then(|b| b.pointer_mut("/output/0/content/0/text"))
            {
                *v = Value::from(format!("you sent Authorization: Bearer {KEY}"));
            }
        }
    }
    VerifyingUpstream::start_blocking_with_bearer(
        CassetteSet::from_files(files),
        creds,
        Some(KEY.into()),
        "us-west-2",
        1.0,
    )
    .expect("upstream")
}

#[test]
fn recording_sends_the_bedrock_api_key_upstream_and_writes_it_nowhere() {
    let creds = Credentials::new(
        "AKIAOPENAIRECEXAMPLE",
        "openaiRecorderSecret/0123456789+abcdefgh",
        None,
        None,
        "planted",
    );
    let up = echoing_upstream(creds);
    let tmp = tempfile::tempdir().expect("tmp");
    let lab = tmp.path().join("openai-lab");
    common::copy_dir(&repo().join(LAB), &lab);
    std::fs::remove_dir_all(lab.join("cassettes")).expect("clear cassettes");
    let results = tmp.path().join("results");
    let url = up.url();
    let env = [
        ("LABCHECK_UPSTREAM", url.as_str()),
        ("LABCHECK_RUN_ID", "openai-echo"),
        ("AWS_ACCESS_KEY_ID", "AKIAOPENAIRECEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "openaiRecorderSecret/0123456789+abcdefgh",
        ),
        ("AWS_BEARER_TOKEN_BEDROCK", KEY),
    ];
    let record = labcheck(
        &[
            "record".as_ref(),
            lab.as_os_str(),
            "--results-dir".as_ref(),
            results.as_os_str(),
        ],
        &env,
    );
    let mut printed = vec![
        String::from_utf8_lossy(&record.stdout).into_owned(),
        String::from_utf8_lossy(&record.stderr).into_owned(),
    ];
    // Both steps print the echoed answer, which lacks what the lab expects.
    let failed = Some(i32::from(labcheck::exit_code::FAILED));
    assert_eq!(record.status.code(), failed, "{printed:#?}");
    assert!(up.rejected().is_empty(), "{:?}", up.rejected());
    assert_eq!(
        up.verified(),
        3,
        "chat stream, responses, models: {printed:#?}"
    );
    for (format, file) in [("json", "report.json"), ("markdown", "report.md")] {
        let out = labcheck(
            &[
                "report".as_ref(),
                "--run-id".as_ref(),
                "openai-echo".as_ref(),
                "--results-dir".as_ref(),
                results.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
                "-o".as_ref(),
                tmp.path().join(file).as_os_str(),
                lab.as_os_str(),
            ],
            &[],
        );
        printed.push(String::from_utf8_lossy(&out.stdout).into_owned());
        printed.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let files = all_files(tmp.path());
    for (path, text) in &files {
        if let Some(piece) = leaked(text) {
            panic!("`{piece}` of the key in {}:\n{text}", path.display());
        }
    }
    for text in &printed {
        if let Some(piece) = leaked(text) {
            panic!("`{piece}` of the key printed:\n{text}");
        }
    }
    // ...and not because the answers never got there: the recordings hold
    // the redacted echo and the outcomes quote it.
    let recorded = CassetteSet::load_dir(lab.join("cassettes")).expect("recordings load");
    let mut names: Vec<_> = recorded
        .openai_interactions()
        .map(|(_, f, it)| format!("{} {}", f.name, it.name))
        .collect();
    names.sort();
    // The two trials ran in parallel: the order in the file is theirs.
    assert_eq!(
        names,
        [
            "openai.json chat-completions-1",
            "openai.json models-1",
            "openai.json responses-1"
        ]
    );
    let cassettes = files
        .iter()
        .filter(|(p, _)| p.starts_with(lab.join("cassettes")))
        .map(|(_, t)| t.as_str())
        .collect::<String>();
    assert!(
        cassettes.contains("you sent Authorization: REDACTED"),
        "{cassettes}"
    );
    assert!(
        !cassettes.to_ascii_lowercase().contains("\"authorization\""),
        "{cassettes}"
    );
    let outcomes: String = files
        .iter()
        .filter(|(p, _)| p.starts_with(&results))
        .map(|(_, t)| t.as_str())
        .collect();
    assert!(outcomes.contains("REDACTED"), "{outcomes}");
    // The stream was captured event by event, with its delays.
    let (_, _, stream) = recorded
        .openai_interactions()
        .find(|(_, _, it)| it.response.sse.is_some())
        .expect("a recorded stream");
    let events = stream.response.sse.as_ref().expect("events");
    assert_eq!(events.len(), 10);
    assert_eq!(events[9].data, Value::from("[DONE]"));
    assert!(events[3].delay_ms >= 40, "{:?}", events[3].delay_ms);
}

#[test]
fn an_openai_request_no_cassette_answers_fails_the_trial_naming_the_nearest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lab = tmp.path().join("openai-lab");
    common::copy_dir(&repo().join(LAB), &lab);
    let page = std::fs::read_to_string(lab.join("lab.md")).expect("page");
    std::fs::write(
        lab.join("lab.md"),
        page.replace("Say hello in five words.", "Say hello in six words."),
    )
    .expect("edit page");
    let results = tmp.path().join("results");
    let config = common::config(&lab, &results);
    let outcomes = common::run(&config, "::chat-stream::");
    let failures = common::failures(&outcomes[0]);
    assert!(
        failures.contains("an OpenAI-compatible request matched no cassette")
            && failures.contains("nearest is `chat-hello-stream`")
            && failures.contains("/messages/1/content"),
        "{failures}"
    );
}
