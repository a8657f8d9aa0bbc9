//! Notebook steps end to end: student notebooks graded against lab 6.1 (each
//! mistake loses its own item, the failing cell named), saved outputs never
//! trusted, the kernel's streaming rule (a buffered print and a stream served
//! without delays both fail it), a hanging cell killed at its limit, and
//! `pip` cells that never reach the network.

mod common;

use std::path::{Path, PathBuf};

use labcheck::grade::{self, GradeOptions, GradeReport, GradeState};
use serde_json::{Value, json};

use GradeState::{Ticked, Unticked};
use common::repo;

fn lab(name: &str) -> PathBuf {
    repo().join("labs").join(name)
}

fn notebook(lab_name: &str) -> Value {
    let text = std::fs::read_to_string(lab(lab_name).join("lab.ipynb")).expect("lab notebook");
    serde_json::from_str(&text).expect("notebook JSON")
}

/// The cell whose id is `id`.
fn cell<'a>(nb: &'a mut Value, id: &str) -> &'a mut Value {
    nb["cells"]
        .as_array_mut()
        .expect("cells")
        .iter_mut()
        .find(|c| c["id"] == id)
        .expect("cell id")
}

fn set_source(nb: &mut Value, id: &str, source: &str) {
    cell(nb, id)["source"] = json!(source);
}

/// Writes `nb` as the student's notebook (under another name: grading
/// falls back to the workspace's only `.ipynb`) and grades it.
fn grade_nb(lab_name: &str, nb: &Value, speed: f64) -> GradeReport {
    let ws = tempfile::tempdir().expect("workspace");
    std::fs::write(ws.path().join("my-work.ipynb"), nb.to_string()).expect("write notebook");
    grade_dir(&lab(lab_name), ws.path(), speed)
}

fn grade_dir(lab_dir: &Path, ws: &Path, speed: f64) -> GradeReport {
    let options = GradeOptions {
        workspace: ws.to_path_buf(),
        speed,
        netguard: Default::default(),
        clients: common::clients(),
        sandbox: Default::default(),
    };
    grade::grade(lab_dir, &options).expect("graded")
}

fn states(r: &GradeReport) -> Vec<GradeState> {
    r.items.iter().map(|i| i.state).collect()
}

fn reasons(r: &GradeReport, index: usize) -> String {
    r.items[index - 1].reasons.join("\n")
}

#[test]
fn the_lab_notebook_handed_in_scores_full_marks_with_pip_satisfied_offline() {
    let r = grade_nb(
        "6.1-bedrock-notebook",
        &notebook("6.1-bedrock-notebook"),
        1.0,
    );
    assert_eq!(states(&r), [Ticked; 6], "{r:#?}");
    assert_eq!((r.score, r.max), (6, 6));
    // The `%pip install` cell ran in every trial, behind the guard, and
    // no trial reports a refused request.
    assert!(r.network_guard.iter().all(|g| !g.is_empty()), "{r:#?}");
    assert!(r.sandbox.iter().all(|s| s != "none"), "{r:#?}");
}

