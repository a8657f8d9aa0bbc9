//! A notebook as a lab page, end to end: `list` and `run` on a lab whose page
//! is `lab.ipynb` (steps pointing at cells by id and tag), a failing cell
//! named by cell and line, `lint` on a notebook located by cell with short
//! snippets, and every malformed notebook of `tests/fixtures/bad/nb-*` linted
//! with a position.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use aws_smithy_types::DateTime;
use labcheck::cassette::age::parse_day;
use labcheck::lint::{self, Diagnostic, LintOptions};
use predicates::prelude::*;

const PAGE_LAB: &str = "tests/fixtures/notebook/page-lab";
const LINT_NOTEBOOK: &str = "tests/fixtures/notebook/lint/lab.ipynb";

fn labcheck() -> Command {
    let mut cmd = Command::cargo_bin("labcheck").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("LABCHECK_MODE");
    cmd
}

fn today() -> DateTime {
    parse_day("2026-11-26").expect("date")
}

fn lint_paths(paths: &[&str]) -> Vec<Diagnostic> {
    let options = LintOptions::bundled(today()).expect("bundled model table");
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    lint::lint_paths(&paths, &options).expect("lint runs")
}

#[test]
fn a_notebook_lab_lists_its_trials() {
    labcheck()
        .args(["list", PAGE_LAB])
        .assert()
        .success()
        .stdout("page-lab::cli-converse::aws-cli-v2\npage-lab::python-converse::boto3\n");
}

#[test]
fn a_notebook_lab_runs_green_from_its_cells() {
    let results = tempfile::tempdir().expect("tempdir");
    labcheck()
        .args(["run", PAGE_LAB, "--speed", "0", "--results-dir"])
        .arg(results.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "[x] 1. The AWS CLI `converse` prints the answer as text",
        ))
        .stdout(predicate::str::contains(
            "[x] 2. The script prints text, `stopReason` and `usage`",
        ))
        .stdout(predicate::str::contains("page-lab  2/2"));
}

#[test]
fn a_step_from_a_notebook_resolves_the_cell_code_without_its_magic() {
    let lab = labcheck::spec::load_lab(Path::new(PAGE_LAB)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lab.title, "Converse from a notebook page");
    let labcheck::spec::StepKind::Shell { program } = &lab.steps[0].kind else {
        panic!("shell step")
    };
    let labcheck::spec::ProgramSource::Block {
        text, cell, lang, ..
    } = program
    else {
        panic!("a block")
    };
    assert!(
        text.starts_with("aws bedrock-runtime converse \\\n"),
        "{text}"
    );
    assert_eq!(lang.as_deref(), Some("bash"));
    let cell = cell.as_ref().expect("a cell");
    assert_eq!(
        (cell.number, cell.id.as_deref(), cell.line),
        (3, Some("cli-converse"), 2)
    );
    let labcheck::spec::StepKind::Python { files, .. } = &lab.steps[1].kind else {
        panic!("python step")
    };
    let labcheck::spec::ProgramSource::Block { text, .. } = &files[0].source else {
        panic!("a block")
    };
    assert!(text.starts_with("import boto3\n"), "{text}");
}

/// The page lab copied, its shell cell made to fail on its fourth line.
#[test]
fn a_failing_cell_is_reported_by_cell_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = dir.path().join("page-lab");
    std::fs::create_dir(&lab).expect("mkdir");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = std::fs::read_to_string(root.join(PAGE_LAB).join("lab.toml")).expect("lab.toml");
    let cassettes = root.join("labs/4.2-converse-api/cassettes");
    let toml = toml.replace(
        "../../../../labs/4.2-converse-api/cassettes",
        &cassettes.display().to_string(),
    );
    std::fs::write(lab.join("lab.toml"), toml).expect("write lab.toml");
    let nb = std::fs::read_to_string(root.join(PAGE_LAB).join("lab.ipynb")).expect("notebook");
    let nb = nb.replacen(
        "\"%%bash\\n\",",
        "\"%%bash\\n\",\n    \"echo start\\n\",\n    \"false\\n\",",
        1,
    );
    std::fs::write(lab.join("lab.ipynb"), nb).expect("write notebook");
    let results = tempfile::tempdir().expect("tempdir");
    labcheck()
        .args(["run", "--speed", "0", "--results-dir"])
        .arg(results.path())
        .arg(&lab)
        .args(["--", "cli-converse::"])
        .assert()
        .code(101)
        .stdout(predicate::str::contains(
            "labcheck: notebook cell 3 (id cli-converse), line 3: `false` exited with status 1",
        ));
}

