//! `labcheck models check`: what changed since the model table
//! (`data/models.toml`) was last checked. With AWS credentials and live mode
//! opted in (`LABCHECK_MODE=live`, `LABCHECK_LIVE=1`), it asks Bedrock —
//! `ListFoundationModels` in every region the labs use ([`bedrock`]); without
//! them it says so and compares with an LLM gateway package's model data
//! from PyPI ([`gateway`], litellm at a given or the newest version). Either
//! way the report names its source and version, then one line per change:
//! an id the table lacks, a status or a legacy / end-of-life date that
//! differs.

pub mod bedrock;
pub mod gateway;

use std::collections::BTreeMap;
use std::fmt;

use crate::lint::{ModelRow, ModelTable};

pub use bedrock::{BedrockError, FoundationModel, list_foundation_models, parse_list};
pub use gateway::{GatewayData, GatewayError, GatewayModel};

/// At most this many regions are asked in one check (one request each).
pub const MAX_REGIONS: usize = 16;

/// Where the comparison's facts came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `ListFoundationModels` in these regions.
    Bedrock { regions: Vec<String> },
    /// A gateway package's data at a version.
    Gateway { package: String, version: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bedrock { regions } => write!(
                f,
                "Amazon Bedrock ListFoundationModels in {}",
                regions
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Source::Gateway { package, version } => {
                write!(f, "{package} {version} (gateway package data from PyPI)")
            }
        }
    }
}

/// Why the check did not ask Bedrock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// Live mode was not opted into.
    NotLive,
    /// Live mode, but the credential chain found nothing.
    NoCredentials(String),
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fallback::NotLive => f.write_str(
                "not asking Amazon Bedrock: live mode is off (hint: with AWS credentials, set `LABCHECK_MODE=live` and `LABCHECK_LIVE=1` to compare with ListFoundationModels)",
            ),
            Fallback::NoCredentials(why) => write!(
                f,
                "not asking Amazon Bedrock: no AWS credentials ({why}) (hint: configure credentials as for `labcheck record`)"
            ),
        }
    }
}

/// What differs between the table and the source for one id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The source lists an id no row matches.
    New { id: String, note: String },
    /// The lifecycle status differs.
    Status {
        id: String,
        table: String,
        source: String,
    },
    /// A legacy or end-of-life date differs (`field` names which).
    Date {
        id: String,
        field: &'static str,
        table: Option<String>,
        source: String,
    },
    /// Rows the table calls usable that no asked region lists (one line:
    /// with few regions asked, most rows are simply offered elsewhere).
    NotListed { ids: Vec<String> },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::New { id, note } => write!(f, "new      `{id}`: not in the table ({note})"),
            Change::Status { id, table, source } => write!(
                f,
                "status   `{id}`: the table says `{table}`, the source says `{source}`"
            ),
            Change::Date {
                id,
                field,
                table,
                source,
            } => write!(
                f,
                "{field:<8} `{id}`: the table says {}, the source says {source}",
                table.as_deref().unwrap_or("nothing")
            ),
            Change::NotListed { ids } => write!(
                f,
                "unlisted {} usable rows of the table are listed in no asked region (end of life, or not offered there): {}",
                ids.len(),
                ids.iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The check's outcome.
#[derive(Debug, Clone)]
pub struct Report {
    pub source: Source,
    pub changes: Vec<Change>,
}

impl Report {
    /// The text `labcheck models check` prints: source, changes, a count.
    pub fn render(&self, table: &ModelTable) -> String {
        let mut out = format!(
            "models check: `{}` (checked {}, {} rows) compared with {}\n",
            table.path.display(),
            crate::cassette::age::format_day(table.checked),
            table.models.len(),
            self.source
        );
        for c in &self.changes {
            out.push_str(&format!("  {c}\n"));
        }
        out.push_str(&match self.changes.len() {
            0 => "no changes: the table agrees with the source\n".to_string(),
            1 => "1 change: update data/models.toml (docs/models.md says how)\n".to_string(),
            n => format!("{n} changes: update data/models.toml (docs/models.md says how)\n"),
        });
        out
    }
}

/// The row an id matches (exact, then normalised as the lint does).
fn row<'a>(table: &'a ModelTable, id: &str) -> Option<&'a ModelRow> {
    table.lookup(id).map(|(r, _)| r)
}

