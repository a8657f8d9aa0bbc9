//! Drift: what changed between the committed cassettes and a fresh recording
//! of the same requests (status, error code, stop reason, stream event types
//! and order, token counts within a band, latency), and which committed
//! cassettes are older than the lab's `max_age`.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::budget::usage_in;
use crate::cassette::{CassetteSet, Interaction, Match, ReceivedBody};

/// Token counts may move this much (fraction) before they count as drift.
pub const TOKEN_BAND: f64 = 0.5;
/// Stream durations may grow or shrink by this factor (plus 250 ms) before they count.
pub const LATENCY_FACTOR: f64 = 2.0;

/// What one comparison found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// `<file> <interaction>` of the fresh recording.
    pub interaction: String,
    /// One line per changed aspect; empty when nothing moved.
    pub changes: Vec<String>,
}

fn stop_reason(it: &Interaction) -> Option<String> {
    let r = &it.response;
    let from = |v: &Value| {
        [
            "/stop_reason",
            "/stopReason",
            "/delta/stop_reason",
            "/completionReason",
        ]
        .iter()
        .find_map(|p| v.pointer(p).and_then(Value::as_str).map(str::to_string))
    };
    r.body.as_ref().and_then(from).or_else(|| {
        r.stream
            .iter()
            .flatten()
            .rev()
            .find_map(|e| from(&e.payload))
    })
}

fn events(it: &Interaction) -> Vec<String> {
    let Some(stream) = &it.response.stream else {
        return Vec::new();
    };
    let mut out: Vec<String> = stream
        .iter()
        .map(|e| {
            let inner = e.payload.get("type").and_then(Value::as_str);
            match (e.event.as_deref(), e.exception.as_deref(), inner) {
                (_, Some(x), _) => format!("!{x}"),
                (Some("chunk"), _, Some(t)) => t.to_string(),
                (Some(ev), _, _) => ev.to_string(),
                _ => "?".into(),
            }
        })
        .collect();
    // Deltas repeat with the length of the text: compare their runs, not counts.
    out.dedup();
    out
}

fn tokens(it: &Interaction) -> Option<u64> {
    let r = &it.response;
    let h = |n: &str| r.headers.get(n).and_then(|v| v.parse::<u64>().ok());
    if let Some(o) = h("x-amzn-bedrock-output-token-count") {
        return Some(o);
    }
    r.body
        .iter()
        .chain(r.stream.iter().flatten().map(|e| &e.payload))
        .filter_map(usage_in)
        .map(|t| t.output)
        .max()
}

fn latency(it: &Interaction) -> Option<Duration> {
    let s = it.response.stream.as_ref()?;
    Some(Duration::from_millis(s.iter().map(|e| e.delay_ms).sum()))
}

/// Compares one committed interaction with its fresh recording.
pub fn compare(old: &Interaction, new: &Interaction) -> Vec<String> {
    let mut changes = Vec::new();
    let (o, n) = (&old.response, &new.response);
    if o.status != n.status {
        changes.push(format!("status {} -> {}", o.status, n.status));
    }
    let code = |i: &Interaction| {
        i.response
            .headers
            .get("x-amzn-errortype")
            .map(|c| c.split(':').next().unwrap_or_default().to_string())
    };
    if code(old) != code(new) {
        changes.push(format!("error code {:?} -> {:?}", code(old), code(new)));
    }
    if stop_reason(old) != stop_reason(new) {
        changes.push(format!(
            "stop reason {:?} -> {:?}",
            stop_reason(old),
            stop_reason(new)
        ));
    }
    if events(old) != events(new) {
        changes.push(format!(
            "stream events [{}] -> [{}]",
            events(old).join(", "),
            events(new).join(", ")
        ));
    }
    if let (Some(a), Some(b)) = (tokens(old), tokens(new))
        && (b as f64 - a as f64).abs() > a as f64 * TOKEN_BAND
    {
        changes.push(format!(
            "output tokens {a} -> {b} (more than ±{:.0}%)",
            TOKEN_BAND * 100.0
        ));
    }
    if let (Some(a), Some(b)) = (latency(old), latency(new)) {
        let slack = Duration::from_millis(250);
        if b > a.mul_f64(LATENCY_FACTOR) + slack || b.mul_f64(LATENCY_FACTOR) + slack < a {
            changes.push(format!(
                "stream duration {} ms -> {} ms",
                a.as_millis(),
                b.as_millis()
            ));
        }
    }
    changes
}

