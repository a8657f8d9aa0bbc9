//! An LLM gateway package's model data (litellm's
//! `model_prices_and_context_window.json`), the public machine-readable
//! source `labcheck models check` compares the table with when it cannot ask
//! Bedrock itself: its Bedrock entries, their ids normalised as Bedrock
//! clients send them, and the end-of-life dates litellm records.
//!
//! litellm keys carry routing prefixes (`bedrock/us-east-1/…`,
//! `bedrock/*/1-month-commitment/…`, `1024-x-1024/50-steps/…`,
//! `bedrock_mantle/…`): the model id is the last path segment, and a
//! geographic inference-profile prefix (`us.`) is split off it as the lint
//! does. Keys that are not Bedrock model ids (`bedrock/claude_platform/…`,
//! `bedrock/guardrails`, `…@date`) are skipped.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::lint::GEO_PREFIXES;

/// The package labcheck reads, and the file inside its wheel.
pub const PACKAGE: &str = "litellm";
pub const DATA_FILE: &str = "litellm/model_prices_and_context_window_backup.json";

/// One Bedrock entry of the gateway data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayModel {
    /// litellm's key, as written.
    pub key: String,
    /// The id a client sends, prefix included (`us.anthropic.…`).
    pub id: String,
    /// The id without its geographic prefix.
    pub base: String,
    /// The geographic prefix, without its dot.
    pub prefix: Option<String>,
    /// The region a `bedrock/<region>/…` key prices.
    pub region: Option<String>,
    /// litellm's `mode`: `chat`, `embedding`, `image_generation`, …
    pub mode: Option<String>,
    /// litellm's `deprecation_date` (`YYYY-MM-DD`): when the id stops working.
    pub deprecation_date: Option<String>,
    /// An id of Bedrock's OpenAI-compatible endpoint (`bedrock_mantle`).
    pub mantle: bool,
}

/// The Bedrock part of one version of the gateway data.
#[derive(Debug, Clone)]
pub struct GatewayData {
    pub package: String,
    /// The package version, or `unknown` for a bare data file.
    pub version: String,
    pub models: Vec<GatewayModel>,
}

/// Gateway data that could not be read, fetched or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    #[error("cannot read the gateway data `{}`: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(
        "invalid gateway data: {0} (hint: pass litellm's model_prices_and_context_window.json or tests/fixtures/models/litellm-bedrock.json)"
    )]
    Parse(String),
    #[error(
        "cannot run `{python}` to download {PACKAGE} from PyPI: {source} (hint: install python3 with pip or set `LABCHECK_PYTHON`)"
    )]
    Python {
        python: String,
        source: std::io::Error,
    },
    #[error(
        "cannot download {PACKAGE}{version} from PyPI: pip exited with {status} (hint: labcheck needs PyPI for this; offline, pass `--gateway-file FILE`, e.g. tests/fixtures/models/litellm-bedrock.json)"
    )]
    Download { version: String, status: String },
    #[error("pip downloaded no {PACKAGE} wheel into `{}`", dir.display())]
    NoWheel { dir: std::path::PathBuf },
}

/// The fixture's wrapper (`scripts/litellm-bedrock-fixture.py`).
#[derive(Deserialize)]
struct Fixture {
    package: String,
    version: String,
    models: Map<String, Value>,
}

