//! One trial's outcome, as written to `target/labcheck/results/<run id>/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Version of the outcome file format.
pub const OUTCOME_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
}

/// What one trial (lab × step × client) showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub version: u32,
    pub run_id: String,
    /// Full trial name, `<lab>::<step>::<client>`.
    pub trial: String,
    pub lab: String,
    pub step: String,
    pub client: String,
    /// Checklist items (1-based) this trial's step proves.
    pub proves: Vec<usize>,
    pub status: Status,
    /// True when a console step was emulated through Converse.
    pub emulated: bool,
    /// Why the trial failed, one entry per unmet expectation.
    pub failures: Vec<String>,
    pub duration_ms: u64,
    /// The network guard the step's processes ran under (`netns+proxy`,
    /// `proxy`); absent for in-process steps and in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_guard: Option<String>,
    /// The sandbox the step's processes ran in (`namespaces+uid 65534`,
    /// `landlock+rlimits`, `none`); absent for in-process steps and in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    #[error("cannot write results under `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read results under `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt outcome file `{path}`: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// The results directory of one run.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    pub dir: PathBuf,
}

impl ResultsDir {
    pub fn new(root: &Path, run_id: &str) -> ResultsDir {
        ResultsDir {
            dir: root.join(run_id),
        }
    }

    pub(super) fn file_name(trial: &str) -> String {
        let safe: String = trial
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{safe}.json")
    }

    /// Writes one outcome atomically (temp file + rename), so a reader never
    /// sees half a file even when trials of one run finish in parallel.
    pub fn write(&self, outcome: &Outcome) -> Result<PathBuf, ResultsError> {
        write_json(&self.dir, &Self::file_name(&outcome.trial), outcome)
    }

    /// Reads every outcome of this run, sorted by trial name.
    pub fn read_all(&self) -> Result<Vec<Outcome>, ResultsError> {
        let mut outcomes: Vec<Outcome> = read_json_dir(&self.dir, false)?;
        outcomes.sort_by(|a, b| a.trial.cmp(&b.trial));
        Ok(outcomes)
    }
}

/// Writes `value` as `dir/name` atomically (temp file + rename in `dir`),
/// creating `dir`: a reader never sees half a file, even when trials of one
/// run finish in parallel.
pub(super) fn write_json<T: Serialize + ?Sized>(
    dir: &Path,
    name: &str,
    value: &T,
) -> Result<PathBuf, ResultsError> {
    let err = |source| ResultsError::Write {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let path = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    serde_json::to_writer_pretty(&mut tmp, value).map_err(|e| err(e.into()))?;
    tmp.persist(&path).map_err(|e| err(e.error))?;
    Ok(path)
}

/// Every `*.json` file of `dir`, parsed, in directory order; a missing `dir`
/// is an error, or no files at all when `missing_is_empty`.
pub(super) fn read_json_dir<T: serde::de::DeserializeOwned>(
    dir: &Path,
    missing_is_empty: bool,
) -> Result<Vec<T>, ResultsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if missing_is_empty && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(source) => {
            return Err(ResultsError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut all = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| ResultsError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ResultsError::Read {
            path: path.clone(),
            source,
        })?;
        let value = serde_json::from_str(&text).map_err(|source| ResultsError::Corrupt {
            path: path.clone(),
            source,
        })?;
        all.push(value);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(trial: &str, status: Status) -> Outcome {
        Outcome {
            version: OUTCOME_VERSION,
            run_id: "r1".into(),
            trial: trial.into(),
            lab: "lab".into(),
            step: "s".into(),
            client: "boto3".into(),
            proves: vec![1],
            status,
            emulated: false,
            failures: vec![],
            duration_ms: 5,
            network_guard: None,
            sandbox: None,
        }
    }

    #[test]
    fn outcomes_of_a_run_round_trip_and_other_runs_stay_apart() {
        let root = tempfile::tempdir().expect("tempdir");
        let run = ResultsDir::new(root.path(), "r1");
        let other = ResultsDir::new(root.path(), "r0");
        run.write(&outcome("lab::b::boto3", Status::Failed))
            .expect("write");
        run.write(&outcome("lab::a::boto3", Status::Passed))
            .expect("write");
        other
            .write(&outcome("lab::stale::boto3", Status::Passed))
            .expect("write");
        let read = run.read_all().expect("read");
        assert_eq!(
            read.iter().map(|o| o.trial.as_str()).collect::<Vec<_>>(),
            ["lab::a::boto3", "lab::b::boto3"]
        );
        assert_eq!(read[1].status, Status::Failed);
    }

    #[test]
    fn corrupt_outcome_is_an_error_naming_the_file() {
        let root = tempfile::tempdir().expect("tempdir");
        let run = ResultsDir::new(root.path(), "r1");
        std::fs::create_dir_all(&run.dir).expect("mkdir");
        std::fs::write(run.dir.join("x.json"), "{").expect("write");
        let err = run.read_all().expect_err("corrupt");
        assert!(err.to_string().contains("x.json"), "{err}");
    }
}
