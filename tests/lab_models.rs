//! A lab's own model table: `models.toml` beside the page adds rows to the
//! bundled table (or overrides them) for that page alone.

use labcheck::cassette::age::parse_day;
use labcheck::lint::{self, LintOptions};

const EXTRA: &str = "tests/fixtures/models/extra-models.toml";

fn lint_dir(dir: &std::path::Path) -> Vec<lint::Diagnostic> {
    let options = LintOptions::bundled(parse_day("2026-11-27").expect("date")).expect("table");
    lint::lint_paths(&[dir.join("lab.md")], &options).expect("lint runs")
}

#[test]
fn a_lab_table_beside_the_page_adds_its_rows_for_that_page() {
    let page = "# Lab\n\n```python\nmodel_id = \"mistral.not-a-model-v9:0\"\n```\n";
    let with = tempfile::tempdir().expect("tempdir");
    let without = tempfile::tempdir().expect("tempdir");
    for d in [&with, &without] {
        std::fs::write(d.path().join("lab.md"), page).expect("page");
    }
    std::fs::copy(EXTRA, with.path().join(lint::LAB_MODELS)).expect("table");
    let codes = |found: &[lint::Diagnostic]| {
        found
            .iter()
            .map(|d| d.code.clone())
            .filter(|c| c.starts_with("model"))
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&lint_dir(without.path())), vec!["model-unknown"]);
    let found = lint_dir(with.path());
    assert_eq!(codes(&found), vec!["model-legacy"]);
    let text = lint::render_text(&found).replace(&with.path().display().to_string(), "[LAB]");
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("lint-lab-models", text);
    });
}

#[test]
fn a_broken_lab_table_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lab.md"), "# Lab\n").expect("page");
    std::fs::write(dir.path().join(lint::LAB_MODELS), "checked = 3\n").expect("table");
    let options = LintOptions::bundled(parse_day("2026-11-27").expect("date")).expect("table");
    let e = lint::lint_paths(&[dir.path().join("lab.md")], &options).expect_err("refused");
    let msg = e
        .to_string()
        .replace(&dir.path().display().to_string(), "[LAB]");
    assert!(
        msg.starts_with("invalid model table `[LAB]/models.toml`: "),
        "{msg}"
    );
}
