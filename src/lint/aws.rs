//! AWS CLI invocations that fail, or behave differently, under CLI v2 than v1
//! (BEDROCK-WIRE §6): blob parameters (`--body` of `invoke-model`) are sent
//! raw by v1 and base64-decoded by v2; `--cli-binary-format` exists only in
//! v2; neither CLI has the streaming operations.

use super::commands::Src;
use super::shell::Word;
use crate::diagnostic::{Diagnostic, Severity};

/// Global flags that take no value.
const GLOBAL_SWITCHES: [&str; 7] = [
    "--debug",
    "--no-verify-ssl",
    "--no-paginate",
    "--no-sign-request",
    "--no-cli-pager",
    "--cli-auto-prompt",
    "--no-cli-auto-prompt",
];

/// An `aws` command line, read: service, operation, options and positionals.
#[derive(Debug, Default)]
pub struct AwsCall<'a> {
    pub service: Option<&'a Word>,
    pub operation: Option<&'a Word>,
    /// `(--name word, value)`; `value` is `None` for switches.
    pub options: Vec<(&'a Word, Option<&'a str>)>,
    pub positionals: Vec<&'a Word>,
}

impl<'a> AwsCall<'a> {
    /// Reads `argv` (starting with `aws`).
    pub fn parse(argv: &'a [Word]) -> AwsCall<'a> {
        let mut call = AwsCall::default();
        let mut i = 1;
        while i < argv.len() {
            let w = &argv[i];
            if let Some(opt) = w.text.strip_prefix("--").filter(|_| !w.quoted) {
                if let Some((_, value)) = opt.split_once('=') {
                    call.options.push((w, Some(value)));
                } else if GLOBAL_SWITCHES.contains(&w.text.as_str())
                    || argv
                        .get(i + 1)
                        .is_none_or(|n| n.text.starts_with("--") && !n.quoted)
                {
                    call.options.push((w, None));
                } else {
                    call.options.push((w, Some(argv[i + 1].text.as_str())));
                    i += 1;
                }
            } else if call.service.is_none() {
                call.service = Some(w);
            } else if call.operation.is_none() {
                call.operation = Some(w);
            } else {
                call.positionals.push(w);
            }
            i += 1;
        }
        call
    }

    pub fn option(&self, name: &str) -> Option<(&'a Word, Option<&'a str>)> {
        self.options
            .iter()
            .find(|(w, _)| w.text == name || w.text.split_once('=').is_some_and(|(n, _)| n == name))
            .copied()
    }
}

/// Diagnostics for one `aws …` command.
pub fn check(argv: &[Word], src: &Src<'_>) -> Vec<Diagnostic> {
    let call = AwsCall::parse(argv);
    let mut out = Vec::new();
    let (Some(service), Some(op)) = (call.service, call.operation) else {
        return out;
    };
    if service.text != "bedrock-runtime" {
        return out;
    }
    let diag = |sev, code, msg: String, word: &Word, needle: &str| {
        Diagnostic::new(sev, code, msg, src.file).at(src.text, word.line, Some(needle))
    };
    let op_name = op.text.as_str();
    if matches!(
        op_name,
        "invoke-model-with-response-stream" | "converse-stream"
    ) {
        let msg = format!("`aws bedrock-runtime {op_name}` exists in neither AWS CLI v1 nor v2");
        out.push(
            diag(Severity::Error, "aws-cli-missing-command", msg, op, op_name)
                .note("a CLI customization removes the streaming operations: `aws: error: argument operation: Invalid choice`")
                .help("stream with boto3 (`invoke_model_with_response_stream`, `converse_stream`) or an SDK"),
        );
        return out;
    }
    let binary_format = call.option("--cli-binary-format");
    if let Some((word, _)) = binary_format {
        let msg = "AWS CLI v1 does not know `--cli-binary-format`".to_string();
        out.push(
            diag(Severity::Error, "aws-cli-v1-option", msg, word, "--cli-binary-format")
                .note("v1 stops before sending anything: `Unknown options: --cli-binary-format, raw-in-base64-out`")
                .help("pass the body as `--body fileb://body.json`: v1 and v2 both send the file's bytes unchanged"),
        );
    }
    if op_name != "invoke-model" {
        return out;
    }
    if call.positionals.is_empty() {
        let msg = "`aws bedrock-runtime invoke-model` without an output file".to_string();
        out.push(
            diag(Severity::Error, "aws-cli-missing-outfile", msg, op, op_name)
                .note("both CLIs require the outfile argument: `aws: error: the following arguments are required: outfile`")
                .help("end the command with a file name, e.g. `output.json`"),
        );
    }
    let Some((body_word, Some(body))) = call.option("--body") else {
        return out;
    };
    if binary_format.is_some() || body.starts_with("fileb://") || body.starts_with('$') {
        return out;
    }
    let fix = "write the JSON to `body.json` and pass `--body fileb://body.json` (v1 and v2 send it unchanged)";
    if body.starts_with("file://") {
        let msg = "AWS CLI v2 base64-decodes a `--body file://…` blob".to_string();
        out.push(
            diag(Severity::Error, "aws-cli-v2-blob", msg, body_word, "--body")
                .note("v1 sends the file's text; v2 fails before any request with `aws: [ERROR]: Invalid base64: \"{…\"` (exit 255)")
                .help(fix),
        );
    } else if looks_base64(body) {
        let msg = "AWS CLI v1 sends a base64 `--body` as is".to_string();
        out.push(
            diag(Severity::Error, "aws-cli-v1-blob", msg, body_word, "--body")
                .note("v2 decodes it, v1 does not: under v1 the model receives base64 text and Bedrock answers `ValidationException`")
                .help(fix),
        );
    } else {
        let msg =
            "AWS CLI v2 rejects raw JSON in `--body`: blob parameters are base64 in v2".to_string();
        out.push(
            diag(Severity::Error, "aws-cli-v2-blob", msg, body_word, "--body")
                .note("v1 sends it as is; v2 fails before any request with `aws: [ERROR]: Invalid base64: \"{…\"` (exit 255)")
                .help(fix),
        );
    }
    out
}

fn looks_base64(s: &str) -> bool {
    s.len() >= 16
        && s.len().is_multiple_of(4)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::shell::split;

    #[test]
    fn parses_options_and_positionals() {
        let cmds = split(
            "aws --debug bedrock-runtime invoke-model --model-id m --body fileb://b.json out.json\n",
            1,
        );
        let call = AwsCall::parse(&cmds[0].words);
        assert_eq!(
            call.service.map(|w| w.text.as_str()),
            Some("bedrock-runtime")
        );
        assert_eq!(
            call.operation.map(|w| w.text.as_str()),
            Some("invoke-model")
        );
        assert_eq!(
            call.option("--body").and_then(|(_, v)| v),
            Some("fileb://b.json")
        );
        assert_eq!(call.positionals.len(), 1);
    }
}
