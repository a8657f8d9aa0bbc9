//! The model table (`data/models.toml`, bundled at build time) and the check
//! of Bedrock model ids and console model names found in a page: unknown,
//! legacy, past end-of-life, or not callable on demand in the lab's region.
//! The table's own age is checked too: older than [`STALE_AFTER_DAYS`] is a
//! warning, because lifecycle dates move.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use aws_smithy_types::DateTime;

use crate::cassette::age::{format_day, parse_day};
use crate::diagnostic::{Diagnostic, Severity};

/// The table compiled into labcheck.
pub const BUNDLED_PATH: &str = "data/models.toml";
const BUNDLED: &str = include_str!("../../data/models.toml");
/// A table not re-checked for this long earns a warning.
pub const STALE_AFTER_DAYS: i64 = 90;

/// `data/models.toml` could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelsError {
    #[error("cannot read the model table `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid model table `{}`: {message} (hint: see the field list at the top of data/models.toml)", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("invalid `checked` date `{value}` in `{}` (hint: write `YYYY-MM-DD`)", path.display())]
    BadDate { path: PathBuf, value: String },
}

#[derive(Debug, Clone, Deserialize)]
struct RawTable {
    checked: String,
    #[serde(default)]
    model: Vec<ModelRow>,
}

/// One row of the table (fields the lint does not use are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct ModelRow {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `active`, `legacy` or `eol`.
    pub status: String,
    #[serde(default)]
    pub legacy_date: Option<String>,
    #[serde(default)]
    pub eol_date: Option<String>,
    #[serde(default)]
    pub requires_inference_profile: bool,
    #[serde(default)]
    pub on_demand_regions: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub error: Option<ErrorRow>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ErrorRow {
    pub status: u16,
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
}

/// The parsed table and where it came from.
#[derive(Debug, Clone)]
pub struct ModelTable {
    pub path: PathBuf,
    text: String,
    pub checked: DateTime,
    pub models: Vec<ModelRow>,
}

impl ModelTable {
    /// The table bundled at build time from `data/models.toml`.
    pub fn bundled() -> Result<ModelTable, ModelsError> {
        ModelTable::parse(Path::new(BUNDLED_PATH), BUNDLED)
    }

    pub fn read(path: &Path) -> Result<ModelTable, ModelsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        ModelTable::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ModelTable, ModelsError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| ModelsError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        let checked = parse_day(&raw.checked).ok_or_else(|| ModelsError::BadDate {
            path: path.to_path_buf(),
            value: raw.checked.clone(),
        })?;
        Ok(ModelTable {
            path: path.to_path_buf(),
            text: text.to_string(),
            checked,
            models: raw.model,
        })
    }

    pub fn get(&self, id: &str) -> Option<&ModelRow> {
        self.models.iter().find(|m| m.id == id)
    }

    /// A warning when the table was checked more than 90 days before `today`.
    pub fn staleness(&self, today: DateTime) -> Option<Diagnostic> {
        let age = (today.secs() - self.checked.secs()).div_euclid(86_400);
        if age <= STALE_AFTER_DAYS {
            return None;
        }
        let line = self
            .text
            .lines()
            .position(|l| l.starts_with("checked"))
            .map_or(1, |i| i + 1);
        let message = format!(
            "the model table was last checked on {} ({age} days ago, more than {STALE_AFTER_DAYS})",
            format_day(self.checked)
        );
        Some(
            Diagnostic::new(Severity::Warning, "models-stale", message, &self.path)
                .at(&self.text, line, Some(&format_day(self.checked)))
                .note("model lifecycle dates move: ids may have become legacy or reached end of life since")
                .help("re-read each row's sources, update the rows and `checked` (top and per row), see docs/models.md"),
        )
    }
}

static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arn:aws(?:-[a-z]+)*:bedrock:([a-z0-9-]*):(\d{12})?:(foundation-model|inference-profile|application-inference-profile)/([A-Za-z0-9.:-]+)")
        .expect("static regex")
});
static MODEL_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(?:us|eu|apac|global|jp|au|ca|us-gov)\.)?(?:anthropic|amazon|meta|mistral|cohere|ai21|stability|deepseek|writer|qwen|openai|twelvelabs|luma)\.[a-z0-9][a-z0-9-]*(?:\.[0-9][a-z0-9-]*)?(?::[0-9]+)?")
        .expect("static regex")
});

/// A model id found in a line: the id, and the region an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundId {
    pub id: String,
    pub arn_region: Option<String>,
}

/// Bedrock model ids (bare, inference-profile, or inside an ARN) in `line`.
pub fn find_ids(line: &str) -> Vec<FoundId> {
    let mut found = Vec::new();
    let mut arn_spans = Vec::new();
    for c in ARN.captures_iter(line) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        arn_spans.push(whole);
        if &c[3] == "application-inference-profile" {
            continue; // account-specific, nothing to look up
        }
        let region = c.get(1).map(|m| m.as_str().to_string());
        found.push(FoundId {
            id: c[4].trim_end_matches(['.', ':']).to_string(),
            arn_region: region.filter(|r| !r.is_empty()),
        });
    }
    for m in MODEL_ID.find_iter(line) {
        if arn_spans.iter().any(|s| s.contains(&m.start())) {
            continue;
        }
        let before = line[..m.start()].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_')) {
            continue; // part of a host name or path (`docs.aws.amazon.com`)
        }
        if !m.as_str().contains('-') {
            continue;
        }
        found.push(FoundId {
            id: m.as_str().to_string(),
            arn_region: None,
        });
    }
    found
}

