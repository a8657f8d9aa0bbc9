//! Writing recorded OpenAI-compatible interactions: into `openai.json` (or
//! `openai.<source>.json` beside a file of other provenance), under the
//! cassette dir's lock, as recorded sequences like Bedrock interactions
//! ([`super::sequence`]).

use serde_json::Value;

use super::RecordError;
use super::sequence::fresh_name;
use super::store::{DirLock, Saved, Store};
use crate::cassette::{Cassette, CassetteSet, Meta, OpenAiInteraction, OpenAiRef};

/// The file OpenAI-compatible interactions go to: `openai.json`, or
/// `openai.<source>.json` when that name holds other provenance.
fn target(store: &Store, set: &CassetteSet) -> std::path::PathBuf {
    let plain = store.dir.join("openai.json");
    let same = |m: &Meta| m.source == store.source && m.upstream == store.upstream;
    match set.files().iter().find(|f| f.path == plain) {
        Some(f) if !same(&f.cassette.meta) => {
            let source = serde_json::to_value(store.source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            store.dir.join(format!("openai.{source}.json"))
        }
        _ => plain,
    }
}

/// Interaction names from the path: `/chat/completions` -> `chat-completions`.
fn name_prefix(path: &str) -> String {
    let p: String = path
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if p.is_empty() { "openai".into() } else { p }
}

/// Saves `it` (scrubbed) as [`Store::save_sequenced`] saves a Bedrock interaction.
pub(crate) fn save_openai(
    store: &Store,
    mut it: OpenAiInteraction,
    replace: bool,
    earlier: u32,
) -> Result<Saved, RecordError> {
    let _lock = DirLock::acquire(&store.dir)?;
    let set = CassetteSet::load_dir(&store.dir)?;
    let r = &it.request;
    let hit = set.find_openai(&r.method, &r.path, r.body.as_ref()).ok();
    let prefix = name_prefix(&r.path);
    if let Some(leader) = hit {
        let members: Vec<OpenAiRef> = match set.openai_sequences().members(leader) {
            Some(m) => m.iter().map(|m| m.at).collect(),
            None => vec![leader],
        };
        if earlier > 0
            && let Some(&last) = members.last()
        {
            let file = &set.files()[last.file];
            let mut c = file.cassette.clone();
            match c.openai.get_mut(last.index) {
                Some(prev) if prev.response == it.response => {
                    prev.times = prev.times.saturating_add(1);
                }
                _ => {
                    it.name = fresh_name(&prefix, c.openai.iter().map(|i| i.name.as_str()));
                    let at = (last.index + 1).min(c.openai.len());
                    c.openai.insert(at, it);
                }
            }
            c.write_atomic(&file.path)?;
            return Ok(Saved::Written(file.path.clone()));
        }
        if !replace {
            return Ok(Saved::AlreadyThere(set.files()[leader.file].path.clone()));
        }
        for m in members.iter().rev() {
            let file = &set.files()[m.file];
            let mut c = file.cassette.clone();
            c.openai.remove(m.index);
            if c.interactions.is_empty() && c.openai.is_empty() {
                std::fs::remove_file(&file.path).map_err(|source| RecordError::Read {
                    path: file.path.clone(),
                    source,
                })?;
            } else {
                c.write_atomic(&file.path)?;
            }
        }
    }
    // Re-read: removing may have rewritten or deleted the target.
    let set = CassetteSet::load_dir(&store.dir)?;
    let path = target(store, &set);
    let model = it
        .request
        .body
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
        .unwrap_or("openai")
        .to_string();
    let mut cassette = match set.files().iter().find(|f| f.path == path) {
        Some(f) => f.cassette.clone(),
        None => Cassette {
            version: 1,
            meta: Meta {
                source: store.source,
                model,
                region: store.region.clone(),
                recorded_at: String::new(),
                client: "any".into(),
                note: Some(
                    "recorded with `labcheck record` (OpenAI-compatible API); scrubbed before writing"
                        .into(),
                ),
                upstream: store.upstream.clone(),
            },
            interactions: Vec::new(),
            openai: Vec::new(),
        },
    };
    cassette.meta.recorded_at = super::store::now_rfc3339();
    it.name = fresh_name(&prefix, cassette.openai.iter().map(|i| i.name.as_str()));
    cassette.openai.push(it);
    cassette.write_atomic(&path)?;
    Ok(Saved::Written(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{OpenAiRequest, OpenAiResponse, Source};
    use serde_json::json;

    fn poll(status: &str) -> OpenAiInteraction {
        OpenAiInteraction {
            name: String::new(),
            request: OpenAiRequest {
                method: "GET".into(),
                path: "/fine_tuning/jobs/ftjob-1".into(),
                headers: Default::default(),
                body: None,
            },
            response: OpenAiResponse {
                status: 200,
                headers: Default::default(),
                body: Some(json!({"status": status})),
                sse: None,
            },
            times: 1,
        }
    }

    #[test]
    fn polls_are_named_by_path_folded_and_appended_in_order() {
        assert_eq!(name_prefix("/chat/completions"), "chat-completions");
        assert_eq!(name_prefix("/models?limit=2"), "models");
        let dir = tempfile::tempdir().expect("dir");
        let store = Store {
            dir: dir.path().to_path_buf(),
            source: Source::Proxied,
            upstream: Some("http://127.0.0.1:9".into()),
            region: "us-west-2".into(),
        };
        for (earlier, status) in ["running", "running", "succeeded"].iter().enumerate() {
            let earlier = u32::try_from(earlier).expect("small");
            save_openai(&store, poll(status), false, earlier).expect("save");
        }
        let set = CassetteSet::load_dir(dir.path()).expect("load");
        let got: Vec<_> = set
            .openai_interactions()
            .map(|(_, f, it)| (f.name.clone(), it.name.clone(), it.times))
            .collect();
        assert_eq!(
            got,
            [
                ("openai.json".into(), "fine-tuning-jobs-ftjob-1-1".into(), 2),
                ("openai.json".into(), "fine-tuning-jobs-ftjob-1-2".into(), 1),
            ]
        );
        // Without `replace`, a first answer already recorded is kept.
        assert!(matches!(
            save_openai(&store, poll("failed"), false, 0).expect("save"),
            Saved::AlreadyThere(_)
        ));
    }
}
