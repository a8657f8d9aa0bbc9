//! Writing recorded interactions into a lab's cassette dir: under an
//! exclusive lock on the directory (so parallel trials and processes can
//! record into one lab), re-reading what is there, appending or replacing,
//! and writing each file atomically (temp file, fsync, rename, fsync dir).
//! A killed recording leaves the old file or the new one, never a torn one.

use std::fs::File;
use std::path::{Path, PathBuf};

use aws_smithy_types::date_time::{DateTime, Format};

use super::RecordError;
use crate::cassette::{Cassette, CassetteSet, Interaction, Match, Meta, ReceivedBody, Source};
use crate::ids::Operation;

/// Where and with which provenance interactions are written.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    /// `Recorded` (upstream is AWS) or `Proxied` (then `upstream` names it).
    pub source: Source,
    pub upstream: Option<String>,
    pub region: String,
}

/// An exclusive `flock` on the cassette directory, released on drop.
pub struct DirLock(File);

impl DirLock {
    /// Blocks until this process holds the lock on `dir`.
    pub fn acquire(dir: &Path) -> Result<DirLock, RecordError> {
        let err = |source| RecordError::Lock {
            path: dir.to_path_buf(),
            source,
        };
        let f = File::open(dir).map_err(err)?;
        f.lock().map_err(err)?;
        Ok(DirLock(f))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// The received-body form of a recorded request body (for matching).
pub(super) fn received(it: &Interaction) -> ReceivedBody {
    let bytes = match &it.request.body {
        None => Vec::new(),
        Some(serde_json::Value::String(s))
            if serde_json::from_str::<serde_json::Value>(s).is_err() =>
        {
            s.clone().into_bytes()
        }
        Some(v) => serde_json::to_vec(v).unwrap_or_default(),
    };
    ReceivedBody::parse(&bytes)
}

/// A cassette file's name stem for `op`: the runtime's model operations by
/// their path suffix (`invoke`, `converse-stream`, as before); any other
/// operation by service and kebab-case name (`bedrock-get-inference-profile`,
/// `bedrock-agent-runtime-invoke-agent`).
pub(super) fn stem(op: Operation) -> String {
    if op.has_model_id() {
        return op.path_suffix().to_string();
    }
    let mut kebab = String::new();
    for (i, c) in op.as_str().chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    format!("{}-{kebab}", op.service())
}

/// What [`Store::save`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Written to this file (appended, or replacing an equal request).
    Written(PathBuf),
    /// An equal request was already recorded (by a parallel trial): kept as is.
    AlreadyThere(PathBuf),
}

impl Store {
    /// The file interactions of `op` go to: `<stem>.json`, or
    /// `<stem>.<source>.json` when that name holds other provenance.
    pub(super) fn target(&self, op: Operation, set: &CassetteSet) -> PathBuf {
        let plain = self.dir.join(format!("{}.json", stem(op)));
        let same = |m: &Meta| m.source == self.source && m.upstream == self.upstream;
        match set.files().iter().find(|f| f.path == plain) {
            Some(f) if !same(&f.cassette.meta) => self.dir.join(format!(
                "{}.{}.json",
                stem(op),
                serde_json::to_value(self.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )),
            _ => plain,
        }
    }

    /// Adds `it` (already scrubbed). With `replace`, an existing interaction
    /// for the same request is removed first (from whichever file holds it);
    /// without, an existing one is kept and nothing is written.
    pub fn save(&self, it: Interaction, replace: bool) -> Result<Saved, RecordError> {
        let _lock = DirLock::acquire(&self.dir)?;
        let set = CassetteSet::load_dir(&self.dir)?;
        let op = it.request.operation;
        let body = received(&it);
        let (method, params) = (&it.request.method, &it.request.params);
        if let Match::Hit(at) = set.find(op, method, &it.request.model_id, params, &body) {
            let file = &set.files()[at.file];
            if !replace {
                return Ok(Saved::AlreadyThere(file.path.clone()));
            }
            let mut c = file.cassette.clone();
            c.interactions.remove(at.index);
            if c.interactions.is_empty() {
                std::fs::remove_file(&file.path).map_err(|source| RecordError::Read {
                    path: file.path.clone(),
                    source,
                })?;
            } else {
                c.write_atomic(&file.path)?;
            }
            return self.save_unlocked(it, op);
        }
        self.save_unlocked(it, op)
    }

    pub(super) fn save_unlocked(
        &self,
        mut it: Interaction,
        op: Operation,
    ) -> Result<Saved, RecordError> {
        let set = CassetteSet::load_dir(&self.dir)?;
        let path = self.target(op, &set);
        let mut cassette = match set.files().iter().find(|f| f.path == path) {
            Some(f) => f.cassette.clone(),
            None => Cassette {
                version: 1,
                meta: Meta {
                    source: self.source,
                    model: it.request.model_id.clone(),
                    region: self.region.clone(),
                    recorded_at: String::new(),
                    client: "any".into(),
                    note: Some("recorded with `labcheck record`; scrubbed before writing".into()),
                    upstream: self.upstream.clone(),
                },
                interactions: Vec::new(),
                openai: Vec::new(),
            },
        };
        cassette.meta.recorded_at = now_rfc3339();
        let mut n = cassette.interactions.len() + 1;
        let taken = |name: &str, c: &Cassette| c.interactions.iter().any(|i| i.name == name);
        it.name = loop {
            let name = format!("{}-{n}", stem(op));
            if !taken(&name, &cassette) {
                break name;
            }
            n += 1;
        };
        cassette.interactions.push(it);
        cassette.write_atomic(&path)?;
        Ok(Saved::Written(path))
    }
}

/// The current time as RFC 3339 UTC, whole seconds.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn seed_invoke() -> Interaction {
        let set = CassetteSet::load_dir(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/4.1-invoke-fm-via-bedrock/cassettes"),
        )
        .expect("seed");
        set.interactions()
            .find(|(_, _, i)| i.request.operation == Operation::InvokeModel)
            .map(|(_, _, i)| i.clone())
            .expect("an invoke")
    }

    #[test]
    fn once_keeps_an_equal_request_and_all_replaces_it_next_to_other_provenance() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store {
            dir: dir.path().to_path_buf(),
            source: Source::Proxied,
            upstream: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
        };
        let it = seed_invoke();
        let first = store.save(it.clone(), false).expect("save");
        let path = dir.path().join("invoke.json");
        assert_eq!(first, Saved::Written(path.clone()));
        assert_eq!(
            store.save(it.clone(), false).expect("again"),
            Saved::AlreadyThere(path.clone())
        );
        let mut changed = it.clone();
        changed.response.status = 400;
        changed
            .response
            .headers
            .insert("x-amzn-errortype".into(), "ValidationException".into());
        assert_eq!(
            store.save(changed, true).expect("replace"),
            Saved::Written(path.clone())
        );
        let set = CassetteSet::load_dir(dir.path()).expect("load");
        assert_eq!(set.len(), 1);
        assert_eq!(set.files()[0].cassette.interactions[0].response.status, 400);
        assert_eq!(set.files()[0].cassette.meta.source, Source::Proxied);
        // A file of other provenance is never relabelled: the new data goes beside it.
        let authored = Store {
            source: Source::Recorded,
            upstream: None,
            ..store.clone()
        };
        let mut other = it;
        other.request.model_id = "another-model".into();
        assert_eq!(
            authored.save(other, false).expect("beside"),
            Saved::Written(dir.path().join("invoke.recorded.json"))
        );
    }
}
