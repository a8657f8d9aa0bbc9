//! `labcheck lint`: the original course page's problems (hand-written list),
//! the bundled labs are clean, each check fires on a small page or lab, the
//! JSON shape, and the CLI's exit codes.

use std::path::{Path, PathBuf};

use aws_smithy_types::DateTime;
use labcheck::cassette::age::{add_days, parse_day};
use labcheck::lint::{self, Diagnostic, LintOptions, Severity};

const ORIGINAL: &str = "tests/fixtures/original/lab.md";
const LAB_41: &str = "labs/4.1-invoke-fm-via-bedrock";
const LAB_42: &str = "labs/4.2-converse-api";

fn today() -> DateTime {
    parse_day("2026-11-26").expect("date")
}

fn options() -> LintOptions {
    LintOptions::bundled(today()).expect("bundled model table")
}

fn lint_paths(paths: &[&str]) -> Vec<Diagnostic> {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    lint::lint_paths(&paths, &options()).expect("lint runs")
}

fn brief(found: &[Diagnostic]) -> Vec<(usize, Severity, String)> {
    found
        .iter()
        .map(|d| (d.line, d.severity, d.code.clone()))
        .collect()
}

fn write_page(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("lab.md");
    std::fs::write(&path, text).expect("write page");
    path
}

fn lint_text(text: &str) -> Vec<(usize, Severity, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = write_page(dir.path(), text);
    brief(&lint::lint_paths(&[page], &options()).expect("lint runs"))
}

/// What a student on a fresh Linux machine, with AWS CLI v1 or v2, on
/// 2026-11-26, hits following the original page literally. Written from
/// reading the page, before the linter existed.
#[test]
fn original_page_problems_line_by_line() {
    use Severity::*;
    let expected: Vec<(usize, Severity, &str)> = vec![
        // Bước 1: the console no longer offers Claude 3.5 Sonnet (v1 and v2 past EOL).
        (30, Error, "model-name-eol"),
        // Bước 2: `aws` must be installed first (Debian's awscli predates bedrock-runtime).
        (44, Info, "aws-cli-install"),
        // Bước 2: EOL model id: 404 ResourceNotFoundException.
        (45, Error, "model-eol"),
        // Bước 2: raw JSON `--body`: CLI v2 "Invalid base64" before any request.
        (49, Error, "aws-cli-v2-blob"),
        // Bước 2: `type output.json` is cmd; bash's `type` says "not found".
        (58, Error, "windows-cmd"),
        // Bước 3: boto3 imported, never installed.
        (66, Warning, "boto3-not-installed"),
        // Bước 3: EOL model id.
        (74, Error, "model-eol"),
        // Bước 3: `python` does not exist on Debian/Ubuntu.
        (95, Error, "python-not-found"),
        // Bước 4: no file name, no command to run it.
        (100, Warning, "unnamed-script"),
        // Bước 4: EOL model id.
        (108, Error, "model-eol"),
    ];
    let found = lint_paths(&[ORIGINAL]);
    let expected: Vec<(usize, Severity, String)> = expected
        .into_iter()
        .map(|(l, s, c)| (l, s, c.to_string()))
        .collect();
    assert_eq!(brief(&found), expected);
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("lint-original-page", lint::render_text(&found));
    });
}

#[test]
fn bundled_labs_have_no_errors() {
    let found = lint_paths(&[LAB_42]);
    assert_eq!(brief(&found), vec![], "{}", lint::render_text(&found));

    // 4.1 keeps the cassette that replays the original page's model id: its
    // only user is tests/fixtures/original/lab.toml.
    let found = lint_paths(&[LAB_41]);
    let codes: Vec<(String, String)> = found
        .iter()
        .map(|d| (d.code.clone(), d.file.display().to_string()))
        .collect();
    assert_eq!(
        codes,
        vec![(
            "cassette-unused".to_string(),
            format!("{LAB_41}/cassettes/original-model-eol.json")
        )]
    );
    assert_eq!(brief(&lint_paths(&[LAB_41, LAB_41])), brief(&found));
    let together = lint_paths(&[LAB_41, "tests/fixtures/original"]);
    assert!(together.iter().all(|d| d.code != "cassette-unused"));
    assert!(
        together
            .iter()
            .filter(|d| d.file.starts_with(LAB_41))
            .all(|d| d.severity != Severity::Error)
    );
}