/// What is wrong with using `id` in `region`, if anything.
pub fn check_id(
    table: &ModelTable,
    found: &FoundId,
    region: &str,
    file: &Path,
    text: &str,
    line: usize,
) -> Option<Diagnostic> {
    let id = found.id.as_str();
    let region = found.arn_region.as_deref().unwrap_or(region);
    let checked = format!("data/models.toml, checked {}", format_day(table.checked));
    let Some(row) = table.get(id) else {
        let message = format!("unknown model id `{id}`: not in the model table");
        return Some(
            Diagnostic::new(Severity::Warning, "model-unknown", message, file)
                .at(text, line, Some(id))
                .note(format!("labcheck cannot tell whether it is active or callable on demand in `{region}` ({checked})"))
                .help("check its lifecycle and regions in the Bedrock docs, then add a row with sources to data/models.toml"),
        );
    };
    let with_sources = |mut d: Diagnostic| {
        if let Some(src) = row.sources.first() {
            d = d.note(format!("source: {src} ({checked})"));
        }
        if let Some(r) = &row.replacement {
            d = d.help(format!("use `{r}`"));
        }
        d
    };
    match row.status.as_str() {
        "eol" => {
            let when = row
                .eol_date
                .as_deref()
                .map_or(String::new(), |d| format!(" on {d}"));
            let message = format!("model `{id}` reached end of life{when}");
            let mut d = Diagnostic::new(Severity::Error, "model-eol", message, file).at(
                text,
                line,
                Some(id),
            );
            if row.requires_inference_profile && !row.on_demand_regions.iter().any(|r| r == region)
            {
                d = d.note(format!(
                    "even before that it was not callable on demand in `{region}` (inference profile only)"
                ));
            }
            if let Some(e) = &row.error {
                d = d.note(format!(
                    "every client gets `{} {}: {}`",
                    e.status, e.kind, e.message
                ));
            }
            Some(with_sources(d))
        }
        "legacy" => {
            let when = row
                .eol_date
                .as_deref()
                .map_or(String::new(), |d| format!(", end of life on {d}"));
            let message = format!("model `{id}` is legacy{when}");
            let d = Diagnostic::new(Severity::Warning, "model-legacy", message, file)
                .at(text, line, Some(id))
                .note("legacy models refuse accounts that have not used them recently");
            Some(with_sources(d))
        }
        _ if row.requires_inference_profile
            && !row.on_demand_regions.iter().any(|r| r == region) =>
        {
            let message = format!(
                "model `{id}` is not callable on demand in `{region}`: it needs an inference profile"
            );
            let d = Diagnostic::new(Severity::Error, "model-needs-profile", message, file)
                .at(text, line, Some(id))
                .note(format!("Bedrock answers `400 ValidationException: Invocation of model ID {id} with on-demand throughput isn’t supported.`"));
            Some(with_sources(d))
        }
        _ if !row.regions.is_empty() && !row.regions.iter().any(|r| r == region) => {
            let message = format!(
                "model `{id}` is not offered in `{region}` (the table lists {})",
                row.regions.join(", ")
            );
            let d = Diagnostic::new(Severity::Warning, "model-region", message, file).at(
                text,
                line,
                Some(id),
            );
            Some(with_sources(d))
        }
        _ => None,
    }
}

/// Console model names of end-of-life rows (`Claude 3.5 Sonnet v2`), longest
/// first, with their row: a console step that names one cannot be followed.
pub fn eol_names(table: &ModelTable) -> Vec<(String, &ModelRow)> {
    let mut names: Vec<(String, &ModelRow)> = Vec::new();
    for row in table.models.iter().filter(|m| m.status == "eol") {
        let Some(name) = &row.name else { continue };
        let base = name.split(" (").next().unwrap_or(name).trim().to_string();
        if !base.is_empty() && !names.iter().any(|(n, _)| *n == base) {
            names.push((base, row));
        }
    }
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    names
}

/// The first end-of-life model name in a prose line, word-bounded.
pub fn find_eol_name<'a>(
    names: &'a [(String, &'a ModelRow)],
    line: &str,
) -> Option<&'a (String, &'a ModelRow)> {
    let bounded = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '.'));
    names.iter().find(|(name, _)| {
        line.match_indices(name.as_str()).any(|(i, _)| {
            bounded(line[..i].chars().next_back()) && bounded(line[i + name.len()..].chars().next())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_not_hosts() {
        let ids = |l: &str| find_ids(l).into_iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(
            ids("  --model-id anthropic.claude-3-5-sonnet-20241022-v2:0 \\"),
            vec!["anthropic.claude-3-5-sonnet-20241022-v2:0"]
        );
        assert_eq!(
            ids("modelId='us.amazon.nova-2-lite-v1:0',"),
            vec!["us.amazon.nova-2-lite-v1:0"]
        );
        assert!(ids("https://docs.aws.amazon.com/bedrock/latest/x.html").is_empty());
        assert!(ids("see amazon.com").is_empty());
        let arn =
            find_ids("arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-8b-instruct-v1:0");
        assert_eq!(arn.len(), 1);
        assert_eq!(arn[0].id, "meta.llama3-8b-instruct-v1:0");
        assert_eq!(arn[0].arn_region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn bundled_table_parses_and_names_are_bounded() {
        let table = ModelTable::bundled().expect("bundled table");
        assert!(table.get("us.anthropic.claude-sonnet-4-6").is_some());
        let names = eol_names(&table);
        let hit = find_eol_name(&names, "3. Chọn model: **Claude 3.5 Sonnet v2**");
        assert_eq!(hit.map(|(n, _)| n.as_str()), Some("Claude 3.5 Sonnet v2"));
        assert!(find_eol_name(&names, "Claude Sonnet 4.6").is_none());
    }
}
