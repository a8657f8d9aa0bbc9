//! What a code block is, guessed from its language and text: a Bedrock call
//! through the AWS CLI, a boto3 script, a Rust SDK call, a console prompt, a
//! command that runs a script, set-up, or something labcheck does not run.
//! Every guess is only a proposal: `render` writes a comment beside it.

use std::sync::LazyLock;

use regex::Regex;

use crate::ids::Operation;

/// What one block of the page looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Guess {
    /// A shell block calling `aws …`.
    Cli {
        /// The first `bedrock-runtime` subcommand, e.g. `invoke-model`.
        command: Option<String>,
        operation: Option<Operation>,
        model: Option<String>,
    },
    /// A python block (boto3 or not).
    Python {
        boto3: bool,
        operation: Option<Operation>,
        model: Option<String>,
    },
    /// A Rust block calling aws-sdk-bedrockruntime.
    Rust {
        operation: Option<Operation>,
        model: Option<String>,
        /// The first string literal that parses as a JSON object (invoke body).
        body: Option<String>,
        /// The first `.text("…")` literal (converse prompt).
        prompt: Option<String>,
        /// `.guardrail_identifier("…")` and `.guardrail_version("…")`
        /// (apply-guardrail, or a converse call's guardrail config).
        guardrail: Option<(String, String)>,
    },
    /// A shell block whose only command runs `python`/`python3 <file>.py`.
    RunsScript { file: String },
    /// A shell block that installs things (venv, pip): labcheck provisions them.
    Setup,
    /// A block without a language in a section about the console Playground.
    ConsolePrompt,
    /// Anything else: not run, with the reason.
    Skip(&'static str),
}

static MODEL_ARG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:modelId\s*=\s*|--model-id[ =]+|model_id\(\s*)["']?([A-Za-z0-9._:/-]+)"#)
        .expect("static regex")
});
static RUNS_SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*python3?\s+([A-Za-z0-9_./-]+\.py)\s*$").expect("static regex")
});
static AWS_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)(?:^|[;&|(]\s*|\$\(\s*)aws\s+(?:--\S+\s+)*([a-z0-9-]+)(?:\s+([a-z0-9-]+))?")
        .expect("static regex")
});
static RUST_STRING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r##"r#"((?s:.*?))"#|"((?:[^"\\]|\\.)*)""##).expect("static regex"));
static RUST_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\.text\(\s*"((?:[^"\\]|\\.)*)"\s*\)|ContentBlock::Text\(\s*"((?:[^"\\]|\\.)*)""#)
        .expect("static regex")
});

/// Guesses what `text`, a block in language `lang`, is. `console_section`
/// says whether its section (heading or prose) is about the console.
pub(crate) fn classify(lang: Option<&str>, text: &str, console_section: bool) -> Guess {
    let lang = lang.map(str::to_ascii_lowercase);
    match lang.as_deref() {
        Some("python" | "py" | "python3") => Guess::Python {
            boto3: text.contains("boto3"),
            operation: sdk_operation(text, PYTHON_CALLS),
            model: model_of(text),
        },
        Some("rust" | "rs") => rust(text),
        Some("bash" | "sh" | "shell" | "zsh") => shell(text),
        Some("console" | "shell-session" | "terminal") => Guess::Skip(
            "a terminal transcript (prompts and output): labcheck runs `bash` blocks; write the commands as one",
        ),
        None | Some("text" | "txt" | "plaintext") if console_section => Guess::ConsolePrompt,
        None | Some("text" | "txt" | "plaintext") => {
            Guess::Skip("no language and not in a console section: text for the student to read")
        }
        Some("json") => Guess::Skip("a JSON document, not a program"),
        Some(
            "powershell" | "ps1" | "pwsh" | "cmd" | "bat" | "batch" | "javascript" | "js"
            | "typescript" | "ts" | "java" | "go" | "yaml" | "yml" | "toml",
        ) => Guess::Skip("a language labcheck does not run (only bash, python and Rust)"),
        Some(_) => Guess::Skip("a language labcheck does not run (only bash, python and Rust)"),
    }
}

fn shell(text: &str) -> Guess {
    let commands: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if let [only] = commands.as_slice()
        && let Some(c) = RUNS_SCRIPT.captures(only)
    {
        return Guess::RunsScript {
            file: c[1].to_string(),
        };
    }
    let mut aws = AWS_COMMAND.captures_iter(text).peekable();
    if aws.peek().is_some() {
        let mut command = None;
        for c in aws {
            if &c[1] == "bedrock-runtime" {
                command = c.get(2).map(|m| m.as_str().to_string());
                break;
            }
        }
        let operation = command.as_deref().and_then(cli_operation);
        return Guess::Cli {
            command,
            operation,
            model: model_of(text),
        };
    }
    let setup = [
        "pip install",
        "pip3 install",
        "-m venv",
        "activate",
        "apt",
        "brew ",
    ];
    if commands.iter().all(|c| setup.iter().any(|s| c.contains(s))) && !commands.is_empty() {
        return Guess::Setup;
    }
    Guess::Skip("a shell block with no `aws` command: no Bedrock call to check")
}

fn rust(text: &str) -> Guess {
    let body = RUST_STRING.captures_iter(text).find_map(|c| {
        let raw = c.get(1).or_else(|| c.get(2))?.as_str();
        let unescaped = raw.replace("\\\"", "\"").replace("\\n", "\n");
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&unescaped)
            .ok()
            .map(|_| unescaped)
    });
    let prompt = RUST_TEXT.captures(text).and_then(|c| {
        c.get(1)
            .or_else(|| c.get(2))
            .map(|m| m.as_str().replace("\\\"", "\""))
    });
    Guess::Rust {
        operation: sdk_operation(text, RUST_CALLS),
        model: model_of(text),
        body,
        prompt,
        guardrail: guardrail_of(text),
    }
}