#[test]
fn model_table_older_than_90_days_warns() {
    let mut opts = options();
    let checked = opts.models.checked;
    opts.today = add_days(checked, 90);
    let found = lint::lint_paths(&[PathBuf::from(LAB_42)], &opts).expect("lint");
    assert!(found.iter().all(|d| d.code != "models-stale"));
    opts.today = add_days(checked, 91);
    let found = lint::lint_paths(&[PathBuf::from(LAB_42)], &opts).expect("lint");
    let stale: Vec<_> = found.iter().filter(|d| d.code == "models-stale").collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].file, PathBuf::from("data/models.toml"));
    assert!(
        stale[0].message.contains("91 days ago"),
        "{}",
        stale[0].message
    );
}

#[test]
fn windows_and_powershell_commands() {
    use Severity::*;
    let page = "# t\n\n```bash\ncopy a.txt b.txt\ndel b.txt\nset AWS_REGION=us-east-1\necho %AWS_REGION%\nGet-Content out.json\necho $env:AWS_REGION\ndate +%Y%m%d\ntype -a cat\n```\n";
    assert_eq!(
        lint_text(page),
        vec![
            (4, Error, "windows-cmd".to_string()),
            (5, Error, "windows-cmd".to_string()),
            (6, Error, "windows-cmd".to_string()),
            (7, Error, "windows-cmd".to_string()),
            (8, Error, "powershell".to_string()),
            (9, Error, "powershell".to_string()),
        ]
    );
}

#[test]
fn aws_cli_v1_v2_differences() {
    use Severity::*;
    let page = "# t\n\nAWS CLI v2 >= 2.13.23.\n\n```bash\n\
aws bedrock-runtime invoke-model --model-id us.anthropic.claude-sonnet-4-6 \\\n  --body file://body.json out.json\n\
aws bedrock-runtime invoke-model --model-id us.anthropic.claude-sonnet-4-6 --cli-binary-format raw-in-base64-out --body '{\"a\": 1}' out.json\n\
aws bedrock-runtime invoke-model --model-id us.anthropic.claude-sonnet-4-6 --body eyJhbnRocm9waWNfdmVyc2lvbiI6IDF9 out.json\n\
aws bedrock-runtime converse-stream --model-id us.anthropic.claude-sonnet-4-6 --messages '[]'\n\
aws bedrock-runtime invoke-model --model-id us.anthropic.claude-sonnet-4-6 --body fileb://body.json\n\
aws bedrock-runtime invoke-model --model-id us.anthropic.claude-sonnet-4-6 --body fileb://body.json out.json\n\
```\n";
    assert_eq!(
        lint_text(page),
        vec![
            (7, Error, "aws-cli-v2-blob".to_string()),
            (8, Error, "aws-cli-v1-option".to_string()),
            (9, Error, "aws-cli-v1-blob".to_string()),
            (10, Error, "aws-cli-missing-command".to_string()),
            (11, Error, "aws-cli-missing-outfile".to_string()),
        ]
    );
}

#[test]
fn tools_follow_the_virtualenv() {
    use Severity::*;
    let page = "# t\n\n```bash\npip install boto3\npython3 -m venv .venv\n. .venv/bin/activate\npip install boto3\npython run.py\njq . out.json\n```\n";
    assert_eq!(
        lint_text(page),
        vec![
            (4, Warning, "pip-system".to_string()),
            (9, Warning, "tool-missing".to_string()),
        ]
    );
}

#[test]
fn scripts_must_be_named_and_run() {
    use Severity::*;
    let page = "# t\n\nTạo file `a.py`:\n\n```python\nprint(1)\n```\n\nCreate file `b.py`:\n\n```python\nprint(2)\n```\n\n```bash\npython3 a.py\n```\n\n```python\n>>> 1 + 1\n```\n";
    assert_eq!(
        lint_text(page),
        vec![(11, Warning, "script-never-run".to_string())]
    );
}

