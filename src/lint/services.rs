//! `service-undeclared`: the setup services a page's code calls — boto3
//! client names (`boto3.client("s3")`, `.resource("dynamodb")`) and AWS CLI
//! commands (`aws iam …`, `aws s3api …`) — that the lab's `[lab] services`
//! does not list. Undeclared, such a call gets no emulator in replay and is
//! refused by the network guard.
//!
//! `setup-undeclared-resources`: a lab that declares a service whose
//! resources labcheck can delete (`s3`, `iam`, `dynamodb`) but no
//! `[lab] resources`: a record or live run has nothing to clean up and
//! leaves what the steps created in the author's account.

use std::sync::OnceLock;

use regex::Regex;

use crate::content::LabPage;
use crate::diagnostic::{Diagnostic, Severity};
use crate::spec::lab::Lab;
use crate::spec::services::{EMULATED, REPLAYED, STATEFUL};

fn client_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\.(?:client|resource)\(\s*(?:service_name\s*=\s*)?["']([a-z0-9-]+)["']"#)
            .expect("a literal regex")
    })
}

/// CLI commands whose service name differs from the boto3 client name.
fn cli_service(command: &str) -> &str {
    match command {
        "s3api" => "s3",
        "configure" | "help" | "history" => "",
        other => other,
    }
}

/// `(line, service, as written)` of every setup-service call in the page.
pub fn calls(page: &LabPage) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    for block in &page.blocks {
        for (i, line) in block.text.lines().enumerate() {
            let at = block.line + 1 + i;
            for c in client_re().captures_iter(line) {
                out.push((at, c[1].to_string(), c[0].to_string()));
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            for (w, word) in words.iter().enumerate() {
                // `X=$(aws sts …)` and `` `aws …` ``: a command starts inside the word.
                let inner = word.rsplit(['(', '`']).next().unwrap_or(word);
                let starts_command = inner.len() < word.len()
                    || w == 0
                    || matches!(
                        words[w - 1],
                        "&&" | "||" | ";" | "|" | "then" | "do" | "!" | "if"
                    );
                if inner != "aws" || !starts_command {
                    continue;
                }
                // The first word after `aws` that is not an option (or its value).
                let mut rest = words[w + 1..].iter();
                while let Some(next) = rest.next() {
                    if next.starts_with("--") {
                        if !next.contains('=')
                            && !matches!(
                                *next,
                                "--debug"
                                    | "--no-verify-ssl"
                                    | "--no-paginate"
                                    | "--no-sign-request"
                                    | "--no-cli-pager"
                            )
                        {
                            rest.next();
                        }
                        continue;
                    }
                    let service = cli_service(next);
                    if !service.is_empty() {
                        out.push((at, service.to_string(), format!("aws {next}")));
                    }
                    break;
                }
            }
        }
    }
    out
}

/// A warning per setup service called on the page but not declared, at its
/// first call.
pub fn check(page: &LabPage, text: &str, declared: &[String]) -> Vec<Diagnostic> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (line, service, written) in calls(page) {
        if REPLAYED.contains(&service.as_str())
            || declared.contains(&service)
            || seen.contains(&service)
        {
            continue;
        }
        seen.push(service.clone());
        let emulated = EMULATED.contains(&service.as_str());
        let message = if emulated {
            format!("the page calls `{service}`, which the lab's `services` does not declare")
        } else {
            format!("the page calls `{service}`, which is not emulated offline")
        };
        let help = if emulated {
            format!("add \"{service}\" to `services` under `[lab]` so replay gives it an emulator")
        } else {
            "check this step live (`LABCHECK_MODE=live`); see docs/setup-services.md".to_string()
        };
        out.push(
            Diagnostic::new(Severity::Warning, "service-undeclared", message, &page.path)
                .at(text, line, Some(&written))
                .help(help),
        );
    }
    out
}

