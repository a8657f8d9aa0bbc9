//! Lint reads what run reads: each bad input under `tests/fixtures/bad/` is
//! reported by `labcheck lint` and by `labcheck run` at the same
//! `file:line:column` (its real position, never 1:1; in a notebook
//! `file [cell N (id x)]:line:column`), rendered with the offending line and
//! a caret, and neither command panics.

use std::process::Command;

use assert_cmd::prelude::*;

fn labcheck() -> Command {
    let mut cmd = Command::cargo_bin("labcheck").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("LABCHECK_MODE");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// (fixture, file in it, line, column, exit code of `run`, words of the message).
const CASES: [(&str, &str, usize, usize, i32, &str); 9] = [
    (
        "not-utf8-lab-toml",
        "lab.toml",
        2,
        13,
        2,
        "not UTF-8: byte 0xe9",
    ),
    (
        "timeout-too-long",
        "lab.toml",
        12,
        11,
        2,
        "is longer than the limit of 24h",
    ),
    (
        "page-is-directory",
        "lab.toml",
        3,
        8,
        2,
        "is a directory, expected a Markdown file",
    ),
    (
        "cassette-not-utf8",
        "cassettes/step.json",
        9,
        17,
        101,
        "not UTF-8: byte 0xe9",
    ),
    (
        "cassette-duplicate-key",
        "cassettes/step.json",
        23,
        29,
        101,
        "duplicate key `stopReason`",
    ),
    (
        "nb-source-not-string",
        "lab.ipynb",
        23,
        15,
        2,
        "expected a string or a list of strings at `cells[1].source` (cell 2)",
    ),
    // A notebook position is the cell and the line in it, not the JSON's.
    (
        "nb-unbound-checklist-item",
        "lab.ipynb [cell 3 (id verify)]",
        4,
        1,
        2,
        "checklist item 2 \"Shell prints bye\" is not proven by any step",
    ),
    (
        "nb-unknown-cell-id",
        "lab.toml",
        9,
        11,
        2,
        "no cell with id `helo` in the notebook",
    ),
    (
        "cassette-delay-overflow",
        "cassettes/step.json",
        24,
        43,
        101,
        "at most 600000 (10 minutes)",
    ),
];

fn check(out: &std::process::Output, what: &str, at: &str, words: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}{stderr}");
    assert!(!all.contains("panicked"), "{what} panicked:\n{all}");
    assert!(
        all.contains(&format!("--> {at}")),
        "{what}: no `--> {at}` in:\n{all}"
    );
    assert!(all.contains(words), "{what}: no `{words}` in:\n{all}");
    // The snippet: the line's number in the gutter and a caret under it.
    let line = at.split(':').nth(1).expect("line");
    assert!(
        all.contains(&format!("{line} | ")),
        "{what}: no snippet in:\n{all}"
    );
    assert!(all.contains('^'), "{what}: no caret in:\n{all}");
}

#[test]
fn lint_and_run_report_bad_input_at_its_position() {
    for (fixture, file, line, column, run_code, words) in CASES {
        let dir = format!("tests/fixtures/bad/{fixture}");
        let at = format!("{dir}/{file}:{line}:{column}");

        let lint = labcheck().args(["lint", &dir]).output().expect("lint");
        assert_eq!(lint.status.code(), Some(1), "lint {fixture}");
        check(&lint, &format!("lint {fixture}"), &at, words);

        let run = labcheck()
            .args(["run", &dir, "--speed", "0"])
            .output()
            .expect("run");
        assert_eq!(run.status.code(), Some(run_code), "run {fixture}");
        check(&run, &format!("run {fixture}"), &at, words);
    }
}

#[test]
fn lint_json_carries_the_same_position() {
    let out = labcheck()
        .args([
            "lint",
            "tests/fixtures/bad/cassette-duplicate-key",
            "--format",
            "json",
        ])
        .output()
        .expect("lint");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let d = json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "cassette-invalid")
        .expect("the cassette error");
    assert_eq!(d["line"], 23);
    assert_eq!(d["column"], 29);
    assert!(
        d["snippet"]
            .as_str()
            .is_some_and(|s| s.contains("\"stopReason\": \"max_tokens\"")),
        "{d}"
    );
}
