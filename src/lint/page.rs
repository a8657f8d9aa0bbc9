//! Checks of one `lab.md` as a student on a fresh Linux machine reads it:
//! shell blocks command by command ([`super::commands`]), python code that is
//! never named or never run, `boto3` used but never installed, and model ids
//! and console model names ([`super::models`]).

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::commands::{self, ShellState, Src};
use super::models::{self, ModelTable};
use super::shell;
use crate::content::{CodeBlock, LabPage};
use crate::diagnostic::{Diagnostic, Severity};

static PY_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([^`\s]+\.py)`").expect("static regex"));
static BOTO3_STATED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"boto3\s*(?:≥|>=)\s*\d").expect("static regex"));
static REGION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:--region[ =]|region_name\s*=\s*['"])([a-z]{2}(?:-[a-z]+)+-\d)"#)
        .expect("static regex")
});

fn is_shell(lang: Option<&str>) -> bool {
    matches!(lang, Some("bash" | "sh" | "shell" | "zsh"))
}

fn is_python(lang: Option<&str>) -> bool {
    matches!(lang, Some("python" | "py" | "python3"))
}

/// Lines a block occupies: its opening fence to its closing fence.
fn span(block: &CodeBlock) -> (usize, usize) {
    (block.line, block.line + block.text.lines().count() + 1)
}

/// All page checks. `region` is the lab's region (blocks naming one win).
pub fn check(page: &LabPage, text: &str, region: &str, table: &ModelTable) -> Vec<Diagnostic> {
    let src = Src {
        file: &page.path,
        text,
    };
    let mut out = Vec::new();
    let blocks: Vec<&CodeBlock> = page.blocks.iter().collect();

    // Shell blocks, in page order; remember which scripts are run where. In
    // a notebook, also the `!command` lines of code cells.
    let notebook = page.notebook.is_some();
    let mut state = ShellState::new(text);
    let mut runs: Vec<(String, usize)> = Vec::new();
    let mut installs_boto3 = false;
    for b in &blocks {
        let cmds = if is_shell(b.lang.as_deref()) {
            shell::split(&b.text, b.line + 1)
        } else if notebook && is_python(b.lang.as_deref()) {
            let (cmds, magic) = super::notebook::bang_commands(b);
            runs.extend(magic.runs.iter().cloned());
            installs_boto3 |= magic.installs_boto3;
            out.extend(magic.diagnostics(src.file, text));
            cmds
        } else {
            continue;
        };
        for cmd in cmds {
            let argv = cmd.argv();
            if let Some(first) = argv.first() {
                let name = first.text.as_str();
                if name.starts_with("python")
                    && let Some(script) = argv[1..].iter().find(|w| w.text.ends_with(".py"))
                {
                    runs.push((script.text.clone(), first.line));
                }
                let words: Vec<&str> = argv.iter().map(|w| w.text.as_str()).collect();
                if words.contains(&"install")
                    && words.iter().any(|w| w.starts_with("boto3") || *w == "-r")
                {
                    installs_boto3 = true;
                }
            }
            out.extend(commands::check(&cmd, &mut state, &src));
        }
    }

    // Python blocks: named and run?
    let lines: Vec<&str> = text.lines().collect();
    let mut prev_end = 0;
    let mut boto3_reported = installs_boto3 || BOTO3_STATED.is_match(text);
    for b in &blocks {
        let (start, end) = span(b);
        if notebook {
            // Code cells run in the kernel: only `%%writefile` cells are scripts.
            out.extend(super::notebook::written_script_never_run(
                page, b, &runs, &src,
            ));
        } else if is_python(b.lang.as_deref()) && !b.text.trim_start().starts_with(">>>") {
            out.extend(script_name(b, &lines, prev_end, &runs, &src));
        }
        if is_python(b.lang.as_deref())
            && !b.text.trim_start().starts_with(">>>")
            && !boto3_reported
            && let Some(i) = b.text.lines().position(|l| {
                let l = l.trim_start();
                l.starts_with("import boto3") || l.starts_with("from boto3")
            })
        {
            boto3_reported = true;
            let msg = "the page imports `boto3` but never says to install it".to_string();
            let help = if notebook {
                "add a cell before it: `%pip install \"boto3>=1.34.116\"` (1.34.116 has Converse too)"
            } else {
                "add a bash block before it: `python3 -m venv .venv`, `. .venv/bin/activate`, `pip install \"boto3>=1.34.116\"` (1.34.116 has Converse too)"
            };
            out.push(
                        Diagnostic::new(Severity::Warning, "boto3-not-installed", msg, &page.path)
                            .at(text, start + 1 + i, Some("boto3"))
                            .note("a fresh Linux machine has no boto3: `ModuleNotFoundError: No module named 'boto3'`; Debian 12's `python3-boto3` (1.26.27) predates bedrock-runtime")
                            .help(help),
                    );
        }
        prev_end = end;
    }

    // Model ids everywhere; console model names in prose.
    let in_block: Vec<Option<&CodeBlock>> = (1..=lines.len())
        .map(|l| {
            blocks.iter().copied().find(|b| {
                let (s, e) = span(b);
                l > s && l < e
            })
        })
        .collect();
    let names = models::eol_names(table);
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    // One `model-unknown` per id and page, at its first line, naming them all.
    let mut unknown: Vec<(Diagnostic, String, Vec<usize>)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let block = in_block[i];
        let block_region = block
            .and_then(|b| REGION.captures(&b.text))
            .map(|c| c[1].to_string());
        let region = block_region.as_deref().unwrap_or(region);
        for found in models::find_ids(line) {
            if !seen.insert((n, found.id.clone())) {
                continue;
            }
            let Some(d) = models::check_id(table, &found, region, &page.path, text, n) else {
                continue;
            };
            if d.code != "model-unknown" {
                out.push(d);
            } else if let Some((_, _, lines)) =
                unknown.iter_mut().find(|(_, id, _)| *id == found.id)
            {
                lines.push(n);
            } else {
                unknown.push((d, found.id.clone(), vec![n]));
            }
        }
        let fence = line.trim_start().starts_with("```");
        if block.is_none()
            && !fence
            && let Some((name, row)) = models::find_eol_name(&names, line)
        {
            let when = row
                .eol_date
                .as_deref()
                .map_or(String::new(), |d| format!(" on {d}"));
            let msg =
                format!("the console no longer offers `{name}`: it reached end of life{when}");
            let mut d = Diagnostic::new(Severity::Error, "model-name-eol", msg, &page.path)
                .at(text, n, Some(name))
                .note(format!(
                    "`{}` (data/models.toml, checked {})",
                    row.id,
                    crate::cassette::age::format_day(table.checked)
                ));
            if let Some(r) = &row.replacement {
                d = d.help(format!("name the model of `{r}` instead"));
            }
            out.push(d);
        }
    }
    for (mut d, _, lines) in unknown {
        if lines.len() > 1 {
            d.message = match &page.notebook {
                None => {
                    let list: Vec<String> = lines.iter().map(ToString::to_string).collect();
                    format!("{} (used on lines {})", d.message, list.join(", "))
                }
                Some(nb) => {
                    let list: Vec<String> = lines
                        .iter()
                        .filter_map(|&l| nb.locate(l))
                        .map(|c| format!("cell {} line {}", c.number, c.line))
                        .collect();
                    format!("{} (used in {})", d.message, list.join(", "))
                }
            };
        }
        out.push(d);
    }
    out.sort_by_key(|d| (d.line, d.column));
    out
}