#[test]
fn wrong_model_missing_cell_and_saved_outputs_each_lose_their_item() {
    let mut nb = notebook("6.1-bedrock-notebook");
    // Item 1: the cell prints nothing now, but its saved outputs say what
    // the lab expects; they are never trusted.
    let invoke = cell(&mut nb, "invoke");
    invoke["source"] = json!("pass");
    invoke["execution_count"] = json!(3);
    invoke["outputs"] = json!([{
        "output_type": "stream", "name": "stdout",
        "text": "A foundation model is a large model trained on broad data\nstop_reason: end_turn\n"
    }]);
    // Item 2: a retired model id in the loop.
    let loop_source = cell(&mut nb, "loop")["source"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(Value::as_str)
        .collect::<String>()
        .replace(
            "[CLAUDE, NOVA]",
            "[CLAUDE, \"amazon.titan-text-express-v1\"]",
        );
    set_source(&mut nb, "loop", &loop_source);
    // Item 5: the tool-use cell deleted (later cells shift by one).
    nb["cells"]
        .as_array_mut()
        .expect("cells")
        .retain(|c| c["id"] != "tool");

    let r = grade_nb("6.1-bedrock-notebook", &nb, 1.0);
    assert_eq!(
        states(&r),
        [Unticked, Unticked, Ticked, Ticked, Unticked, Ticked],
        "{r:#?}"
    );
    let one = reasons(&r, 1);
    assert!(
        one.contains("cell 6: expected to contain \"A foundation model is a large model\""),
        "{one}"
    );
    assert!(one.contains("served requests"), "{one}");
    let two = reasons(&r, 2);
    assert!(two.contains("amazon.titan-text-express-v1"), "{two}");
    let five = reasons(&r, 5);
    assert!(
        five.contains("cell 14: the notebook has no cell (id `tool`) for lab cell 14"),
        "{five}"
    );
    // The display cell moved from 16 to 15 and is still found by its id.
    assert_eq!(r.items[5].state, Ticked, "{r:#?}");
}

#[test]
fn a_raising_cell_fake_prints_and_a_buffered_stream_each_lose_their_item() {
    let mut nb = notebook("6.1-bedrock-notebook");
    set_source(&mut nb, "invoke", "result = {}\nprint(1 / 0)");
    set_source(
        &mut nb,
        "chat",
        "answer = \"Cloud Crafters: building skills one service at a time.\"\nprint(\"Assistant: Cloud Crafters\")\nprint(\"Assistant:\", answer)",
    );
    set_source(
        &mut nb,
        "stream",
        "stream = bedrock.converse_stream(\n    modelId=CLAUDE,\n    messages=[{\"role\": \"user\", \"content\": [{\"text\": \"Explain in four short sentences why streaming helps chat applications.\"}]}],\n    inferenceConfig={\"maxTokens\": 300},\n)\ntext = \"\"\nfor event in stream[\"stream\"]:\n    if \"contentBlockDelta\" in event:\n        text += event[\"contentBlockDelta\"][\"delta\"][\"text\"]\n    elif \"messageStop\" in event:\n        text += \"\\nstopReason: \" + event[\"messageStop\"][\"stopReason\"]\nprint(text)\nprint(\"Wall time: 2 s\")",
    );
    let r = grade_nb("6.1-bedrock-notebook", &nb, 1.0);
    assert_eq!(
        states(&r),
        [Unticked, Ticked, Unticked, Unticked, Ticked, Unticked],
        "{r:#?}"
    );
    let one = reasons(&r, 1);
    assert!(
        one.contains("cell 6: raised ZeroDivisionError: division by zero"),
        "{one}"
    );
    assert!(
        one.contains("traceback (last line): ZeroDivisionError: division by zero"),
        "{one}"
    );
    for item in [3, 6] {
        let why = reasons(&r, item);
        assert!(why.contains("served requests"), "item {item}: {why}");
        assert!(why.contains("never called Bedrock"), "item {item}: {why}");
    }
    let four = reasons(&r, 4);
    assert!(
        four.contains("incremental output: cell 12 sent its output in 1 stream message(s)"),
        "{four}"
    );
}

#[test]
fn the_same_stream_served_without_delays_fails_the_streaming_item_only() {
    let r = grade_nb(
        "6.1-bedrock-notebook",
        &notebook("6.1-bedrock-notebook"),
        0.0,
    );
    assert_eq!(
        states(&r),
        [Ticked, Ticked, Ticked, Unticked, Ticked, Ticked],
        "{r:#?}"
    );
    let four = reasons(&r, 4);
    assert!(four.contains("the served stream lasted 0 ms"), "{four}");
}

#[test]
fn a_hanging_cell_is_killed_at_its_limit() {
    // Lab 6.2 with a 2 s cell limit; the student's template cell hangs in a
    // child process the test can find by its marker.
    let dir = tempfile::tempdir().expect("lab copy");
    let lab_dir = dir.path().join("6.2-notebook-prompt-templates");
    common::copy_dir(&lab("6.2-notebook-prompt-templates"), &lab_dir);
    let toml = std::fs::read_to_string(lab_dir.join("lab.toml")).expect("lab.toml");
    std::fs::write(
        lab_dir.join("lab.toml"),
        toml.replace("cell_timeout = \"20s\"", "cell_timeout = \"2s\""),
    )
    .expect("write");
    let marker = common::unique_marker("labcheck-nb-hang");
    let mut nb = notebook("6.2-notebook-prompt-templates");
    set_source(
        &mut nb,
        "template",
        &format!(
            "import subprocess\nsubprocess.run([\"/bin/sh\", \"-c\", \"sleep 300; : {marker}\"])"
        ),
    );
    let ws = tempfile::tempdir().expect("workspace");
    std::fs::write(ws.path().join("lab.ipynb"), nb.to_string()).expect("write");
    let started = std::time::Instant::now();
    let r = grade_dir(&lab_dir, ws.path(), 1.0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(states(&r), [Unticked, Unticked], "{r:#?}");
    let why = reasons(&r, 1);
    assert!(
        why.contains("cell 5: did not finish within 2s; the kernel was killed"),
        "{why}"
    );
    common::assert_no_process_with(&marker, "the hanging cell's process outlived its limit");
}

#[test]
fn pip_cells_for_unprovisioned_packages_raise_without_reaching_the_network() {
    let mut nb = notebook("6.2-notebook-prompt-templates");
    let client = cell(&mut nb, "client")["source"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(Value::as_str)
        .collect::<String>();
    set_source(
        &mut nb,
        "client",
        &format!("%pip install --quiet boto3\n!pip install langchain-aws==0.2.1\n{client}"),
    );
    let r = grade_nb("6.2-notebook-prompt-templates", &nb, 1.0);
    assert_eq!(states(&r), [Unticked, Unticked], "{r:#?}");
    let why = reasons(&r, 1);
    assert!(why.contains("cell 3: raised RuntimeError: labcheck: `!pip install langchain-aws==0.2.1` needs langchain-aws"), "{why}");
    // The guard refused nothing: pip was never started.
    assert!(!why.contains("network:"), "{why}");
}

#[test]
fn lab_python_packages_are_provisioned_into_their_own_slot_and_pip_for_them_is_offline() {
    // A small lab whose notebook needs a package labcheck does not ship:
    // `[lab] python` pins it, the `%pip` line for it is satisfied offline,
    // and the kernel imports it.
    let dir = tempfile::tempdir().expect("lab dir");
    let lab_dir = dir.path().join("nb-extra");
    std::fs::create_dir_all(lab_dir.join("cassettes")).expect("mkdir");
    let nb = json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# Extra packages\n\n## Verification\n\n- [ ] The table prints\n"},
        {"cell_type": "code", "id": "pip", "metadata": {}, "execution_count": null, "outputs": [],
         "source": "%pip install --quiet tabulate==0.9.0\nimport tabulate, boto3\nprint('tabulate', tabulate.__version__, 'boto3', boto3.__version__)"}
    ]});
    std::fs::write(lab_dir.join("lab.ipynb"), nb.to_string()).expect("write");
    std::fs::write(
        lab_dir.join("lab.toml"),
        "[lab]\ntitle = \"Extra packages\"\npage = \"lab.ipynb\"\npython = [\"tabulate==0.9.0\"]\n\n[[step]]\nid = \"table\"\nkind = \"notebook\"\nproves = [1]\n[step.expect]\ncells = [{ cell = 2, contains = [\"tabulate 0.9.0 boto3 1.43.11\"] }]\n",
    )
    .expect("write");
    let results = tempfile::tempdir().expect("results");
    let outcomes = common::run(&common::config(&lab_dir, results.path()), "table");
    assert_eq!(outcomes.len(), 1);
    assert!(
        outcomes[0].failures.is_empty(),
        "{}",
        common::failures(&outcomes[0])
    );
    assert_eq!(outcomes[0].trial, "nb-extra::table::kernel");
}

