//! Replay: a local Amazon Bedrock impersonator serving cassettes.
//!
//! Below `/openai/v1/` the same listener answers Bedrock's OpenAI-compatible
//! API from the cassettes' `openai` lists ([`openai`]). Identical requests
//! that a cassette answers with a recorded sequence get its answers in order,
//! the last repeating; the count is per server, i.e. per trial
//! ([`crate::cassette::sequence`]).
//!
//! [`ReplayServer`] binds `127.0.0.1` (port 0 = any free port) and answers
//! every operation of the four Bedrock services' models — Bedrock Runtime at
//! the root (`POST /model/{modelId}/invoke`, `/converse-stream`, …), the
//! others under `/bedrock`, `/bedrock-agent` and `/bedrock-agent-runtime`
//! (routing: [`crate::http::operations`]) — from a [`CassetteSet`]: the
//! recorded status, headers and JSON body, or real AWS event-stream frames
//! sent one HTTP chunk each on the recorded schedule (scaled by
//! [`ReplayOptions::speed`]). Every response carries `x-amzn-RequestId` and a
//! `Content-Type`.
//!
//! Requests must carry `Authorization: AWS4-HMAC-SHA256 …/bedrock/aws4_request`
//! or `Authorization: Bearer …`, else 403. A request matching no interaction
//! gets a non-retryable 400 `ValidationException` naming the cassette dir, the
//! nearest interaction and the differing fields, and is kept in
//! [`ReplayServer::misses`]. Every request is logged in
//! [`ReplayServer::served`]. A long-running server
//! ([`Retention::Recent`]) only counts requests and keeps the last
//! [`RECENT_MISSES`] misses, so its memory stays flat however long it runs;
//! connections are served under [`Limits`](crate::http::Limits) and bodies
//! up to [`MAX_BODY_BYTES`](crate::http::MAX_BODY_BYTES).
//!
//! ```no_run
//! # use labcheck::{cassette::CassetteSet, replay::{ReplayOptions, ReplayServer}};
//! let set = CassetteSet::load_dir("labs/x/cassettes")?;
//! let server = ReplayServer::start_blocking(set, ReplayOptions::default())?;
//! // point AWS_ENDPOINT_URL_BEDROCK_RUNTIME at server.endpoint()
//! server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capture;
mod misses;
pub mod openai;
mod prepared;
mod routes;
pub mod stream;

pub use crate::http::ServedRequest;
pub use capture::{Capture, Captured, ServedHook, Template, log_line};
pub use misses::{KEPT_TEXT_BYTES, RECENT_MISSES, Retention};
pub use openai::{OPENAI_ROUTES, OpenAiRoute, PrepareOpenAiError};
pub use prepared::{PrepareError, PrepareProblem};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cassette::{CassetteSet, Difference, InteractionRef, OpenAiRef, SequenceState};
use crate::http::{Limits, ServedLog, Server, ServerError, ThreadSpec};
use crate::ids::Operation;
use misses::MissLog;
use prepared::PreparedSet;

/// The cassette name a capture-mode answer is logged under.
pub const CAPTURED: &str = "(captured)";

/// How to run a [`ReplayServer`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOptions {
    /// Port on 127.0.0.1; `0` (the default) picks a free one.
    pub port: u16,
    /// Stream timing: `1.0` (default) is real time, `0.5` twice as fast,
    /// `0.0` sends all frames at once.
    pub speed: f64,
    /// Shown in miss messages, normally the cassette dir.
    pub label: String,
    /// What is kept of served requests and misses: everything (the default;
    /// trials judge by it) or counts and the last few misses (a long-running
    /// `labcheck serve`, so memory stays flat).
    pub retention: Retention,
    /// Header-read timeout and connection cap.
    pub limits: Limits,
    /// Capture mode (`labcheck capture`): answer misses from a template and
    /// keep them; `None` (the default) refuses misses.
    pub capture: Option<Capture>,
    /// Called with every request as it is answered (`labcheck serve --log`).
    pub on_served: Option<ServedHook>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            port: 0,
            speed: 1.0,
            label: "cassettes".into(),
            retention: Retention::Everything,
            limits: Limits::default(),
            capture: None,
            on_served: None,
        }
    }
}