/// A python block's file name (backticked `x.py` between the previous block
/// and this one, or a `# x.py` first line) and whether a later command runs it.
fn script_name(
    b: &CodeBlock,
    lines: &[&str],
    prev_end: usize,
    runs: &[(String, usize)],
    src: &Src<'_>,
) -> Option<Diagnostic> {
    let before = lines.get(prev_end..b.line.saturating_sub(1)).unwrap_or(&[]);
    let from_text = before
        .iter()
        .rev()
        .find_map(|l| PY_NAME.captures(l).map(|c| c[1].to_string()));
    let from_comment = b.text.lines().next().and_then(|l| {
        let l = l.trim_start().strip_prefix('#')?.trim();
        let l = l.strip_prefix("file:").map_or(l, str::trim);
        l.ends_with(".py").then(|| l.to_string())
    });
    let fence = lines.get(b.line - 1).copied().unwrap_or("");
    let diag = |code, msg: String| {
        Diagnostic::new(Severity::Warning, code, msg, src.file).at(
            src.text,
            b.line,
            Some(fence.trim()),
        )
    };
    match from_text.or(from_comment) {
        None => {
            let run_later = runs.iter().any(|(_, l)| *l > b.line);
            let msg = if run_later {
                "python code with no file name: the page never says what to save it as"
            } else {
                "python code with no file name and no command that runs it"
            };
            Some(
                diag("unnamed-script", msg.to_string())
                    .help("name the file before the block (\"Create file `name.py`:\") and run it in a bash block after it (`python3 name.py`)"),
            )
        }
        Some(name) => {
            let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
            let run = runs
                .iter()
                .any(|(r, l)| *l > b.line && base(r) == base(&name));
            (!run).then(|| {
                diag(
                    "script-never-run",
                    format!("`{name}` is created but no later block runs it"),
                )
                .help(format!("add a bash block `python3 {name}` after it"))
            })
        }
    }
}