/// The guardrail a Rust block names: `.guardrail_identifier("id")` and
/// `.guardrail_version("1")`, both needed.
fn guardrail_of(text: &str) -> Option<(String, String)> {
    static ARG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\.guardrail_(identifier|version)\(\s*"([^"\\]+)"\s*\)"#)
            .expect("static regex")
    });
    let find = |which: &str| {
        ARG.captures_iter(text)
            .find(|c| &c[1] == which)
            .map(|c| c[2].to_string())
    };
    Some((find("identifier")?, find("version")?))
}

/// Method names per operation, longest first so `invoke_model` does not
/// shadow `invoke_model_with_response_stream`.
const PYTHON_CALLS: &[(&str, Operation)] = &[
    (
        ".invoke_model_with_response_stream(",
        Operation::InvokeModelWithResponseStream,
    ),
    (".invoke_model(", Operation::InvokeModel),
    (".converse_stream(", Operation::ConverseStream),
    (".converse(", Operation::Converse),
];
const RUST_CALLS: &[(&str, Operation)] = &[
    (".apply_guardrail()", Operation::ApplyGuardrail),
    (
        ".invoke_model_with_response_stream()",
        Operation::InvokeModelWithResponseStream,
    ),
    (".invoke_model()", Operation::InvokeModel),
    (".converse_stream()", Operation::ConverseStream),
    (".converse()", Operation::Converse),
];

fn sdk_operation(text: &str, calls: &[(&str, Operation)]) -> Option<Operation> {
    calls
        .iter()
        .find(|(name, _)| text.contains(name))
        .map(|(_, op)| *op)
}

/// The operation an `aws bedrock-runtime <command>` calls.
pub(crate) fn cli_operation(command: &str) -> Option<Operation> {
    match command {
        "invoke-model" => Some(Operation::InvokeModel),
        "invoke-model-with-response-stream" => Some(Operation::InvokeModelWithResponseStream),
        "converse" => Some(Operation::Converse),
        "converse-stream" => Some(Operation::ConverseStream),
        _ => None,
    }
}

/// The first model id the code passes (`modelId=`, `--model-id`, `.model_id(`).
pub(crate) fn model_of(text: &str) -> Option<String> {
    MODEL_ARG.captures(text).map(|c| c[1].to_string())
}

/// The region the code names (`region_name=`, `--region`, `Region::new(`).
pub(crate) fn region_of(text: &str) -> Option<String> {
    static REGION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?:region_name\s*=\s*|--region[ =]+|Region::new\(\s*)["']?([a-z]{2}(?:-[a-z]+)+-\d)"#)
            .expect("static regex")
    });
    REGION.captures(text).map(|c| c[1].to_string())
}

