//! Authoring: `labcheck new` on the bundled Markdown labs' pages (copied
//! without their lab.toml) writes a lab.toml that loads, binds every
//! checklist item, and lists the committed lab's trials but for the
//! differences pinned in `snapshots/new-trials-*.snap`; the messages an
//! author reads are pinned too.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::repo;
use labcheck::plan::{self, Selection};

const LABS: [&str; 2] = ["4.1-invoke-fm-via-bedrock", "4.2-converse-api"];

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

fn trial_names(dir: &Path) -> Vec<String> {
    let labs = [dir.to_path_buf()];
    let plan = plan::plan_names_only(Selection {
        labs: &labs,
        page_override: None,
    });
    assert!(plan.broken.is_empty(), "{:?}", plan.broken);
    plan.trials.into_iter().map(|t| t.name).collect()
}

/// A copy of a bundled lab's page alone, in a directory of the lab's name.
fn page_only(lab: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Two levels down, as in the repository, so a lab's `snapshot`
    // expectation looks in the temp dir's `snapshots/`, not beside it.
    let dir = tmp.path().join("labs").join(lab);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(
        repo().join("labs").join(lab).join("lab.md"),
        dir.join("lab.md"),
    )
    .expect("copy");
    (tmp, dir)
}

fn labcheck() -> Command {
    Command::cargo_bin("labcheck").expect("binary")
}

/// Reviewed differences (snapshots/new-trials-*.snap): 4.1's four `sdk-*`
/// steps are not on the page (the Rust SDK cross-checks an author added), and
/// 4.2's `python-converse-system` is an id its author chose where `new`
/// derives `python-converse` from the file name `converse_bedrock.py`.
#[test]
fn new_on_the_bundled_pages_matches_the_committed_labs() {
    for lab in LABS {
        let (_tmp, dir) = page_only(lab);
        let out = labcheck().arg("new").arg(&dir).output().expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let loaded = labcheck::spec::load_lab(&dir).expect("the generated lab.toml loads");
        for item in &loaded.checklist {
            assert!(
                loaded.steps.iter().any(|s| s.proves.contains(&item.index)),
                "{lab}: item {} unbound",
                item.index
            );
        }
        let committed = trial_names(&repo().join("labs").join(lab));
        let generated = trial_names(&dir);
        let mut diff = String::new();
        for name in &committed {
            if !generated.contains(name) {
                diff.push_str(&format!("- {name}\n"));
            }
        }
        for name in &generated {
            if !committed.contains(name) {
                diff.push_str(&format!("+ {name}\n"));
            }
        }
        snap!(format!("new-trials-{lab}"), diff);
        let toml = std::fs::read_to_string(dir.join("lab.toml")).expect("written");
        snap!(format!("new-lab-toml-{lab}"), toml);
    }
}

/// `labcheck new` on a notebook page (no `lab.md`): one `notebook` step per
/// section with code cells, each running the notebook from its first cell
/// (state carries), every checklist item bound; with the lab's own cassettes
/// every generated trial passes in a real kernel.
#[test]
fn new_on_a_notebook_page_writes_notebook_steps_that_run() {
    let lab = "6.1-bedrock-notebook";
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("labs").join(lab);
    common::copy_dir(&repo().join("labs").join(lab), &dir);
    std::fs::remove_file(dir.join("lab.toml")).expect("rm lab.toml");
    let out = labcheck().arg("new").arg(&dir).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = labcheck::spec::load_lab(&dir).expect("the generated lab.toml loads");
    for item in &loaded.checklist {
        assert!(
            loaded.steps.iter().any(|s| s.proves.contains(&item.index)),
            "item {} unbound",
            item.index
        );
    }
    let names = trial_names(&dir);
    assert!(
        !names.is_empty() && names.iter().all(|n| n.ends_with("::kernel")),
        "{names:?}"
    );
    let toml = std::fs::read_to_string(dir.join("lab.toml")).expect("written");
    snap!("new-lab-toml-notebook", toml);
    assert_eq!(run_failures(&dir), Vec::<String>::new());
}

