//! Recording sequences: a trial that sends the same request several times
//! (polling a job) is captured in order, as a recorded sequence
//! ([`crate::cassette::sequence`]) that replay answers the same way.
//!
//! The proxy counts, per request (operation, model id and body as scrubbed;
//! or method, path and body for the OpenAI-compatible API), how many times it
//! has already recorded it during this trial ([`Calls`]). The first answer is
//! saved as before (kept, or replacing the whole recorded sequence of that
//! request in mode `all`); each later one is appended after the sequence's
//! last member, or, when its response equals that member's, folded into it
//! (`times` + 1), so a long run of identical `InProgress` answers stays one
//! interaction.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::RecordError;
use super::store::{DirLock, Saved, Store, received};
use crate::cassette::{Cassette, CassetteSet, Interaction, InteractionRef, Match, RecordedRequest};

/// How many times each request was recorded by one proxy (one trial), and
/// whether this trial writes its sequence: a trial whose first answer was
/// already recorded (by a parallel trial recording the same lab) leaves the
/// sequence to that trial rather than interleaving its own answers into it.
#[derive(Debug, Default)]
pub struct Calls(Mutex<HashMap<String, (u32, bool)>>);

impl Calls {
    /// Counts one more recording of the request keyed `key`: how many came
    /// before it, or `None` when this trial does not write that sequence.
    pub fn earlier(&self, key: String) -> Option<u32> {
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (n, disowned) = calls.entry(key).or_insert((0, false));
        let before = *n;
        *n = n.saturating_add(1);
        (!*disowned).then_some(before)
    }

    /// After the first answer of `key` was found already recorded: the
    /// trial's later answers to it are not written.
    pub fn disown(&self, key: String) {
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        calls.entry(key).or_insert((1, true)).1 = true;
    }
}

/// `v` as compact JSON with object keys sorted: equal values, equal keys.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<_> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(v)).unwrap_or_default()
}

/// The key [`Calls`] counts a Bedrock interaction's request under: every
/// matched field (any a later format adds included), informative headers
/// left out, the body in canonical form.
pub fn request_key(it: &Interaction) -> String {
    let bare = RecordedRequest {
        headers: Default::default(),
        body: None,
        ..it.request.clone()
    };
    let fields = serde_json::to_value(&bare)
        .map(|v| canonical(&v))
        .unwrap_or_default();
    let body = it.request.body.as_ref().map(canonical).unwrap_or_default();
    format!("{fields} {body}")
}

/// A name `<prefix>-N` not yet used in `taken`.
pub fn fresh_name<'a>(prefix: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let dashed = format!("{prefix}-");
    let mut n = taken.clone().filter(|t| t.starts_with(&dashed)).count() + 1;
    loop {
        let name = format!("{prefix}-{n}");
        if !taken.clone().any(|t| t == name) {
            return name;
        }
        n += 1;
    }
}

impl Store {
    /// Saves `it` (already scrubbed), the request this proxy already recorded
    /// `earlier` times: the first time as [`Store::save`] does, except that
    /// `replace` removes every member of the request's recorded sequence;
    /// later times appended to (or folded into) that sequence.
    pub fn save_sequenced(
        &self,
        it: Interaction,
        replace: bool,
        earlier: u32,
    ) -> Result<Saved, RecordError> {
        let lock = DirLock::acquire(&self.dir)?;
        let set = CassetteSet::load_dir(&self.dir)?;
        let op = it.request.operation;
        let req = &it.request;
        let leader = match set.find(op, &req.method, &req.model_id, &req.params, &received(&it)) {
            Match::Hit(at) => at,
            Match::Miss(_) => return self.save_unlocked(it, op),
        };
        let members: Vec<InteractionRef> = match set.sequences().members(leader) {
            Some(m) => m.iter().map(|m| m.at).collect(),
            None => vec![leader],
        };
        if earlier == 0 {
            let path = set.files()[leader.file].path.clone();
            if !replace {
                return Ok(Saved::AlreadyThere(path));
            }
            remove_members(&set, &members)?;
            let saved = self.save_unlocked(it, op);
            drop(lock);
            return saved;
        }
        let Some(&last) = members.last() else {
            return self.save_unlocked(it, op);
        };
        let file = &set.files()[last.file];
        let mut c = file.cassette.clone();
        append_after(&mut c, last.index, it, &super::store::stem(op));
        c.write_atomic(&file.path)?;
        Ok(Saved::Written(file.path.clone()))
    }
}

