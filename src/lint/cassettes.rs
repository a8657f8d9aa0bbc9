//! Checks of a lab's cassette directory against the steps that use it:
//! interactions no step asks for, steps whose expected calls have no
//! interaction, secrets left in recordings, and cassettes older than the
//! lab's `max_age`. Several linted labs may share one directory (the original
//! page's fixture replays the seed lab's cassettes): usage is their union.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use aws_smithy_types::DateTime;

use crate::cassette::{age, json_files, load_file, whole_days};
use crate::diagnostic::{Diagnostic, Severity};
use crate::spec::lab::{Lab, SdkCall, StepKind};

/// Placeholder credentials from the AWS documentation: not secrets.
const PLACEHOLDERS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "123456789012",
];

static ACCESS_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b").expect("static regex"));
static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)secret[a-z_-]*"?\s*[:=]\s*"?([A-Za-z0-9/+=]{40})\b"#).expect("static regex")
});
static TOKEN_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)"(x-amz-security-token|authorization)"\s*:"#).expect("static regex")
});
static ACCOUNT_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arn:aws(?:-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):").expect("static regex")
});

/// One (operation, model) a step makes the replay server answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    operation: String,
    model: Option<String>,
}

/// Per step: its `[[step]]` line and the calls it expects.
type StepCalls = Vec<(usize, Vec<Call>)>;

fn step_calls(lab: &Lab) -> StepCalls {
    lab.steps
        .iter()
        .map(|s| {
            let mut calls: Vec<Call> = s
                .expect
                .served
                .iter()
                .map(|e| Call {
                    operation: e.operation.clone(),
                    model: e.model.clone(),
                })
                .collect();
            let implied = match &s.kind {
                StepKind::Sdk { call } => Some(match call {
                    SdkCall::Invoke { model, .. } => ("InvokeModel", Some(model)),
                    SdkCall::InvokeStream { model, .. } => {
                        ("InvokeModelWithResponseStream", Some(model))
                    }
                    SdkCall::Converse(r) => ("Converse", Some(&r.model)),
                    SdkCall::ConverseStream(r) => ("ConverseStream", Some(&r.model)),
                    // No model: any ApplyGuardrail interaction can answer it.
                    SdkCall::ApplyGuardrail(_) => ("ApplyGuardrail", None),
                }),
                StepKind::Playground { model, .. } => Some(("Converse", Some(model))),
                _ => None,
            };
            if let Some((op, model)) = implied {
                let call = Call {
                    operation: op.to_string(),
                    model: model.cloned(),
                };
                if !calls.contains(&call) {
                    calls.push(call);
                }
            }
            (s.line, calls)
        })
        .collect()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(1, |i| i + 1)
}