#[test]
fn model_ids_unknown_and_profile_only() {
    use Severity::*;
    let page = "# t\n\nAWS CLI v2 >= 2.15.\n```bash\naws bedrock-runtime converse --region us-east-1 --model-id anthropic.claude-sonnet-4-6 --messages '[]'\naws bedrock-runtime converse --region us-east-1 --model-id meta.llama9-1t-v1:0 --messages '[]'\n```\n\nSee https://docs.aws.amazon.com/bedrock/ and arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0.\n";
    assert_eq!(
        lint_text(page),
        vec![
            (5, Error, "model-needs-profile".to_string()),
            (6, Warning, "model-unknown".to_string()),
            (9, Error, "model-eol".to_string()),
        ]
    );
}

/// Copies lab 4.2 into a temp dir to break it.
fn lab_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Path::new(LAB_42);
    std::fs::create_dir(dir.path().join("cassettes")).expect("mkdir");
    for name in ["lab.md", "lab.toml"] {
        std::fs::copy(src.join(name), dir.path().join(name)).expect("copy");
    }
    for e in std::fs::read_dir(src.join("cassettes")).expect("read cassettes") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dir.path().join("cassettes").join(e.file_name())).expect("copy");
    }
    dir
}

fn lint_dir(dir: &Path, today: DateTime) -> Vec<Diagnostic> {
    let mut opts = options();
    opts.today = today;
    lint::lint_paths(&[dir.to_path_buf()], &opts).expect("lint")
}

#[test]
fn cassette_secrets_age_and_coverage() {
    let lab = lab_copy();
    let cassettes = lab.path().join("cassettes");
    // A step with no cassette: drop the Nova cassette.
    std::fs::remove_file(cassettes.join("invoke-nova.json")).expect("rm");
    // Secrets and an old date in another one.
    let path = cassettes.join("converse.json");
    let text = std::fs::read_to_string(&path).expect("read");
    let text = text
        .replace("2026-11-26T00:00:00Z", "2025-01-01T00:00:00Z")
        .replacen(
            "\"content-type\": \"application/json\"",
            "\"content-type\": \"application/json\", \"authorization\": \"AWS4-HMAC-SHA256 Credential=AKIAZ7Q2EXAMPLE7ZZZZ/20250101\", \"x-amzn-note\": \"arn:aws:bedrock:us-east-1:210987654321:inference-profile/x\"",
            1,
        );
    std::fs::write(&path, text).expect("write");
    // An interaction no step uses.
    let unused = std::fs::read_to_string(cassettes.join("converse-stream.json"))
        .expect("read")
        .replace(
            "us.anthropic.claude-sonnet-4-6",
            "us.amazon.nova-2-lite-v1:0",
        );
    std::fs::write(cassettes.join("zz-unused.json"), unused).expect("write");

    let found = lint_dir(lab.path(), today());
    let mut codes: Vec<&str> = found.iter().map(|d| d.code.as_str()).collect();
    codes.sort();
    assert_eq!(
        codes,
        vec![
            "cassette-secret",
            "cassette-secret",
            "cassette-secret",
            "cassette-stale",
            "cassette-unused",
            "step-without-cassette",
        ],
        "{}",
        lint::render_text(&found)
    );
    let secret = found
        .iter()
        .find(|d| d.code == "cassette-secret")
        .expect("secret");
    assert!(secret.snippet.is_none(), "secrets are never echoed");
    let missing = found
        .iter()
        .find(|d| d.code == "step-without-cassette")
        .expect("missing");
    assert_eq!(missing.file, lab.path().join("lab.toml"));
    assert!(
        missing
            .message
            .contains("InvokeModel on `us.amazon.nova-2-lite-v1:0`")
    );
    // Judged on 2025-06-01, the 2025-01-01 cassette is within `max_age` (365d).
    let later = lint_dir(lab.path(), parse_day("2025-06-01").expect("date"));
    assert!(later.iter().all(|d| d.code != "cassette-stale"));
}