/// Folds `it` into the interaction at `index` when the answers are equal,
/// else inserts it right after, named afresh.
fn append_after(c: &mut Cassette, index: usize, mut it: Interaction, prefix: &str) {
    if let Some(last) = c.interactions.get_mut(index)
        && last.response == it.response
    {
        last.times = last.times.saturating_add(1);
        return;
    }
    it.name = fresh_name(prefix, c.interactions.iter().map(|i| i.name.as_str()));
    let at = (index + 1).min(c.interactions.len());
    c.interactions.insert(at, it);
}

/// Removes `members` from their files (a file left empty is deleted).
fn remove_members(set: &CassetteSet, members: &[InteractionRef]) -> Result<(), RecordError> {
    let mut by_file: HashMap<usize, Vec<usize>> = HashMap::new();
    for m in members {
        by_file.entry(m.file).or_default().push(m.index);
    }
    for (fi, mut indexes) in by_file {
        let file = &set.files()[fi];
        let mut c = file.cassette.clone();
        indexes.sort_unstable_by(|a, b| b.cmp(a));
        for i in indexes {
            c.interactions.remove(i);
        }
        if c.interactions.is_empty() && c.openai.is_empty() {
            std::fs::remove_file(&file.path).map_err(|source| RecordError::Read {
                path: file.path.clone(),
                source,
            })?;
        } else {
            c.write_atomic(&file.path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Source;
    use serde_json::json;

    fn poll(status: &str) -> Interaction {
        serde_json::from_value(json!({
            "name": "x",
            "request": {"operation": "InvokeModel", "method": "POST",
                        "model_id": "arn:aws:bedrock:us-east-1:000000000000:provisioned-model/job-1",
                        "body": {"action": "status"}},
            "response": {"status": 200, "body": {"status": status}}
        }))
        .expect("interaction")
    }

    #[test]
    fn a_polling_run_is_recorded_in_order_with_identical_answers_folded() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store {
            dir: dir.path().to_path_buf(),
            source: Source::Proxied,
            upstream: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
        };
        let calls = Calls::default();
        for status in ["InProgress", "InProgress", "InProgress", "Completed"] {
            let it = poll(status);
            let earlier = calls.earlier(request_key(&it)).expect("this trial writes");
            store.save_sequenced(it, false, earlier).expect("save");
        }
        // A parallel trial finding the first answer recorded writes nothing more.
        let other = Calls::default();
        let key = request_key(&poll("InProgress"));
        assert_eq!(other.earlier(key.clone()), Some(0));
        other.disown(key.clone());
        assert_eq!(other.earlier(key), None);
        let set = CassetteSet::load_dir(dir.path()).expect("load");
        let its = &set.files()[0].cassette.interactions;
        let got: Vec<_> = its
            .iter()
            .map(|i| {
                (
                    i.response.body.clone().unwrap_or_default()["status"].clone(),
                    i.times,
                )
            })
            .collect();
        assert_eq!(got, [(json!("InProgress"), 3), (json!("Completed"), 1)]);
        // Recording again in mode `all` replaces the whole sequence.
        let fresh = Calls::default();
        for status in ["InProgress", "Completed"] {
            let it = poll(status);
            let earlier = fresh.earlier(request_key(&it)).expect("this trial writes");
            store.save_sequenced(it, true, earlier).expect("save");
        }
        let set = CassetteSet::load_dir(dir.path()).expect("load");
        let its = &set.files()[0].cassette.interactions;
        assert_eq!(its.len(), 2);
        assert_eq!(its.iter().map(|i| i.times).collect::<Vec<_>>(), [1, 1]);
        let leader = InteractionRef { file: 0, index: 0 };
        let answers: Vec<_> = (0..3)
            .map(|n| set.sequences().answer(leader, n).index)
            .collect();
        assert_eq!(answers, [0, 1, 1], "the last answer repeats");
    }
}
