//! Settings read once at the edge: every environment variable labcheck
//! honours, and the flag values that share their rules, turned into typed,
//! validated values before any work starts (as ripgrep's `HiArgs`).
//!
//! [`Vars::capture`] is the one place the library reads the environment;
//! everything else here is a pure function of the captured values, so tests
//! give values instead of setting variables. Every other module takes what it
//! needs from [`Settings`] as plain values.
//!
//! | variable | setting | rule |
//! |---|---|---|
//! | `LABCHECK_MODE`, `LABCHECK_LIVE` | [`Settings::mode`] | `replay` (default), `record`, `live` (needs `LABCHECK_LIVE=1`) |
//! | `LABCHECK_SPEED` | [`Settings::speed`] | replay speed factor, `0..=1000` ([`MAX_SPEED`]); `--speed` wins |
//! | `LABCHECK_RUN_ID`, `NEXTEST_RUN_ID` | [`Settings::run_id`] | letters, digits, `.`, `_`, `-`; at most 128 |
//! | `LABCHECK_UPSTREAM`, `LABCHECK_SETUP_UPSTREAM`, `LABCHECK_RECORD`, `LABCHECK_MAX_TOKENS`, `LABCHECK_MAX_SETUP_CALLS` | [`Settings::proxy`] | token budget `0..=`[`MAX_TOKENS_LIMIT`], setup calls `0..=`[`MAX_SETUP_CALLS_LIMIT`] |
//! | `AWS_BEARER_TOKEN_BEDROCK` | [`Settings::proxy`] | the Bedrock API key the OpenAI-compatible API is recorded with; never shown ([`Vars`]' `Debug` redacts it) |
//! | `LABCHECK_CLIENTS_DIR`, `XDG_CACHE_HOME`, `HOME`, `LABCHECK_PYTHON`, `PATH` | [`Settings::clients`] | see [`clients_dir`] |
//! | `LABCHECK_NETGUARD` | [`Settings::netguard`] | `auto` (default) or `proxy` |
//! | `LABCHECK_SANDBOX` | [`Settings::sandbox`] | `auto` (default), `landlock` or `none` |
//! | `CARGO_TARGET_DIR` | [`Settings::target_dir`] | results of `cargo test` go under it |
//! | `LABCHECK_TODAY` | read by `labcheck lint` and `models check` ([`Vars::text`]) | `YYYY-MM-DD`; `--today` wins |
//! | `AWS_ENDPOINT_URL_BEDROCK` | [`Settings::bedrock_endpoint`] | the `bedrock` control plane `labcheck models check` asks (replay's `/bedrock` prefix, a test server) |

mod parse;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use parse::{
    HEADER_TIMEOUT_SECS, MAX_CONNECTIONS_LIMIT, MAX_SETUP_CALLS_LIMIT, MAX_SPEED, MAX_TOKENS_LIMIT,
    ValueError, clients_dir, fresh_run_id, parse_header_timeout, parse_max_connections,
    parse_max_setup_calls, parse_max_tokens, parse_netguard, parse_percent, parse_run_id,
    parse_sandbox, parse_speed,
};

use crate::clients::Clients;
use crate::mode::{Mode, ModeError};
use crate::netguard::Policy;
use crate::record::{
    BearerToken, Budget, CallBudget, DEFAULT_MAX_SETUP_CALLS, DEFAULT_MAX_TOKENS, ProxySettings,
    RecordMode,
};

/// Every variable [`Vars::capture`] reads.
pub const VARS: &[&str] = &[
    "LABCHECK_MODE",
    "LABCHECK_LIVE",
    "LABCHECK_SPEED",
    "LABCHECK_RUN_ID",
    "NEXTEST_RUN_ID",
    "LABCHECK_UPSTREAM",
    "LABCHECK_SETUP_UPSTREAM",
    "LABCHECK_RECORD",
    "LABCHECK_MAX_TOKENS",
    "LABCHECK_MAX_SETUP_CALLS",
    "LABCHECK_CLIENTS_DIR",
    "XDG_CACHE_HOME",
    "HOME",
    "LABCHECK_PYTHON",
    "PATH",
    "LABCHECK_NETGUARD",
    "LABCHECK_SANDBOX",
    "CARGO_TARGET_DIR",
    "LABCHECK_TODAY",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK",
];

