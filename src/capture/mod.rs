//! `labcheck capture`: cassette skeletons for a lab with no recordings yet.
//!
//! Every trial of the lab runs, with its real client, against a replay
//! server in capture mode ([`crate::replay::Capture`]): what the lab's
//! cassettes already answer is replayed, and every other request is answered
//! from a template fitting the model family and operation ([`template`]) and
//! kept. The kept interactions — the exact requests, the placeholder answers
//! — are then added to the lab's cassette dir as `"source": "authored"`
//! files, one per operation (`converse.json`, …, or `<op>.authored.json`
//! beside a file of other provenance). Running it again adds only requests
//! the cassettes do not answer yet. `labcheck lint` reports each placeholder
//! (`cassette-placeholder`) until the author writes the real answer.

pub mod template;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::cassette::{Cassette, CassetteError, CassetteSet, Interaction, Meta, Source};
use crate::ids::Operation;
use crate::plan::{self, Selection};
use crate::record::store::{DirLock, now_rfc3339};
use crate::replay::{CAPTURED, Capture, Captured, ReplayOptions, ReplayServer, ServedHook};
use crate::runner::{RunConfig, run_step_on};

/// What a capture did.
#[derive(Debug, Clone, Default)]
pub struct CaptureReport {
    /// Files written, with the interactions added to each.
    pub written: Vec<(PathBuf, Vec<String>)>,
    /// Trials whose step could not run at all (trial name, why).
    pub not_run: Vec<(String, String)>,
    /// Requests the existing cassettes already answered.
    pub already_answered: usize,
}

impl std::fmt::Display for CaptureReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let added: usize = self.written.iter().map(|(_, names)| names.len()).sum();
        if added == 0 {
            writeln!(
                f,
                "nothing to add: the cassettes answer every request the steps sent ({} answered)",
                self.already_answered
            )?;
        }
        for (path, names) in &self.written {
            writeln!(
                f,
                "wrote {} interaction(s) to {}: {}",
                names.len(),
                path.display(),
                names.join(", ")
            )?;
        }
        for (trial, why) in &self.not_run {
            writeln!(f, "not run: {trial}: {why}")?;
        }
        if added > 0 {
            writeln!(
                f,
                "each answer is a placeholder: replace every `{}` text with the model's answer (`labcheck lint` lists them), or record them with `labcheck record`",
                crate::cassette::PLACEHOLDER
            )?;
        }
        Ok(())
    }
}

/// Why nothing could be captured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error("{0}")]
    Lab(String),
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    #[error(transparent)]
    Replay(#[from] crate::replay::ReplayError),
    #[error("cannot write cassettes: {0}")]
    Store(#[from] crate::record::RecordError),
}

/// Runs every trial of the lab in `config.labs[0]` in capture mode and adds
/// the skeletons to its cassette dir.
pub fn capture(config: &RunConfig) -> Result<CaptureReport, CaptureError> {
    let plan = plan::plan(Selection {
        labs: &config.labs,
        page_override: None,
    });
    if let Some((_, error)) = plan.broken.first() {
        return Err(CaptureError::Lab(error.clone()));
    }
    let Some(loaded) = plan.labs.first() else {
        return Err(CaptureError::Lab("no lab given".into()));
    };
    // Only the requests matter here: expectations (exact text, snapshots)
    // cannot hold against placeholder answers, so none is judged.
    let mut bare = loaded.lab.clone();
    for step in &mut bare.steps {
        step.expect = Default::default();
    }
    let loaded = Arc::new(plan::LoadedLab {
        lab: bare,
        cassettes: Err(plan::CassettesUnavailable::NotLoaded),
    });
    let trials = plan::trials_of(&loaded);
    let lab = &loaded.lab;
    // No cassette dir yet is an empty set; a broken one is an error.
    let existing = if lab.cassettes.is_dir() {
        CassetteSet::load_dir(&lab.cassettes)?
    } else {
        CassetteSet::default()
    };
    let sink: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let not_run = Mutex::new(Vec::new());
    let answered = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&answered);
    let count_hits: Arc<dyn Fn(&crate::replay::ServedRequest) + Send + Sync> = Arc::new(move |e| {
        if e.interaction.is_some() && e.cassette.as_deref() != Some(CAPTURED) {
            hits.fetch_add(1, Ordering::Relaxed);
        }
    });
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let run_one = |i: usize| -> Result<(), CaptureError> {
        let def = &trials[i];
        let options = ReplayOptions {
            speed: 0.0,
            label: lab.cassettes.display().to_string(),
            capture: Some(Capture::new(
                template::answer,
                &def.step().id.to_string(),
                Arc::clone(&sink),
            )),
            on_served: Some(ServedHook(Arc::clone(&count_hits))),
            ..ReplayOptions::default()
        };
        let server = ReplayServer::start_blocking(existing.clone(), options)?;
        if let Err(e) = run_step_on(def, config, Box::new(server)) {
            not_run
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((def.name.clone(), e.to_string()));
        }
        Ok(())
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<(), CaptureError> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= trials.len() {
                            return Ok(());
                        }
                        run_one(i)?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<()>, CaptureError>>()
    })?;
    let captured = std::mem::take(&mut *sink.lock().unwrap_or_else(|p| p.into_inner()));
    let mut not_run = not_run.into_inner().unwrap_or_else(|p| p.into_inner());
    not_run.sort();
    Ok(CaptureReport {
        written: write(&lab.cassettes, &lab.region, captured)?,
        not_run,
        already_answered: answered.load(Ordering::Relaxed),
    })
}

