//! The model table (`data/models.toml`, bundled at build time) and the check
//! of Bedrock model ids and console model names found in a page: unknown,
//! legacy, past end-of-life, or not callable on demand in the lab's region.
//! The table's own age is checked too: older than [`STALE_AFTER_DAYS`] is a
//! warning, because lifecycle dates move.
//!
//! Ids are normalised before lookup ([`ModelTable::lookup`]): an exact row
//! wins; otherwise a context suffix (`:200k`, `:128k`, `:mm`) and then a
//! geographic inference-profile prefix (`us.`, `eu.`, `apac.`, `global.`, …)
//! are removed, because Bedrock serves those ids from the same base model and
//! its lifecycle is the base model's.

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
    /// Geographic inference-profile prefixes known to exist for this model
    /// (`["us", "global"]`); empty when the table does not know.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// `openai` for an id of Bedrock's OpenAI-compatible endpoint (not in
    /// `ListFoundationModels`); none for a Bedrock Runtime model id.
    #[serde(default)]
    pub api: Option<String>,
    /// The table file and `checked` date of a row added over the bundled
    /// table (`--models FILE`, a lab's `models.toml`); none for bundled rows.
    #[serde(skip)]
    pub origin: Option<(PathBuf, String)>,
}

/// Prefixes of cross-region inference-profile ids (`us.anthropic.…`).
/// Longest first, so `us-gov.` is not read as `us`.
pub const GEO_PREFIXES: &[&str] = &[
    "us-gov", "global", "apac", "us", "eu", "jp", "au", "ca", "in",
];

/// How an id was matched to its row: what normalisation removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalised {
    /// The geographic prefix removed, without its dot (`us`).
    pub prefix: Option<String>,
    /// The context/throughput suffix removed, with its colon (`:200k`).
    pub suffix: Option<String>,
}

impl Normalised {
    fn is_exact(&self) -> bool {
        self.prefix.is_none() && self.suffix.is_none()
    }
}

/// `id` without a trailing context suffix (`:200k`, `:mm`), and the suffix.
fn split_suffix(id: &str) -> (&str, Option<&str>) {
    if let Some(i) = id.rfind(':') {
        let tail = &id[i + 1..];
        let context = tail.len() > 1
            && tail.ends_with('k')
            && tail[..tail.len() - 1].bytes().all(|b| b.is_ascii_digit());
        if context || tail == "mm" {
            return (&id[..i], Some(&id[i..]));
        }
    }
    (id, None)
}