#[test]
fn new_never_overwrites_without_force() {
    let (tmp, dir) = page_only(LABS[1]);
    std::fs::write(dir.join("lab.toml"), "# mine\n").expect("write");
    let out = labcheck().arg("new").arg(&dir).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.join("lab.toml")).expect("kept"),
        "# mine\n"
    );
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&tmp.path().display().to_string(), "[TMP]");
    snap!("new-exists", stderr);
    let out = labcheck()
        .args(["new", "--force"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&tmp.path().display().to_string(), "[TMP]");
    snap!("new-written", stderr);
}

#[test]
fn new_refuses_a_page_with_nothing_to_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        tmp.path().join("lab.md"),
        "# Read only\n\n```json\n{}\n```\n\n- [ ] read it\n",
    )
    .expect("write");
    let out = labcheck()
        .arg("new")
        .arg(tmp.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("lab.toml").exists());
    snap!("new-no-steps", String::from_utf8_lossy(&out.stderr));
}

fn lint_codes(dir: &Path) -> Vec<labcheck::lint::Diagnostic> {
    let options = labcheck::lint::LintOptions::bundled(
        labcheck::cassette::age::parse_day("2026-11-27").expect("date"),
    )
    .expect("model table");
    labcheck::lint::lint_paths(&[dir.to_path_buf()], &options).expect("lint runs")
}

/// Every failure of every trial, with the trial name.
fn run_failures(dir: &Path) -> Vec<String> {
    let results = tempfile::tempdir().expect("results");
    common::run(&common::config(dir, results.path()), "")
        .iter()
        .flat_map(|o| o.failures.iter().map(move |f| format!("{}: {f}", o.trial)))
        .collect()
}

#[test]
fn capture_writes_skeletons_every_client_replays_and_lint_reports_until_filled() {
    // The generated lab.toml of 4.2: boto3 (Converse, ConverseStream, Nova
    // InvokeModel) and both AWS CLIs.
    let (tmp, dir) = page_only(LABS[1]);
    assert!(
        labcheck()
            .arg("new")
            .arg(&dir)
            .output()
            .expect("new")
            .status
            .success()
    );
    let out = labcheck()
        .arg("capture")
        .arg(&dir)
        .output()
        .expect("capture");
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&tmp.path().display().to_string(), "[TMP]");
    assert!(out.status.success(), "{stderr}");
    snap!("capture-written", stderr);
    let failures = run_failures(&dir);
    assert!(failures.is_empty(), "{failures:#?}");
    // Again: nothing is missing, nothing is added.
    let out = labcheck()
        .arg("capture")
        .arg(&dir)
        .output()
        .expect("capture again");
    snap!(
        "capture-nothing-to-add",
        String::from_utf8_lossy(&out.stderr)
    );
    // Unfilled: lint fails on each placeholder, naming the interaction.
    let found = lint_codes(&dir);
    let placeholders: Vec<_> = found
        .iter()
        .filter(|d| d.code == "cassette-placeholder")
        .collect();
    assert_eq!(placeholders.len(), 4, "{found:#?}");
    let converse = dir.join("cassettes/converse.json");
    let one: Vec<_> = placeholders
        .iter()
        .filter(|d| d.file == converse)
        .cloned()
        .cloned()
        .collect();
    let text =
        labcheck::lint::render_text(&one).replace(&tmp.path().display().to_string(), "[TMP]");
    snap!("lint-cassette-placeholder", text);
    // Filled in: lint is clean of them and the lab still passes.
    for f in std::fs::read_dir(dir.join("cassettes")).expect("dir") {
        let path = f.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(
            &path,
            text.replace(labcheck::cassette::PLACEHOLDER, "Bedrock says"),
        )
        .expect("write");
    }
    let found = lint_codes(&dir);
    assert!(
        !found.iter().any(|d| d.code == "cassette-placeholder"),
        "{found:#?}"
    );
    assert!(
        !found
            .iter()
            .any(|d| d.severity == labcheck::lint::Severity::Error),
        "{found:#?}"
    );
    assert!(run_failures(&dir).is_empty());
}