/// The row of a provisioned-throughput variant `ListFoundationModels` lists
/// beside its model (`amazon.titan-embed-text-v1:2:8k` of
/// `amazon.titan-embed-text-v1`): the id without its `:N` (and context) tail.
fn variant_row<'a>(table: &'a ModelTable, id: &str) -> Option<&'a ModelRow> {
    row(table, id).or_else(|| {
        let (base, tail) = id.split_once(':')?;
        let first = tail.split(':').next()?;
        let version = !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit());
        version.then(|| row(table, base)).flatten()
    })
}

fn date_change(
    id: &str,
    field: &'static str,
    table: Option<&String>,
    source: Option<&String>,
) -> Option<Change> {
    let source = source?;
    (table != Some(source)).then(|| Change::Date {
        id: id.to_string(),
        field,
        table: table.cloned(),
        source: source.clone(),
    })
}

/// Compares the table with gateway data as of `today` (`YYYY-MM-DD`): a
/// `deprecation_date` before today means end of life, a later one legacy
/// (Bedrock sets an end-of-life date only for Legacy versions). An id the
/// gateway lists without a date says nothing about lifecycle.
pub fn compare_gateway(table: &ModelTable, data: &GatewayData, today: &str) -> Report {
    let mut by_base: BTreeMap<&str, Vec<&GatewayModel>> = BTreeMap::new();
    for m in &data.models {
        by_base.entry(m.base.as_str()).or_default().push(m);
    }
    let mut changes = Vec::new();
    for (base, entries) in by_base {
        let Some(r) = row(table, base) else {
            let modes: Vec<&str> = entries.iter().filter_map(|m| m.mode.as_deref()).collect();
            changes.push(Change::New {
                id: base.to_string(),
                note: format!(
                    "{} lists it{}",
                    data.package,
                    modes
                        .first()
                        .map(|m| format!(", mode `{m}`"))
                        .unwrap_or_default()
                ),
            });
            continue;
        };
        // Lifecycle from the bare id's entries; profiles may differ (a note in docs/models.md).
        let date = entries
            .iter()
            .filter(|m| m.prefix.is_none())
            .filter_map(|m| m.deprecation_date.as_ref())
            .max();
        let Some(date) = date else { continue };
        let says = if date.as_str() < today {
            "eol"
        } else {
            "legacy"
        };
        if r.status != says && !(says == "legacy" && r.status == "eol") {
            changes.push(Change::Status {
                id: r.id.clone(),
                table: r.status.clone(),
                source: format!("{says}, end of life {date}"),
            });
        }
        changes.extend(date_change(&r.id, "eol", r.eol_date.as_ref(), Some(date)));
    }
    changes.sort();
    changes.dedup();
    Report {
        source: Source::Gateway {
            package: data.package.clone(),
            version: data.version.clone(),
        },
        changes,
    }
}