/// Why a request was not replayed: what came in and what came closest.
#[derive(Debug, Clone, PartialEq)]
pub struct MissReport {
    pub operation: Operation,
    pub method: String,
    pub model_id: String,
    /// The route's other URI labels and query parameters (`agentId`, …).
    pub params: std::collections::BTreeMap<String, String>,
    /// The received body as text (lossy UTF-8).
    pub body: String,
    /// Nearest cassette file name, `None` if no cassettes are loaded.
    pub nearest_file: Option<String>,
    /// Nearest interaction name.
    pub nearest_interaction: Option<String>,
    /// Differing fields (JSON pointers into the body, or `operation`,
    /// `method`, `model_id`) with recorded and received values.
    pub differences: Vec<Difference>,
    /// Unified diff of the pretty JSON, recorded vs received.
    pub diff: String,
    /// The message sent to the client in the 400 `ValidationException`.
    pub message: String,
}

/// Longest body a miss shows: enough to see the request an author must
/// record, short enough for a failure message and a results file.
pub const SHOWN_BODY_BYTES: usize = 4 * 1024;

impl MissReport {
    /// The request that arrived: operation, method, model, and its body
    /// (pretty JSON when it parses, cut at [`SHOWN_BODY_BYTES`] with a
    /// marker), indented. Shown for every miss, also when no cassette came
    /// close, so an author can see what to record.
    pub fn request(&self) -> String {
        let mut body = match serde_json::from_str::<serde_json::Value>(&self.body) {
            Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_else(|_| self.body.clone()),
            Err(_) => self.body.clone(),
        };
        if body.is_empty() {
            body = "(empty)".into();
        } else if body.len() > SHOWN_BODY_BYTES {
            let mut end = SHOWN_BODY_BYTES;
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            let dropped = body.len() - end;
            body.truncate(end);
            body.push_str(&format!("\n… ({dropped} more bytes not shown)"));
        }
        let mut text = if self.operation.has_model_id() {
            format!(
                "request received: {} {} model `{}`, body:",
                self.operation, self.method, self.model_id
            )
        } else {
            format!(
                "request received: {} {}, body:",
                misses::what_arrived(self.operation, &self.model_id, &self.params),
                self.method
            )
        };
        for line in body.lines() {
            text.push_str("\n    ");
            text.push_str(line);
        }
        text
    }
}

impl std::fmt::Display for MissReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.message)?;
        f.write_str(&self.request())?;
        if !self.diff.is_empty() {
            writeln!(f)?;
            f.write_str(self.diff.trim_end())?;
        }
        Ok(())
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("invalid speed `{0}`, expected a finite number >= 0 (1.0 = real time, 0 = no delays)")]
    Speed(f64),
    #[error("cannot prepare cassettes: {0}")]
    Prepare(#[from] PrepareError),
    #[error("cannot prepare cassettes: {0}")]
    PrepareOpenAi(#[from] PrepareOpenAiError),
}

/// State shared by all requests.
pub(crate) struct Shared {
    set: CassetteSet,
    prepared: PreparedSet,
    speed: f64,
    label: String,
    served: ServedLog,
    misses: MissLog,
    capture: Option<Capture>,
    on_served: Option<ServedHook>,
    next_id: AtomicU64,
    id_seed: u64,
    /// Progress through recorded sequences: per server, so per trial.
    sequence: SequenceState<InteractionRef>,
    openai: openai::PreparedOpenAiSet,
    openai_sequence: SequenceState<OpenAiRef>,
    /// OpenAI-compatible requests that matched nothing (message and body),
    /// the last [`RECENT_MISSES`] under [`Retention::Recent`].
    openai_misses: std::sync::Mutex<std::collections::VecDeque<String>>,
    openai_miss_count: AtomicU64,
    retention: Retention,
}

impl Shared {
    fn push_openai_miss(&self, text: String) {
        self.openai_miss_count.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.openai_misses.lock().unwrap_or_else(|p| p.into_inner());
        if self.retention == Retention::Recent && kept.len() >= RECENT_MISSES {
            kept.pop_front();
        }
        kept.push_back(text);
    }

    /// Logs `entry` and shows it to the served hook.
    fn log(&self, entry: ServedRequest) -> crate::http::Slot {
        if let Some(hook) = &self.on_served {
            (hook.0)(&entry);
        }
        self.served.push(entry)
    }

    /// A fresh uuid-shaped request id: unique per server, varied per run.
    fn request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let s = self.id_seed;
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (s >> 32) as u32,
            (s >> 16) as u16,
            (s & 0xfff) as u16,
            ((n >> 48) & 0xfff) as u16,
            n & 0xffff_ffff_ffff
        )
    }
}

