//! `lab.toml` loading end to end: every bad fixture fails with the expected
//! kind at the expected place (and its full message is pinned), the good
//! fixture resolves to the expected blocks and bindings, and the committed
//! JSON Schema matches the one generated from the raw types.

use std::path::{Path, PathBuf};

use labcheck::ids::ClientId;
use labcheck::spec::{self, ProgramSource, SdkCall, StepKind};

/// `tests/fixtures/bad/<case>/expected.toml`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// `spec` (default): `lab.toml`/`lab.md` fail to load; `cassettes`: the
    /// lab loads and its cassette directory does not.
    #[serde(default)]
    stage: Option<String>,
    kind: String,
    file: String,
    /// 0 when the error has no position (a missing directory).
    #[serde(default)]
    line: usize,
    #[serde(default)]
    column: usize,
    /// Notebook pages: the 1-based cell the error is in (`line` and `column`
    /// are then within the cell).
    #[serde(default)]
    cell: Option<usize>,
}

/// Loads the lab, then its cassettes; the first error as (kind, file, line,
/// column, actionable, rendered message). A spec error is actionable when it
/// carries a hint; a cassette error when its message names the file.
type Found = (&'static str, PathBuf, usize, usize, bool, String);

fn first_error(dir: &Path, stage: Option<&str>) -> Result<Found, String> {
    let lab = match spec::load_lab(dir) {
        Err(e) => {
            return Ok((
                e.kind(),
                e.file().to_path_buf(),
                e.line(),
                e.column(),
                !e.hint().is_empty(),
                e.to_string(),
            ));
        }
        Ok(lab) => lab,
    };
    if stage != Some("cassettes") {
        return Err("loaded without error".into());
    }
    match labcheck::cassette::CassetteSet::load_dir(&lab.cassettes) {
        Ok(_) => Err("cassettes loaded without error".into()),
        Err(e) => {
            let (line, column) = e.position().unwrap_or((0, 0));
            let message = e.to_string();
            let names_file = message.contains(&e.file().display().to_string());
            Ok((
                e.kind(),
                e.file().to_path_buf(),
                line,
                column,
                names_file,
                message,
            ))
        }
    }
}

fn bad_cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("tests/fixtures/bad")
        .expect("tests/fixtures/bad exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn bad_fixtures_fail_with_the_expected_error() {
    let cases = bad_cases();
    assert!(
        cases.len() >= 25,
        "expected at least 25 bad fixtures, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut rendered = Vec::new();
    for dir in &cases {
        let name = dir
            .file_name()
            .expect("named dir")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(dir.join("expected.toml"))
            .expect("every bad fixture has expected.toml");
        let expected: Expected = toml::from_str(&text).expect("valid expected.toml");
        let stage = expected.stage.as_deref();
        let result = std::panic::catch_unwind(|| first_error(dir, stage));
        let (kind, file, line, column, actionable, message) = match result {
            Err(_) => {
                failures.push(format!("{name}: panicked"));
                continue;
            }
            Ok(Err(why)) => {
                failures.push(format!("{name}: {why}"));
                continue;
            }
            Ok(Ok(found)) => found,
        };
        let got = (kind, file, line, column);
        let want = (
            expected.kind.as_str(),
            dir.join(&expected.file),
            expected.line,
            expected.column,
        );
        if got != want {
            failures.push(format!(
                "{name}: got {got:?}, expected {want:?}\n    {message}"
            ));
        }
        if let Some(n) = expected.cell
            && !message.contains(&format!("[cell {n}"))
        {
            failures.push(format!("{name}: expected cell {n} in\n    {message}"));
        }
        assert!(
            actionable,
            "{name}: every error carries a hint or names its file:\n{message}"
        );
        rendered.push((name, message));
    }
    assert!(
        failures.is_empty(),
        "{} bad fixture(s) misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for (name, message) in rendered {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("spec-bad-{name}"), message);
        });
    }
}

