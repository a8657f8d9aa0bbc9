//! Checks of the commands in a `bash`/`sh` block: Windows cmd and PowerShell
//! commands that do not work in bash, and tools a fresh Linux machine lacks
//! under the name used (`python`, `pip`, `jq`, the AWS CLI itself). AWS CLI
//! invocations are handed to [`super::aws`].

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::shell::Command;
use crate::diagnostic::{Diagnostic, Severity};

/// What earlier blocks of the page did, in page order.
#[derive(Debug, Default)]
pub struct ShellState {
    /// A `. .venv/bin/activate` ran: `python` and `pip` now exist.
    pub venv_active: bool,
    /// The "install the AWS CLI" note was given once.
    aws_noted: bool,
}

/// Where diagnostics point: the page and its text.
pub struct Src<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Src<'_> {
    fn diag(
        &self,
        sev: Severity,
        code: &str,
        msg: String,
        line: usize,
        needle: &str,
    ) -> Diagnostic {
        Diagnostic::new(sev, code, msg, self.file).at(self.text, line, Some(needle))
    }
}

static CMD_VAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"%[A-Z_][A-Z0-9_]+%").expect("static regex"));
static PS_CMDLET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(Get|Set|New|Remove|Invoke|Write|Out|Select|ConvertTo|ConvertFrom|Test|Start|Add|Import|Export)-[A-Z][A-Za-z]+$")
        .expect("static regex")
});

/// Windows cmd built-ins and their POSIX replacement.
const CMD_BUILTINS: [(&str, &str); 6] = [
    ("copy", "cp"),
    ("del", "rm"),
    ("erase", "rm"),
    ("move", "mv"),
    ("ren", "mv"),
    ("cls", "clear"),
];

impl ShellState {
    /// A page that states the AWS CLI versions it needs gets no install note.
    pub fn new(page_text: &str) -> ShellState {
        ShellState {
            venv_active: false,
            aws_noted: AWS_CLI_STATED.is_match(page_text),
        }
    }
}

static AWS_CLI_STATED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"AWS CLI[^\n|]*?(?:≥|>=)\s*\d").expect("static regex"));

/// Diagnostics for one command of a shell block.
pub fn check(cmd: &Command, state: &mut ShellState, src: &Src<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for w in &cmd.words {
        if w.text.contains("$env:") || w.text.contains("$Env:") {
            let msg = "PowerShell variable `$env:` in a bash block".to_string();
            out.push(
                src.diag(Severity::Error, "powershell", msg, w.line, "$env:")
                    .note("bash expands `$env` (empty) and keeps `:NAME`")
                    .help("write `$NAME` to read and `export NAME=value` to set"),
            );
        } else if let Some(m) = CMD_VAR.find(&w.text) {
            let msg = format!("Windows cmd variable `{}` in a bash block", m.as_str());
            let name = m.as_str().trim_matches('%');
            out.push(
                src.diag(Severity::Error, "windows-cmd", msg, w.line, m.as_str())
                    .note("bash does not expand `%NAME%`: the text is passed on literally")
                    .help(format!("write `${name}`")),
            );
        }
    }
    let argv = cmd.argv();
    let Some(first) = argv.first() else {
        return out;
    };
    let name = first.text.as_str();
    let line = first.line;
    let arg = |i: usize| argv.get(i).map(|w| w.text.as_str());
    match name {
        "type" if arg(1).is_some_and(|a| a.contains('.') || a.contains('/')) => {
            let file = arg(1).unwrap_or_default();
            let msg = format!("`type {file}` is the Windows cmd command to print a file");
            out.push(
                src.diag(Severity::Error, "windows-cmd", msg, line, "type")
                    .note(format!("in bash `type` looks up command names: `bash: type: {file}: not found`, exit status 1, and the file is never shown"))
                    .help(format!("use `cat {file}`")),
            );
        }
        "set" if arg(1).is_some_and(|a| a.contains('=') && !a.starts_with('-')) => {
            let msg = "`set NAME=value` is the Windows cmd way to set a variable".to_string();
            out.push(
                src.diag(Severity::Error, "windows-cmd", msg, line, "set")
                    .note("in bash it replaces the positional parameters; the variable stays unset")
                    .help("use `export NAME=value`"),
            );
        }
        "dir" => {
            let msg = "`dir` is a Windows cmd habit".to_string();
            out.push(
                src.diag(Severity::Warning, "windows-cmd", msg, line, "dir")
                    .note("GNU `dir` exists but takes none of cmd's switches (`/s`, `/b`)")
                    .help("use `ls`"),
            );
        }
        _ => {}
    }
    if let Some((_, posix)) = CMD_BUILTINS.iter().find(|(c, _)| *c == name) {
        let msg = format!("`{name}` is a Windows cmd command, not available in bash");
        out.push(
            src.diag(Severity::Error, "windows-cmd", msg, line, name)
                .note(format!("bash: {name}: command not found (exit status 127)"))
                .help(format!("use `{posix}`")),
        );
    }
    if PS_CMDLET.is_match(name) {
        let msg = format!("`{name}` is a PowerShell cmdlet, not available in bash");
        out.push(
            src.diag(Severity::Error, "powershell", msg, line, name)
                .note(format!("bash: {name}: command not found (exit status 127)"))
                .help("write the bash equivalent (`cat`, `curl`, `export`…)"),
        );
    }
    tools(argv, state, src, &mut out);
    if name == "aws" {
        out.extend(super::aws::check(argv, src));
    }
    out
}