/// `setup-undeclared-resources` for a loaded lab whose `lab.toml` is `text`,
/// at its `services` line.
pub fn undeclared_resources(lab: &Lab, text: &str) -> Option<Diagnostic> {
    let cleanable: Vec<&str> = lab
        .services
        .iter()
        .map(String::as_str)
        .filter(|s| STATEFUL.contains(s))
        .collect();
    if cleanable.is_empty() || !lab.resources.is_empty() {
        return None;
    }
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("services"))
        .map_or(1, |i| i + 1);
    let listed = cleanable
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let example = match cleanable[0] {
        "s3" => "{ service = \"s3\", bucket = \"…\" }",
        "iam" => "{ service = \"iam\", role = \"…\" }",
        _ => "{ service = \"dynamodb\", table = \"…\" }",
    };
    Some(
        Diagnostic::new(
            Severity::Warning,
            "setup-undeclared-resources",
            format!(
                "the lab uses {listed} but declares no `resources`: a record or live run cannot clean up what its steps create"
            ),
            &lab.dir.join(crate::spec::LAB_FILE),
        )
        .at(text, line, Some("services"))
        .help(format!(
            "name what the steps create under `[lab]`, e.g. `resources = [{example}]` (see docs/setup-services.md)"
        )),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::Path;

    const PAGE: &str = "# Lab\n\n```bash\naws --region us-east-1 s3 mb s3://b && aws iam create-role --role-name r\naws s3api list-buckets\nACCOUNT=$(aws sts get-caller-identity --query Account)\naws bedrock-runtime converse --model-id m\n```\n\n```python\nimport boto3\nddb = boto3.resource(\"dynamodb\")\nkb = boto3.client(service_name='bedrock-agent')\nlam = boto3.client(\"lambda\")\n```\n";

    fn lab_with(header: &str) -> (tempfile::TempDir, Lab, String) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(
            dir.join("lab.md"),
            "---\ntitle: t\n---\n## S\n\n```bash\naws s3 mb s3://b\n```\n\n- [ ] item\n",
        )
        .unwrap();
        let toml = format!(
            "[lab]\n{header}\n\n[[step]]\nid = \"a\"\nkind = \"shell\"\nproves = [1]\nclients = [\"aws-cli-v2\"]\nprogram = {{ section = \"S\" }}\n"
        );
        std::fs::write(dir.join("lab.toml"), &toml).unwrap();
        let lab = crate::spec::load_lab(dir).unwrap();
        (tmp, lab, toml)
    }

    #[test]
    fn a_lab_creating_in_cleanable_services_must_declare_its_resources() {
        let (_d, lab, toml) = lab_with("title = \"t\"\nservices = [\"sts\", \"s3\"]");
        let d = undeclared_resources(&lab, &toml).expect("a warning");
        assert_eq!((d.code.as_str(), d.line), ("setup-undeclared-resources", 3));
        assert!(d.message.contains("uses `s3`"), "{}", d.message);
        let help = d.help.as_deref().unwrap_or_default();
        assert!(
            help.contains("resources = [{ service = \"s3\", bucket = \"…\" }]"),
            "{help}"
        );
        let (_d, lab, toml) =
            lab_with("services = [\"s3\"]\nresources = [{ service = \"s3\", bucket = \"b\" }]");
        assert!(undeclared_resources(&lab, &toml).is_none());
        // Nothing it could clean up: no warning it could not act on.
        let (_d, lab, toml) = lab_with("services = [\"sts\", \"lambda\"]");
        assert!(undeclared_resources(&lab, &toml).is_none());
    }

    #[test]
    fn calls_are_found_in_cli_and_boto3_code() {
        let page = LabPage::parse(Path::new("lab.md"), PAGE).unwrap();
        let found: Vec<(usize, String)> =
            calls(&page).into_iter().map(|(l, s, _)| (l, s)).collect();
        assert_eq!(
            found,
            [
                (4, "s3".to_string()),
                (4, "iam".to_string()),
                (5, "s3".to_string()),
                (6, "sts".to_string()),
                (7, "bedrock-runtime".to_string()),
                (12, "dynamodb".to_string()),
                (13, "bedrock-agent".to_string()),
                (14, "lambda".to_string()),
            ]
        );
    }

    #[test]
    fn undeclared_setup_services_warn_once_and_bedrock_never() {
        let page = LabPage::parse(Path::new("lab.md"), PAGE).unwrap();
        let found = check(
            &page,
            PAGE,
            &["s3".to_string(), "sts".to_string(), "lambda".to_string()],
        );
        let got: Vec<(String, usize)> = found.iter().map(|d| (d.message.clone(), d.line)).collect();
        assert_eq!(
            got,
            [
                (
                    "the page calls `iam`, which the lab's `services` does not declare".to_string(),
                    4
                ),
                (
                    "the page calls `dynamodb`, which the lab's `services` does not declare"
                        .to_string(),
                    12
                ),
            ]
        );
        assert!(found.iter().all(|d| d.code == "service-undeclared"));
        assert!(
            check(
                &page,
                PAGE,
                &[
                    "s3".into(),
                    "sts".into(),
                    "iam".into(),
                    "dynamodb".into(),
                    "lambda".into()
                ]
            )
            .is_empty()
        );
    }
}