#[test]
fn lint_locates_every_finding_by_cell_with_the_cell_line_as_snippet() {
    let found = lint_paths(&[LINT_NOTEBOOK]);
    let brief: Vec<(usize, usize, &str)> = found
        .iter()
        .map(|d| {
            let cell = d.cell.as_ref().expect("every finding names its cell");
            (cell.number, d.line, d.code.as_str())
        })
        .collect();
    assert_eq!(
        brief,
        [
            (2, 1, "notebook-bang-pip"),
            (4, 1, "aws-cli-install"),
            (4, 2, "model-eol"),
            (4, 3, "aws-cli-v2-blob"),
            (5, 2, "python-not-found"),
            (6, 1, "script-never-run"),
            (6, 4, "model-unknown"),
            (8, 1, "notebook-output-arn"),
            (9, 1, "notebook-output-secret"),
            (10, 1, "notebook-output-error"),
            (10, 1, "notebook-run-out-of-order"),
        ]
    );
    // Snippets are the cell's own line, never a line of the JSON.
    for d in &found {
        if let Some(s) = &d.snippet {
            assert!(!s.trim_start().starts_with('"'), "{}: {s}", d.code);
        }
    }
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("lint-notebook", lint::render_text(&found));
    });
}

#[test]
fn the_lint_command_prints_cell_positions() {
    labcheck()
        .args(["lint", LINT_NOTEBOOK])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "--> tests/fixtures/notebook/lint/lab.ipynb [cell 4 (id cli)]:2:16",
        ))
        .stdout(predicate::str::contains(
            "2 |     --model-id anthropic.claude-3-5-sonnet-20240620-v1:0 \\",
        ));
}

#[test]
fn the_notebook_page_lab_lints_clean_apart_from_shared_cassettes() {
    let found = lint_paths(&[PAGE_LAB]);
    let codes: Vec<&str> = found.iter().map(|d| d.code.as_str()).collect();
    assert!(codes.iter().all(|c| *c == "cassette-unused"), "{codes:?}");
}

/// Each malformed notebook, linted directly: one error, with a position.
#[test]
fn every_bad_notebook_lints_with_a_position() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/bad")
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("nb-"))
                && p.join("lab.ipynb").is_file()
        })
        .collect();
    dirs.sort();
    let mut rendered = String::new();
    let mut broken = 0;
    for dir in &dirs {
        let path = dir.join("lab.ipynb");
        let found = lint_paths(&[path.to_str().expect("utf-8 path")]);
        let errors: Vec<&Diagnostic> = found
            .iter()
            .filter(|d| d.code.starts_with("notebook-"))
            .collect();
        if let Some(d) = errors.first() {
            broken += 1;
            assert_eq!(errors.len(), 1, "{}: {errors:#?}", dir.display());
            assert!(
                d.snippet.is_some() || d.cell.is_some() || d.code == "notebook-empty",
                "{}: no position: {d:#?}",
                dir.display()
            );
            rendered.push_str(&d.render());
            rendered.push('\n');
        }
    }
    assert!(broken >= 13, "{broken} malformed notebooks");
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("lint-notebook-malformed", rendered);
    });
}

#[test]
fn lint_json_carries_the_cell() {
    let found = lint_paths(&[LINT_NOTEBOOK]);
    let json: serde_json::Value =
        serde_json::from_str(&lint::render_json(&found)).expect("valid JSON");
    let eol = json["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["code"] == "model-eol")
        .expect("model-eol");
    assert_eq!(
        eol["cell"],
        serde_json::json!({"number": 4, "id": "cli", "line": 2})
    );
    assert_eq!(
        (eol["line"].as_u64(), eol["column"].as_u64()),
        (Some(2), Some(16))
    );
}

/// `prompt` takes a cell too; `section` with `cell` is refused.
#[test]
fn a_prompt_from_a_cell_and_a_mixed_reference() {
    let page = labcheck::content::LabPage::read(&Path::new(PAGE_LAB).join("lab.ipynb"))
        .expect("page reads");
    let toml = |prompt: &str| {
        format!(
            "[lab]\n\n[[step]]\nid = \"ask\"\nkind = \"sdk\"\nproves = [1, 2]\ncall = \"converse\"\nmodel = \"m\"\nprompt = {prompt}\n"
        )
    };
    let dir = Path::new(PAGE_LAB);
    let lab = labcheck::spec::parse_lab(
        dir,
        toml(r#"{ tag = "converse-script" }"#).as_bytes(),
        &page,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let labcheck::spec::StepKind::Sdk {
        call: labcheck::spec::SdkCall::Converse(request),
    } = &lab.steps[0].kind
    else {
        panic!("converse")
    };
    assert!(
        request.prompt.starts_with("import boto3"),
        "{}",
        request.prompt
    );
    assert!(
        request
            .prompt
            .ends_with("print(\"usage:\", response['usage'])")
    );
    let e = labcheck::spec::parse_lab(
        dir,
        toml(r#"{ section = "Step 1: Converse with the AWS CLI", cell = "cli-converse" }"#)
            .as_bytes(),
        &page,
    )
    .expect_err("two references");
    assert_eq!(e.kind(), "bad-source");
    assert!(e.to_string().contains("found `section`, `cell`"), "{e}");
}