#[test]
fn capture_answers_parse_in_the_rust_sdk_and_every_client_of_the_seed_lab() {
    // The committed 4.1 lab.toml (Rust SDK invoke, invoke-stream, converse,
    // converse-stream, the emulated console, both CLIs, boto3) on no cassettes.
    let (_tmp, dir) = page_only(LABS[0]);
    std::fs::copy(
        repo().join("labs").join(LABS[0]).join("lab.toml"),
        dir.join("lab.toml"),
    )
    .expect("copy");
    let out = labcheck()
        .arg("capture")
        .arg(&dir)
        .output()
        .expect("capture");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every failure left is about the text the committed expectations pin
    // (the placeholder is not the model's answer), none about the exchange.
    for f in run_failures(&dir) {
        assert!(
            f.contains("expected to contain")
                || f.contains("at JSON pointer")
                || f.contains("snapshot"),
            "{f}"
        );
        assert!(!f.contains("no interaction"), "{f}");
    }
}

/// One raw InvokeModel request; returns the status line.
fn invoke(addr: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST /model/us.anthropic.claude-sonnet-4-6/invoke HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer test\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(head.as_bytes()).expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).expect("read");
    out.lines().next().unwrap_or_default().to_string()
}

#[test]
fn serve_log_prints_one_line_per_request_as_it_is_answered() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .args([
            "serve",
            "labs/4.1-invoke-fm-via-bedrock",
            "--speed",
            "0",
            "--log",
        ])
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let first = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .expect("a line")
        .expect("utf-8");
    let addr = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .expect("endpoint")
        .to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("a log line")
    };
    let hit = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"temperature":0.7,"messages":[{"role":"user","content":"Explain RAG in 3 sentences."}]}"#;
    assert!(invoke(&addr, hit).contains("200"));
    let hit_line = next();
    assert!(invoke(&addr, "{}").contains("400"));
    let miss_line = next();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!hit_line.contains('\u{1b}'), "NO_COLOR: {hit_line:?}");
    snap!("serve-log", format!("{hit_line}\n{miss_line}\n"));
}

#[test]
fn lint_says_the_aws_cli_has_no_streaming_commands() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let page = tmp.path().join("lab.md");
    std::fs::write(
        &page,
        "# Streaming\n\nIn a terminal, run `aws bedrock-runtime converse-stream --model-id us.amazon.nova-lite-v1:0`.\n\n```console\n$ aws bedrock-runtime invoke-model-with-response-stream --model-id us.amazon.nova-lite-v1:0 --body fileb://b.json out.json\n```\n\n```bash\naws bedrock-runtime converse-stream --model-id us.amazon.nova-lite-v1:0 --messages '[]'\n```\n",
    )
    .expect("write");
    let found: Vec<_> = lint_codes(&page)
        .into_iter()
        .filter(|d| d.code == "aws-cli-no-streaming" || d.code == "aws-cli-missing-command")
        .collect();
    let mut lines: Vec<(usize, &str)> = found.iter().map(|d| (d.line, d.code.as_str())).collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            (3, "aws-cli-no-streaming"),
            (6, "aws-cli-no-streaming"),
            (10, "aws-cli-missing-command")
        ]
    );
    let text =
        labcheck::lint::render_text(&found).replace(&tmp.path().display().to_string(), "[TMP]");
    snap!("lint-aws-cli-no-streaming", text);
}

#[test]
fn a_lab_run_against_another_page_reports_every_broken_reference_at_once() {
    let labs = [repo().join("labs/4.1-invoke-fm-via-bedrock")];
    let original = repo().join("tests/fixtures/original/lab.md");
    let plan = plan::plan_names_only(Selection {
        labs: &labs,
        page_override: Some(&original),
    });
    let (_, error) = plan
        .broken
        .first()
        .expect("the corrected lab.toml does not fit the original page");
    assert_eq!(error.matches("error[spec/").count(), 2, "{error}");
    snap!(
        "page-override-broken-references",
        error.replace(&repo().display().to_string(), "[REPO]")
    );
}