/// Compares the table with `ListFoundationModels` answers, region by region.
pub fn compare_bedrock(table: &ModelTable, answers: &[(String, Vec<FoundationModel>)]) -> Report {
    let mut changes = Vec::new();
    let mut listed: Vec<&str> = Vec::new();
    for (_region, models) in answers {
        for m in models {
            let Some(r) = variant_row(table, &m.model_id) else {
                changes.push(Change::New {
                    id: m.model_id.clone(),
                    note: format!(
                        "Bedrock lists it as `{}`{}",
                        m.status,
                        if m.on_demand { ", on demand" } else { "" }
                    ),
                });
                continue;
            };
            listed.push(r.id.as_str());
            let says = m.status.to_ascii_lowercase();
            if r.status != says {
                changes.push(Change::Status {
                    id: r.id.clone(),
                    table: r.status.clone(),
                    source: match &m.eol_date {
                        Some(d) => format!("{says}, end of life {d}"),
                        None => says.clone(),
                    },
                });
            }
            changes.extend(date_change(
                &r.id,
                "eol",
                r.eol_date.as_ref(),
                m.eol_date.as_ref(),
            ));
            changes.extend(date_change(
                &r.id,
                "legacy",
                r.legacy_date.as_ref(),
                m.legacy_date.as_ref(),
            ));
        }
    }
    // Only bare foundation-model rows: profiles and OpenAI-compatible ids are
    // not in ListFoundationModels.
    let unlisted: Vec<String> = table
        .models
        .iter()
        .filter(|r| {
            let profile = crate::lint::GEO_PREFIXES
                .iter()
                .any(|p| r.id.starts_with(&format!("{p}.")));
            r.status != "eol" && !profile && r.api.is_none() && !listed.contains(&r.id.as_str())
        })
        .map(|r| r.id.clone())
        .collect();
    changes.sort();
    changes.dedup();
    if !unlisted.is_empty() {
        changes.push(Change::NotListed { ids: unlisted });
    }
    Report {
        source: Source::Bedrock {
            regions: answers.iter().map(|(r, _)| r.clone()).collect(),
        },
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn table() -> ModelTable {
        ModelTable::parse(
            Path::new("t.toml"),
            r#"
checked = "2026-11-27"
[[model]]
id = "a.retired-v1"
status = "active"
[[model]]
id = "a.leaving-v1"
status = "legacy"
eol_date = "2027-01-01"
[[model]]
id = "a.fine-v1"
status = "eol"
eol_date = "2025-01-01"
[[model]]
id = "us.a.profile-only-v1"
status = "active"
[[model]]
id = "a.mantle"
status = "active"
api = "openai"
"#,
        )
        .expect("table")
    }

    #[test]
    fn gateway_dates_become_status_and_date_changes() {
        let data = GatewayData::parse(
            r#"{
              "a.retired-v1": {"litellm_provider": "bedrock", "deprecation_date": "2026-01-01"},
              "a.leaving-v1": {"litellm_provider": "bedrock", "deprecation_date": "2027-02-01"},
              "eu.a.fine-v1": {"litellm_provider": "bedrock", "deprecation_date": "2030-01-01"},
              "a.fine-v1": {"litellm_provider": "bedrock"},
              "a.new-v1": {"litellm_provider": "bedrock_converse", "mode": "chat"}
            }"#,
            Some("9.9.9"),
        )
        .expect("data");
        let report = compare_gateway(&table(), &data, "2026-11-27");
        let lines: Vec<String> = report.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec![
                "new      `a.new-v1`: not in the table (litellm lists it, mode `chat`)",
                "status   `a.retired-v1`: the table says `active`, the source says `eol, end of life 2026-01-01`",
                "eol      `a.leaving-v1`: the table says 2027-01-01, the source says 2027-02-01",
                "eol      `a.retired-v1`: the table says nothing, the source says 2026-01-01",
            ]
        );
        assert_eq!(
            report.source.to_string(),
            "litellm 9.9.9 (gateway package data from PyPI)"
        );
    }

    #[test]
    fn bedrock_answers_judge_status_dates_and_unlisted_rows() {
        let m = |id: &str, status: &str, eol: Option<&str>| FoundationModel {
            model_id: id.to_string(),
            status: status.to_string(),
            legacy_date: None,
            eol_date: eol.map(str::to_string),
            on_demand: true,
        };
        let answers = vec![(
            "us-west-2".to_string(),
            vec![
                m("a.leaving-v1", "LEGACY", Some("2027-01-01")),
                m("a.retired-v1:0:8k", "ACTIVE", None),
            ],
        )];
        let report = compare_bedrock(&table(), &answers);
        let lines: Vec<String> = report.changes.iter().map(ToString::to_string).collect();
        // `a.retired-v1:0:8k` is a provisioned variant of `a.retired-v1`: the
        // row is listed and agrees; eol rows, profiles and OpenAI-compatible
        // ids are never "unlisted"; an unknown id is new.
        assert!(lines.is_empty(), "{lines:?}");
        let answers = vec![(
            "us-west-2".to_string(),
            vec![
                m("a.leaving-v1", "ACTIVE", None),
                m("b.other-v1:0", "ACTIVE", None),
            ],
        )];
        let lines: Vec<String> = compare_bedrock(&table(), &answers)
            .changes
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            vec![
                "new      `b.other-v1:0`: not in the table (Bedrock lists it as `ACTIVE`, on demand)",
                "status   `a.leaving-v1`: the table says `legacy`, the source says `active`",
                "unlisted 1 usable rows of the table are listed in no asked region (end of life, or not offered there): `a.retired-v1`",
            ]
        );
        assert_eq!(
            Fallback::NotLive.to_string(),
            "not asking Amazon Bedrock: live mode is off (hint: with AWS credentials, set `LABCHECK_MODE=live` and `LABCHECK_LIVE=1` to compare with ListFoundationModels)"
        );
    }
}
