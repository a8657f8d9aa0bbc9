//! `client-too-old`: a page that pins or suggests a client older than what
//! the page itself uses. `pip install boto3==1.28.57` and then
//! `client.converse(…)` fails on the student's machine with
//! `AttributeError: 'BedrockRuntime' object has no attribute 'converse'`;
//! an AWS CLI too old for `converse` answers `argument operation: Invalid
//! choice`. The minimum versions are those of the release that added each
//! operation to the client's service model ([`FEATURES`], sources beside
//! each row and in docs/lint.md).

use std::cmp::Ordering;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::{Diagnostic, Severity};

/// A dotted version, compared number by number (`1.34` = `1.34.0`).
#[derive(Debug, Clone)]
pub struct Version(Vec<u64>);

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(Version)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        (0..n)
            .map(|i| {
                let a = self.0.get(i).copied().unwrap_or(0);
                let b = other.0.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// An operation a page may use, and the first client releases that have it.
#[derive(Debug)]
pub struct Feature {
    /// What the message calls it (`converse`).
    pub name: &'static str,
    /// A python call of it (`.converse(`), as a regex.
    python: &'static str,
    /// The `aws <service> <command>` that calls it.
    cli: &'static str,
    pub boto3: &'static str,
    pub botocore: &'static str,
    /// AWS CLI v1 (`awscli` on PyPI); none when no course uses it there.
    pub cli_v1: Option<&'static str>,
    /// AWS CLI v2.
    pub cli_v2: Option<&'static str>,
    /// When the operation reached the clients, and where that is written.
    pub source: &'static str,
}

/// What a course uses that has a minimum client version. boto3 and botocore
/// share their version numbers from 1.33 on; before, boto3 1.28.x went with
/// botocore 1.31.x.
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "invoke_model",
        python: r"\.invoke_model(?:_with_response_stream)?\s*\(",
        cli: "bedrock-runtime invoke-model",
        boto3: "1.28.57",
        botocore: "1.31.57",
        cli_v1: Some("1.29.57"),
        cli_v2: Some("2.13.23"),
        source: "Bedrock Runtime (InvokeModel, InvokeModelWithResponseStream) reached botocore 1.31.57, AWS CLI 1.29.57 and 2.13.23 on 2023-09-28 (their .changes/ files)",
    },
    Feature {
        name: "converse",
        python: r"\.converse(?:_stream)?\s*\(",
        cli: "bedrock-runtime converse",
        boto3: "1.34.116",
        botocore: "1.34.116",
        cli_v1: Some("1.32.116"),
        cli_v2: Some("2.15.61"),
        source: "Converse and ConverseStream reached botocore 1.34.116, AWS CLI 1.32.116 and 2.15.61 on 2024-05-30 (their .changes/ files)",
    },
    Feature {
        name: "apply_guardrail",
        python: r"\.apply_guardrail\s*\(",
        cli: "bedrock-runtime apply-guardrail",
        boto3: "1.34.143",
        botocore: "1.34.143",
        cli_v1: None,
        cli_v2: None,
        source: "ApplyGuardrail is in botocore 1.34.143's bedrock-runtime model, not in 1.34.142's (2024-07-10)",
    },
    Feature {
        name: "list_inference_profiles",
        python: r"\.(?:list_inference_profiles|get_inference_profile)\s*\(",
        cli: "bedrock list-inference-profiles",
        boto3: "1.35.7",
        botocore: "1.35.7",
        cli_v1: None,
        cli_v2: None,
        source: "ListInferenceProfiles is in botocore 1.35.7's bedrock model, not in 1.35.6's (2024-08-27)",
    },
];

static PYTHON: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    FEATURES
        .iter()
        .map(|f| Regex::new(f.python).expect("static regex"))
        .collect()
});
/// `boto3==1.28.57`, `botocore>=1.31`, `awscli<1.30`, `boto3 ≥ 1.28.57`.
static PIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(boto3|botocore|awscli)\s*(===|==|~=|>=|≥|<=|≤|<|>)\s*([0-9]+(?:\.[0-9]+)*)")
        .expect("static regex")
});
/// The AWS CLI v2 installer of one version.
static CLI_V2: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:awscli-exe-linux-[a-z0-9_]+-|AWSCLIV2-)(2\.[0-9]+\.[0-9]+)\.(?:zip|pkg)")
        .expect("static regex")
});

/// Which client a pin constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Boto3,
    Botocore,
    CliV1,
    CliV2,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Boto3 => "boto3",
            Client::Botocore => "botocore",
            Client::CliV1 => "AWS CLI v1 (`awscli`)",
            Client::CliV2 => "AWS CLI v2",
        }
    }

    fn needs(self, f: &Feature) -> Option<&'static str> {
        match self {
            Client::Boto3 => Some(f.boto3),
            Client::Botocore => Some(f.botocore),
            Client::CliV1 => f.cli_v1,
            Client::CliV2 => f.cli_v2,
        }
    }

    fn python(self) -> bool {
        matches!(self, Client::Boto3 | Client::Botocore)
    }
}

