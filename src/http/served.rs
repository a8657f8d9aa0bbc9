//! The log of requests a server answered, kept by replay and the record
//! proxy alike: one [`ServedRequest`] per request (operation, model id,
//! User-Agent, timing, outcome), updated in place while a stream is sent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use super::request::BedrockRequest;
use crate::ids::Operation;

/// One request the server answered (hit, miss or rejection).
#[derive(Debug, Clone, PartialEq)]
pub struct ServedRequest {
    /// `None` when the path named no replayed operation.
    pub operation: Option<Operation>,
    /// Decoded model id (empty if the path did not parse).
    pub model_id: String,
    /// The `User-Agent` header, e.g. `aws-sdk-rust/…`, `Boto3/…`.
    pub user_agent: String,
    /// Wall-clock time the request arrived.
    pub received_at: SystemTime,
    /// Monotonic time the request arrived (compare with `frames_sent`).
    pub arrived: Instant,
    /// Interaction that answered; `None` for misses and rejections.
    pub interaction: Option<String>,
    /// Cassette file name of that interaction.
    pub cassette: Option<String>,
    /// HTTP status sent.
    pub status: u16,
    /// Streams: for each frame, when it had been written and flushed (the
    /// instant the server came back for the next one).
    pub frames_sent: Vec<Instant>,
}

impl ServedRequest {
    /// The entry for `req` before it is answered: operation and decoded model
    /// id from its route, status 0.
    pub fn of(req: &BedrockRequest) -> ServedRequest {
        ServedRequest {
            operation: req.route.as_ref().map(|r| r.operation()),
            model_id: req
                .route
                .as_ref()
                .map(|r| r.model_id().to_string())
                .unwrap_or_default(),
            user_agent: req.user_agent(),
            received_at: req.received_at,
            arrived: req.arrived,
            interaction: None,
            cassette: None,
            status: 0,
            frames_sent: Vec::new(),
        }
    }
}

/// Where a logged entry is, for later updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(Option<usize>);

/// Every request a server answered, in arrival order.
#[derive(Debug)]
pub struct ServedLog {
    entries: Mutex<Vec<ServedRequest>>,
    /// Whether entries are kept; a long-running `labcheck serve` only counts,
    /// so its memory stays flat.
    keep: bool,
    count: AtomicU64,
}

impl ServedLog {
    pub fn new(keep: bool) -> ServedLog {
        ServedLog {
            entries: Mutex::new(Vec::new()),
            keep,
            count: AtomicU64::new(0),
        }
    }

    /// Appends `entry` (or only counts it when entries are not kept).
    pub fn push(&self, entry: ServedRequest) -> Slot {
        self.count.fetch_add(1, Ordering::Relaxed);
        if !self.keep {
            return Slot(None);
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push(entry);
        Slot(Some(entries.len() - 1))
    }

    /// Changes the entry at `slot` (nothing when entries are not kept).
    pub fn update(&self, slot: Slot, f: impl FnOnce(&mut ServedRequest)) {
        let Slot(Some(i)) = slot else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get_mut(i) {
            f(e);
        }
    }

    /// A copy of every kept entry.
    pub fn entries(&self) -> Vec<ServedRequest> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many requests were logged, kept or not.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, Method, Uri};
    use bytes::Bytes;

    fn entry() -> ServedRequest {
        let req = BedrockRequest::new(
            Method::POST,
            Uri::from_static("/model/m%3A0/converse"),
            HeaderMap::new(),
            Bytes::new(),
        );
        ServedRequest::of(&req)
    }

    #[test]
    fn entries_are_routed_and_updated_in_place() {
        let log = ServedLog::new(true);
        let e = entry();
        assert_eq!(
            (e.operation, e.model_id.as_str(), e.status),
            (Some(Operation::Converse), "m:0", 0)
        );
        let slot = log.push(e);
        log.update(slot, |e| e.status = 200);
        assert_eq!(log.entries()[0].status, 200);
        assert_eq!(log.count(), 1);
    }

    #[test]
    fn an_unkept_log_only_counts() {
        let log = ServedLog::new(false);
        let slot = log.push(entry());
        log.update(slot, |e| e.status = 200);
        assert!(log.entries().is_empty());
        assert_eq!(log.count(), 1);
    }
}