/// Every fresh interaction against the committed one it matches.
pub fn compare_sets(committed: &CassetteSet, fresh: &CassetteSet) -> Vec<Drift> {
    fresh
        .interactions()
        .map(|(_, file, it)| {
            let body = match &it.request.body {
                None => Vec::new(),
                Some(v) => serde_json::to_vec(v).unwrap_or_default(),
            };
            let received = ReceivedBody::parse(&body);
            let changes = match committed.find(
                it.request.operation,
                &it.request.method,
                &it.request.model_id,
                &it.request.params,
                &received,
            ) {
                Match::Hit(at) => compare(committed.interaction(at), it),
                Match::Miss(_) => vec!["no committed interaction for this request (new)".into()],
            };
            Drift {
                interaction: format!("{} {}", file.name, it.name),
                changes,
            }
        })
        .collect()
}

/// Committed cassette files older than `max_age`: `(file, age in days)`.
pub fn too_old(committed: &CassetteSet, max_age: Duration, now: SystemTime) -> Vec<(String, u64)> {
    committed
        .files()
        .iter()
        .filter_map(|f| {
            let age = crate::cassette::age(&f.cassette.meta.recorded_at, now.into())?;
            (age > max_age).then(|| (f.name.clone(), age.as_secs() / 86_400))
        })
        .collect()
}

/// The drift report as text: one block per changed interaction, then old files.
pub fn render(drifts: &[Drift], old: &[(String, u64)], max_age: Option<Duration>) -> String {
    let mut out = String::new();
    for d in drifts.iter().filter(|d| !d.changes.is_empty()) {
        out.push_str(&format!("changed  {}\n", d.interaction));
        for c in &d.changes {
            out.push_str(&format!("         {c}\n"));
        }
    }
    let same = drifts.iter().filter(|d| d.changes.is_empty()).count();
    out.push_str(&format!(
        "{same} of {} interaction(s) unchanged\n",
        drifts.len()
    ));
    if let Some(max) = max_age {
        for (file, days) in old {
            out.push_str(&format!(
                "too old  {file}: recorded {days} day(s) ago, max_age is {} day(s) (hint: re-record with LABCHECK_RECORD=all)\n",
                max.as_secs() / 86_400
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn seed() -> CassetteSet {
        CassetteSet::load_dir(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/4.1-invoke-fm-via-bedrock/cassettes"),
        )
        .expect("seed cassettes")
    }

    #[test]
    fn identical_sets_show_no_drift_and_a_missing_last_event_shows() {
        let set = seed();
        assert!(
            compare_sets(&set, &set)
                .iter()
                .all(|d| d.changes.is_empty())
        );
        let (_, _, it) = set
            .interactions()
            .find(|(_, _, i)| i.response.stream.is_some())
            .expect("a stream");
        let mut moved = it.clone();
        let stream = moved.response.stream.as_mut().expect("stream");
        stream.pop();
        let changes = compare(it, &moved);
        assert!(
            changes.iter().any(|c| c.starts_with("stream events")),
            "{changes:?}"
        );
    }

    #[test]
    fn files_older_than_max_age_are_reported() {
        let set = seed();
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000);
        let old = too_old(&set, Duration::from_secs(86_400), far);
        assert_eq!(old.len(), set.files().len());
        assert!(too_old(&set, Duration::from_secs(86_400), SystemTime::UNIX_EPOCH).is_empty());
    }
}
