//! Hostile student workspaces graded against the seed lab: each is graded to
//! completion, the report gives the reason, and nothing the script did
//! reaches outside its trial (src/sandbox, docs/grading.md).
//!
//! The workspaces are made at run time from `tests/fixtures/grade/correct`,
//! with an `invoke_bedrock.py` that names this run's paths and markers.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use labcheck::grade::{self, GradeOptions, GradeReport, GradeState};

use common::{assert_no_process_with, repo, unique_marker};

fn lab() -> PathBuf {
    repo().join("labs/4.1-invoke-fm-via-bedrock")
}

/// A copy of the correct workspace with `invoke_bedrock.py` replaced.
fn hostile_workspace(script: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().expect("workspace");
    let correct = repo().join("tests/fixtures/grade/correct");
    for entry in std::fs::read_dir(&correct).expect("fixture").flatten() {
        std::fs::copy(entry.path(), ws.path().join(entry.file_name())).expect("copy fixture");
    }
    std::fs::write(ws.path().join("invoke_bedrock.py"), script).expect("write script");
    ws
}

fn grade_ws(ws: &Path) -> GradeReport {
    let options = GradeOptions {
        workspace: ws.to_path_buf(),
        speed: 1.0,
        netguard: Default::default(),
        clients: common::clients(),
        sandbox: Default::default(),
    };
    grade::grade(&lab(), &options).expect("graded")
}

const BEDROCK_CALL: &str = r#"
import boto3, json
client = boto3.client('bedrock-runtime', region_name='us-east-1')
response = client.invoke_model(
    modelId='us.anthropic.claude-sonnet-4-6',
    contentType='application/json',
    accept='application/json',
    body=json.dumps({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "temperature": 0.7,
        "messages": [{"role": "user", "content": "Explain RAG in 3 sentences."}]
    })
)
print(json.loads(response['body'].read())['content'][0]['text'])
"#;

#[test]
fn writes_outside_the_workspace_each_fail_and_leave_nothing() {
    let name = unique_marker("labcheck-hostile-write");
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let mut targets = vec![
        home,
        PathBuf::from("/tmp"),
        PathBuf::from("/var/tmp"),
        repo(),
    ];
    if let Ok(root) = common::clients().root() {
        targets.push(root.to_path_buf());
    }
    let list: Vec<String> = targets
        .iter()
        .map(|t| format!("{:?}", t.display().to_string()))
        .collect();
    let script = format!(
        r#"import sys
wrote = []
for target in [{}]:
    try:
        with open(target + "/{name}", "w") as f:
            f.write("x")
        wrote.append(target)
        print("WROTE " + target, file=sys.stderr)
    except OSError as e:
        print("denied " + target + ": " + type(e).__name__, file=sys.stderr)
sys.exit(3)
"#,
        list.join(", ")
    );
    let ws = hostile_workspace(&script);
    let r = grade_ws(ws.path());
    assert_eq!(r.items[2].state, GradeState::Unticked, "{r:#?}");
    let why = r.items[2].reasons.join("\n");
    assert!(why.contains("got exit code 3"), "{why}");
    for t in &targets {
        assert!(
            why.contains(&format!("denied {}", t.display())),
            "{}: {why}",
            t.display()
        );
        assert!(!t.join(&name).exists(), "{} appeared", t.display());
    }
    assert!(!why.contains("WROTE"), "{why}");
    assert!(
        !r.sandbox.is_empty() && !r.sandbox.contains(&"none".to_string()),
        "{r:#?}"
    );
}

#[test]
fn a_detached_child_does_not_outlive_grading() {
    let name = unique_marker("labcheck-hostile-detached");
    let script = format!(
        r#"import subprocess
child = subprocess.Popen(["bash", "-c", "exec -a {name} sleep 300"],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("detached child", child.pid)
{BEDROCK_CALL}"#
    );
    let ws = hostile_workspace(&script);
    let r = grade_ws(ws.path());
    // The script did what the page asks too: the child is no reason to fail.
    assert_eq!(r.items[2].state, GradeState::Ticked, "{r:#?}");
    // Pids printed inside the sandbox are namespace-local: look for the marker.
    assert_no_process_with(&name, "survived grading");
}

#[test]
fn printing_without_end_is_truncated_and_the_report_says_so() {
    // ~24 MiB of short lines, then the expected text: it is past the cap,
    // so dropped, and the failure shows the marker in the stdout tail.
    let script = format!(
        "import sys\nchunk = ('a' * 1023 + '\\n') * 1024\nfor _ in range(24):\n    sys.stdout.write(chunk)\n{BEDROCK_CALL}"
    );
    let ws = hostile_workspace(&script);
    let r = grade_ws(ws.path());
    assert_eq!(r.items[2].state, GradeState::Unticked, "{r:#?}");
    let why = r.items[2].reasons.join("\n");
    assert!(why.contains("[labcheck: output truncated:"), "{why}");
}

/// Issue 9: a script that closes its output and sleeps 300 s under a 2 s step
/// limit fails at its limit, and grading returns well before the sleep ends.
/// The seed lab is copied with a 2 s limit on the python step it grades.
#[test]
fn closing_output_and_sleeping_fails_at_the_step_limit() {
    let lab_copy = tempfile::tempdir().expect("lab copy");
    let lab_dir = lab_copy.path().join("4.1-invoke-fm-via-bedrock");
    labcheck::copy::copy_tree(&lab(), &lab_dir, &Default::default()).expect("copy lab");
    let toml = std::fs::read_to_string(lab_dir.join("lab.toml")).expect("lab.toml");
    let step = "id = \"python-invoke\"\nkind = \"python\"\n";
    assert!(
        toml.contains(step),
        "the seed lab's python-invoke step moved"
    );
    let toml = toml.replacen(step, &format!("{step}timeout = \"2s\"\n"), 1);
    std::fs::write(lab_dir.join("lab.toml"), toml).expect("write lab.toml");
    let name = unique_marker("labcheck-hostile-sleeper");
    let ws = hostile_workspace(&format!(
        "import os\n\
         os.close(1)\nos.close(2)\n\
         os.execvp('sleep', ['{name}', '300'])\n"
    ));
    let options = GradeOptions {
        workspace: ws.path().to_path_buf(),
        speed: 1.0,
        netguard: Default::default(),
        clients: common::clients(),
        sandbox: Default::default(),
    };
    let started = Instant::now();
    let r = grade::grade(&lab_dir, &options).expect("graded");
    let took = started.elapsed();
    // Generous: only a grader that waits for the sleep comes near it.
    assert!(took < Duration::from_secs(60), "grading took {took:?}");
    assert_eq!(r.items[2].state, GradeState::Unticked, "{r:#?}");
    let why = r.items[2].reasons.join("\n");
    assert!(why.contains("time limit"), "{why}");
    assert_no_process_with(&name, "the sleeper survived");
}
