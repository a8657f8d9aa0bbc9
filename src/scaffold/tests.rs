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
