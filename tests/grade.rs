//! Grading student workspaces (tests/fixtures/grade/*) against the seed lab:
//! a correct workspace scores full marks; each typical mistake loses the item
//! it should, with the reason shown.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use labcheck::grade::{self, GradeOptions, GradeReport, GradeState};

use common::repo;

fn lab() -> PathBuf {
    repo().join("labs/4.1-invoke-fm-via-bedrock")
}

fn workspace(name: &str) -> PathBuf {
    repo().join("tests/fixtures/grade").join(name)
}

fn grade_ws(name: &str) -> GradeReport {
    let options = GradeOptions {
        workspace: workspace(name),
        speed: 1.0,
        netguard: Default::default(),
        clients: labcheck::settings::clients(&labcheck::settings::Vars::capture()),
        sandbox: Default::default(),
    };
    grade::grade(&lab(), &options).expect("graded")
}

/// States of items 1..=4, and the reasons of item `index` joined.
fn states(r: &GradeReport) -> Vec<GradeState> {
    r.items.iter().map(|i| i.state).collect()
}

fn reasons(r: &GradeReport, index: usize) -> String {
    r.items[index - 1].reasons.join("\n")
}

use GradeState::{NotGraded, Ticked, Unticked};

#[test]
fn correct_workspace_scores_full_marks() {
    let r = grade_ws("correct");
    assert_eq!(states(&r), [NotGraded, Ticked, Ticked, Ticked], "{r:#?}");
    assert_eq!((r.score, r.max), (3, 3));
    assert!(reasons(&r, 1).contains("console step"), "{r:#?}");
    assert!(!r.network_guard.is_empty());
}

#[test]
fn missing_script_loses_item_3_with_a_hint() {
    let r = grade_ws("missing-script");
    assert_eq!(states(&r), [NotGraded, Ticked, Unticked, Ticked], "{r:#?}");
    assert_eq!(r.score, 2);
    let why = reasons(&r, 3);
    assert!(why.contains("`invoke_bedrock.py` is missing"), "{why}");
    assert!(why.contains("hint:"), "{why}");
}

#[test]
fn script_that_prints_nothing_loses_item_3() {
    let r = grade_ws("prints-nothing");
    assert_eq!(states(&r), [NotGraded, Ticked, Unticked, Ticked], "{r:#?}");
    let why = reasons(&r, 3);
    assert!(
        why.contains("stdout: expected to contain \"Retrieval Augmented Generation"),
        "{why}"
    );
    // It did call Bedrock: that is not what it lost the point for.
    assert!(!why.contains("served requests"), "{why}");
}

#[test]
fn printing_the_text_without_calling_bedrock_loses_item_3() {
    let r = grade_ws("fake-output");
    assert_eq!(states(&r), [NotGraded, Ticked, Unticked, Ticked], "{r:#?}");
    let why = reasons(&r, 3);
    assert!(why.contains("the replay server served 0"), "{why}");
    assert!(why.contains("never called Bedrock"), "{why}");
}

#[test]
fn streaming_script_that_prints_at_once_loses_item_4() {
    let r = grade_ws("not-streaming");
    assert_eq!(states(&r), [NotGraded, Ticked, Ticked, Unticked], "{r:#?}");
    let why = reasons(&r, 4);
    assert!(why.contains("incremental output"), "{why}");
    assert!(!why.contains("served requests"), "{why}");
}

#[test]
fn wrong_model_id_loses_item_3_naming_the_models() {
    let r = grade_ws("wrong-model");
    assert_eq!(states(&r), [NotGraded, Ticked, Unticked, Ticked], "{r:#?}");
    let why = reasons(&r, 3);
    assert!(
        why.contains("anthropic.claude-3-sonnet-20240229-v1:0"),
        "{why}"
    );
    assert!(why.contains("us.anthropic.claude-sonnet-4-6"), "{why}");
}

#[test]
fn a_workspace_is_never_modified() {
    // `correct` holds the files the steps run and the `output.json` the CLI
    // step writes again; `missing-script` lacks one the lab says to create.
    for name in ["correct", "missing-script"] {
        let dir = workspace(name);
        let before = contents(&dir);
        assert!(!before.is_empty(), "fixture `{name}` is empty");
        let report = grade_ws(name);
        assert!(
            states(&report).contains(&Ticked),
            "`{name}` was not graded: {report:#?}"
        );
        assert_eq!(contents(&dir), before, "grading `{name}` changed it");
    }
}