/// Variables of [`VARS`] whose values are secrets: never shown.
const SECRET_VARS: &[&str] = &["AWS_BEARER_TOKEN_BEDROCK"];

/// Where a value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable, by name.
    Env(&'static str),
    /// A command-line flag, e.g. `--speed`.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(name) => write!(f, "env var `{name}`"),
            Origin::Flag(name) => write!(f, "`{name}`"),
        }
    }
}

/// A setting that could not be used; names the variable or flag and says
/// what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    #[error("invalid value for {origin}: `{value}`: {error}")]
    Invalid {
        origin: Origin,
        value: String,
        error: ValueError,
    },
    #[error(transparent)]
    Mode(#[from] ModeError),
}

impl SettingsError {
    fn invalid(origin: Origin, value: &str, error: ValueError) -> SettingsError {
        SettingsError::Invalid {
            origin,
            value: value.to_string(),
            error,
        }
    }
}

/// The environment variables of [`VARS`], captured once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Vars {
    values: BTreeMap<&'static str, OsString>,
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (k, v) in &self.values {
            if SECRET_VARS.contains(k) {
                map.entry(k, &"REDACTED");
            } else {
                map.entry(k, v);
            }
        }
        map.finish()
    }
}

impl Vars {
    /// Reads every variable of [`VARS`] from the process environment: the only
    /// environment read of the library.
    pub fn capture() -> Vars {
        Vars {
            values: VARS
                .iter()
                .filter_map(|&name| std::env::var_os(name).map(|v| (name, v)))
                .collect(),
        }
    }

    /// Given values (tests); names not in [`VARS`] are ignored, as
    /// [`Vars::capture`] would never see them.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vars {
        Vars {
            values: pairs
                .into_iter()
                .filter_map(|(k, v)| {
                    VARS.iter()
                        .find(|&&n| n == k)
                        .map(|&n| (n, OsString::from(v)))
                })
                .collect(),
        }
    }

    /// The raw value, if set.
    pub fn os(&self, name: &'static str) -> Option<&OsStr> {
        self.values.get(name).map(OsString::as_os_str)
    }

    /// The value as text; unset and empty are `None` (an empty variable means
    /// the default, as for every labcheck variable). Non-UTF-8 is an error.
    pub fn text(&self, name: &'static str) -> Result<Option<&str>, SettingsError> {
        match self.os(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v.to_str().map(Some).ok_or_else(|| {
                SettingsError::invalid(
                    Origin::Env(name),
                    &v.to_string_lossy(),
                    ValueError::new("not valid UTF-8", "write the value in plain UTF-8 text"),
                )
            }),
        }
    }

    fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Result<Option<T>, SettingsError> {
        match self.text(name)? {
            None => Ok(None),
            Some(v) => parse(v)
                .map(Some)
                .map_err(|e| SettingsError::invalid(Origin::Env(name), v, e)),
        }
    }
}

/// Everything labcheck takes from the environment, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `LABCHECK_RUN_ID`, else `NEXTEST_RUN_ID`, else [`fresh_run_id`].
    pub run_id: String,
    /// `LABCHECK_RUN_ID` alone (what `labcheck report` defaults to).
    pub run_id_given: Option<String>,
    /// Set when running under nextest (`NEXTEST_RUN_ID`): one process per
    /// trial, so no end-of-run checklist (`labcheck report` merges).
    pub under_nextest: bool,
    pub mode: Mode,
    /// `LABCHECK_SPEED`, else 1 (a `--speed` flag overrides it).
    pub speed: f64,
    pub proxy: ProxySettings,
    /// The clients cache and the python and `PATH` that build it.
    pub clients: Clients,
    pub netguard: Policy,
    /// The sandbox for step processes.
    pub sandbox: crate::sandbox::Policy,
    /// `CARGO_TARGET_DIR`, if set.
    pub target_dir: Option<PathBuf>,
    /// `AWS_ENDPOINT_URL_BEDROCK`: where `labcheck models check` sends
    /// `ListFoundationModels` instead of `https://bedrock.<region>.amazonaws.com`.
    pub bedrock_endpoint: Option<String>,
    /// `LABCHECK_PYTHON`, else `python3`: the python whose pip downloads
    /// gateway data for `labcheck models check`.
    pub python: std::ffi::OsString,
}