/// Adds the captured interactions to `dir`, one file per operation, under
/// the directory lock `labcheck record` takes.
fn write(
    dir: &std::path::Path,
    region: &str,
    captured: Vec<Captured>,
) -> Result<Vec<(PathBuf, Vec<String>)>, CaptureError> {
    if captured.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(dir).map_err(|source| CassetteError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let _lock = DirLock::acquire(dir)?;
    let set = CassetteSet::load_dir(dir)?;
    let mut by_op: BTreeMap<&'static str, (Operation, Vec<Captured>)> = BTreeMap::new();
    for c in captured {
        let op = c.interaction.request.operation;
        by_op
            .entry(op.path_suffix())
            .or_insert((op, Vec::new()))
            .1
            .push(c);
    }
    let mut written = Vec::new();
    for (suffix, (_, list)) in by_op {
        let plain = dir.join(format!("{suffix}.json"));
        let path = match set.files().iter().find(|f| f.path == plain) {
            Some(f) if f.cassette.meta.source != Source::Authored => {
                dir.join(format!("{suffix}.authored.json"))
            }
            _ => plain,
        };
        let mut cassette = match set.files().iter().find(|f| f.path == path) {
            Some(f) => f.cassette.clone(),
            None => Cassette {
                openai: Vec::new(),
                version: 1,
                meta: Meta {
                    source: Source::Authored,
                    model: list[0].interaction.request.model_id.clone(),
                    region: region.to_string(),
                    recorded_at: String::new(),
                    client: "any".into(),
                    note: Some(format!(
                        "skeleton written by `labcheck capture`: each request is exactly what the lab's steps sent; each answer is a placeholder to replace with the model's answer (search for `{}`)",
                        crate::cassette::PLACEHOLDER
                    )),
                    upstream: None,
                },
                interactions: Vec::new(),
            },
        };
        cassette.meta.recorded_at = now_rfc3339();
        let mut names = Vec::new();
        for Captured { label, interaction } in list {
            let name = unique_name(&cassette.interactions, &label);
            names.push(name.clone());
            cassette.interactions.push(Interaction {
                name,
                ..interaction
            });
        }
        cassette.write_atomic(&path)?;
        written.push((path, names));
    }
    Ok(written)
}

/// `label`, or `label-2`, `label-3`… when taken.
fn unique_name(existing: &[Interaction], label: &str) -> String {
    let taken = |n: &str| existing.iter().any(|i| i.name == n);
    if !taken(label) {
        return label.to_string();
    }
    (2..)
        .map(|n| format!("{label}-{n}"))
        .find(|n| !taken(n))
        .unwrap_or_else(|| label.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::ReceivedBody;

    fn captured(label: &str, prompt: &str) -> Captured {
        let body =
            serde_json::json!({"messages": [{"role": "user", "content": [{"text": prompt}]}]});
        let interaction = Interaction {
            name: "x".into(),
            request: crate::cassette::RecordedRequest {
                service: Operation::Converse.service(),
                operation: Operation::Converse,
                method: "POST".into(),
                model_id: "us.amazon.nova-lite-v1:0".into(),
                params: Default::default(),
                headers: Default::default(),
                body: Some(body.clone()),
            },
            response: template::answer(
                Operation::Converse,
                "us.amazon.nova-lite-v1:0",
                &ReceivedBody::Json(body),
            ),
            times: 1,
        };
        Captured {
            label: label.into(),
            interaction,
        }
    }

    #[test]
    fn skeletons_go_beside_other_provenance_and_names_stay_unique() {
        let dir = tempfile::tempdir().expect("dir");
        // A recorded converse.json is never relabelled or appended to.
        let mut recorded = Cassette {
            openai: Vec::new(),
            version: 1,
            meta: Meta {
                source: Source::Recorded,
                model: "m".into(),
                region: "us-east-1".into(),
                recorded_at: "2026-11-01T00:00:00Z".into(),
                client: "any".into(),
                note: None,
                upstream: None,
            },
            interactions: vec![captured("r", "recorded").interaction],
        };
        recorded.interactions[0].name = "r".into();
        recorded
            .write_atomic(dir.path().join("converse.json"))
            .expect("write");
        let first = write(
            dir.path(),
            "us-east-1",
            vec![captured("ask", "a"), captured("ask", "b")],
        )
        .expect("written");
        let path = dir.path().join("converse.authored.json");
        assert_eq!(
            first,
            [(path.clone(), vec!["ask".to_string(), "ask-2".to_string()])]
        );
        let again = write(dir.path(), "us-east-1", vec![captured("ask", "c")]).expect("again");
        assert_eq!(again, [(path.clone(), vec!["ask-3".to_string()])]);
        let set = CassetteSet::load_dir(dir.path()).expect("loads");
        assert_eq!(set.len(), 4);
        let authored = set
            .files()
            .iter()
            .find(|f| f.path == path)
            .expect("authored file");
        assert_eq!(authored.cassette.meta.source, Source::Authored);
        assert!(
            write(dir.path(), "us-east-1", Vec::new())
                .expect("nothing")
                .is_empty()
        );
    }
}