/// Spec and cassette errors render through the shared diagnostics layer: the
/// offending line with a caret under the span, and the hint as help.
#[test]
fn errors_render_with_a_snippet_and_a_caret() {
    let spec_error =
        spec::load_lab(Path::new("tests/fixtures/bad/unknown-key-step")).expect_err("unknown key");
    let lab = spec::load_lab(Path::new("tests/fixtures/bad/cassette-duplicate-key"))
        .unwrap_or_else(|e| panic!("{e}"));
    let cassette_error =
        labcheck::cassette::CassetteSet::load_dir(&lab.cassettes).expect_err("duplicate key");
    for (name, rendered) in [
        ("render-spec-unknown-key", spec_error.diagnostic().render()),
        (
            "render-cassette-duplicate-key",
            cassette_error.diagnostic().render(),
        ),
    ] {
        assert!(
            rendered.contains(" | ") && rendered.contains('^'),
            "{rendered}"
        );
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
}

#[test]
fn good_fixture_resolves_blocks_and_bindings() {
    let lab = spec::load_lab(Path::new("tests/fixtures/good")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lab.id.0, "good");
    assert_eq!(
        lab.title, "4.1 Lab: Invoke FM via Bedrock",
        "title comes from the page's front matter"
    );
    assert_eq!(lab.region, "us-east-1");
    assert_eq!(
        lab.max_age,
        Some(std::time::Duration::from_secs(365 * 86_400))
    );
    assert_eq!(lab.cassettes, Path::new("tests/fixtures/good/cassettes"));
    let items: Vec<(usize, &str, usize)> = lab
        .checklist
        .iter()
        .map(|c| (c.index, c.text.as_str(), c.line))
        .collect();
    assert_eq!(
        items,
        [
            (1, "Bedrock Playground trả về response thành công", 129),
            (
                2,
                "AWS CLI invoke trả về JSON response trong `output.json`",
                130
            ),
            (3, "Python script in ra text response", 131),
            (
                4,
                "Streaming script in ra text từng phần (incremental)",
                132
            ),
        ]
    );
    let ids: Vec<&str> = lab.steps.iter().map(|s| s.id.0.as_str()).collect();
    assert_eq!(
        ids,
        [
            "playground",
            "cli-invoke",
            "python-invoke",
            "python-stream",
            "sdk-invoke",
            "sdk-converse"
        ]
    );
    let proves: Vec<&[usize]> = lab.steps.iter().map(|s| s.proves.as_slice()).collect();
    assert_eq!(
        proves,
        [&[1][..], &[2], &[3], &[4], &[3], &[1]],
        "text binding resolved to item 2"
    );

    let [playground, cli, py, stream, sdk, converse] = &lab.steps[..] else {
        panic!("six steps")
    };
    match &playground.kind {
        StepKind::Playground {
            prompt,
            pairs,
            system,
            ..
        } => {
            assert_eq!(
                prompt,
                "Giải thích Retrieval Augmented Generation (RAG) trong 3 câu."
            );
            assert_eq!(pairs.as_slice(), spec::ParamPair::DEFAULTS.as_slice());
            assert_eq!(system, &None);
        }
        other => panic!("playground step is {other:?}"),
    }
    assert_eq!(
        playground.clients,
        [ClientId::RustSdk],
        "default client of playground"
    );
    assert_eq!(playground.timeout, std::time::Duration::from_secs(60));

    match &cli.kind {
        StepKind::Shell {
            program:
                ProgramSource::Block {
                    line,
                    lang,
                    text,
                    index,
                    ..
                },
        } => {
            assert_eq!((*line, lang.as_deref(), *index), (43, Some("bash"), 0));
            assert!(
                text.starts_with("aws bedrock-runtime invoke-model \\\n"),
                "{text}"
            );
            assert!(text.ends_with("type output.json\n"), "{text}");
        }
        other => panic!("cli step is {other:?}"),
    }
    assert_eq!(cli.clients, [ClientId::AwsCliV1, ClientId::AwsCliV2]);
    assert_eq!(cli.timeout, std::time::Duration::from_secs(90));
    assert_eq!(cli.expect.exit_code, Some(0));
    assert!(cli.expect.files[0].is_json, "`json` checks imply `is_json`");
    assert_eq!(
        cli.expect.files[0].json["/content/0/type"],
        serde_json::json!("text")
    );
    assert_eq!(
        cli.expect.served[0].model.as_deref(),
        Some("anthropic.claude-3-5-sonnet-20241022-v2:0")
    );
    assert_eq!(cli.line, 19, "line of the `[[step]]` header");

    match &py.kind {
        StepKind::Python { files, run } => {
            assert_eq!(files[0].path, Path::new("invoke_bedrock.py"));
            let ProgramSource::Block { line, text, .. } = &files[0].source else {
                panic!("block")
            };
            assert_eq!(*line, 65);
            assert!(text.starts_with("import boto3\n"));
            let ProgramSource::Block {
                line, text, lang, ..
            } = run
            else {
                panic!("block")
            };
            assert_eq!(
                (*line, text.as_str(), lang.as_deref()),
                (94, "python invoke_bedrock.py\n", Some("bash"))
            );
        }
        other => panic!("python step is {other:?}"),
    }
    assert_eq!(py.clients, [ClientId::Boto3], "default client of python");
    assert_eq!(
        py.expect.exit_code,
        Some(0),
        "process steps default to exit code 0"
    );

    match &stream.kind {
        StepKind::Python {
            run: ProgramSource::Inline { text },
            ..
        } => assert_eq!(text, "python3 stream_bedrock.py"),
        other => panic!("stream step is {other:?}"),
    }
    assert_eq!(stream.expect.incremental.map(|i| i.min_pieces), Some(3));

    match &sdk.kind {
        StepKind::Sdk {
            call: SdkCall::Invoke { body, .. },
        } => assert_eq!(body["max_tokens"], 256),
        other => panic!("sdk step is {other:?}"),
    }
    assert_eq!(
        sdk.expect.exit_code, None,
        "in-process steps have no exit code"
    );
    match &converse.kind {
        StepKind::Sdk {
            call: SdkCall::ConverseStream(r),
        } => {
            assert_eq!(
                (r.max_tokens, r.temperature, r.top_p),
                (Some(512), Some(0.5), Some(0.9))
            );
            assert_eq!(r.system.as_deref(), Some("Answer briefly."));
        }
        other => panic!("converse step is {other:?}"),
    }
    assert_eq!(
        converse.expect.incremental.map(|i| i.min_pieces),
        Some(spec::DEFAULT_MIN_PIECES)
    );
}

#[test]
fn page_override_checks_the_same_spec_against_another_page() {
    // The good lab.toml against a page whose CLI section lost its code block.
    let dir = tempfile::tempdir().expect("temp dir");
    let page = std::fs::read_to_string("tests/fixtures/good/lab.md").expect("good page");
    let cut = page
        .replace(
            "```bash\naws bedrock-runtime",
            "```text\naws bedrock-runtime",
        )
        .replace(
            "### Bước 2: Invoke qua AWS CLI\n\n```text",
            "### Bước 2: Invoke qua AWS CLI\n\nSee the console.\n\n### Elsewhere\n\n```text",
        );
    let other = dir.path().join("old.md");
    std::fs::write(&other, cut).expect("write page");
    let err = spec::load_lab_with_page(Path::new("tests/fixtures/good"), &other)
        .expect_err("block is gone");
    assert_eq!(err.kind(), "missing-block");
    assert_eq!(
        (err.line(), err.column()),
        (24, 11),
        "points at `program` in the good lab.toml"
    );

    let unchanged = dir.path().join("same.md");
    std::fs::write(&unchanged, page).expect("write page");
    let lab = spec::load_lab_with_page(Path::new("tests/fixtures/good"), &unchanged)
        .expect("same page loads");
    assert_eq!(lab.page, unchanged);
}

#[test]
fn schema_is_current() {
    let path = Path::new("schema/lab.schema.json");
    let generated = spec::json_schema();
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with src/spec/model.rs (hint: regenerate it with `cargo run --bin lab-schema > schema/lab.schema.json`)",
        path.display()
    );
}

/// Every step knows its `[[step]]` line, also in a long file (lines come
/// from one index of line starts, not a rescan of the text per step).
#[test]
fn many_steps_each_know_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("lab.md"),
        "---\ntitle: \"Many\"\n---\n\n## Verification\n\n- [ ] It answers\n",
    )
    .expect("page");
    let mut toml = String::from("[lab]\ntitle = \"Many\"\n");
    let mut lines = Vec::new();
    for i in 0..2000 {
        // Two header lines, then eight lines per step; `[[step]]` is the second.
        lines.push(2 + 8 * i + 2);
        toml.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nkind = \"sdk\"\nproves = [1]\ncall = \"converse\"\nmodel = \"m\"\nprompt = \"hi\"\n"
        ));
    }
    std::fs::write(dir.path().join("lab.toml"), toml).expect("lab.toml");
    let lab = spec::load_lab(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<usize> = lab.steps.iter().map(|s| s.line).collect();
    assert_eq!(got, lines);
}
