//! The model table against lists it was not made from: every Bedrock model
//! id in a pinned release of an LLM gateway package's data (litellm, the
//! Bedrock subset committed as `tests/fixtures/models/litellm-bedrock.json`
//! with its version and sha256; `scripts/litellm-bedrock-fixture.py`
//! regenerates it) and every id in the survey of 12 public courses. A page
//! built from those ids — bare, with a geographic prefix, with a context
//! suffix — is linted: no id Bedrock has served may be `model-unknown`, and
//! every id the gateway dates as retired is a `model-eol` error with its date.

use std::collections::BTreeSet;
use std::path::Path;

use labcheck::cassette::age::parse_day;
use labcheck::lint::{self, Diagnostic, LintOptions, find_ids};
use labcheck::models_check::GatewayData;

const FIXTURE: &str = "tests/fixtures/models/litellm-bedrock.json";
const SURVEY: &str = "tests/fixtures/models/survey-ids.txt";
/// The day the fixture's dates are judged on.
const TODAY: &str = "2026-11-27";

/// Ids in the lists that Bedrock never served, each with the reason.
const NEVER_SERVED: &[(&str, &str)] = &[
    // A course's typo for `us.amazon.nova-micro-v1:0` (no `nova-`): Bedrock
    // answers it with "The provided model identifier is invalid".
    ("us.amazon.micro-v1:0", "typo in a surveyed course"),
    // litellm lists a Claude 3.7 Sonnet with Claude 3.5 Sonnet's date;
    // Bedrock's 3.7 Sonnet id is `…-20250219-v1:0` (docs/models.md).
    ("anthropic.claude-3-7-sonnet-20240620-v1:0", "litellm error"),
];

fn gateway() -> GatewayData {
    GatewayData::read(Path::new(FIXTURE), None).expect("fixture parses")
}

fn survey() -> Vec<String> {
    std::fs::read_to_string(SURVEY)
        .expect("survey list")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect()
}

/// Every id of both lists, and its bare form with a `us.` prefix and a
/// `:128k` suffix added (ids already prefixed or suffixed stay as written).
fn variants() -> BTreeSet<String> {
    let g = gateway();
    let mut ids: BTreeSet<String> = g.ids().into_iter().map(str::to_string).collect();
    ids.extend(survey());
    let mut out = BTreeSet::new();
    for id in ids {
        if NEVER_SERVED.iter().any(|(n, _)| *n == id) {
            continue;
        }
        let bare = lint::GEO_PREFIXES
            .iter()
            .find_map(|p| id.strip_prefix(&format!("{p}.")))
            .unwrap_or(&id)
            .to_string();
        out.insert(format!("us.{bare}"));
        if !bare.ends_with('k') && !bare.ends_with(":mm") {
            out.insert(format!("{bare}:128k"));
        }
        out.insert(bare);
        out.insert(id);
    }
    out
}

fn lint_page(ids: &BTreeSet<String>) -> (String, Vec<Diagnostic>) {
    let mut page = String::from("# Every model id\n\n```python\n");
    for id in ids {
        page.push_str(&format!("model_id = \"{id}\"\n"));
    }
    page.push_str("```\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lab.md");
    std::fs::write(&path, &page).expect("write page");
    let options = LintOptions::bundled(parse_day(TODAY).expect("date")).expect("table");
    let found = lint::lint_paths(&[path], &options).expect("lint runs");
    (page, found)
}

#[test]
fn fixture_names_its_package_version_and_hashes() {
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["package"], "litellm");
    assert_eq!(v["version"], "1.110.2");
    for key in ["wheel_sha256", "file_sha256"] {
        let hash = v[key].as_str().expect("hash");
        assert_eq!(hash.len(), 64, "{key}");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    }
    let g = gateway();
    assert_eq!(
        (g.package.as_str(), g.version.as_str()),
        ("litellm", "1.110.2")
    );
    // Text, embedding and image models are all there, retired ones too.
    let modes: BTreeSet<&str> = g.models.iter().filter_map(|m| m.mode.as_deref()).collect();
    for mode in ["chat", "embedding", "image_generation"] {
        assert!(modes.contains(mode), "{mode}: {modes:?}");
    }
    assert!(g.ids().len() > 300, "{}", g.ids().len());
}

#[test]
fn every_id_is_found_on_its_line() {
    for id in variants() {
        let line = format!("model_id = \"{id}\"");
        let found: Vec<String> = find_ids(&line).into_iter().map(|f| f.id).collect();
        assert_eq!(found, vec![id.clone()], "{line}");
    }
}

#[test]
fn no_served_id_is_unknown() {
    let ids = variants();
    let (_, found) = lint_page(&ids);
    let unknown: Vec<&str> = found
        .iter()
        .filter(|d| d.code == "model-unknown")
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        unknown.is_empty(),
        "{} unknown:\n{}",
        unknown.len(),
        unknown.join("\n")
    );
    // The ids left out are unknown indeed: the exclusion hides nothing.
    let never: BTreeSet<String> = NEVER_SERVED.iter().map(|(i, _)| i.to_string()).collect();
    let (_, found) = lint_page(&never);
    assert_eq!(
        found.iter().filter(|d| d.code == "model-unknown").count(),
        never.len()
    );
}

#[test]
fn retired_ids_are_eol_errors_with_dates() {
    let g = gateway();
    let ids = variants();
    let (page, found) = lint_page(&ids);
    let line_of = |id: &str| {
        let want = format!("model_id = \"{id}\"");
        page.lines().position(|l| l == want).map(|i| i + 1)
    };
    // Every id the gateway dates before today is an error on every variant.
    let retired: BTreeSet<&str> = g
        .models
        .iter()
        .filter(|m| m.prefix.is_none())
        .filter(|m| m.deprecation_date.as_deref().is_some_and(|d| d < TODAY))
        .map(|m| m.base.as_str())
        .filter(|b| !NEVER_SERVED.iter().any(|(n, _)| n == b))
        .collect();
    assert!(retired.len() >= 10, "{retired:?}");
    for base in &retired {
        for id in [
            base.to_string(),
            format!("us.{base}"),
            format!("{base}:128k"),
        ] {
            let line = line_of(&id).expect("on the page");
            let d = found
                .iter()
                .find(|d| d.line == line)
                .unwrap_or_else(|| panic!("no diagnostic for `{id}`"));
            assert_eq!(d.code, "model-eol", "{id}: {}", d.message);
            assert!(d.message.contains(" on 20"), "{id}: {}", d.message);
        }
    }
    // The wording of every end-of-life error on a bare id, pinned.
    let bare_lines: BTreeSet<usize> = ids
        .iter()
        .filter(|id| {
            !id.contains(':') || id.ends_with(":0") || id.ends_with(":1") || id.ends_with(":2")
        })
        .filter(|id| {
            !lint::GEO_PREFIXES
                .iter()
                .any(|p| id.starts_with(&format!("{p}.")))
        })
        .filter_map(|id| line_of(id))
        .collect();
    let eol: Vec<&str> = found
        .iter()
        .filter(|d| d.code == "model-eol" && bare_lines.contains(&d.line))
        .map(|d| d.message.as_str())
        .collect();
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("models-independent-eol", eol.join("\n"));
    });
}
