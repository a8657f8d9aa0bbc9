//! The local endpoint a trial's clients are pointed at, whatever the mode:
//! the replay server (replay), a recording proxy (record) or a metering proxy
//! in front of real Bedrock (live). The runner only sees [`TrialEndpoint`].

use std::path::PathBuf;

use crate::cassette::CassetteSet;
use crate::cassette::scrub::Scrubber;
use crate::mode::Mode;
use crate::plan::CassettesUnavailable;
use crate::record::{
    ProxyProblem, ProxyRole, ProxySettings, ProxyTarget, RecordError, RecordingProxy,
};
use crate::replay::{MissReport, ReplayError, ReplayOptions, ReplayServer, ServedRequest};
use crate::spec::lab::Lab;

/// What the runner needs from a trial's endpoint.
pub trait TrialEndpoint: Send {
    /// `http://127.0.0.1:PORT`, set as the clients' endpoint.
    fn endpoint(&self) -> String;
    /// Every request served so far (operation, model, User-Agent, timing).
    fn served(&self) -> Vec<ServedRequest>;
    /// Requests that matched nothing, with the nearest recorded one.
    fn misses(&self) -> Vec<MissReport>;
    /// OpenAI-compatible requests that matched nothing: the message the
    /// client got (nearest interaction, differing fields) and the body.
    fn openai_misses(&self) -> Vec<String> {
        Vec::new()
    }
    /// Stops the endpoint (and, when recording, writes what it captured).
    fn finish(self: Box<Self>) -> Result<(), EndpointError>;
    /// What the trial's results must be scrubbed with: the proxy's own
    /// scrubber (the one its cassettes get: resolved credentials, the lab's
    /// `scrub.txt`); `None` for replay, where only dummy credentials exist.
    fn scrubber(&self) -> Option<Scrubber>;
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    #[error("the lab's cassettes could not be loaded: {0}")]
    Cassettes(#[from] CassettesUnavailable),
    #[error("the lab's cassettes could not be loaded: cannot create `{}`: {source}", path.display())]
    CassetteDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("the {mode} proxy reported: {}", join(.errors))]
    Proxy {
        mode: Mode,
        errors: Vec<ProxyProblem>,
    },
}

fn join(errors: &[ProxyProblem]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    all.join("; ")
}

impl TrialEndpoint for ReplayServer {
    fn endpoint(&self) -> String {
        ReplayServer::endpoint(self)
    }
    fn served(&self) -> Vec<ServedRequest> {
        ReplayServer::served(self)
    }
    fn misses(&self) -> Vec<MissReport> {
        ReplayServer::misses(self)
    }
    fn openai_misses(&self) -> Vec<String> {
        ReplayServer::openai_misses(self)
    }
    fn finish(self: Box<Self>) -> Result<(), EndpointError> {
        self.shutdown();
        Ok(())
    }
    fn scrubber(&self) -> Option<Scrubber> {
        None
    }
}

/// A record or live proxy as a trial endpoint; `finish` fails the trial if
/// something could not be forwarded or written.
struct ProxyEndpoint {
    mode: Mode,
    proxy: RecordingProxy,
}

impl TrialEndpoint for ProxyEndpoint {
    fn endpoint(&self) -> String {
        self.proxy.endpoint()
    }
    fn served(&self) -> Vec<ServedRequest> {
        self.proxy.served()
    }
    fn misses(&self) -> Vec<MissReport> {
        Vec::new()
    }
    fn scrubber(&self) -> Option<Scrubber> {
        Some(self.proxy.scrubber().clone())
    }
    fn finish(self: Box<Self>) -> Result<(), EndpointError> {
        let errors = self.proxy.shutdown();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(EndpointError::Proxy {
                mode: self.mode,
                errors,
            })
        }
    }
}

/// Starts the endpoint one trial of `lab` uses in `mode`; `proxy` configures
/// record and live modes (ignored in replay).
pub fn start(
    mode: Mode,
    lab: &Lab,
    cassettes: &Result<CassetteSet, CassettesUnavailable>,
    speed: f64,
    proxy: &ProxySettings,
) -> Result<Box<dyn TrialEndpoint>, EndpointError> {
    match mode {
        Mode::Record => {
            // What is on disk now (parallel trials may have added to it).
            std::fs::create_dir_all(&lab.cassettes).map_err(|source| {
                EndpointError::CassetteDir {
                    path: lab.cassettes.clone(),
                    source,
                }
            })?;
            let existing = CassetteSet::load_dir(&lab.cassettes)
                .map_err(|e| EndpointError::Cassettes(e.into()))?;
            let role = ProxyRole::Record(proxy.record_mode);
            let proxy = RecordingProxy::start_blocking(
                role,
                &ProxyTarget::of(lab)?,
                existing,
                speed,
                proxy,
            )?;
            Ok(Box::new(ProxyEndpoint { mode, proxy }))
        }
        Mode::Live => {
            let target = ProxyTarget::of(lab)?;
            let proxy = RecordingProxy::start_blocking(
                ProxyRole::Live,
                &target,
                CassetteSet::default(),
                speed,
                proxy,
            )?;
            Ok(Box::new(ProxyEndpoint { mode, proxy }))
        }
        Mode::Replay => {
            let set = cassettes.clone()?;
            let options = ReplayOptions {
                port: 0,
                speed,
                label: lab.cassettes.display().to_string(),
                ..ReplayOptions::default()
            };
            Ok(Box::new(ReplayServer::start_blocking(set, options)?))
        }
    }
}