/// Every pin or suggestion in `text` older than what the page uses.
pub fn check(file: &Path, text: &str) -> Vec<Diagnostic> {
    let lines: Vec<&str> = text.lines().collect();
    // First line using each feature, from python and from the CLI.
    let mut python_use: Vec<Option<usize>> = vec![None; FEATURES.len()];
    let mut cli_use: Vec<Option<usize>> = vec![None; FEATURES.len()];
    for (i, line) in lines.iter().enumerate() {
        for (k, f) in FEATURES.iter().enumerate() {
            if python_use[k].is_none() && PYTHON[k].is_match(line) {
                python_use[k] = Some(i + 1);
            }
            if cli_use[k].is_none() && cli_calls(line, f.cli) {
                cli_use[k] = Some(i + 1);
            }
        }
    }
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut pins: Vec<(Client, &str, &str, String)> = Vec::new();
        for c in PIN.captures_iter(line) {
            let client = match c[1].to_ascii_lowercase().as_str() {
                "boto3" => Client::Boto3,
                "botocore" => Client::Botocore,
                _ => Client::CliV1,
            };
            let op = c.get(2).map_or("", |m| m.as_str());
            let version = c.get(3).map_or("", |m| m.as_str());
            pins.push((client, op, version, c[0].to_string()));
        }
        for c in CLI_V2.captures_iter(line) {
            let version = c.get(1).map_or("", |m| m.as_str());
            pins.push((Client::CliV2, "==", version, c[0].to_string()));
        }
        for (client, op, version, written) in pins {
            let Some(pinned) = Version::parse(version) else {
                continue;
            };
            let uses = if client.python() {
                &python_use
            } else {
                &cli_use
            };
            // The most demanding feature the page uses that this pin excludes.
            let worst = FEATURES
                .iter()
                .zip(uses.iter())
                .filter_map(|(f, used)| Some((f, (*used)?, client.needs(f)?)))
                .filter_map(|(f, used, need)| Some((f, used, need, Version::parse(need)?)))
                .filter(|(_, _, _, need)| excludes(op, &pinned, need))
                .max_by(|a, b| a.3.cmp(&b.3));
            let Some((f, used, need, _)) = worst else {
                continue;
            };
            let upper = matches!(op, "<" | "<=" | "≤");
            let message = if upper {
                format!(
                    "`{written}` rules out what this page uses: `{}` needs {} ≥ {need}",
                    f.name,
                    client.name()
                )
            } else {
                format!(
                    "`{written}` is too old for this page: `{}` needs {} ≥ {need}",
                    f.name,
                    client.name()
                )
            };
            let how = if client.python() {
                format!("calls `{}`", f.name)
            } else {
                format!("runs `aws {}`", f.cli)
            };
            let help = match client {
                Client::CliV2 => format!(
                    "install AWS CLI v2 {need} or newer (the unversioned `awscli-exe-linux-x86_64.zip` is the newest)"
                ),
                Client::CliV1 => format!("pin `awscli>={need}`"),
                _ => format!("pin `{}>={need}`", client.name()),
            };
            let mut d = Diagnostic::new(Severity::Error, "client-too-old", message, file)
                .at(text, i + 1, Some(&written))
                .note(format!("line {used} {how}"))
                .note(format!("source: {}", f.source));
            if op.starts_with('>') || op == "≥" || op == "~=" {
                d = d.note(
                    "a lower bound this low lets an old install already on the machine satisfy it",
                );
            }
            out.push(d.help(help));
        }
    }
    out
}

/// Whether the constraint `op pinned` allows no version at or above `need`
/// (an upper bound), or allows versions below it (a pin or lower bound).
fn excludes(op: &str, pinned: &Version, need: &Version) -> bool {
    match op {
        "<" => pinned <= need,
        "<=" | "≤" => pinned < need,
        _ => pinned < need,
    }
}

/// Whether `line` runs `aws <service> <command>` (words, not substrings;
/// global options before the service skipped with their values).
fn cli_calls(line: &str, command: &str) -> bool {
    const SWITCHES: [&str; 5] = [
        "--debug",
        "--no-verify-ssl",
        "--no-paginate",
        "--no-sign-request",
        "--no-cli-pager",
    ];
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(a) = words.iter().position(|w| *w == "aws") else {
        return false;
    };
    let mut rest = Vec::new();
    let mut i = a + 1;
    while i < words.len() && rest.len() < 2 {
        let w = words[i];
        if w.starts_with("--") {
            if !SWITCHES.contains(&w) && !w.contains('=') {
                i += 1; // its value
            }
        } else {
            rest.push(w);
        }
        i += 1;
    }
    rest == command.split(' ').collect::<Vec<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_number_by_number() {
        let v = |s| Version::parse(s).expect("version");
        assert!(v("1.34.116") > v("1.34.99"));
        assert!(v("1.35") > v("1.34.116"));
        assert_eq!(v("1.34"), v("1.34.0"));
        assert!(Version::parse("1.x").is_none());
        assert!(excludes("==", &v("1.28.57"), &v("1.34.116")));
        assert!(!excludes(">=", &v("1.34.116"), &v("1.34.116")));
        assert!(excludes("<", &v("1.34.116"), &v("1.34.116")));
        assert!(!excludes("<=", &v("1.34.116"), &v("1.34.116")));
        assert!(cli_calls(
            "aws --region us-east-1 bedrock-runtime converse \\",
            "bedrock-runtime converse"
        ));
        assert!(!cli_calls(
            "aws bedrock-runtime converse-stream",
            "bedrock-runtime converse"
        ));
    }

    #[test]
    fn a_pin_older_than_the_calls_is_an_error_with_the_needed_version() {
        let page = "```bash\npip install boto3==1.28.57\n```\n\n```python\nr = client.converse(modelId=m, messages=[])\n```\n";
        let found = check(Path::new("lab.md"), page);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "`boto3==1.28.57` is too old for this page: `converse` needs boto3 ≥ 1.34.116"
        );
        // Recent enough, or nothing that needs more: silent.
        assert!(check(Path::new("lab.md"), &page.replace("1.28.57", "1.34.116")).is_empty());
        assert!(
            check(
                Path::new("lab.md"),
                &page.replace("converse", "invoke_model")
            )
            .is_empty()
        );
    }
}
