use super::*;

fn draft_of(text: &str) -> (LabPage, Draft) {
    let page = LabPage::parse("lab.md", text).expect("page parses");
    let draft = Draft::from_page(&page, text, "lab.md");
    (page, draft)
}

#[test]
fn prose_and_indexes() {
    let text = "# T\n\n## A\n\nCreate `x.py`:\n\n```python\nimport boto3\n```\n\nRun:\n\n```bash\npython3 x.py\n```\n";
    let (_, draft) = draft_of(text);
    assert_eq!(draft.blocks.len(), 2);
    assert_eq!(draft.blocks[0].prose.trim(), "Create `x.py`:");
    assert_eq!(draft.blocks[1].prose.trim(), "Run:");
    assert_eq!(draft.blocks[1].index, 1);
    assert_eq!(draft.blocks[1].section, Some(1));
}

#[test]
fn a_page_without_runnable_blocks_is_refused() {
    let (_, draft) = draft_of("# T\n\n```json\n{}\n```\n\n- [ ] done\n");
    let e = lab_toml(&draft).expect_err("nothing to run");
    assert!(matches!(e, NewError::NoSteps { skipped: 1 }), "{e}");
}

#[test]
fn generated_toml_loads_and_binds_every_item() {
    let text = "---\ntitle: t\n---\n\n## Step 1: CLI\n\n```bash\naws bedrock-runtime converse --model-id m.x --messages '[]'\n```\n\n## Step 2: boto3\n\nCreate `ask_bedrock.py`:\n\n```python\nimport boto3\nboto3.client('bedrock-runtime').converse_stream(modelId='m.x')\n```\n\n## Check\n\n- [ ] the CLI prints an answer\n- [ ] the streaming script prints pieces\n";
    let (page, draft) = draft_of(text);
    let toml = lab_toml(&draft).expect("steps");
    let lab = crate::spec::parse_lab(Path::new("x"), toml.as_bytes(), &page)
        .unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let ids: Vec<String> = lab.steps.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(ids, ["cli-converse", "python-ask"]);
    assert_eq!(lab.steps[0].proves, [1]);
    assert_eq!(lab.steps[1].proves, [2]);
    assert!(
        toml.contains("run = { command = \"python3 ask_bedrock.py\" }"),
        "{toml}"
    );
}

#[test]
fn rust_blocks_become_sdk_steps_and_unnamed_sections_are_inlined() {
    let text = "---\ntitle: t\n---\n\n```bash\naws bedrock-runtime invoke-model --model-id m.x --body fileb://b.json out.json\n```\n\n## Rust\n\n```rust\nlet out = client.converse().model_id(\"us.amazon.nova-lite-v1:0\")\n    .messages(Message::builder().role(ConversationRole::User).content(ContentBlock::Text(\"Say hi\".into())).build()?)\n    .send().await?;\n```\n\n```rust\nlet body = r#\"{\"inputText\": \"hi\"}\"#;\nclient.invoke_model().model_id(\"amazon.titan-text-express-v1\").body(Blob::new(body)).send().await?;\n```\n\n## Dup\n\n```python\nimport boto3\n```\n\n## Dup\n\n- [ ] it works\n";
    let (page, draft) = draft_of(text);
    let toml = lab_toml(&draft).expect("steps");
    let lab = crate::spec::parse_lab(Path::new("x"), toml.as_bytes(), &page)
        .unwrap_or_else(|e| panic!("{e}\n{toml}"));
    let ids: Vec<String> = lab.steps.iter().map(|s| s.id.to_string()).collect();
    assert_eq!(
        ids,
        ["cli-invoke", "sdk-converse", "sdk-invoke", "python-step-4"]
    );
    assert!(toml.contains("prompt = \"Say hi\""), "{toml}");
    assert!(
        toml.contains("body = '''{\"inputText\": \"hi\"}'''"),
        "{toml}"
    );
    // No heading above the CLI block, an ambiguous one above the python
    // block: their text is copied inline, with a guess comment.
    assert_eq!(
        toml.matches("has no unique heading above it").count(),
        2,
        "{toml}"
    );
}

/// Whatever the page, what `labcheck new` proposes loads: every Markdown
/// page of the repository's labs and fixtures.
#[test]
fn every_page_in_the_repository_gives_a_loadable_lab_toml() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pages = Vec::new();
    let mut dirs = vec![root.join("labs"), root.join("tests/fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    assert!(pages.len() > 5, "{pages:?}");
    let mut written = 0;
    for path in pages {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(page) = LabPage::parse(&path, &text) else {
            continue;
        };
        let draft = Draft::from_page(&page, &text, "lab.md");
        let Ok(toml) = lab_toml(&draft) else {
            continue;
        };
        written += 1;
        if let Err(e) = crate::spec::parse_lab(Path::new("x"), toml.as_bytes(), &page) {
            panic!("{}: {e}\n{toml}", path.display());
        }
    }
    assert!(written >= 3, "{written}");
}
