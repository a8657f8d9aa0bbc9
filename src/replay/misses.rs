//! The requests replay could not match: every one, for a trial (its
//! expectations read them all), or a count and the most recent few, for a
//! long-running `labcheck serve`, whose memory must not grow with misses.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::MissReport;

/// What arrived, for a miss message: the runtime's `InvokeModel `model``
/// as before; for other operations the service, operation and params
/// (`bedrock-agent-runtime Retrieve {knowledgeBaseId=KB1}`).
pub(crate) fn what_arrived(
    op: crate::ids::Operation,
    model_id: &str,
    params: &std::collections::BTreeMap<String, String>,
) -> String {
    if op.has_model_id() {
        return format!("{op} `{model_id}`");
    }
    let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{} {op} {{{}}}", op.service(), params.join(", "))
}

/// Misses a bounded log keeps: enough to show a student their last attempts.
pub const RECENT_MISSES: usize = 16;

/// Longest body or diff text a bounded log keeps per miss; the rest is cut
/// with a marker. 16 misses of a 32 MiB body would otherwise hold 1 GiB.
pub const KEPT_TEXT_BYTES: usize = 64 * 1024;

/// What a replay server keeps of what it served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Every served request and every miss, in full (trials; the default).
    #[default]
    Everything,
    /// Counts only, plus the last [`RECENT_MISSES`] misses with their texts
    /// cut at [`KEPT_TEXT_BYTES`] (`labcheck serve`).
    Recent,
}

/// Misses in arrival order, all or the most recent ones.
#[derive(Debug)]
pub(crate) struct MissLog {
    kept: Mutex<VecDeque<MissReport>>,
    retention: Retention,
    count: AtomicU64,
}

impl MissLog {
    pub(crate) fn new(retention: Retention) -> MissLog {
        MissLog {
            kept: Mutex::new(VecDeque::new()),
            retention,
            count: AtomicU64::new(0),
        }
    }

    pub(crate) fn push(&self, mut report: MissReport) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if self.retention == Retention::Recent {
            cut(&mut report.body);
            cut(&mut report.diff);
            if kept.len() == RECENT_MISSES {
                kept.pop_front();
            }
        }
        kept.push_back(report);
    }

    /// The received body as text (lossy UTF-8) for a report: whole, or,
    /// when only recent misses are kept, its first [`KEPT_TEXT_BYTES`]
    /// without copying the rest first.
    pub(crate) fn body_text(&self, body: &[u8]) -> String {
        if self.retention == Retention::Everything || body.len() <= KEPT_TEXT_BYTES {
            return String::from_utf8_lossy(body).into_owned();
        }
        let mut text = String::from_utf8_lossy(&body[..KEPT_TEXT_BYTES]).into_owned();
        let dropped = body.len() - KEPT_TEXT_BYTES;
        text.push_str(&format!("\n… ({dropped} more bytes not kept)"));
        text
    }

    pub(crate) fn kept(&self) -> Vec<MissReport> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().cloned().collect()
    }

    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Room for the marker [`cut`] and [`MissLog::body_text`] append, so a text
/// already cut is not cut again.
const MARKER_BYTES: usize = 64;

/// Cuts `text` to [`KEPT_TEXT_BYTES`] at a char boundary, saying how much went.
fn cut(text: &mut String) {
    if text.len() <= KEPT_TEXT_BYTES + MARKER_BYTES {
        return;
    }
    let mut end = KEPT_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let dropped = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("\n… ({dropped} more bytes not kept)"));
    text.shrink_to_fit();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Operation;

    fn miss(n: usize, body: String) -> MissReport {
        MissReport {
            operation: Operation::Converse,
            method: "POST".into(),
            model_id: format!("m{n}"),
            params: Default::default(),
            body,
            nearest_file: None,
            nearest_interaction: None,
            differences: Vec::new(),
            diff: String::new(),
            message: format!("miss {n}"),
        }
    }

    #[test]
    fn a_recent_log_copies_only_the_kept_part_of_a_body() {
        let body = vec![b'a'; KEPT_TEXT_BYTES + 10];
        let log = MissLog::new(Retention::Recent);
        let recent = log.body_text(&body);
        assert_eq!(
            recent,
            format!(
                "{}\n… (10 more bytes not kept)",
                "a".repeat(KEPT_TEXT_BYTES)
            )
        );
        // Kept as cut, not cut twice.
        log.push(miss(0, recent.clone()));
        assert_eq!(log.kept()[0].body, recent);
        let all = MissLog::new(Retention::Everything).body_text(&body);
        assert_eq!(all.len(), body.len());
    }

    #[test]
    fn everything_keeps_every_miss_in_full() {
        let log = MissLog::new(Retention::Everything);
        let big = "é".repeat(KEPT_TEXT_BYTES);
        for n in 0..40 {
            log.push(miss(n, big.clone()));
        }
        let kept = log.kept();
        assert_eq!((kept.len(), log.count()), (40, 40));
        assert_eq!(kept[39].body, big);
    }

    #[test]
    fn recent_keeps_the_last_few_cut_short_and_counts_all() {
        let log = MissLog::new(Retention::Recent);
        for n in 0..40 {
            // Two-byte chars: the cut must land on a char boundary.
            log.push(miss(n, format!("x{}", "é".repeat(KEPT_TEXT_BYTES))));
        }
        let kept = log.kept();
        assert_eq!(log.count(), 40);
        assert_eq!(kept.len(), RECENT_MISSES);
        assert_eq!(kept[0].model_id, format!("m{}", 40 - RECENT_MISSES));
        assert_eq!(kept[RECENT_MISSES - 1].model_id, "m39");
        let body = &kept[0].body;
        assert!(body.len() < KEPT_TEXT_BYTES + 64, "{}", body.len());
        assert!(
            body.ends_with(&format!(
                "({} more bytes not kept)",
                2 * KEPT_TEXT_BYTES + 1 - (KEPT_TEXT_BYTES - 1)
            )),
            "{}",
            &body[body.len() - 60..]
        );
    }

    #[test]
    fn a_miss_shows_its_request_pretty_and_cut() {
        let mut report = miss(1, r#"{"b":[1],"a":"x"}"#.into());
        let text = report.to_string();
        assert!(
            text.contains(
                "request received: Converse POST model `m1`, body:\n    {\n      \"b\": ["
            ),
            "{text}"
        );
        report.body = "y".repeat(super::super::SHOWN_BODY_BYTES + 5);
        let shown = report.request();
        assert!(
            shown.ends_with("\n    … (5 more bytes not shown)"),
            "{shown}"
        );
        assert!(
            shown.len() < super::super::SHOWN_BODY_BYTES + 100,
            "{}",
            shown.len()
        );
    }
}
