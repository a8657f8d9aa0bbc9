//! Record and live modes: a local proxy between a trial's clients and an
//! upstream Bedrock Runtime (real AWS, or any URL in `LABCHECK_UPSTREAM`).
//!
//! The proxy takes a client's request exactly as the replay server does
//! (operation and decoded model id from the raw path), re-signs it with the
//! author's credentials (aws-config default chain, or given ones) using
//! SigV4 for service `bedrock`, forwards it, and streams the answer back as it
//! arrives. In [`ProxyRole::Record`] it captures each answer (event-stream
//! frames decoded, with their real delays), scrubs it
//! ([`crate::cassette::scrub`]) and writes it atomically under a lock on the
//! cassette dir ([`store`]). In [`ProxyRole::Live`] it writes nothing and
//! meters tokens against a [`budget::Budget`]. [`drift`] compares a fresh
//! recording with committed cassettes; `verify` (feature `test-support`) is a
//! SigV4-verifying local upstream for tests. [`passthrough`] is the setup
//! services' re-signing pass-through (S3, IAM, STS, …) with the run's name
//! prefix and a ledger of what was created; `verify_setup` (feature
//! `test-support`) verifies its signatures for any service in tests.

pub mod budget;
mod capture;
pub mod drift;
mod handler;
mod openai;
mod openai_store;
pub mod passthrough;
mod proxy;
pub mod sequence;
pub mod store;
mod upstream;
#[cfg(feature = "test-support")]
pub mod verify;
#[cfg(feature = "test-support")]
pub mod verify_setup;

use std::fmt;
use std::sync::Arc;

pub use aws_credential_types::Credentials;
pub use budget::Budget;
pub use budget::BudgetExhausted;
pub use budget::{CallBudget, CallBudgetExhausted, DEFAULT_MAX_SETUP_CALLS};
pub use capture::{CaptureError, decode_event_stream};
pub use passthrough::{NameMap, SetupProxy, SetupProxySettings, Touched};
pub use proxy::{ProxyTarget, RecordingProxy, fallback_scrubber};
pub use upstream::{
    SignError, Target, Upstream, UpstreamUrlProblem, signed_request, signed_request_for,
};

/// Which requests are sent upstream, like vcrpy's record modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordMode {
    /// Replay what matches; record a request only if its cassette file
    /// (one per operation) does not exist yet, else refuse it like replay.
    #[default]
    Once,
    /// Replay what matches; record every request that matches nothing.
    NewEpisodes,
    /// Record everything, replacing interactions the new ones match.
    All,
}

impl RecordMode {
    /// Parses a `LABCHECK_RECORD` value (empty = `once`).
    pub fn parse(value: &str) -> Result<RecordMode, RecordError> {
        match value {
            "" | "once" => Ok(RecordMode::Once),
            "new_episodes" => Ok(RecordMode::NewEpisodes),
            "all" => Ok(RecordMode::All),
            other => Err(RecordError::BadEnv {
                var: "LABCHECK_RECORD",
                value: other.into(),
                hint: "one of `once`, `new_episodes`, `all`",
            }),
        }
    }
}

impl fmt::Display for RecordMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordMode::Once => "once",
            RecordMode::NewEpisodes => "new_episodes",
            RecordMode::All => "all",
        })
    }
}

/// Where the proxy's signing credentials come from.
#[derive(Debug, Clone, Default)]
pub enum CredentialSource {
    /// The aws-config default chain (env, profile, SSO, …), resolved at start.
    #[default]
    DefaultChain,
    /// Fixed credentials (tests, or an author's explicit choice).
    Static(Credentials),
}

/// Resolves `source` on a runtime of its own (the default chain is async):
/// the setup pass-through gets the same credentials the Bedrock proxy signs
/// with.
pub fn resolve_credentials(source: &CredentialSource) -> Result<Credentials, RecordError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RecordError::Start)?;
    runtime.block_on(upstream::credentials(source))
}

/// A Amazon Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`): what the proxy
/// sends upstream as `Authorization: Bearer …` for the OpenAI-compatible API.
/// Never shown: `Debug` prints no part of it, and every recording's scrubber
/// knows it as a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// The token, trimmed; `None` when empty.
    pub fn new(token: &str) -> Option<BearerToken> {
        let t = token.trim();
        (!t.is_empty()).then(|| BearerToken(t.to_string()))
    }

    /// The secret itself, for the `Authorization` header and the scrubber.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(REDACTED)")
    }
}

