//! `aws-cli-no-streaming`: the AWS CLI has no streaming Bedrock commands. A
//! page that tells students to run `aws bedrock-runtime converse-stream` or
//! `invoke-model-with-response-stream` — in prose, inline code, or a block
//! that is not a shell block (`console`, `text`, no language) — sends them to
//! `aws: error: argument operation: Invalid choice` on v1 and v2 alike.
//! (Shell blocks are read command by command in `aws.rs`, which reports the
//! same call there as `aws-cli-missing-command`.)

use std::sync::LazyLock;

use regex::Regex;

use crate::content::LabPage;
use crate::diagnostic::{Diagnostic, Severity};

static STREAMING_CLI: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\baws\s+(?:--\S+(?:\s+[^-\s]\S*)?\s+)*bedrock-runtime\s+(converse-stream|invoke-model-with-response-stream)\b",
    )
    .expect("static regex")
});

fn is_shell(lang: Option<&str>) -> bool {
    matches!(lang, Some("bash" | "sh" | "shell" | "zsh"))
}

/// What to use instead, per command.
fn instead(command: &str) -> &'static str {
    if command == "converse-stream" {
        "stream with boto3 (`client.converse_stream(...)`, reading `response['stream']`) or an SDK (Rust: `client.converse_stream()`); a CLI step can show the whole answer with `aws bedrock-runtime converse`"
    } else {
        "stream with boto3 (`client.invoke_model_with_response_stream(...)`, reading `response['body']`) or an SDK (Rust: `client.invoke_model_with_response_stream()`); a CLI step can show the whole answer with `aws bedrock-runtime invoke-model`"
    }
}

/// One error per line outside shell blocks that tells students to run a
/// streaming Bedrock command with the AWS CLI.
pub fn check(page: &LabPage, text: &str) -> Vec<Diagnostic> {
    let shell_lines: Vec<(usize, usize)> = page
        .blocks
        .iter()
        .filter(|b| is_shell(b.lang.as_deref()))
        .map(|b| (b.line, b.line + b.text.lines().count() + 1))
        .collect();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if shell_lines.iter().any(|&(s, e)| n >= s && n <= e) {
            continue;
        }
        let Some(c) = STREAMING_CLI.captures(line) else {
            continue;
        };
        let command = &c[1];
        let msg = format!(
            "the page tells students to run `aws bedrock-runtime {command}`, but the AWS CLI has no streaming Bedrock commands (neither v1 nor v2)"
        );
        out.push(
            Diagnostic::new(Severity::Error, "aws-cli-no-streaming", msg, &page.path)
                .at(text, n, Some(&c[0]))
                .note("the CLI answers `aws: error: argument operation: Invalid choice`")
                .help(instead(command)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_and_non_shell_blocks_are_reported_shell_blocks_left_to_aws_rs() {
        let text = "# L\n\nRun `aws bedrock-runtime converse-stream --model-id m`.\n\n```console\n$ aws --region us-east-1 bedrock-runtime invoke-model-with-response-stream --body x out\n```\n\n```bash\naws bedrock-runtime converse-stream --model-id m\n```\n\nThen `aws bedrock-runtime converse` works.\n";
        let page = LabPage::parse("lab.md", text).expect("page");
        let found = check(&page, text);
        let lines: Vec<usize> = found.iter().map(|d| d.line).collect();
        assert_eq!(lines, [3, 6]);
        assert!(found.iter().all(|d| d.code == "aws-cli-no-streaming"));
    }
}
