//! The proxy server: one per trial on `127.0.0.1:0`. Each request is parsed
//! like replay parses it, answered from the lab's cassettes when they match
//! (record modes `once`/`new_episodes`), else re-signed and forwarded
//! upstream; the answer is streamed back chunk by chunk as it arrives while
//! it is captured (record) or metered (live).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt as _;
use http_body_util::{BodyExt, Full};
use tokio::sync::oneshot;

use super::capture::Capture;
use super::store::{Saved, Store};
use super::upstream::{self, HttpClient, Upstream};
use super::{ProxyRole, ProxySettings, RecordError, RecordMode, budget};
use crate::cassette::scrub::Scrubber;
use crate::cassette::{CassetteSet, Interaction, Match, ReceivedBody, RecordedRequest, Source};
use crate::ids::Operation;
use crate::replay::{ReplayOptions, ReplayServer, ServedRequest};
use crate::spec::lab::Lab;

struct Shared {
    role: ProxyRole,
    lab: String,
    region: String,
    upstream: Upstream,
    creds: Credentials,
    client: HttpClient,
    scrubber: Scrubber,
    store: Store,
    existing: CassetteSet,
    replay: Option<ReplayServer>,
    max_age: Option<Duration>,
    settings: ProxySettings,
    served: Mutex<Vec<ServedRequest>>,
    errors: Mutex<Vec<String>>,
}

impl Shared {
    fn served_mut(&self, slot: usize, f: impl FnOnce(&mut ServedRequest)) {
        let mut s = self.served.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = s.get_mut(slot) {
            f(e);
        }
    }
    fn error(&self, e: String) {
        if self.settings.progress {
            eprintln!("labcheck record: {}: {e}", self.lab);
        }
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }
}

/// A running record or live proxy.
pub struct RecordingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What a proxy needs to know about the lab it serves.
#[derive(Debug, Clone)]
pub struct ProxyTarget {
    /// Lab id, for progress lines and the token count.
    pub lab: String,
    pub region: String,
    /// Where recordings are written (and matches replayed from).
    pub cassettes: std::path::PathBuf,
    /// Extra scrub patterns (a lab's `scrub.txt`).
    pub extra_patterns: Vec<String>,
    /// The lab's `max_age` (`new_episodes` re-records older matches).
    pub max_age: Option<Duration>,
}

impl ProxyTarget {
    /// The target for `lab`, reading its `scrub.txt` if it has one.
    pub fn of(lab: &Lab) -> Result<ProxyTarget, RecordError> {
        Ok(ProxyTarget {
            lab: lab.id.to_string(),
            region: lab.region.clone(),
            cassettes: lab.cassettes.clone(),
            extra_patterns: extra_patterns(&lab.dir)?,
            max_age: lab.max_age,
        })
    }
}

/// Extra scrub patterns of a lab: `<lab>/scrub.txt`, one regex a line, `#` comments.
fn extra_patterns(dir: &std::path::Path) -> Result<Vec<String>, RecordError> {
    let path = dir.join("scrub.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(RecordError::Read { path, source }),
    }
}