/// A running replay endpoint. Shuts down gracefully on [`shutdown`](Self::shutdown) or drop.
pub struct ReplayServer {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayServer")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

fn prepare(set: CassetteSet, opts: ReplayOptions) -> Result<Arc<Shared>, ReplayError> {
    if !opts.speed.is_finite() || opts.speed < 0.0 {
        return Err(ReplayError::Speed(opts.speed));
    }
    let prepared = PreparedSet::build(&set)?;
    let openai = openai::PreparedOpenAiSet::build(&set)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Ok(Arc::new(Shared {
        set,
        prepared,
        speed: opts.speed,
        label: opts.label,
        served: ServedLog::new(opts.retention == Retention::Everything),
        misses: MissLog::new(opts.retention),
        capture: opts.capture,
        on_served: opts.on_served,
        next_id: AtomicU64::new(1),
        id_seed: nanos ^ u64::from(std::process::id()).rotate_left(40),
        sequence: SequenceState::default(),
        openai,
        openai_sequence: SequenceState::default(),
        openai_misses: std::sync::Mutex::new(std::collections::VecDeque::new()),
        openai_miss_count: AtomicU64::new(0),
        retention: opts.retention,
    }))
}

impl ReplayServer {
    /// Start on the current tokio runtime. Returns once the port is bound.
    pub async fn start(set: CassetteSet, opts: ReplayOptions) -> Result<ReplayServer, ReplayError> {
        let (port, limits) = (opts.port, opts.limits);
        let shared = prepare(set, opts)?;
        let server =
            Server::spawn_task_with(port, limits, routes::app(Arc::clone(&shared))).await?;
        Ok(ReplayServer { shared, server })
    }

    /// Start on a dedicated thread with its own multi-threaded tokio runtime;
    /// usable from plain (non-async) threads. Returns once the server is accepting.
    pub fn start_blocking(
        set: CassetteSet,
        opts: ReplayOptions,
    ) -> Result<ReplayServer, ReplayError> {
        let spec = ThreadSpec {
            name: "labcheck-replay",
            port: opts.port,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
        };
        let limits = opts.limits;
        let shared = prepare(set, opts)?;
        let app = routes::app(Arc::clone(&shared));
        let (server, ()) = Server::spawn_thread_with(spec, limits, move || async move {
            Ok::<_, ReplayError>((app, ()))
        })?;
        Ok(ReplayServer { shared, server })
    }

    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url` / `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`.
    pub fn endpoint(&self) -> String {
        self.server.url()
    }

    /// Every request answered so far, in arrival order.
    pub fn served(&self) -> Vec<ServedRequest> {
        self.shared.served.entries()
    }

    /// How many requests were answered, whether or not the log is kept.
    pub fn served_count(&self) -> u64 {
        self.shared.served.count()
    }

    /// The requests that matched no interaction, in arrival order: every
    /// one under [`Retention::Everything`], the last [`RECENT_MISSES`]
    /// (texts cut) under [`Retention::Recent`].
    pub fn misses(&self) -> Vec<MissReport> {
        self.shared.misses.kept()
    }

    /// The OpenAI-compatible requests that matched no interaction: the
    /// message sent to the client and the request body, in arrival order.
    pub fn openai_misses(&self) -> Vec<String> {
        self.shared
            .openai_misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// How many requests matched no interaction, kept or not.
    pub fn miss_count(&self) -> u64 {
        self.shared.misses.count() + self.shared.openai_miss_count.load(Ordering::Relaxed)
    }

    /// Stop accepting, let in-flight responses finish, and (for
    /// [`start_blocking`](Self::start_blocking)) wait for the server thread.
    /// A server from [`start`](Self::start) finishes on its runtime.
    pub fn shutdown(mut self) {
        self.server.stop();
    }
}
