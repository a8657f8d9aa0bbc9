//! Secrets never leave through results: in record and live modes a trial's
//! outcome (its failures, which quote the step's output) is scrubbed when it
//! is built, with the scrubber the trial's proxy gives its cassettes. Outcome
//! files, reports and the failure libtest prints are all made from that
//! outcome, so they are clean without scrubbing again.

use super::RunConfig;
use crate::cassette::scrub::Scrubber;
use crate::mode::Mode;
use crate::spec::lab::Lab;

/// The scrubber for what a trial of `lab` reports: none in replay (only dummy
/// credentials exist there); else the one its proxy used (`from_endpoint`),
/// or, when the proxy never started, the rules known without it.
pub(super) fn trial_scrubber(
    config: &RunConfig,
    lab: &Lab,
    from_endpoint: Option<Scrubber>,
) -> Option<Scrubber> {
    match config.mode {
        Mode::Replay => None,
        Mode::Record | Mode::Live => Some(
            from_endpoint.unwrap_or_else(|| crate::record::fallback_scrubber(&config.proxy, lab)),
        ),
    }
}

/// `failures` as an outcome may hold them.
pub(super) fn scrub_failures(scrubber: Option<&Scrubber>, failures: Vec<String>) -> Vec<String> {
    match scrubber {
        Some(s) => failures.iter().map(|f| s.text(f)).collect(),
        None => failures,
    }
}