impl RecordingProxy {
    /// Starts a proxy for one trial of `lab` on its own runtime thread;
    /// returns once the port is bound. `existing` are the lab's cassettes.
    pub fn start_blocking(
        role: ProxyRole,
        lab: &ProxyTarget,
        existing: CassetteSet,
        speed: f64,
        settings: &ProxySettings,
    ) -> Result<RecordingProxy, RecordError> {
        let upstream = Upstream::new(settings.upstream.as_deref(), &lab.region)?;
        let extra = &lab.extra_patterns;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("labcheck-proxy")
            .enable_all()
            .build()
            .map_err(RecordError::Start)?;
        let (listener, shared) = rt.block_on(async {
            let creds = upstream::credentials(&settings.credentials).await?;
            let mut known: Vec<String> = vec![
                creds.access_key_id().to_string(),
                creds.secret_access_key().to_string(),
            ];
            known.extend(creds.session_token().map(str::to_string));
            let scrubber = Scrubber::new(&known, extra)?;
            let replay = match role {
                ProxyRole::Record(RecordMode::Once | RecordMode::NewEpisodes)
                    if !existing.is_empty() =>
                {
                    let opts = ReplayOptions {
                        port: 0,
                        speed,
                        label: lab.cassettes.display().to_string(),
                    };
                    Some(ReplayServer::start(existing.clone(), opts).await?)
                }
                _ => None,
            };
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(RecordError::Start)?;
            let shared = Arc::new(Shared {
                role,
                lab: lab.lab.clone(),
                region: lab.region.clone(),
                store: Store {
                    dir: lab.cassettes.clone(),
                    source: if upstream.is_aws {
                        Source::Recorded
                    } else {
                        Source::Proxied
                    },
                    upstream: (!upstream.is_aws).then(|| upstream.base.clone()),
                    region: lab.region.clone(),
                },
                upstream,
                creds,
                client: upstream::client()?,
                scrubber,
                existing,
                replay,
                max_age: lab.max_age,
                settings: settings.clone(),
                served: Mutex::new(Vec::new()),
                errors: Mutex::new(Vec::new()),
            });
            Ok::<_, RecordError>((listener, shared))
        })?;
        let addr = listener.local_addr().map_err(RecordError::Start)?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("labcheck-proxy-main".into())
            .spawn(move || {
                rt.block_on(async move {
                    // Nagle would hold back small stream frames behind delayed ACKs.
                    let listener = listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })
            .map_err(RecordError::Start)?;
        Ok(RecordingProxy {
            addr,
            shared,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn served(&self) -> Vec<ServedRequest> {
        self.shared
            .served
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Recording or forwarding problems so far (each also printed).
    pub fn errors(&self) -> Vec<String> {
        self.shared
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops accepting, lets in-flight answers finish (and be written).
    pub fn shutdown(mut self) -> Vec<String> {
        self.stop_now();
        self.errors()
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// A Bedrock-shaped, non-retryable error answer.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )) {
        h.insert("x-amzn-errortype", v);
    }
    resp
}

/// The request body scrubbed as a cassette stores it, and as matching sees it.
fn scrubbed_body(scrubber: &Scrubber, body: &[u8]) -> (Option<serde_json::Value>, Vec<u8>) {
    if body.iter().all(u8::is_ascii_whitespace) {
        return (None, Vec::new());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            scrubber.value(&mut v);
            let bytes = serde_json::to_vec(&v).unwrap_or_default();
            (Some(v), bytes)
        }
        Err(_) => {
            let text = scrubber.text(&String::from_utf8_lossy(body));
            let bytes = text.clone().into_bytes();
            (Some(serde_json::Value::String(text)), bytes)
        }
    }
}

async fn handle(
    State(st): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    let user_agent = headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let Some((model_id, op)) = crate::replay::parse_path(uri.path()) else {
        return error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "labcheck proxy forwards the four Bedrock Runtime model operations only",
        );
    };
    let model = st.scrubber.text(&model_id);
    let (stored_body, match_bytes) = scrubbed_body(&st.scrubber, &body);
    let slot = {
        let mut s = st.served.lock().unwrap_or_else(|p| p.into_inner());
        s.push(ServedRequest {
            operation: Some(op),
            model_id: model.clone(),
            user_agent,
            received_at: SystemTime::now(),
            arrived,
            interaction: None,
            cassette: None,
            status: 0,
            frames_sent: Vec::new(),
        });
        s.len() - 1
    };
    // Record modes replay what matches (as sent, or as scrubbed), unless the
    // match is stale (new_episodes); the replay server matches both ways too.
    let hit = || {
        let raw = st
            .existing
            .find(op, method.as_str(), &model_id, &ReceivedBody::parse(&body));
        match raw {
            Match::Hit(at) => Some(at),
            Match::Miss(_) => match st.existing.find(
                op,
                method.as_str(),
                &model,
                &ReceivedBody::parse(&match_bytes),
            ) {
                Match::Hit(at) => Some(at),
                Match::Miss(_) => None,
            },
        }
    };
    if let (ProxyRole::Record(mode), Some(replay)) = (st.role, &st.replay)
        && let Some(at) = hit()
    {
        let file = &st.existing.files()[at.file];
        if !(mode == RecordMode::NewEpisodes && stale(&file.cassette.meta.recorded_at, st.max_age))
        {
            let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
            let req = http::Request::builder()
                .method("POST")
                .uri(format!("{}{path}", replay.endpoint()))
                .header(header::AUTHORIZATION, "Bearer labcheck-record")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()));
            let name = st.existing.interaction(at).name.clone();
            let fname = file.name.clone();
            st.served_mut(slot, |e| {
                e.interaction = Some(name);
                e.cassette = Some(fname);
            });
            return match req {
                Ok(req) => forward(st, req, slot, op, None).await,
                Err(e) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerException",
                    &e.to_string(),
                ),
            };
        }
    }
    let recorded = RecordedRequest {
        operation: op,
        method: method.to_string(),
        model_id: model,
        headers: st.scrubber.headers(
            headers
                .iter()
                .filter(|(k, _)| {
                    matches!(k.as_str(), "content-type" | "accept")
                        || k.as_str().starts_with("x-amzn-bedrock-")
                })
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
        ),
        body: stored_body,
    };
    if st.role == ProxyRole::Live {
        let want = serde_json::from_slice(&body).map_or(0, |v| budget::requested_tokens(&v));
        if let Err(message) = st.settings.budget.admit(want) {
            st.served_mut(slot, |e| e.status = 400);
            return error(StatusCode::BAD_REQUEST, "ValidationException", &message);
        }
    }
    let path_and_query = uri
        .path_and_query()
        .map_or(uri.path(), |p| p.as_str())
        .to_string();
    let req = upstream::signed_request(
        &st.upstream,
        &path_and_query,
        &headers,
        body,
        &st.creds,
        &st.region,
    );
    match req {
        Ok(req) => forward(Arc::clone(&st), req, slot, op, Some(recorded)).await,
        Err(e) => {
            st.error(format!("cannot sign the request: {e}"));
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                &format!("labcheck proxy cannot sign the request: {e}"),
            )
        }
    }
}

fn stale(recorded_at: &str, max_age: Option<Duration>) -> bool {
    use aws_smithy_types::date_time::{DateTime, Format};
    let (Some(max), Ok(at)) = (max_age, DateTime::from_str(recorded_at, Format::DateTime)) else {
        return false;
    };
    SystemTime::try_from(at)
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > max)
}