/// Every file under `dir` (relative path, bytes), sorted: a changed byte,
/// an added or a removed file all show.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").to_path_buf();
                files.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn cli_json_is_the_documented_schema_and_a_low_score_exits_0() {
    let out = Command::cargo_bin("labcheck")
        .expect("binary")
        .current_dir(repo())
        .args([
            "grade",
            "labs/4.1-invoke-fm-via-bedrock",
            "--format",
            "json",
        ])
        .arg("--workspace")
        .arg(workspace("missing-script"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema"], "labcheck-grade/1");
    assert_eq!(doc["lab"], "4.1-invoke-fm-via-bedrock");
    assert_eq!(
        (doc["score"].as_u64(), doc["max"].as_u64()),
        (Some(2), Some(3))
    );
    let item3 = &doc["items"][2];
    assert_eq!(item3["state"], "unticked");
    assert_eq!(item3["points"], 0);
    assert!(
        item3["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("invoke_bedrock.py")),
        "{item3}"
    );
    assert_eq!(doc["items"][0]["state"], "not-graded");
    assert!(
        doc["trials"].as_array().is_some_and(|t| t.len() == 3),
        "{doc}"
    );
}

#[test]
fn cli_fail_under_and_usage_errors() {
    let run = |args: &[&str]| {
        Command::cargo_bin("labcheck")
            .expect("binary")
            .current_dir(repo())
            .args(args)
            .output()
            .expect("run")
    };
    let ws = workspace("missing-script");
    let ws = ws.to_str().expect("utf-8 path");
    let junit = run(&[
        "grade",
        "labs/4.1-invoke-fm-via-bedrock",
        "--workspace",
        ws,
        "--format",
        "junit",
        "--fail-under",
        "80",
    ]);
    assert_eq!(junit.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&junit.stdout);
    assert!(
        xml.contains("tests=\"4\" skipped=\"1\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    let missing = run(&[
        "grade",
        "labs/4.1-invoke-fm-via-bedrock",
        "--workspace",
        "no/such/dir",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not a directory"));
}

#[test]
fn a_symlink_out_of_the_workspace_is_not_followed_and_is_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = tmp.path().join("ws");
    labcheck::copy::copy_tree(&workspace("correct"), &ws, &Default::default()).expect("copy");
    let outside = tmp.path().join("grader-secret.txt");
    std::fs::write(&outside, "not for students").expect("write");
    std::os::unix::fs::symlink(&outside, ws.join("secret.txt")).expect("symlink");
    let options = GradeOptions {
        workspace: ws,
        speed: 1.0,
        netguard: Default::default(),
        clients: labcheck::settings::clients(&labcheck::settings::Vars::capture()),
        sandbox: Default::default(),
    };
    let r = grade::grade(&lab(), &options).expect("graded");
    assert_eq!((r.score, r.max), (3, 3), "{r:#?}");
    assert_eq!(r.skipped_links.len(), 1, "{r:#?}");
    assert!(
        r.skipped_links[0].contains("`secret.txt`")
            && r.skipped_links[0].contains("points outside the copied directory"),
        "{:?}",
        r.skipped_links
    );
    assert!(
        grade::render::text(&r).contains("workspace: symlink `secret.txt`"),
        "{}",
        grade::render::text(&r)
    );
}

/// Issue 9: a link to `/etc/passwd` named like the script the lab expects is
/// not followed, the trial fails, and its reason says the link was ignored.
#[test]
fn a_link_named_like_an_expected_file_is_ignored_and_the_reason_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = tmp.path().join("ws");
    labcheck::copy::copy_tree(&workspace("correct"), &ws, &Default::default()).expect("copy");
    std::fs::remove_file(ws.join("invoke_bedrock.py")).expect("remove");
    std::os::unix::fs::symlink("/etc/passwd", ws.join("invoke_bedrock.py")).expect("symlink");
    let options = GradeOptions {
        workspace: ws,
        speed: 1.0,
        netguard: Default::default(),
        clients: labcheck::settings::clients(&labcheck::settings::Vars::capture()),
        sandbox: Default::default(),
    };
    let r = grade::grade(&lab(), &options).expect("graded");
    assert_eq!(states(&r)[2], GradeState::Unticked, "{r:#?}");
    let why = reasons(&r, 3);
    assert!(
        why.contains("symlink `invoke_bedrock.py` -> `/etc/passwd` not copied")
            && why.contains("the link was ignored"),
        "{why}"
    );
    // Nothing of /etc/passwd reached the report.
    assert!(!grade::render::json(&r).contains("root:x:0:0"), "{r:#?}");
}