/// The last `` `name.py` `` the prose before a block mentions.
pub(crate) fn file_named(prose: &str, ext: &str) -> Option<String> {
    static TICKED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"`([A-Za-z0-9_./-]+)`").expect("static regex"));
    TICKED
        .captures_iter(prose)
        .map(|c| c[1].to_string())
        .filter(|name| name.ends_with(ext) && !name.contains(' '))
        .last()
}

/// A step id from a script file name: `invoke_bedrock.py` → `invoke`,
/// `converse_stream_bedrock.py` → `converse-stream` (the `bedrock` word
/// says nothing in a Bedrock lab).
pub(crate) fn id_from_file(file: &str) -> String {
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".py");
    let words: Vec<String> = stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("bedrock"))
        .map(str::to_ascii_lowercase)
        .collect();
    words.join("-")
}

/// A step id from a CLI subcommand: `invoke-model` → `invoke`.
pub(crate) fn id_from_command(command: &str) -> String {
    command
        .replace("-model-with-response-stream", "-stream")
        .trim_end_matches("-model")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_blocks() {
        let cli = classify(
            Some("bash"),
            "aws bedrock-runtime invoke-model \\\n  --model-id us.x.y-v1:0 \\\n  out.json\n",
            false,
        );
        assert_eq!(
            cli,
            Guess::Cli {
                command: Some("invoke-model".into()),
                operation: Some(Operation::InvokeModel),
                model: Some("us.x.y-v1:0".into()),
            }
        );
        assert_eq!(
            classify(Some("bash"), "python3 invoke.py\n", false),
            Guess::RunsScript {
                file: "invoke.py".into()
            }
        );
        assert_eq!(
            classify(
                Some("bash"),
                "python3 -m venv .venv\n. .venv/bin/activate\npip install boto3\n",
                false
            ),
            Guess::Setup
        );
        assert!(matches!(
            classify(Some("bash"), "ls -l\n", false),
            Guess::Skip(_)
        ));
    }

    #[test]
    fn python_and_rust_blocks() {
        let py = "import boto3\nc.invoke_model_with_response_stream(modelId='m.x', body=b)\n";
        assert_eq!(
            classify(Some("python"), py, false),
            Guess::Python {
                boto3: true,
                operation: Some(Operation::InvokeModelWithResponseStream),
                model: Some("m.x".into()),
            }
        );
        let rs = "client.converse().model_id(\"us.amazon.nova-lite-v1:0\")\n  .messages(Message::builder().content(ContentBlock::Text(\"Hi \\\"there\\\"\".into())))\n  .send().await?;\n";
        assert_eq!(
            classify(Some("rust"), rs, false),
            Guess::Rust {
                operation: Some(Operation::Converse),
                model: Some("us.amazon.nova-lite-v1:0".into()),
                body: None,
                prompt: Some("Hi \"there\"".into()),
                guardrail: None,
            }
        );
        let guard = "let response = client\n    .apply_guardrail()\n    .guardrail_identifier(\"gr7labdemo01\")\n    .guardrail_version(\"1\")\n    .content(GuardrailContentBlock::Text(GuardrailTextBlock::builder().text(\"Which stocks?\").build()?))\n    .send().await?;\n";
        assert_eq!(
            classify(Some("rust"), guard, false),
            Guess::Rust {
                operation: Some(Operation::ApplyGuardrail),
                model: None,
                body: None,
                prompt: Some("Which stocks?".into()),
                guardrail: Some(("gr7labdemo01".into(), "1".into())),
            }
        );
    }

    #[test]
    fn names() {
        assert_eq!(
            id_from_file("converse_stream_bedrock.py"),
            "converse-stream"
        );
        assert_eq!(id_from_file("invoke_nova.py"), "invoke-nova");
        assert_eq!(id_from_command("invoke-model"), "invoke");
        assert_eq!(id_from_command("converse"), "converse");
        assert_eq!(
            file_named("Tạo file `a.txt` rồi `invoke_bedrock.py`:", ".py").as_deref(),
            Some("invoke_bedrock.py")
        );
        assert_eq!(
            region_of("x = boto3.client('bedrock-runtime', region_name='eu-west-1')").as_deref(),
            Some("eu-west-1")
        );
    }
}
