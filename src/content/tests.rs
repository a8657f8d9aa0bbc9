//! Tests of `LabPage` on the seed page copy and on small pages exercising
//! shortcodes, nested sections, inline code in headings and checklist forms.

use super::*;

const SEED: &str = include_str!("../../tests/fixtures/good/lab.md");

fn page(text: &str) -> LabPage {
    LabPage::parse("lab.md", text).expect("page parses")
}

#[test]
fn seed_page_sections_blocks_and_checklist() {
    let p = page(SEED);
    assert_eq!(p.title(), Some("4.1 Lab: Invoke FM via Bedrock"));
    let cli = p.block("Bước 2: Invoke qua AWS CLI", 0).expect("cli block");
    assert_eq!((cli.lang.as_deref(), cli.line), (Some("bash"), 43));
    let run = p
        .block("Bước 3: Invoke qua Python SDK", 1)
        .expect("run block");
    assert_eq!(run.text, "python invoke_bedrock.py\n");
    let prompt = p
        .block("Bước 1: Invoke qua Bedrock Playground", 0)
        .expect("prompt block");
    assert_eq!(prompt.lang, None);
    let texts: Vec<&str> = p.checklist.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts[1],
        "AWS CLI invoke trả về JSON response trong `output.json`"
    );
    assert_eq!(p.checklist.len(), 4);
    assert!(p.checklist.iter().all(|c| !c.checked));
    // The `---` thematic break mid-page is not front matter and not a heading.
    assert!(p.headings.iter().all(|h| !h.text.is_empty()));
}

#[test]
fn headings_match_rendered_or_source_form_after_nfc() {
    let p = page("## Run `invoke.py` now\n\n```sh\nx\n```\n");
    assert_eq!(p.headings[0].text, "Run invoke.py now");
    assert_eq!(p.headings[0].source, "Run `invoke.py` now");
    assert!(p.block("Run invoke.py now", 0).is_ok());
    assert!(p.block("  Run `invoke.py` now ", 0).is_ok());
    // Decomposed "ư" + combining hook (NFD) still finds the NFC heading.
    let q = page("## Bước 2\n\n```\nx\n```\n");
    let nfd: String = unicode_normalization::UnicodeNormalization::nfd("Bước 2").collect();
    assert_ne!(nfd, "Bước 2");
    assert!(q.block(&nfd, 0).is_ok(), "NFD reference resolves");
}

#[test]
fn a_section_runs_until_the_next_heading_of_same_or_higher_level() {
    let text = "## A\n\n```a0\n```\n\n### A.1\n\n```a1\n```\n\n## B\n\n```b0\n```\n";
    let p = page(text);
    assert_eq!(
        p.block("A", 1)
            .expect("sub-section block counts")
            .lang
            .as_deref(),
        Some("a1")
    );
    assert_eq!(
        p.block("A.1", 0).expect("own block").lang.as_deref(),
        Some("a1")
    );
    match p.block("A", 2) {
        Err(LookupError::MissingBlock { blocks, .. }) => {
            let langs: Vec<_> = blocks.iter().map(|b| b.lang.as_deref()).collect();
            assert_eq!(langs, [Some("a0"), Some("a1")]);
        }
        other => panic!("expected MissingBlock, got {other:?}"),
    }
    assert_eq!(p.blocks[2].heading, Some(2), "b0 sits under heading B");
}

#[test]
fn unknown_and_ambiguous_sections() {
    let p = page("## Setup\n\n## Step one\n\n## Step one\n");
    match p.section("Step on") {
        Err(LookupError::UnknownSection { nearest, .. }) => {
            assert_eq!(nearest.first().map(String::as_str), Some("Step one"))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(p.section("Step one"), Err(LookupError::AmbiguousSection { lines, .. }) if lines == [3, 5])
    );
}

#[test]
fn hugo_shortcodes_are_tolerated_and_their_content_parsed() {
    let text = "## Tips\n\n{{% notice tip %}}\n```bash\necho inside\n```\n- [ ] inside a notice\n{{% /notice %}}\n{{< youtube abc >}}\n\n- [x] after\n";
    let p = page(text);
    let b = p.block("Tips", 0).expect("block inside the shortcode");
    assert_eq!((b.text.as_str(), b.line), ("echo inside\n", 4));
    let items: Vec<(bool, &str, usize)> = p
        .checklist
        .iter()
        .map(|c| (c.checked, c.text.as_str(), c.line))
        .collect();
    assert_eq!(items, [(false, "inside a notice", 7), (true, "after", 11)]);
}

#[test]
fn checklist_items_keep_source_markup_and_join_lines() {
    let text = "- [ ] uses **bold** and `code`\n  continued here\n- [X] done\n  - [ ] nested\n* [ ] star bullet\n- not a task\n";
    let p = page(text);
    let items: Vec<(&str, usize)> = p
        .checklist
        .iter()
        .map(|c| (c.text.as_str(), c.line))
        .collect();
    assert_eq!(
        items,
        [
            ("uses **bold** and `code` continued here", 1),
            ("done", 3),
            ("nested", 4),
            ("star bullet", 5)
        ]
    );
    assert!(p.checklist[1].checked);
}

#[test]
fn front_matter_lines_do_not_shift_offsets() {
    let p = page("---\ntitle: T\n---\n# H\n```\nx\n```\n");
    assert_eq!(p.headings[0].line, 4);
    assert_eq!(p.blocks[0].line, 5);
}