/// All cassette checks for one directory and the labs that replay it.
pub fn check_dir(dir: &Path, labs: &[&Lab], today: DateTime) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // A missing directory shows as the steps it leaves without cassettes.
    let files: Vec<PathBuf> = json_files(dir).unwrap_or_default();
    let calls: Vec<(&Lab, StepCalls)> = labs.iter().map(|l| (*l, step_calls(l))).collect();
    let max_age = labs.iter().filter_map(|l| l.max_age).min();
    // (operation, model id) of every interaction, to find steps with no cassette.
    let mut available: Vec<(String, String)> = Vec::new();

    for path in &files {
        // The loader `run` uses: a cassette lint passes is one replay can load.
        let cassette = match load_file(path) {
            Ok(c) => c,
            Err(e) => {
                let mut d = e.diagnostic();
                d.code = "cassette-invalid".to_string();
                out.push(d);
                // Secrets are looked for even in a cassette that does not load.
                if let Ok(bytes) = std::fs::read(path) {
                    out.extend(secrets(path, &String::from_utf8_lossy(&bytes)));
                }
                continue;
            }
        };
        // It loaded, so it is UTF-8; a read failing now is a race: skip it.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        out.extend(secrets(path, &text));
        out.extend(super::placeholder::check(path, &text, &cassette));
        if let (Some(max), Some(age)) = (max_age, age(&cassette.meta.recorded_at, today))
            && age > max
        {
            let recorded = cassette.meta.recorded_at.get(..10).unwrap_or_default();
            let msg = format!(
                "cassette recorded on {recorded} is {} days old, more than the lab's `max_age` ({} days)",
                whole_days(age),
                whole_days(max)
            );
            out.push(
                Diagnostic::new(Severity::Error, "cassette-stale", msg, path)
                    .at(&text, line_of(&text, "\"recorded_at\""), Some(&cassette.meta.recorded_at))
                    .help("re-record it against Bedrock (or re-check and re-author it) and update `recorded_at`"),
            );
        }
        let mut unused = Vec::new();
        for it in &cassette.interactions {
            let op = it.request.operation.as_str();
            available.push((op.to_string(), it.request.model_id.clone()));
            let used = calls.iter().any(|(_, steps)| {
                steps.iter().flat_map(|(_, c)| c).any(|c| {
                    c.operation == op && c.model.as_ref().is_none_or(|m| *m == it.request.model_id)
                })
            });
            if !used {
                unused.push(it);
            }
        }
        let names = labs
            .iter()
            .map(|l| format!("`{}`", l.id))
            .collect::<Vec<_>>()
            .join(", ");
        if !unused.is_empty() && unused.len() == cassette.interactions.len() {
            let msg = format!("cassette is used by no step of {names}");
            out.push(
                Diagnostic::new(Severity::Warning, "cassette-unused", msg, path)
                    .at(
                        &text,
                        line_of(&text, "\"interactions\""),
                        Some("\"interactions\""),
                    )
                    .note("no step expects any of its (operation, model id) pairs")
                    .help("delete it, or lint it together with the lab that replays it"),
            );
        } else {
            // Interactions come in file order: search on from the last one
            // found, so many unused interactions cost one pass over the file.
            let lines: Vec<&str> = text.lines().collect();
            let mut from = 0;
            for it in unused {
                let msg = format!(
                    "interaction `{}` ({} on `{}`) is used by no step of {names}",
                    it.name,
                    it.request.operation.as_str(),
                    it.request.model_id
                );
                let needle = format!("\"{}\"", it.name);
                let found = lines.iter().skip(from).position(|l| l.contains(&needle));
                let index = found.map_or(0, |i| from + i);
                if found.is_some() {
                    from = index + 1;
                }
                out.push(
                    Diagnostic::new(Severity::Warning, "cassette-unused", msg, path)
                        .at_line(index + 1, lines.get(index).unwrap_or(&""), Some(&needle))
                        .help("delete it, or add a step whose `served` expects it"),
                );
            }
        }
    }

    for (lab, steps) in &calls {
        let toml = lab.dir.join(crate::spec::LAB_FILE);
        let toml_text = std::fs::read_to_string(&toml).unwrap_or_default();
        // Split once: a lab with many steps without cassettes stays linear.
        let toml_lines: Vec<&str> = toml_text.lines().collect();
        for ((line, step_calls), step) in steps.iter().zip(&lab.steps) {
            for c in step_calls {
                let found = available.iter().any(|(op, model)| {
                    *op == c.operation && c.model.as_ref().is_none_or(|m| m == model)
                });
                if !found {
                    let model = c
                        .model
                        .as_deref()
                        .map_or(String::new(), |m| format!(" on `{m}`"));
                    let msg = format!(
                        "step `{}` expects {}{model} but no cassette in `{}` has it",
                        step.id,
                        c.operation,
                        dir.display()
                    );
                    out.push(
                        Diagnostic::new(Severity::Error, "step-without-cassette", msg, &toml)
                            .at_line(
                                *line,
                                toml_lines.get(line.saturating_sub(1)).unwrap_or(&""),
                                None,
                            )
                            .note("in replay the step's request gets no answer and the trial fails")
                            .help("record or author an interaction for it in the lab's cassettes"),
                    );
                }
            }
        }
    }
    out
}

/// Credentials and account ids left in a cassette file.
fn secrets(path: &Path, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut found: Vec<(&str, String)> = Vec::new();
        for m in ACCESS_KEY.find_iter(line) {
            found.push((m.as_str(), "an AWS access key id".into()));
        }
        for c in SECRET_KEY.captures_iter(line) {
            if let Some(m) = c.get(1) {
                found.push((
                    m.as_str(),
                    "a 40-character secret next to a secret key name".into(),
                ));
            }
        }
        for c in TOKEN_HEADER.captures_iter(line) {
            if let Some(m) = c.get(1) {
                found.push((m.as_str(), format!("a recorded `{}` header", m.as_str())));
            }
        }
        for c in ACCOUNT_ARN.captures_iter(line) {
            if let Some(m) = c.get(1) {
                found.push((m.as_str(), "an AWS account id in an ARN".into()));
            }
        }
        for (needle, what) in found {
            // The scrubber's own account id is what every recording carries.
            if PLACEHOLDERS.contains(&needle) || needle == crate::cassette::scrub::ACCOUNT {
                continue;
            }
            let msg = format!("secret in cassette: {what}");
            // Located, but never echoed: lint output ends up in CI logs.
            let mut d = Diagnostic::new(Severity::Error, "cassette-secret", msg, path).at(
                text,
                i + 1,
                Some(needle),
            );
            d.snippet = None;
            d.width = 0;
            out.push(
                d.help("remove it (labcheck never matches on headers) or replace it with a documentation placeholder such as `AKIAIOSFODNN7EXAMPLE` / `123456789012`"),
            );
        }
    }
    out
}
