//! `client-too-old`: pins and suggestions older than the page's own calls,
//! each an error naming the version needed (wording pinned).

use labcheck::cassette::age::parse_day;
use labcheck::lint::{self, LintOptions};

const PAGE: &str = "tests/fixtures/models/client-versions.md";

#[test]
fn every_too_old_pin_is_an_error_with_the_version_needed() {
    let options = LintOptions::bundled(parse_day("2026-11-27").expect("date")).expect("table");
    let found = lint::lint_paths(&[PAGE.into()], &options).expect("lint runs");
    let ours: Vec<_> = found
        .into_iter()
        .filter(|d| d.code == "client-too-old")
        .collect();
    let lines: Vec<usize> = ours.iter().map(|d| d.line).collect();
    // The prose suggestion, boto3, botocore's cap, awscli, the CLI v2 zip, requirements.
    assert_eq!(lines, vec![3, 8, 8, 8, 9, 15]);
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("lint-client-too-old", lint::render_text(&ours));
    });
}

#[test]
fn recent_enough_pins_pass() {
    let text = std::fs::read_to_string(PAGE)
        .expect("page")
        .replace("1.28.57", "1.34.116")
        .replace("\"botocore<1.34\"", "botocore")
        .replace("awscli==1.29.60", "awscli==1.32.116")
        .replace("-2.13.0.zip", ".zip")
        .replace("boto3>=1.26.0", "boto3>=1.35.0");
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("lab.md");
    std::fs::write(&page, text).expect("write");
    let options = LintOptions::bundled(parse_day("2026-11-27").expect("date")).expect("table");
    let found = lint::lint_paths(&[page], &options).expect("lint runs");
    assert!(
        !found.iter().any(|d| d.code == "client-too-old"),
        "{}",
        lint::render_text(&found)
    );
}