/// `id` without a geographic inference-profile prefix, and the prefix.
fn split_prefix(id: &str) -> (&str, Option<&'static str>) {
    for p in GEO_PREFIXES {
        if let Some(rest) = id.strip_prefix(p).and_then(|r| r.strip_prefix('.')) {
            return (rest, Some(p));
        }
    }
    (id, None)
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

    /// The row for `id`, normalised: the exact row, else without the context
    /// suffix, else also without the geographic prefix.
    pub fn lookup(&self, id: &str) -> Option<(&ModelRow, Normalised)> {
        if let Some(row) = self.get(id) {
            return Some((row, Normalised::default()));
        }
        let (bare, suffix) = split_suffix(id);
        let suffix = suffix.map(str::to_string);
        if suffix.is_some()
            && let Some(row) = self.get(bare)
        {
            return Some((
                row,
                Normalised {
                    prefix: None,
                    suffix,
                },
            ));
        }
        let (base, prefix) = split_prefix(bare);
        let prefix = prefix.map(str::to_string);
        if prefix.is_some()
            && let Some(row) = self.get(base)
        {
            return Some((row, Normalised { prefix, suffix }));
        }
        None
    }

    /// This table with `overlay`'s rows added; a row whose id is already
    /// here replaces it (`labcheck lint --models FILE`). Path and `checked`
    /// stay this table's: the staleness warning is about the bundled rows.
    pub fn with_rows_from(mut self, overlay: ModelTable) -> ModelTable {
        let origin = (overlay.path.clone(), format_day(overlay.checked));
        for mut row in overlay.models {
            row.origin = Some(origin.clone());
            match self.models.iter_mut().find(|m| m.id == row.id) {
                Some(old) => *old = row,
                None => self.models.push(row),
            }
        }
        self
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
    Regex::new(r"(?:(?:us|eu|apac|global|jp|au|ca|in|us-gov)\.)?(?:anthropic|amazon|meta|mistral|cohere|ai21|stability|deepseek|writer|qwen|openai|twelvelabs|luma|minimax|moonshot|moonshotai|nvidia|google|zai|xai)\.[a-z0-9][a-z0-9-]*(?:\.[0-9][a-z0-9-]*)?(?::[0-9]+k|:mm|:[0-9]+(?::[0-9]+k|:mm)?)?")
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
        // `amazon.com` is a host; `deepseek.v3.2` is a model: a model id
        // without a dash still has a digit.
        if !m.as_str().contains('-') && !m.as_str().bytes().any(|b| b.is_ascii_digit()) {
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
    let bundled = format!("data/models.toml, checked {}", format_day(table.checked));
    let Some((row, how)) = table.lookup(id) else {
        let checked = bundled;
        let message = format!("unknown model id `{id}`: not in the model table");
        return Some(
            Diagnostic::new(Severity::Warning, "model-unknown", message, file)
                .at(text, line, Some(id))
                .note(format!("labcheck cannot tell whether it is active or callable on demand in `{region}` ({checked})"))
                .help("check its lifecycle and regions in the Bedrock docs, then add a row with sources to data/models.toml (or pass `--models FILE` with that row)"),
        );
    };
    let checked = match &row.origin {
        Some((path, day)) => format!("{}, checked {day}", path.display()),
        None => bundled,
    };
    // A profile id (`us.…`) is never "on demand": the profile routes it.
    let via_profile = how.prefix.is_some();
    let with_sources = |mut d: Diagnostic| {
        if let Some(note) = matched_note(row, &how) {
            d = d.note(note);
        }
        if let Some(src) = row.sources.first() {
            d = d.note(format!("source: {src} ({checked})"));
        }
        if let Some(r) = &row.replacement {
            d = d.help(format!("use `{r}`"));
        }
        d
    };
    if let Some(p) = &how.prefix
        && !row.profiles.is_empty()
        && !row.profiles.iter().any(|k| k == p)
        && row.status != "eol"
    {
        let message = format!(
            "model `{id}`: the table knows no `{p}.` inference profile for `{}` (it lists {})",
            row.id,
            row.profiles
                .iter()
                .map(|k| format!("`{k}.`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let d = Diagnostic::new(Severity::Warning, "model-no-profile", message, file).at(
            text,
            line,
            Some(id),
        );
        return Some(with_sources(d));
    }
    match row.status.as_str() {
        "eol" => {
            let when = row
                .eol_date
                .as_deref()
                .map_or(" (date not sourced)".to_string(), |d| format!(" on {d}"));
            let message = format!("model `{id}` reached end of life{when}");
            let mut d = Diagnostic::new(Severity::Error, "model-eol", message, file).at(
                text,
                line,
                Some(id),
            );
            if !via_profile
                && row.requires_inference_profile
                && !row.on_demand_regions.iter().any(|r| r == region)
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
        _ if !via_profile
            && row.requires_inference_profile
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
        // The regions of a base row say nothing of a profile's regions.
        _ if how.is_exact()
            && !row.regions.is_empty()
            && !row.regions.iter().any(|r| r == region) =>
        {
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

/// "matched the row of …" when normalisation was needed to find `row`, with
/// whether the table knows the prefixed profile exists.
fn matched_note(row: &ModelRow, how: &Normalised) -> Option<String> {
    if how.is_exact() {
        return None;
    }
    let removed: Vec<String> = [
        how.prefix
            .as_ref()
            .map(|p| format!("geographic prefix `{p}.`")),
        how.suffix.as_ref().map(|s| format!("context suffix `{s}`")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut note = format!(
        "matched the table row `{}` (without the {})",
        row.id,
        removed.join(" and the ")
    );
    if let Some(p) = &how.prefix {
        if row.profiles.iter().any(|k| k == p) {
            note.push_str(&format!("; the table lists a `{p}.` profile for it"));
        } else if row.profiles.is_empty() {
            note.push_str(&format!(
                "; the table does not say whether a `{p}.` profile exists"
            ));
        }
    }
    Some(note)
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
    fn ids_are_normalised_before_lookup() {
        let table = ModelTable::bundled().expect("bundled table");
        let base = |id: &str| table.lookup(id).map(|(r, n)| (r.id.clone(), n));
        let sonnet3 = "anthropic.claude-3-sonnet-20240229-v1:0";
        assert_eq!(
            base(sonnet3),
            Some((sonnet3.to_string(), Normalised::default()))
        );
        let (row, how) = base("us.anthropic.claude-3-sonnet-20240229-v1:0:200k").expect("found");
        assert_eq!(row, sonnet3);
        assert_eq!(how.prefix.as_deref(), Some("us"));
        assert_eq!(how.suffix.as_deref(), Some(":200k"));
        let (row, how) = base("us-gov.anthropic.claude-v2").expect("found");
        assert_eq!(
            (row.as_str(), how.prefix.as_deref()),
            ("anthropic.claude-v2", Some("us-gov"))
        );
        // An exact profile row wins over its base row.
        let (row, how) = base("us.anthropic.claude-sonnet-4-6").expect("found");
        assert_eq!(row, "us.anthropic.claude-sonnet-4-6");
        assert!(how.is_exact());
        // `:0` is a version, not a context suffix; `:mm` is one.
        assert_eq!(split_suffix("a.b-v1:0"), ("a.b-v1:0", None));
        assert_eq!(split_suffix("a.b-v1:0:mm"), ("a.b-v1:0", Some(":mm")));
        assert!(base("anthropic.claude-v3").is_none());
        let ids = |l: &str| find_ids(l).into_iter().map(|f| f.id).collect::<Vec<_>>();
        assert_eq!(
            ids("modelId = 'meta.llama3-1-8b-instruct-v1:0:128k'"),
            vec!["meta.llama3-1-8b-instruct-v1:0:128k"]
        );
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
