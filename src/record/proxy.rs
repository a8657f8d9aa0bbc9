//! The proxy server's lifecycle: one per trial on `127.0.0.1:0`, on its own
//! runtime thread, with the state its handler ([`super::handler`]) shares:
//! credentials resolved once, the scrubber, the store, the lab's cassettes
//! (and a replay server for the ones that match), the served log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;

use super::store::Store;
use super::upstream::{self, HttpClient, Upstream};
use super::{ProxyProblem, ProxyRole, ProxySettings, RecordError, RecordMode};
use crate::cassette::scrub::Scrubber;
use crate::cassette::{CassetteSet, Source};
use crate::http::{ServedLog, Server, ThreadSpec};
use crate::replay::{ReplayOptions, ReplayServer, ServedRequest};
use crate::spec::lab::Lab;

pub(super) struct Shared {
    pub(super) role: ProxyRole,
    pub(super) lab: String,
    pub(super) region: String,
    pub(super) upstream: Upstream,
    pub(super) creds: Credentials,
    pub(super) client: HttpClient,
    pub(super) scrubber: Scrubber,
    pub(super) store: Store,
    pub(super) existing: CassetteSet,
    pub(super) replay: Option<ReplayServer>,
    pub(super) max_age: Option<Duration>,
    pub(super) settings: ProxySettings,
    pub(super) served: ServedLog,
    pub(super) errors: Mutex<Vec<ProxyProblem>>,
    /// Requests recorded so far in this trial, for recorded sequences.
    pub(super) calls: super::sequence::Calls,
}

impl Shared {
    pub(super) fn error(&self, e: ProxyProblem) {
        if self.settings.progress {
            // Printed like everything else in record and live modes: scrubbed.
            let line = self.scrubber.text(&e.to_string());
            eprintln!("labcheck record: {}: {line}", self.lab);
        }
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }
}

/// A running record or live proxy.
pub struct RecordingProxy {
    shared: Arc<Shared>,
    server: Server,
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

/// The scrubber of recordings made with `creds`: their values are known
/// secrets, beside the built-in rules and the lab's `extra` patterns.
fn scrubber_for(
    creds: Option<&Credentials>,
    bearer: Option<&super::BearerToken>,
    extra: &[String],
) -> Result<Scrubber, crate::cassette::scrub::ScrubPatternError> {
    let mut known: Vec<String> = creds.map_or_else(Vec::new, |c| {
        let mut known = vec![
            c.access_key_id().to_string(),
            c.secret_access_key().to_string(),
        ];
        known.extend(c.session_token().map(str::to_string));
        known
    });
    // The Bedrock API key the OpenAI-compatible API is recorded with.
    known.extend(bearer.map(|t| t.expose().to_string()));
    Scrubber::new(&known, extra)
}

/// The scrubber for what a trial of the lab in `lab_dir` reports when its
/// proxy never started (credentials unresolved, a bad `scrub.txt`): the
/// proxy's rules as far as they are known without it: given credentials (the
/// default chain is not resolved again), the lab's extra patterns if they are
/// valid, the built-in rules always.
pub fn fallback_scrubber(settings: &ProxySettings, lab_dir: &std::path::Path) -> Scrubber {
    let creds = match &settings.credentials {
        super::CredentialSource::Static(c) => Some(c),
        super::CredentialSource::DefaultChain => None,
    };
    let extra = extra_patterns(lab_dir).unwrap_or_default();
    let bearer = settings.bearer_token.as_ref();
    scrubber_for(creds, bearer, &extra)
        .or_else(|_| scrubber_for(creds, bearer, &[]))
        .unwrap_or_else(|_| Scrubber::builtin().clone())
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
        let spec = ThreadSpec {
            name: "labcheck-proxy",
            port: 0,
            workers: 2,
        };
        let (lab, settings) = (lab.clone(), settings.clone());
        // Credentials, the helper replay server and the client live on the
        // proxy's own runtime.
        let (server, shared) = Server::spawn_thread(spec, move || async move {
            let creds = upstream::credentials(&settings.credentials).await?;
            let scrubber = scrubber_for(
                Some(&creds),
                settings.bearer_token.as_ref(),
                &lab.extra_patterns,
            )?;
            let replay = match role {
                ProxyRole::Record(RecordMode::Once | RecordMode::NewEpisodes)
                    if !existing.is_empty() =>
                {
                    let opts = ReplayOptions {
                        port: 0,
                        speed,
                        label: lab.cassettes.display().to_string(),
                        ..ReplayOptions::default()
                    };
                    Some(ReplayServer::start(existing.clone(), opts).await?)
                }
                _ => None,
            };
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
                settings,
                served: ServedLog::new(true),
                errors: Mutex::new(Vec::new()),
                calls: super::sequence::Calls::default(),
            });
            Ok::<_, RecordError>((
                crate::http::app(super::handler::handle, Arc::clone(&shared)),
                shared,
            ))
        })?;
        Ok(RecordingProxy { shared, server })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        self.server.url()
    }

    /// The scrubber its recordings get (resolved credentials, the lab's
    /// extra patterns): also what the trial's results are scrubbed with.
    pub fn scrubber(&self) -> &Scrubber {
        &self.shared.scrubber
    }

    /// Every request so far, in arrival order.
    pub fn served(&self) -> Vec<ServedRequest> {
        self.shared.served.entries()
    }

    /// Stops accepting, lets in-flight answers finish (and be written), and
    /// returns the recording or forwarding problems (each also printed).
    pub fn shutdown(mut self) -> Vec<ProxyProblem> {
        self.server.stop();
        std::mem::take(&mut *self.shared.errors.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