/// Sends `req`, streams the answer back as it arrives and, at its end,
/// records (`recorded` is the scrubbed request) or meters it.
async fn forward(
    st: Arc<Shared>,
    req: http::Request<Full<Bytes>>,
    slot: usize,
    op: Operation,
    recorded: Option<RecordedRequest>,
) -> Response {
    let resp = match st.client.request(req).await {
        Ok(r) => r,
        Err(e) => {
            st.error(format!("upstream `{}` failed: {e}", st.upstream.base));
            st.served_mut(slot, |e| e.status = 502);
            return error(
                StatusCode::BAD_GATEWAY,
                "InternalServerException",
                &format!(
                    "labcheck proxy: upstream `{}` failed: {e}",
                    st.upstream.base
                ),
            );
        }
    };
    let started = Instant::now();
    let status = resp.status();
    st.served_mut(slot, |e| e.status = status.as_u16());
    let (parts, incoming) = resp.into_parts();
    let header_pairs: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let capture = recorded.map(|r| (r, Capture::new(op, status.as_u16(), header_pairs, started)));
    let state = (incoming, capture, st, false);
    let stream =
        futures_util::stream::unfold(state, move |(mut body, mut capture, st, done)| async move {
            if done {
                return None;
            }
            loop {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        let now = Instant::now();
                        if let Some((_, c)) = capture.as_mut() {
                            c.push(&data, now);
                        }
                        st.served_mut(slot, |e| e.frames_sent.push(now));
                        return Some((Ok::<Bytes, Infallible>(data), (body, capture, st, false)));
                    }
                    Some(Err(e)) => {
                        st.error(format!("upstream answer broke off: {e}"));
                        return None;
                    }
                    None => {
                        if let Some((req, c)) = capture.take() {
                            finish(&st, req, c).await;
                        }
                        return None;
                    }
                }
            }
        });
    let mut out = Response::new(Body::from_stream(stream));
    *out.status_mut() = status;
    for (k, v) in &parts.headers {
        if !matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "keep-alive"
        ) {
            out.headers_mut().append(k.clone(), v.clone());
        }
    }
    out
}

/// The end of a forwarded answer: meter it (live) or scrub and write it (record).
async fn finish(st: &Arc<Shared>, request: RecordedRequest, c: Capture) {
    if st.role == ProxyRole::Live {
        st.settings.budget.spend(&st.lab, c.usage());
        return;
    }
    let ProxyRole::Record(mode) = st.role else {
        return;
    };
    if let Some(why) = &c.broken {
        st.error(format!(
            "not recorded: {} answer could not be decoded: {why}",
            request.operation
        ));
        return;
    }
    let status = c.status();
    if matches!(status, 401 | 403 | 429)
        || status >= 500
        || (status >= 400 && !c.response_has_errortype())
    {
        st.error(format!(
            "not recorded: {} answered {status} (auth, throttling or server errors are not kept)",
            request.operation
        ));
        return;
    }
    let mut response = c.response();
    response.headers = st.scrubber.headers(
        response
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    if let Some(b) = response.body.as_mut() {
        st.scrubber.value(b);
    }
    if let Some(events) = response.stream.as_mut() {
        let mut payloads: Vec<serde_json::Value> = events
            .iter_mut()
            .map(|e| std::mem::take(&mut e.payload))
            .collect();
        st.scrubber.values(&mut payloads);
        for (e, p) in events.iter_mut().zip(payloads) {
            e.payload = p;
        }
    }
    let frames = response.stream.as_ref().map_or(0, Vec::len);
    let it = Interaction {
        name: String::new(),
        request,
        response,
    };
    let summary = format!(
        "{} `{}` -> {status}",
        it.request.operation, it.request.model_id
    );
    let store = st.store.clone();
    let replace = mode != RecordMode::Once;
    let saved = tokio::task::spawn_blocking(move || store.save(it, replace)).await;
    match saved {
        Ok(Ok(Saved::Written(path))) => {
            if st.settings.progress {
                eprintln!(
                    "labcheck record: {}: {summary}{} -> {}",
                    st.lab,
                    if frames > 0 {
                        format!(", {frames} frames")
                    } else {
                        String::new()
                    },
                    path.display()
                );
            }
        }
        Ok(Ok(Saved::AlreadyThere(path))) => {
            if st.settings.progress {
                eprintln!(
                    "labcheck record: {}: {summary}: already in {}",
                    st.lab,
                    path.display()
                );
            }
        }
        Ok(Err(e)) => st.error(format!("cannot write the cassette: {e}")),
        Err(e) => st.error(format!("cannot write the cassette: {e}")),
    }
}