#[test]
fn lab_python_packages_must_be_pinned_exactly() {
    let dir = tempfile::tempdir().expect("lab dir");
    let lab_dir = dir.path().join("nb-loose");
    std::fs::create_dir_all(&lab_dir).expect("mkdir");
    std::fs::write(
        lab_dir.join("lab.ipynb"),
        json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# T\n\n- [ ] x\n"},
            {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": "print(1)"}
        ]})
        .to_string(),
    )
    .expect("write");
    std::fs::write(
        lab_dir.join("lab.toml"),
        "[lab]\ntitle = \"T\"\npage = \"lab.ipynb\"\npython = [\"tabulate>=0.9\"]\n\n[[step]]\nid = \"s\"\nkind = \"notebook\"\nproves = [1]\n",
    )
    .expect("write");
    let err = labcheck::spec::load_lab(&lab_dir).expect_err("loose pin");
    let text = err.to_string();
    assert!(
        text.contains("`tabulate>=0.9` is not pinned exactly"),
        "{text}"
    );
    assert!(text.contains("lab.toml:4:"), "{text}");
}

#[test]
fn notebook_step_keys_are_checked_against_the_notebook_at_their_position() {
    let nb = json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# T\n\n- [ ] x\n"},
        {"cell_type": "code", "id": "one", "metadata": {"tags": ["a"]}, "execution_count": null, "outputs": [], "source": "print(1)"},
        {"cell_type": "code", "id": "two", "metadata": {"tags": ["a"]}, "execution_count": null, "outputs": [], "source": "print(2)"}
    ]});
    let cases = [
        ("cells = \"2-9\"", "the notebook has no cell 4 (it has 3)"),
        ("cells = \"two\"", "`two` is not a cell number"),
        ("skip = [1]", "cell 1 is not a code cell of the notebook"),
        ("notebook = \"other.ipynb\"", "no notebook `other.ipynb`"),
        // The page's cell selectors, in a notebook step's keys.
        ("cells = [{ cell = \"on\" }]", "no cell with id `on`"),
        ("cells = [{ tag = \"b\" }]", "no cell tagged `b`"),
        (
            "cells = [{ cell = \"one\", tag = \"a\" }]",
            "exactly one of",
        ),
        ("cells = [\"3-2\"]", "the range `3-2` is empty"),
        ("skip = [{ cell = \"intro\" }]", "cell 1 is not a code cell"),
        (
            "[step.expect]\ncells = [{ tag = \"a\", contains = [\"1\"] }]",
            "tag `a` is on 2 cells (cells 2, 3)",
        ),
        (
            "[step.expect]\ncells = [{ cell = 7, contains = [\"1\"] }]",
            "the notebook has no cell 7",
        ),
        (
            "[step.expect]\nincremental = { cell = \"nope\" }",
            "no cell with id `nope`",
        ),
        ("cell_timeout = \"soon\"", "soon"),
        ("clients = [\"boto3\"]", "boto3"),
        ("program = { command = \"ls\" }", "program"),
        (
            "[step.expect]\nstop_reasons = [\"end_turn\"]",
            "stop_reasons",
        ),
    ];
    for (extra, want) in cases {
        let dir = tempfile::tempdir().expect("lab dir");
        std::fs::write(dir.path().join("lab.ipynb"), nb.to_string()).expect("write");
        let toml = format!(
            "[lab]\ntitle = \"T\"\npage = \"lab.ipynb\"\n\n[[step]]\nid = \"s\"\nkind = \"notebook\"\nproves = [1]\n{extra}\n"
        );
        std::fs::write(dir.path().join("lab.toml"), &toml).expect("write");
        let err = labcheck::spec::load_lab(dir.path()).expect_err(extra);
        let text = err.to_string();
        assert!(text.contains(want), "{extra}: {text}");
        assert!(
            text.contains("lab.toml:9:") || text.contains("lab.toml:10:"),
            "{extra}: {text}"
        );
    }
    // A step's own notebook that is not the page is read by the same reader:
    // a broken one is located by JSON line:column in that file.
    let dir = tempfile::tempdir().expect("lab dir");
    std::fs::write(dir.path().join("lab.ipynb"), nb.to_string()).expect("write");
    std::fs::write(
        dir.path().join("other.ipynb"),
        "{\"nbformat\": 4,\n \"cells\": [}",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("lab.toml"),
        "[lab]\ntitle = \"T\"\npage = \"lab.ipynb\"\n\n[[step]]\nid = \"s\"\nkind = \"notebook\"\nproves = [1]\nnotebook = \"other.ipynb\"\n",
    )
    .expect("write");
    let text = labcheck::spec::load_lab(dir.path())
        .expect_err("bad JSON")
        .to_string();
    assert!(
        text.contains("other.ipynb:2:") && text.contains("not valid JSON"),
        "{text}"
    );
    // Selectors resolve to cell numbers: every cell with a tag, a cell by id.
    let dir = tempfile::tempdir().expect("lab dir");
    std::fs::write(dir.path().join("lab.ipynb"), nb.to_string()).expect("write");
    std::fs::write(
        dir.path().join("lab.toml"),
        "[lab]\ntitle = \"T\"\npage = \"lab.ipynb\"\n\n[[step]]\nid = \"s\"\nkind = \"notebook\"\nproves = [1]\ncells = [1, { tag = \"a\" }]\nskip = [{ cell = \"two\" }]\n[step.expect]\ncells = [{ cell = \"one\", contains = [\"1\"] }, { tag = \"a\", cell = 3 }]\nincremental = { cell = \"two\" }\n",
    )
    .expect("write");
    let err = labcheck::spec::load_lab(dir.path()).expect_err("cell and tag together");
    assert!(err.to_string().contains("exactly one of"), "{err}");
    let toml = std::fs::read_to_string(dir.path().join("lab.toml")).expect("read");
    std::fs::write(
        dir.path().join("lab.toml"),
        toml.replace(", { tag = \"a\", cell = 3 }", ""),
    )
    .expect("write");
    let lab = labcheck::spec::load_lab(dir.path()).expect("selectors resolve");
    let labcheck::spec::lab::StepKind::Notebook(step) = &lab.steps[0].kind else {
        panic!("not a notebook step: {:?}", lab.steps[0].kind);
    };
    assert_eq!(
        step.cells,
        labcheck::spec::lab::CellSelection::Numbers(vec![1, 2, 3])
    );
    assert_eq!(step.skip, vec![3]);
    assert_eq!(lab.steps[0].expect.cells[0].cell, 2);
    assert_eq!(
        lab.steps[0]
            .expect
            .incremental
            .as_ref()
            .and_then(|i| i.cell),
        Some(3)
    );
    // `cells` checks belong to notebook steps only.
    let dir = tempfile::tempdir().expect("lab dir");
    std::fs::write(
        dir.path().join("lab.md"),
        "# T\n\n```bash\nls\n```\n\n- [ ] x\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("lab.toml"),
        "[lab]\ntitle = \"T\"\n\n[[step]]\nid = \"s\"\nkind = \"shell\"\nclients = [\"aws-cli-v2\"]\nproves = [1]\nprogram = { command = \"ls\" }\n[step.expect]\ncells = [{ cell = 1, contains = [\"x\"] }]\n",
    )
    .expect("write");
    let text = labcheck::spec::load_lab(dir.path())
        .expect_err("cells on shell")
        .to_string();
    assert!(text.contains("`cells`") && text.contains("shell"), "{text}");
}