fn tools(
    argv: &[super::shell::Word],
    state: &mut ShellState,
    src: &Src<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let name = argv[0].text.as_str();
    let line = argv[0].line;
    let arg = |i: usize| argv.get(i).map(|w| w.text.as_str());
    match name {
        "." | "source" if arg(1).is_some_and(|a| a.ends_with("bin/activate")) => {
            state.venv_active = true;
        }
        "python" if !state.venv_active => {
            let msg = "`python` is not a command on a fresh Debian or Ubuntu".to_string();
            out.push(
                src.diag(Severity::Error, "python-not-found", msg, line, "python")
                    .note("`bash: python: command not found` (exit status 127) unless `python-is-python3` is installed")
                    .help(format!(
                        "use `python3{}`",
                        argv[1..].iter().map(|w| format!(" {}", w.text)).collect::<String>()
                    )),
            );
        }
        "pip" | "pip3" if !state.venv_active => {
            let msg = format!("`{name}` outside a virtualenv fails on a fresh Debian or Ubuntu");
            out.push(
                src.diag(Severity::Warning, "pip-system", msg, line, name)
                    .note("there is no `pip` without the `python3-pip` package, and `pip install` into the system python stops with `error: externally-managed-environment` (PEP 668)")
                    .help("create and activate a virtualenv first: `python3 -m venv .venv` then `. .venv/bin/activate` (Debian/Ubuntu: package `python3-venv`)"),
            );
        }
        "python3" if !state.venv_active && arg(1) == Some("-m") && arg(2) == Some("pip") => {
            let msg = "`python3 -m pip` outside a virtualenv fails on a fresh Debian or Ubuntu"
                .to_string();
            out.push(
                src.diag(Severity::Warning, "pip-system", msg, line, "python3")
                    .note("`No module named pip`, or `error: externally-managed-environment` (PEP 668)")
                    .help("create and activate a virtualenv first: `python3 -m venv .venv` then `. .venv/bin/activate`"),
            );
        }
        "jq" => {
            let msg = "`jq` is not installed on a fresh Linux machine".to_string();
            out.push(
                src.diag(Severity::Warning, "tool-missing", msg, line, "jq")
                    .note("`bash: jq: command not found` (exit status 127)")
                    .help("say how to install it (`sudo apt-get install jq`), or print with `cat`"),
            );
        }
        "aws" if !state.aws_noted => {
            state.aws_noted = true;
            let msg = "the AWS CLI is not preinstalled on a fresh Linux machine".to_string();
            out.push(
                src.diag(Severity::Info, "aws-cli-install", msg, line, "aws")
                    .note("Debian 12's `awscli` package (2.9.19) predates `bedrock-runtime`: `aws: error: argument command: Invalid choice`")
                    .help("name the versions the lab needs: AWS CLI v2 >= 2.13.23 or v1 >= 1.29.57 (bedrock-runtime), newer for `converse`"),
            );
        }
        _ => {}
    }
}
