//! Plain-language explanations for failures a course author meets again and
//! again: a tool missing under the name the page uses, AWS CLI v2's base64
//! blobs, a Windows command in a bash block, a model past end of life.
//!
//! These read the step's stderr and add a sentence; they never decide pass or
//! fail (the expectations do).

/// One known failure pattern and what it means for the lab.
struct Pattern {
    /// Substring of stderr that identifies it.
    needle: &'static str,
    explain: fn(&str) -> String,
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        needle: "Invalid base64",
        explain: |_| {
            "AWS CLI v2 reads `--body` as base64, so raw JSON fails before any request is sent; \
             write the body to a file and pass `--body fileb://body.json` (works under v1 and v2)"
                .into()
        },
    },
    Pattern {
        needle: "reached the end of its life",
        explain: |_| {
            "the model id has reached end of life on Bedrock: replace it with a current model or \
             inference-profile id (see data/models.toml)"
                .into()
        },
    },
    Pattern {
        needle: "with on-demand throughput isn",
        explain: |_| {
            "this model cannot be called on demand in this region: use its inference-profile id \
             (e.g. `us.` + the model id)"
                .into()
        },
    },
    Pattern {
        needle: "command not found",
        explain: |stderr| {
            let tool = stderr
                .lines()
                .find(|l| l.contains("command not found"))
                .and_then(|l| l.split(": command not found").next())
                .and_then(|l| l.rsplit(": ").next())
                .unwrap_or("a command");
            match tool {
                "python" | "pip" => format!(
                    "a fresh Linux machine has no `{tool}` command, only `{tool}3`: write `{tool}3` in the page"
                ),
                other => {
                    format!("`{other}` is not installed under that name on a fresh Linux machine")
                }
            }
        },
    },
    Pattern {
        needle: "bash: type: ",
        explain: |_| {
            "`type FILE` prints a file on Windows cmd; in bash `type` describes commands and fails: \
             use `cat FILE`"
                .into()
        },
    },
];

/// Explanations for every known pattern found in `stderr`, in a stable order.
pub fn explain(stderr: &str) -> Vec<String> {
    PATTERNS
        .iter()
        .filter(|p| stderr.contains(p.needle))
        .map(|p| (p.explain)(stderr))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_not_found_suggests_python3() {
        let got = explain("/tmp/x/.labcheck-step.sh: line 3: python: command not found\n");
        assert_eq!(
            got,
            [
                "a fresh Linux machine has no `python` command, only `python3`: write `python3` in the page"
            ]
        );
    }

    #[test]
    fn other_tool_not_found_is_named() {
        let got = explain("bash: line 9: jq: command not found");
        assert_eq!(
            got,
            ["`jq` is not installed under that name on a fresh Linux machine"]
        );
    }

    #[test]
    fn cli_v2_base64_and_eol() {
        assert_eq!(explain("aws: [ERROR]: Invalid base64: \"{\n").len(), 1);
        let eol = explain(
            "An error occurred (ResourceNotFoundException) when calling the InvokeModel operation: This model version has reached the end of its life.",
        );
        assert!(eol[0].contains("end of life"), "{eol:?}");
    }

    #[test]
    fn unrelated_stderr_has_no_explanation() {
        assert!(explain("warning: something else").is_empty());
    }
}
