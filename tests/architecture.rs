//! The shape of the library, checked: the graph of top-level modules (every
//! `crate::` path in `src/`, not only `use` lines) has no cycle and matches
//! the dependency table of `docs/architecture.md`; and no module but
//! `settings` (and the binary's `main.rs`) reads the environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Rust source with comments, string and char literals blanked out (kept as
/// spaces so nothing joins), so only code is searched.
fn code_only(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{..}'); otherwise a lifetime.
            if next == Some('\\') {
                // Quote, backslash, the escaped char; then up to the close.
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(' ');
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_at(chars: &[char], mut i: usize) -> (String, usize) {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    let start = i;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

/// The top-level modules named by every `crate::` path in `code`: inline
/// paths (`crate::grade::copy(…)`), `use crate::x::…` and groups
/// (`use crate::{a, b::{c, d}}` names `a` and `b`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let chars: Vec<char> = code.chars().collect();
    let text: String = chars.iter().collect();
    let mut found = BTreeSet::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("crate::") {
        let byte = from + pos;
        from = byte + "crate::".len();
        // `$crate::` (macros) and `labcheck_crate::` are not this crate's paths.
        if text[..byte]
            .chars()
            .next_back()
            .is_some_and(|p| p.is_alphanumeric() || p == '_' || p == '$')
        {
            continue;
        }
        let i = text[..from].chars().count();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        if chars.get(j) == Some(&'{') {
            // A group: the first identifier of each top-level item.
            let mut depth = 0;
            let mut expect_item = true;
            j += 1;
            while j < chars.len() {
                match chars[j] {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect_item = true,
                    c if expect_item && (c.is_alphanumeric() || c == '_') => {
                        let (name, end) = ident_at(&chars, j);
                        if name != "self" {
                            found.insert(name);
                        }
                        expect_item = false;
                        j = end;
                        continue;
                    }
                    _ => {}
                }
                j += 1;
            }
        } else {
            let (name, _) = ident_at(&chars, j);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The top-level modules `src/lib.rs` declares.
fn modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(repo().join("src/lib.rs")).expect("lib.rs");
    code_only(&lib)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

/// Which top-level module of the library a file under `src/` belongs to;
/// `None` for the binaries (`main.rs`, `cli.rs`, `bin/`) and `lib.rs`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!["main", "cli", "bin", "lib"].contains(&name.as_str())).then_some(name)
}

/// The library's module graph: module → the modules it names.
fn graph() -> Graph {
    let src = repo().join("src");
    let modules = modules();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for file in rust_files(&src) {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let code = code_only(&std::fs::read_to_string(&file).expect("read"));
        for target in crate_paths(&code) {
            if target != module && modules.contains(&target) {
                graph.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    graph
}

/// A cycle in `graph`, as `a -> b -> a`, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|n| n == node).expect("on path");
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph();
    assert!(graph.len() > 10, "modules found: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "module cycle: {} (hint: see docs/architecture.md for the direction of each dependency)",
            cycle.join(" -> ")
        );
    }
}

/// The dependency table of docs/architecture.md: rows
/// `| \`crate::x\` | what it owns | \`a\`, \`b\` |`.
fn documented() -> Graph {
    let doc = std::fs::read_to_string(repo().join("docs/architecture.md"))
        .expect("docs/architecture.md exists");
    let mut table = Graph::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let Some(module) = cells[1]
            .strip_prefix("`crate::")
            .and_then(|m| m.strip_suffix('`'))
        else {
            continue;
        };
        let uses = cells[3]
            .split(',')
            .map(|u| u.trim().trim_matches('`').to_string())
            .filter(|u| !u.is_empty() && u != "—")
            .collect();
        table.insert(module.to_string(), uses);
    }
    table
}

#[test]
fn docs_architecture_lists_every_module_and_dependency() {
    let actual = graph();
    let doc = documented();
    let mut problems = Vec::new();
    for (module, uses) in &actual {
        match doc.get(module) {
            None => problems.push(format!("`crate::{module}` has no row")),
            Some(documented) if documented != uses => problems.push(format!(
                "`crate::{module}` uses {:?} in src/ but the doc says {:?}",
                uses, documented
            )),
            Some(_) => {}
        }
    }
    for module in doc.keys() {
        if !actual.contains_key(module) {
            problems.push(format!(
                "`crate::{module}` is documented but not in src/lib.rs"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/architecture.md is out of date:\n  {}",
        problems.join("\n  ")
    );
}

/// Code that reads the environment: `env::var`, `env::var_os`, `env::vars`,
/// `env::vars_os`, in any spelling (`std::env::var(`, `use std::env::{var}`).
fn reads_env(code: &str) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = ["env::var", "var_os", "env::vars", "vars_os"]
        .into_iter()
        .filter(|p| code.contains(p))
        .collect();
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let mut from = 0;
    while let Some(pos) = compact[from..].find("env::{") {
        let start = from + pos + "env::{".len();
        let end = compact[start..]
            .find('}')
            .map_or(compact.len(), |e| start + e);
        if compact[start..end]
            .split(',')
            .any(|item| ["var", "vars"].contains(&item.split("as").next().unwrap_or(item)))
        {
            found.push("env::{var…}");
        }
        from = end;
    }
    found
}

#[test]
fn only_settings_and_main_read_the_environment() {
    let src = repo().join("src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).expect("under src");
        if rel.starts_with("settings") || rel == Path::new("main.rs") {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&file).expect("read"));
        let found = reads_env(&code);
        if !found.is_empty() {
            offenders.push(format!("src/{}: {}", rel.display(), found.join(", ")));
        }
    }
    assert!(
        offenders.is_empty(),
        "environment read outside src/settings (hint: add the variable to `labcheck::settings` and pass the value down):\n  {}",
        offenders.join("\n  ")
    );
}

// The checks above must be able to fail: their parts, on made-up input.

#[test]
fn crate_paths_are_found_inline_in_groups_and_not_in_comments_or_strings() {
    let code = code_only(
        r#"
use crate::spec::lab::Step;
use crate::{report::{Outcome, Status}, mode, self};
fn f() { crate::grade::copy_workspace(a, b); let s = "crate::fake"; }
// crate::commented
/* crate::blocked */
let c = '"'; crate::after_char::x();
macro_rules! m { () => { $crate::macro_path } }
"#,
    );
    let found: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(found, ["after_char", "grade", "mode", "report", "spec"]);
}

#[test]
fn a_cycle_is_found_and_named() {
    let graph: Graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph).expect("cycle").join(" -> "),
        "a -> b -> c -> a"
    );
    let acyclic: Graph = [("a", vec!["b"]), ("b", vec![]), ("c", vec!["a", "b"])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(find_cycle(&acyclic), None);
}

#[test]
fn every_spelling_of_an_env_read_is_caught() {
    for code in [
        "let x = std::env::var(\"A\");",
        "let x = env::var_os(\"A\");",
        "for (k, v) in std::env::vars() {}",
        "std::env::vars_os()",
        "use std::env::{self, var};",
        "use std::env::{args, vars as all};",
    ] {
        assert!(!reads_env(&code_only(code)).is_empty(), "{code}");
    }
    for code in [
        "std::env::temp_dir()",
        "std::env::split_paths(&p)",
        "// std::env::var(\"A\")",
        "let s = \"env::var\";",
    ] {
        assert!(reads_env(&code_only(code)).is_empty(), "{code}");
    }
}
