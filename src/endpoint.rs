//! The local endpoint a trial's clients are pointed at, whatever the mode:
//! the replay server (replay), a recording proxy (record) or a metering proxy
//! in front of real Bedrock (live). The runner only sees [`TrialEndpoint`].

use crate::cassette::CassetteSet;
use crate::mode::Mode;
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
    /// Stops the endpoint (and, when recording, writes what it captured).
    fn finish(self: Box<Self>) -> Result<(), EndpointError>;
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    #[error("the lab's cassettes could not be loaded: {0}")]
    Cassettes(String),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("mode `{0}` has no endpoint in this build")]
    Unavailable(Mode),
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
    fn finish(self: Box<Self>) -> Result<(), EndpointError> {
        self.shutdown();
        Ok(())
    }
}

/// Starts the endpoint one trial of `lab` uses in `mode`.
pub fn start(
    mode: Mode,
    lab: &Lab,
    cassettes: &Result<CassetteSet, String>,
    speed: f64,
) -> Result<Box<dyn TrialEndpoint>, EndpointError> {
    match mode {
        Mode::Record | Mode::Live => Err(EndpointError::Unavailable(mode)),
        Mode::Replay => {
            let set = cassettes.clone().map_err(EndpointError::Cassettes)?;
            let options = ReplayOptions {
                port: 0,
                speed,
                label: lab.cassettes.display().to_string(),
            };
            Ok(Box::new(ReplayServer::start_blocking(set, options)?))
        }
    }
}