impl GatewayData {
    /// Parses litellm's data file (a map of entries) or the committed
    /// fixture (`{"package", "version", "models": {…}}`). `version` names a
    /// bare data file's version (the fixture carries its own).
    pub fn parse(text: &str, version: Option<&str>) -> Result<GatewayData, GatewayError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| GatewayError::Parse(e.to_string()))?;
        let (package, version, entries) = if value.get("models").is_some() {
            let f: Fixture =
                serde_json::from_value(value).map_err(|e| GatewayError::Parse(e.to_string()))?;
            (f.package, f.version, f.models)
        } else {
            let Value::Object(map) = value else {
                return Err(GatewayError::Parse("not a JSON object".into()));
            };
            (
                PACKAGE.to_string(),
                version.unwrap_or("unknown").to_string(),
                map,
            )
        };
        let mut models: Vec<GatewayModel> = entries
            .iter()
            .filter_map(|(key, entry)| model(key, entry))
            .collect();
        models.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(GatewayData {
            package,
            version,
            models,
        })
    }

    /// Reads [`GatewayData::parse`] from a file.
    pub fn read(path: &Path, version: Option<&str>) -> Result<GatewayData, GatewayError> {
        let text = std::fs::read_to_string(path).map_err(|source| GatewayError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        GatewayData::parse(&text, version)
    }

    /// Every distinct id a client may send (bare and prefixed), sorted.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.models.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Downloads `litellm` (`version`, else the newest) from PyPI with the
/// machine's pip into `dir` — pip draws its own progress bar on stderr —
/// and reads the data file out of the wheel.
pub fn download(
    python: &std::ffi::OsStr,
    version: Option<&str>,
    dir: &Path,
) -> Result<GatewayData, GatewayError> {
    let spec = match version {
        Some(v) => format!("{PACKAGE}=={v}"),
        None => PACKAGE.to_string(),
    };
    let shown = version.map(|v| format!("=={v}")).unwrap_or_default();
    let python_error = |source| GatewayError::Python {
        python: python.to_string_lossy().into_owned(),
        source,
    };
    let status = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .arg("--dest")
        .arg(dir)
        .arg(&spec)
        .status()
        .map_err(python_error)?;
    if !status.success() {
        return Err(GatewayError::Download {
            version: shown,
            status: status
                .code()
                .map_or("a signal".to_string(), |c| format!("status {c}")),
        });
    }
    let wheel = std::fs::read_dir(dir)
        .map_err(|source| GatewayError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{PACKAGE}-")) && n.ends_with(".whl"))
        })
        .ok_or_else(|| GatewayError::NoWheel {
            dir: dir.to_path_buf(),
        })?;
    // `litellm-1.110.2-cp310-abi3-….whl` → `1.110.2`.
    let got = wheel
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').nth(1))
        .unwrap_or("unknown")
        .to_string();
    // A wheel is a zip; python's zipfile reads it, so labcheck needs no zip crate.
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
        ])
        .arg(&wheel)
        .arg(DATA_FILE)
        .output()
        .map_err(python_error)?;
    if !out.status.success() {
        return Err(GatewayError::Parse(format!(
            "`{DATA_FILE}` not found in `{}`",
            wheel.display()
        )));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| GatewayError::Parse(e.to_string()))?;
    GatewayData::parse(&text, Some(&got))
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (first, rest) = match parts.as_slice() {
        [a, "gov", b, n] => (*a, [*b, *n]),
        [a, b, n] => (*a, [*b, *n]),
        _ => return false,
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && rest[0].bytes().all(|b| b.is_ascii_lowercase())
        && rest[1].len() == 1
        && rest[1].bytes().all(|b| b.is_ascii_digit())
}

fn model(key: &str, entry: &Value) -> Option<GatewayModel> {
    let provider = entry.get("litellm_provider")?.as_str()?;
    if !provider.starts_with("bedrock") {
        return None;
    }
    let parts: Vec<&str> = key.split('/').collect();
    let id = *parts.last()?;
    if parts.contains(&"claude_platform") || id.contains('@') || !id.contains('.') {
        return None;
    }
    let region = parts[..parts.len() - 1]
        .iter()
        .find(|p| is_region(p))
        .map(|p| p.to_string());
    let (base, prefix) = GEO_PREFIXES
        .iter()
        .find_map(|p| {
            id.strip_prefix(p)
                .and_then(|r| r.strip_prefix('.'))
                .map(|r| (r, Some(p.to_string())))
        })
        .unwrap_or((id, None));
    let text = |f: &str| entry.get(f).and_then(Value::as_str).map(str::to_string);
    Some(GatewayModel {
        key: key.to_string(),
        id: id.to_string(),
        base: base.to_string(),
        prefix,
        region,
        mode: text("mode"),
        deprecation_date: text("deprecation_date"),
        mantle: key.starts_with("bedrock_mantle/"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_client_ids() {
        let text = r#"{
            "bedrock/us-east-1/1-month-commitment/anthropic.claude-v2:1": {"litellm_provider": "bedrock", "mode": "chat"},
            "1024-x-1024/50-steps/bedrock/amazon.nova-canvas-v1:0": {"litellm_provider": "bedrock", "deprecation_date": "2026-09-30"},
            "eu.meta.llama3-2-1b-instruct-v1:0": {"litellm_provider": "bedrock"},
            "bedrock_mantle/openai.gpt-oss-120b": {"litellm_provider": "bedrock_mantle"},
            "bedrock/claude_platform/claude-opus-4-5": {"litellm_provider": "bedrock"},
            "anthropic.claude-haiku-4-5@20251001": {"litellm_provider": "bedrock_converse"},
            "gpt-4o": {"litellm_provider": "openai"},
            "sample_spec": "not an entry"
        }"#;
        let data = GatewayData::parse(text, Some("0.0.1")).expect("parses");
        assert_eq!(data.version, "0.0.1");
        let got: Vec<(&str, &str, Option<&str>, Option<&str>)> = data
            .models
            .iter()
            .map(|m| {
                (
                    m.id.as_str(),
                    m.base.as_str(),
                    m.prefix.as_deref(),
                    m.region.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "amazon.nova-canvas-v1:0",
                    "amazon.nova-canvas-v1:0",
                    None,
                    None
                ),
                (
                    "anthropic.claude-v2:1",
                    "anthropic.claude-v2:1",
                    None,
                    Some("us-east-1")
                ),
                ("openai.gpt-oss-120b", "openai.gpt-oss-120b", None, None),
                (
                    "eu.meta.llama3-2-1b-instruct-v1:0",
                    "meta.llama3-2-1b-instruct-v1:0",
                    Some("eu"),
                    None
                ),
            ]
        );
        assert!(data.models[2].mantle);
        assert!(is_region("us-gov-west-1") && !is_region("1-month-commitment"));
    }
}