#[test]
fn a_notebook_step_refuses_to_run_without_a_sandbox() {
    let lab = labcheck::spec::load_lab(&lab("6.2-notebook-prompt-templates")).expect("lab");
    let clients = common::clients();
    let ws = tempfile::tempdir().expect("workspace");
    let inv = labcheck::steps::Invocation {
        kind: &lab.steps[0].kind,
        client: labcheck::ids::ClientId::Kernel,
        pair: None,
        endpoint: "http://127.0.0.1:9",
        region: "us-east-1",
        workspace: ws.path().to_path_buf(),
        timeout: std::time::Duration::from_secs(30),
        progress: &labcheck::clients::StderrProgress,
        clients: &clients,
        guard: None,
        services: None,
        sandbox: labcheck::sandbox::Policy::Off,
    };
    let err = labcheck::steps::run(&inv).expect_err("no sandbox");
    assert!(
        matches!(err, labcheck::steps::StepError::NoSandbox),
        "{err}"
    );
    assert!(err.to_string().contains("runs only in a sandbox"), "{err}");
}

#[test]
fn a_cell_the_student_writes_is_filled_from_a_lab_file_and_taken_from_the_student_when_grading() {
    // "Paste the function here": the lab's notebook holds a placeholder; the
    // lab runs it with `fill`'s solution file, a grade runs the student's cell.
    let dir = tempfile::tempdir().expect("lab dir");
    let lab_dir = dir.path().join("nb-fill");
    std::fs::create_dir_all(lab_dir.join("solution")).expect("mkdir");
    std::fs::create_dir_all(lab_dir.join("cassettes")).expect("mkdir");
    let nb = |function: &str| {
        json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# Fill\n\n## Verification\n\n- [ ] The function doubles\n"},
            {"cell_type": "code", "id": "yours", "metadata": {}, "execution_count": null, "outputs": [], "source": function},
            {"cell_type": "code", "id": "use", "metadata": {}, "execution_count": null, "outputs": [], "source": "print('double:', double(21))"}
        ]})
        .to_string()
    };
    std::fs::write(
        lab_dir.join("lab.ipynb"),
        nb("# Paste the function here\nraise NotImplementedError('paste the function here')"),
    )
    .expect("write");
    std::fs::write(
        lab_dir.join("solution/double.py"),
        "def double(x):\n    return 2 * x\n",
    )
    .expect("write");
    let toml = "[lab]\ntitle = \"Fill\"\npage = \"lab.ipynb\"\n\n[[step]]\nid = \"double\"\nkind = \"notebook\"\nproves = [1]\nfill = [{ cell = \"yours\", file = \"solution/double.py\" }]\ncell_timeout = \"20s\"\n[step.expect]\ncells = [{ cell = \"use\", contains = [\"double: 42\"] }]\n";
    std::fs::write(lab_dir.join("lab.toml"), toml).expect("write");

    let results = tempfile::tempdir().expect("results");
    let outcomes = common::run(&common::config(&lab_dir, results.path()), "double");
    assert_eq!(outcomes.len(), 1);
    assert!(
        outcomes[0].failures.is_empty(),
        "{}",
        common::failures(&outcomes[0])
    );

    // Grading: the student's own cell runs, not the solution.
    let ws = tempfile::tempdir().expect("workspace");
    std::fs::write(
        ws.path().join("lab.ipynb"),
        nb("def double(x):\n    return 2 * x"),
    )
    .expect("write");
    assert_eq!(states(&grade_dir(&lab_dir, ws.path(), 1.0)), [Ticked]);
    std::fs::write(
        ws.path().join("lab.ipynb"),
        nb("def double(x):\n    return x + 1"),
    )
    .expect("write");
    let r = grade_dir(&lab_dir, ws.path(), 1.0);
    assert_eq!(states(&r), [Unticked], "{r:#?}");
    assert!(reasons(&r, 1).contains("double: 22"), "{}", reasons(&r, 1));
    // A student who left the placeholder fails at that cell.
    std::fs::write(
        ws.path().join("lab.ipynb"),
        nb("# Paste the function here\nraise NotImplementedError('paste the function here')"),
    )
    .expect("write");
    let r = grade_dir(&lab_dir, ws.path(), 1.0);
    assert!(
        reasons(&r, 1).contains("cell 2: raised NotImplementedError: paste the function here"),
        "{}",
        reasons(&r, 1)
    );

    // `fill` is checked against the notebook and the lab directory.
    for (fill, want) in [
        (
            "[{ cell = \"nope\", file = \"solution/double.py\" }]",
            "no cell with id `nope`",
        ),
        (
            "[{ cell = \"t\", file = \"solution/double.py\" }]",
            "cell 1 is not a code cell",
        ),
        (
            "[{ cell = \"yours\", file = \"solution/missing.py\" }]",
            "cannot read `solution/missing.py`",
        ),
        (
            "[{ cell = \"yours\", file = \"../lab.toml\" }]",
            "not a path inside the lab directory",
        ),
    ] {
        std::fs::write(
            lab_dir.join("lab.toml"),
            toml.replace(
                "[{ cell = \"yours\", file = \"solution/double.py\" }]",
                fill,
            ),
        )
        .expect("write");
        let text = labcheck::spec::load_lab(&lab_dir)
            .expect_err(fill)
            .to_string();
        assert!(
            text.contains(want) && text.contains("lab.toml:9:"),
            "{fill}: {text}"
        );
    }
}
