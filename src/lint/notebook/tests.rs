//! One small notebook per notebook rule; each rule's rendering is pinned.

use super::*;
use crate::content::Notebook;

fn table() -> ModelTable {
    ModelTable::bundled().expect("bundled model table")
}

/// A notebook of `cells` (JSON cell objects), linted.
fn lint(cells: &[serde_json::Value]) -> Vec<Diagnostic> {
    let nb = serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"language": "python"}},
        "cells": cells,
    });
    let bytes = serde_json::to_vec_pretty(&nb).expect("json");
    let nb = Notebook::parse("lab.ipynb", &bytes).expect("parses");
    check(&LabPage::from_notebook(nb), "us-east-1", &table())
}

fn code(
    id: &str,
    source: &str,
    count: Option<u64>,
    outputs: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({"cell_type": "code", "id": id, "metadata": {}, "source": source,
        "execution_count": count, "outputs": outputs})
}

fn stream(text: &str) -> serde_json::Value {
    serde_json::json!([{"output_type": "stream", "name": "stdout", "text": text}])
}

/// The one finding with `code`, rendered and pinned as `lint-notebook-<code>`.
fn pin(found: &[Diagnostic], code: &str) -> Diagnostic {
    let hits: Vec<&Diagnostic> = found.iter().filter(|d| d.code == code).collect();
    assert_eq!(hits.len(), 1, "{code}: {found:#?}");
    let d = hits[0].clone();
    insta::with_settings!({ snapshot_path => "../../../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(format!("lint-notebook-{code}"), d.render());
    });
    d
}

#[test]
fn output_secret() {
    let found = lint(&[code(
        "creds",
        "boto3.Session().get_credentials().get_frozen_credentials()",
        Some(1),
        stream("token='IQoJb3JpZ2luX2VjEPLANTEDSESSIONTOKENFORTESTS'\n"),
    )]);
    let d = pin(&found, "notebook-output-secret");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.cell.as_ref().map(|c| c.number), Some(1));
    // The secret itself is never printed.
    assert!(!d.render().contains("PLANTED"), "{}", d.render());
}

#[test]
fn output_with_the_docs_example_key_is_not_a_secret() {
    let found = lint(&[code(
        "creds",
        "print(key)",
        Some(1),
        stream("AKIAIOSFODNN7EXAMPLE and arn:aws:iam::123456789012:user/x\n"),
    )]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn output_arn() {
    let found = lint(&[code(
        "who",
        "print(sts.get_caller_identity()['Arn'])",
        Some(1),
        stream("arn:aws:iam::210987654321:user/student\n"),
    )]);
    pin(&found, "notebook-output-arn");
}

#[test]
fn output_account_id() {
    let found = lint(&[code(
        "who",
        "print('Account:', account)",
        Some(1),
        stream("Account: 210987654321\n"),
    )]);
    pin(&found, "notebook-output-account-id");
}

#[test]
fn output_error() {
    let error = serde_json::json!([{"output_type": "error", "ename": "NoCredentialsError",
        "evalue": "Unable to locate credentials", "traceback": ["..."]}]);
    let found = lint(&[code("call", "client.converse(**request)", Some(1), error)]);
    pin(&found, "notebook-output-error");
}

#[test]
fn run_out_of_order() {
    let empty = serde_json::json!([]);
    let found = lint(&[
        code("a", "x = 1", Some(1), empty.clone()),
        code("b", "y = x + 1", Some(4), empty.clone()),
        code("c", "print(y)", Some(3), empty.clone()),
        code("d", "print(x)", Some(2), empty),
    ]);
    // Only the first cell out of order is reported.
    let d = pin(&found, "notebook-run-out-of-order");
    assert_eq!(d.cell.as_ref().map(|c| c.number), Some(3));
}

#[test]
fn in_order_with_gaps_and_unrun_cells_is_fine() {
    let empty = serde_json::json!([]);
    let found = lint(&[
        code("a", "x = 1", Some(2), empty.clone()),
        code("b", "y = 2", None, empty.clone()),
        code("c", "print(x)", Some(7), empty),
    ]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn bang_pip() {
    let found = lint(&[code(
        "install",
        "!pip install boto3",
        None,
        serde_json::json!([]),
    )]);
    let d = pin(&found, "notebook-bang-pip");
    assert_eq!((d.line, d.column, d.width), (1, 1, 4));
    // `%pip` is the fix, and installs boto3 for the `boto3-not-installed` check.
    let found = lint(&[
        code("install", "%pip install boto3", None, serde_json::json!([])),
        code("use", "import boto3", None, serde_json::json!([])),
    ]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn writefile_never_run() {
    let found = lint(&[code(
        "write",
        "%%writefile app.py\nprint('hi')",
        None,
        serde_json::json!([]),
    )]);
    pin(&found, "script-never-run");
    let found = lint(&[
        code(
            "write",
            "%%writefile app.py\nprint('hi')",
            None,
            serde_json::json!([]),
        ),
        code("run", "%run app.py", None, serde_json::json!([])),
    ]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn bang_aws_continued_over_lines_is_one_command() {
    let src = "!aws bedrock-runtime invoke-model \\\n    --model-id amazon.titan-text-express-v1 \\\n    --body '{\"inputText\": \"hi\"}' out.json";
    let found = lint(&[code("cli", src, None, serde_json::json!([]))]);
    let codes: Vec<(&str, usize)> = found.iter().map(|d| (d.code.as_str(), d.line)).collect();
    assert!(codes.contains(&("aws-cli-v2-blob", 3)), "{codes:?}");
    assert!(
        !codes.iter().any(|(c, _)| *c == "aws-cli-missing-outfile"),
        "{codes:?}"
    );
    let blob = found
        .iter()
        .find(|d| d.code == "aws-cli-v2-blob")
        .expect("blob");
    assert_eq!(
        blob.snippet.as_deref(),
        Some("    --body '{\"inputText\": \"hi\"}' out.json")
    );
    assert_eq!(
        blob.cell.as_ref().and_then(|c| c.id.as_deref()),
        Some("cli")
    );
}