/// Default token budget of a live run (`LABCHECK_MAX_TOKENS`).
pub const DEFAULT_MAX_TOKENS: u64 = 20_000;

/// Everything record and live modes need beyond the lab; built from the
/// environment by [`crate::settings::proxy_settings`].
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// `LABCHECK_UPSTREAM`, else `https://bedrock-runtime.<region>.amazonaws.com`.
    pub upstream: Option<String>,
    /// `LABCHECK_SETUP_UPSTREAM`: one base URL every setup service (S3,
    /// IAM, …) goes to instead of its real AWS endpoint (tests; see
    /// [`passthrough`]).
    pub setup_upstream: Option<String>,
    /// `LABCHECK_RECORD`.
    pub record_mode: RecordMode,
    pub credentials: CredentialSource,
    /// Token budget shared by every trial of the run (`LABCHECK_MAX_TOKENS`).
    pub budget: Arc<Budget>,
    /// Setup-service calls the run's steps may make (`LABCHECK_MAX_SETUP_CALLS`).
    pub setup_calls: Arc<CallBudget>,
    /// Print a line per recorded interaction on stderr.
    pub progress: bool,
    /// `AWS_BEARER_TOKEN_BEDROCK`: the Bedrock API key the OpenAI-compatible
    /// API is called with when recording (`None`: such requests fail).
    pub bearer_token: Option<BearerToken>,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            upstream: None,
            setup_upstream: None,
            record_mode: RecordMode::Once,
            credentials: CredentialSource::DefaultChain,
            budget: Arc::new(Budget::new(DEFAULT_MAX_TOKENS)),
            setup_calls: Arc::new(CallBudget::new(DEFAULT_MAX_SETUP_CALLS)),
            progress: true,
            bearer_token: None,
        }
    }
}

/// What the proxy does with the answers it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyRole {
    /// Capture, scrub and write cassettes.
    Record(RecordMode),
    /// Write nothing; meter tokens against the budget.
    Live,
}

/// A request the proxy could not forward, or an answer it could not record;
/// the trial fails with it when the proxy stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyProblem {
    #[error("cannot sign the request: {0}")]
    Sign(#[source] SignError),
    #[error("upstream `{upstream}` failed: {source}")]
    Upstream {
        upstream: String,
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    #[error("upstream answer broke off: {0}")]
    BrokeOff(#[source] hyper::Error),
    #[error("not recorded: {operation} answer could not be decoded: {source}")]
    Undecodable {
        operation: crate::ids::Operation,
        #[source]
        source: capture::CaptureError,
    },
    #[error(
        "not recorded: {operation} answered {status} (auth, throttling or server errors are not kept)"
    )]
    NotKept {
        operation: crate::ids::Operation,
        status: u16,
    },
    #[error(
        "cannot forward an OpenAI-compatible request: no Bedrock API key (hint: export AWS_BEARER_TOKEN_BEDROCK)"
    )]
    NoBearerToken,
    #[error(
        "not recorded: OpenAI-compatible `{path}` answered {status} (auth, throttling, server errors and errors without `error.message` are not kept)"
    )]
    OpenAiNotKept { path: String, status: u16 },
    #[error("cannot write the cassette: {0}")]
    Write(#[source] RecordError),
    #[error("cannot write the cassette: {0}")]
    WriterDied(#[source] tokio::task::JoinError),
}

/// Why the signing credentials could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsProblem {
    #[error("no provider configured")]
    NoProvider,
    #[error(transparent)]
    Provider(#[from] aws_credential_types::provider::error::CredentialsError),
}

/// Errors starting a proxy or writing what it recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("invalid value for env var `{var}`: `{value}` (hint: {hint})")]
    BadEnv {
        var: &'static str,
        value: String,
        hint: &'static str,
    },
    #[error(
        "invalid upstream URL `{url}`: {problem} (hint: e.g. `https://bedrock-runtime.us-east-1.amazonaws.com`)"
    )]
    Upstream {
        url: String,
        #[source]
        problem: UpstreamUrlProblem,
    },
    #[error(
        "no AWS credentials for recording: {0} (hint: set AWS_PROFILE, run `aws sso login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    )]
    Credentials(#[source] CredentialsProblem),
    #[error(transparent)]
    Scrub(#[from] crate::cassette::scrub::ScrubPatternError),
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock cassette dir `{path}`: {source}")]
    Lock {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Cassette(#[from] crate::cassette::CassetteError),
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    #[error("cannot start the proxy: {0}")]
    Start(#[source] std::io::Error),
    #[error(transparent)]
    Server(#[from] crate::http::ServerError),
}