impl Settings {
    /// Settings from the process environment: [`Vars::capture`], then
    /// [`Settings::from_vars`].
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_vars(&Vars::capture())
    }

    /// Settings from captured (or given) variables.
    pub fn from_vars(vars: &Vars) -> Result<Settings, SettingsError> {
        let run_id_given = vars.parsed("LABCHECK_RUN_ID", parse_run_id)?;
        let nextest = vars.parsed("NEXTEST_RUN_ID", parse_run_id)?;
        let mode = Mode::resolve(
            vars.text("LABCHECK_MODE")?.unwrap_or_default(),
            vars.text("LABCHECK_LIVE")?.unwrap_or_default(),
        )?;
        Ok(Settings {
            run_id: run_id_given
                .clone()
                .or_else(|| nextest.clone())
                .unwrap_or_else(fresh_run_id),
            run_id_given,
            under_nextest: nextest.is_some(),
            mode,
            speed: vars.parsed("LABCHECK_SPEED", parse_speed)?.unwrap_or(1.0),
            proxy: proxy_settings(vars)?,
            clients: clients(vars),
            netguard: vars
                .parsed("LABCHECK_NETGUARD", parse_netguard)?
                .unwrap_or_default(),
            sandbox: vars
                .parsed("LABCHECK_SANDBOX", parse_sandbox)?
                .unwrap_or_default(),
            target_dir: vars
                .os("CARGO_TARGET_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            bedrock_endpoint: vars.text("AWS_ENDPOINT_URL_BEDROCK")?.map(str::to_string),
            python: vars
                .os("LABCHECK_PYTHON")
                .filter(|v| !v.is_empty())
                .map_or_else(|| "python3".into(), OsStr::to_os_string),
        })
    }
}

impl Settings {
    /// Where `cargo test` writes outcome files for the crate at `root`:
    /// `$CARGO_TARGET_DIR/labcheck/results`, else `<root>/target/labcheck/results`.
    pub fn cargo_results_dir(&self, root: &std::path::Path) -> PathBuf {
        self.target_dir
            .clone()
            .unwrap_or_else(|| root.join("target"))
            .join("labcheck")
            .join("results")
    }
}

/// Record and live settings from `LABCHECK_UPSTREAM`,
/// `LABCHECK_SETUP_UPSTREAM`, `LABCHECK_RECORD` and `LABCHECK_MAX_TOKENS`.
pub fn proxy_settings(vars: &Vars) -> Result<ProxySettings, SettingsError> {
    let record_mode = vars
        .parsed("LABCHECK_RECORD", |v| {
            RecordMode::parse(v).map_err(|_| {
                ValueError::new("not a record mode", "one of `once`, `new_episodes`, `all`")
            })
        })?
        .unwrap_or_default();
    let max_tokens = vars
        .parsed("LABCHECK_MAX_TOKENS", parse_max_tokens)?
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let max_setup_calls = vars
        .parsed("LABCHECK_MAX_SETUP_CALLS", parse_max_setup_calls)?
        .unwrap_or(DEFAULT_MAX_SETUP_CALLS);
    Ok(ProxySettings {
        upstream: vars.text("LABCHECK_UPSTREAM")?.map(str::to_string),
        setup_upstream: vars.text("LABCHECK_SETUP_UPSTREAM")?.map(str::to_string),
        record_mode,
        budget: Arc::new(Budget::new(max_tokens)),
        setup_calls: Arc::new(CallBudget::new(max_setup_calls)),
        bearer_token: vars
            .os("AWS_BEARER_TOKEN_BEDROCK")
            .and_then(|v| BearerToken::new(&v.to_string_lossy())),
        ..ProxySettings::default()
    })
}

/// The clients cache ([`clients_dir`]) with `LABCHECK_PYTHON` and `PATH`.
pub fn clients(vars: &Vars) -> Clients {
    let owned = |name| vars.os(name).map(OsStr::to_os_string);
    Clients::from_parts(
        clients_dir(
            owned("LABCHECK_CLIENTS_DIR"),
            owned("XDG_CACHE_HOME"),
            owned("HOME"),
        ),
        owned("LABCHECK_PYTHON").filter(|v| !v.is_empty()),
        owned("PATH"),
    )
}

#[cfg(test)]
mod tests;
