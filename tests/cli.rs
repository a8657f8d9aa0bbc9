//! The `labcheck` binary end to end: listing, exit codes, `serve` readiness.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use assert_cmd::prelude::*;
use predicates::prelude::*;

fn labcheck() -> Command {
    let mut cmd = Command::cargo_bin("labcheck").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("LABCHECK_MODE");
    cmd
}

#[test]
fn list_names_every_trial_of_the_seed_lab() {
    let out = labcheck()
        .args(["list", "labs/4.1-invoke-fm-via-bedrock"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
    let names: Vec<&str> = stdout.lines().collect();
    assert_eq!(names.len(), 12, "{stdout}");
    for pair in ["t0.1-m100", "t0.1-m500", "t0.9-m100", "t0.9-m500"] {
        assert!(
            names.contains(
                &format!("4.1-invoke-fm-via-bedrock::playground-{pair}::rust-sdk").as_str()
            )
        );
    }
    assert!(names.contains(&"4.1-invoke-fm-via-bedrock::cli-invoke::aws-cli-v2"));
}

#[test]
fn an_invalid_lab_exits_2_naming_file_line_and_column() {
    let out = labcheck()
        .args(["run", "tests/fixtures/bad/unknown-key-step", "--speed", "0"])
        .assert()
        .code(2);
    let output = out.get_output();
    // Either stream: where a configuration error is printed is not the point.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // `clinets` is on line 8, column 1 of that lab.toml (its expected.toml).
    assert!(
        text.contains("unknown-key-step/lab.toml:8:1"),
        "no file:line:col in:\n{text}"
    );
    assert!(text.contains("`clinets`"), "the key is not named:\n{text}");
}

#[test]
fn a_bad_mode_is_refused_with_the_variable_named() {
    labcheck()
        .args(["run", "labs/4.1-invoke-fm-via-bedrock"])
        .env("LABCHECK_MODE", "replya")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value for env var `LABCHECK_MODE`: `replya`",
        ));
}

#[test]
fn a_filtered_run_passes_and_says_what_it_did_not_judge() {
    let results = tempfile::tempdir().expect("tempdir");
    labcheck()
        .args(["run", "labs/4.1-invoke-fm-via-bedrock", "--results-dir"])
        .arg(results.path())
        .args(["--", "sdk-invoke::"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[x] 3. Python script in ra text response",
        ))
        .stdout(predicate::str::contains(
            "4.1-invoke-fm-via-bedrock  1/4  (3 not judged",
        ));
}

#[test]
fn serve_prints_its_endpoint_when_ready_and_answers_the_sdk() {
    let mut child = labcheck()
        .args(["serve", "labs/4.1-invoke-fm-via-bedrock", "--speed", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    // The first line is printed once the socket is bound: the readiness signal.
    let first = lines.next().expect("a line").expect("utf-8");
    let endpoint = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
        .to_string();
    // The set-up block ends with the cmd.exe lines; read up to its last line.
    let mut rest = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        let last = line == "set AWS_BEARER_TOKEN_BEDROCK=";
        rest.push(line);
        if last || rest.len() > 100 {
            break;
        }
    }
    let text = rest.join("\n");
    for needle in [
        format!("export AWS_ENDPOINT_URL_BEDROCK_RUNTIME={endpoint}"),
        "export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1".to_string(),
        "unset AWS_PROFILE AWS_SESSION_TOKEN AWS_BEARER_TOKEN_BEDROCK".to_string(),
        format!("$env:AWS_ENDPOINT_URL_BEDROCK_RUNTIME = \"{endpoint}\""),
        format!("set AWS_ENDPOINT_URL_BEDROCK_RUNTIME={endpoint}"),
        format!("export AWS_ENDPOINT_URL_BEDROCK={endpoint}/bedrock"),
        format!("export AWS_ENDPOINT_URL_BEDROCK_AGENT={endpoint}/bedrock-agent"),
        format!("export AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME={endpoint}/bedrock-agent-runtime"),
        format!("$env:AWS_ENDPOINT_URL_BEDROCK_AGENT = \"{endpoint}/bedrock-agent\""),
        format!("set AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME={endpoint}/bedrock-agent-runtime"),
        format!("export OPENAI_BASE_URL={endpoint}/openai/v1 OPENAI_API_KEY="),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in\n{text}");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = labcheck::steps::sdk::client(&endpoint, "us-east-1");
    let body = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"temperature":0.7,"messages":[{"role":"user","content":"Explain RAG in 3 sentences."}]}"#;
    let result = runtime.block_on(
        client
            .invoke_model()
            .model_id("us.anthropic.claude-sonnet-4-6")
            .content_type("application/json")
            .body(aws_sdk_bedrockruntime::primitives::Blob::new(body))
            .send(),
    );
    child.kill().expect("stop serve");
    let _ = child.wait();
    let out = result.expect("the served endpoint answers");
    let json: serde_json::Value = serde_json::from_slice(out.body().as_ref()).expect("JSON body");
    assert_eq!(json["type"], "message");
}

/// The trial names `labcheck run -- --list …` prints, without kind and suffix.
fn listed(args: &[&str]) -> Vec<String> {
    let out = labcheck()
        .args(["run", "--", "--list"])
        .args(args)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
    let mut names: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(|l| l.split_once("] ").map_or(l, |(_, name)| name).to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn run_takes_several_filters_as_libtest_does() {
    let out = labcheck().arg("list").assert().success();
    let all = String::from_utf8(out.get_output().stdout.clone()).expect("utf-8");
    let (a, b) = ("::sdk-converse::", "::cli-converse::");
    let mut expected: Vec<String> = all
        .lines()
        .filter(|n| n.contains(a) || n.contains(b))
        .map(str::to_string)
        .collect();
    expected.sort();
    // One trial from the first filter, two from the second, of two labs.
    assert_eq!(expected.len(), 3, "{all}");
    assert_eq!(listed(&[a, b]), expected);
    assert_eq!(listed(&[b, a]), expected);
    // `--skip` and flags with values still apply around the filters.
    let skipped = listed(&[a, "--skip", "aws-cli-v1", "--test-threads", "1", b]);
    assert_eq!(
        skipped,
        [
            "4.1-invoke-fm-via-bedrock::sdk-converse::rust-sdk",
            "4.2-converse-api::cli-converse::aws-cli-v2",
        ]
    );
    // `--exact`: whole names only, with or without the kind.
    let exact = listed(&[
        "--exact",
        "4.2-converse-api::cli-converse::aws-cli-v1",
        "[sdk] 4.1-invoke-fm-via-bedrock::sdk-converse::rust-sdk",
        "4.2-converse-api::cli-converse",
    ]);
    assert_eq!(
        exact,
        [
            "4.1-invoke-fm-via-bedrock::sdk-converse::rust-sdk",
            "4.2-converse-api::cli-converse::aws-cli-v1",
        ]
    );
}

#[test]
fn a_run_with_two_filters_runs_the_trials_of_both() {
    let results = tempfile::tempdir().expect("tempdir");
    labcheck()
        .args(["run", "labs/4.1-invoke-fm-via-bedrock", "--results-dir"])
        .arg(results.path())
        .args(["--", "sdk-invoke::", "sdk-converse::"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 passed; 0 failed"))
        .stderr(predicate::str::contains(
            "10 trial(s) filtered out by the filters `sdk-invoke::`, `sdk-converse::`",
        ));
}