/// The account id the scrubber writes (`000000000000`) is no secret: every
/// recorded ARN carries it, and labs 7.2 and 7.3 author it. Every bundled lab
/// lints without errors.
#[test]
fn every_bundled_lab_lints_without_errors() {
    let mut labs: Vec<_> = std::fs::read_dir("labs")
        .expect("labs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("lab.toml").is_file())
        .collect();
    labs.sort();
    assert!(labs.len() >= 5, "{labs:?}");
    for lab in labs {
        let found = lint_dir(&lab, today());
        let errors: Vec<_> = found
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{}", lint::render_text(&found));
    }
}

#[test]
fn spec_errors_become_diagnostics() {
    let lab = lab_copy();
    let toml = lab.path().join("lab.toml");
    let text = std::fs::read_to_string(&toml).expect("read");
    std::fs::write(&toml, text.replace("proves = [4]", "proves = [3]")).expect("write");
    let found = lint_dir(lab.path(), today());
    let spec: Vec<_> = found
        .iter()
        .filter(|d| d.code.starts_with("spec/"))
        .collect();
    assert_eq!(spec.len(), 1, "{}", lint::render_text(&found));
    assert_eq!(spec[0].code, "spec/unbound-checklist-item");
    assert_eq!(spec[0].file, lab.path().join("lab.md"));
    assert_eq!(spec[0].line, 141);
    assert!(
        spec[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("proves = [4]"))
    );
}

#[test]
fn json_report_shape() {
    let found = lint_paths(&[ORIGINAL]);
    let json: serde_json::Value =
        serde_json::from_str(&lint::render_json(&found)).expect("valid JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["errors"], 7);
    assert_eq!(json["summary"]["warnings"], 2);
    let first = &json["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["code"], "model-name-eol");
    assert_eq!(first["file"], ORIGINAL);
    assert_eq!(first["line"], 30);
    assert_eq!(first["column"], 18);
    assert!(first["help"].is_string());
}

#[test]
fn cli_exit_codes() {
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("labcheck")
            .expect("binary")
            .arg("lint")
            .args(args)
            .env("LABCHECK_TODAY", "2026-11-26")
            .output()
            .expect("runs")
    };
    assert_eq!(run(&[ORIGINAL]).status.code(), Some(1));
    let ok = run(&[LAB_42, "--format", "json"]);
    assert_eq!(ok.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(json["summary"]["errors"], 0);
    assert_eq!(run(&["no/such/lab"]).status.code(), Some(2));
}

/// Lint loads cassettes and `lab.toml` as run does: bad bytes, a key given
/// twice, an overflowing delay or timeout are errors at their real position
/// (never skipped, never 1:1). `tests/positions.rs` checks run says the same.
#[test]
fn bad_input_is_reported_at_its_position() {
    let cases = [
        ("not-utf8-lab-toml", "spec/not-utf8", "lab.toml", 2, 13),
        (
            "timeout-too-long",
            "spec/duration-too-long",
            "lab.toml",
            12,
            11,
        ),
        (
            "page-is-directory",
            "spec/page-is-directory",
            "lab.toml",
            3,
            8,
        ),
        (
            "cassette-not-utf8",
            "cassette-invalid",
            "cassettes/step.json",
            9,
            17,
        ),
        (
            "cassette-duplicate-key",
            "cassette-invalid",
            "cassettes/step.json",
            23,
            29,
        ),
        (
            "cassette-delay-overflow",
            "cassette-invalid",
            "cassettes/step.json",
            24,
            43,
        ),
    ];
    for (fixture, code, file, line, column) in cases {
        let dir = Path::new("tests/fixtures/bad").join(fixture);
        let found = lint_dir(&dir, today());
        // A cassette that does not load also leaves its step without one.
        let errors: Vec<_> = found
            .iter()
            .filter(|d| d.severity == Severity::Error && d.code != "step-without-cassette")
            .collect();
        assert_eq!(errors.len(), 1, "{fixture}:\n{}", lint::render_text(&found));
        let d = errors[0];
        assert_eq!(
            (d.code.as_str(), d.file.clone(), d.line, d.column),
            (code, dir.join(file), line, column),
            "{fixture}"
        );
        assert!(d.snippet.is_some() && d.help.is_some(), "{fixture}: {d:?}");
    }
}

const MODELS_PAGE: &str = "tests/fixtures/models/lab.md";

/// Ids as courses write them (bare, `us.`/`global.` profiles, `:200k`
/// suffixes) find their base row: retired ones are EOL errors with their
/// date (or "date not sourced"), active ones pass, and an unknown id used on
/// three lines is one finding naming the three lines.
#[test]
fn model_ids_are_normalised_and_unknown_ids_reported_once() {
    use Severity::*;
    let found = lint_paths(&[MODELS_PAGE]);
    let expected: Vec<(usize, Severity, String)> = [
        (5, Error, "model-eol"),
        (6, Error, "model-eol"),
        (7, Error, "model-eol"),
        (8, Error, "model-eol"),
        (9, Error, "model-eol"),
        // Sonnet 4.5 turned Legacy on Bedrock (end of life 2027-04-08).
        (15, Warning, "model-legacy"),
        (16, Warning, "model-no-profile"),
        (20, Warning, "model-unknown"),
    ]
    .into_iter()
    .map(|(l, s, c)| (l, s, c.to_string()))
    .collect();
    assert_eq!(brief(&found), expected, "{}", lint::render_text(&found));
    let message = |line: usize| {
        found
            .iter()
            .find(|d| d.line == line)
            .map(|d| d.message.clone())
            .unwrap_or_default()
    };
    assert!(message(5).ends_with("on 2025-07-21"), "{}", message(5));
    assert!(message(6).ends_with("on 2026-07-30"), "{}", message(6));
    assert!(message(7).ends_with("on 2026-07-30"), "{}", message(7));
    assert!(message(8).ends_with("on 2024-08-12"), "{}", message(8));
    assert!(message(9).ends_with("(date not sourced)"), "{}", message(9));
    assert!(
        message(20).ends_with("(used on lines 20, 21, 22)"),
        "{}",
        message(20)
    );
    let notes = |line: usize| {
        found
            .iter()
            .find(|d| d.line == line)
            .map(|d| d.notes.join("\n"))
            .unwrap_or_default()
    };
    assert!(notes(6).contains("without the geographic prefix `us.`"));
    assert!(notes(7).contains("without the context suffix `:200k`"));
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("lint-model-ids", lint::render_text(&found));
    });
}

/// `--models FILE` adds its rows to the bundled table: the extra row is
/// found (legacy, not unknown) and the bundled rows still judge the rest.
#[test]
fn cli_models_file_adds_to_the_bundled_table() {
    let run = |extra: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("labcheck")
            .expect("binary")
            .args(["lint", "--format", "json", MODELS_PAGE])
            .args(extra)
            .env("LABCHECK_TODAY", "2026-11-26")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "EOL ids are errors");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        json["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|d| (d["line"].as_u64().unwrap_or(0), d["code"].to_string()))
            .collect::<Vec<_>>()
    };
    let bundled = run(&[]);
    assert!(bundled.contains(&(20, "\"model-unknown\"".to_string())));
    let with_extra = run(&["--models", "tests/fixtures/models/extra-models.toml"]);
    assert!(!with_extra.iter().any(|(_, c)| c == "\"model-unknown\""));
    assert_eq!(
        with_extra
            .iter()
            .filter(|(l, c)| *l == 20 && c == "\"model-legacy\"")
            .count(),
        1,
        "{with_extra:?}"
    );
    let eol = |found: &[(u64, String)]| found.iter().filter(|(_, c)| c == "\"model-eol\"").count();
    assert_eq!(eol(&with_extra), 5, "bundled rows kept: {with_extra:?}");
    assert_eq!(eol(&with_extra), eol(&bundled));
}
