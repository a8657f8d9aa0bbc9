//! Running one step of a lab with one client: the step kinds of `lab.toml`.
//!
//! Each kind turns a resolved [`StepKind`] into a [`StepOutput`]: `shell` and
//! `python` run bash in a fresh workspace with the provisioned client first on
//! PATH ([`env`], [`process`]); `sdk` calls aws-sdk-bedrockruntime in process
//! ([`sdk`]); `playground` emulates a console step through Converse;
//! `notebook` runs a notebook's cells in one Jupyter kernel ([`notebook`]). Judging the
//! output is [`crate::expect`]'s job, not this module's.

pub mod env;
pub mod notebook;
pub mod process;
pub mod sdk;

use std::path::PathBuf;
use std::time::Duration;

use crate::clients::{Clients, Progress};
use crate::ids::ClientId;
use crate::spec::lab::{ConverseRequest, ParamPair, ProgramSource, StepKind};
use env::ChildEnv;
pub use process::Piece;

/// What went wrong *running* a step (as opposed to a step that ran and showed
/// the wrong thing, which is an expectation failure).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Client(#[from] crate::clients::ClientsError),
    #[error(
        "step source `{path}` is missing from the workspace (hint: the student must create it as the lab says)"
    )]
    MissingWorkspaceFile { path: PathBuf },
    #[error(
        "a `notebook` step runs only in a sandbox, and none is in force (hint: unset `LABCHECK_SANDBOX=none`; the kernel runs arbitrary notebook code)"
    )]
    NoSandbox,
    #[error("{0}")]
    Notebook(String),
    #[error("step kind `{kind}` cannot run under client `{client}`")]
    WrongClient {
        kind: &'static str,
        client: ClientId,
    },
}

/// What a step showed: a process's exit and output, or an SDK call's result
/// rendered the same way (the model's text as stdout, the error as stderr).
#[derive(Debug, Clone, Default)]
pub struct StepOutput {
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Arrival of stdout pieces (process) or text deltas (SDK streams).
    pub pieces: Vec<Piece>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Stop reason reported by the model, when the client exposes it.
    pub stop_reason: Option<String>,
    /// Output tokens reported by the model, when the client exposes it.
    pub output_tokens: Option<u32>,
    /// Stream event types in arrival order (SDK streams).
    pub events: Vec<String>,
    /// The sandbox a process step ran in; `None` for in-process steps.
    pub sandbox: Option<crate::sandbox::Guard>,
    /// A notebook step's cells as they ran.
    pub notebook: Option<notebook::NotebookRun>,
}

impl From<process::ProcessOutput> for StepOutput {
    fn from(p: process::ProcessOutput) -> Self {
        StepOutput {
            exit_code: p.exit_code,
            stdout: p.stdout,
            stderr: p.stderr,
            pieces: p.pieces,
            timed_out: p.timed_out,
            elapsed: p.elapsed,
            sandbox: Some(p.sandbox),
            ..StepOutput::default()
        }
    }
}

/// Everything one trial needs to run its step.
pub struct Invocation<'a> {
    pub kind: &'a StepKind,
    pub client: ClientId,
    /// The playground pair of this trial, if the step is a playground step.
    pub pair: Option<ParamPair>,
    pub endpoint: &'a str,
    pub region: &'a str,
    pub workspace: PathBuf,
    pub timeout: Duration,
    pub progress: &'a dyn Progress,
    /// Where the provisioned clients live (from [`crate::settings`]).
    pub clients: &'a Clients,
    /// The trial's network guard for child processes (none: unguarded).
    pub guard: Option<crate::netguard::ChildGuard>,
    /// The setup services' endpoint of an unguarded trial (record and live
    /// modes: the re-signing pass-through); see [`ChildEnv::services`].
    pub services: Option<String>,
    /// Which sandbox process steps run in (`LABCHECK_SANDBOX`).
    pub sandbox: crate::sandbox::Policy,
}

/// Runs the step once.
pub fn run(inv: &Invocation<'_>) -> Result<StepOutput, StepError> {
    match inv.kind {
        StepKind::Shell { program } => {
            let env = child_env(inv)?;
            let (text, line) = program_text(program, &inv.workspace)?;
            Ok(process::run_bash_at(&text, &line, &env, inv.timeout)?.into())
        }
        StepKind::Python { files, run } => {
            let env = child_env(inv)?;
            for file in files {
                let (text, _) = program_text(&file.source, &inv.workspace)?;
                process::write_file(&inv.workspace, &file.path, &text)?;
            }
            let (text, line) = program_text(run, &inv.workspace)?;
            Ok(process::run_bash_at(&text, &line, &env, inv.timeout)?.into())
        }
        StepKind::Sdk { call } => sdk::run(call, inv.endpoint, inv.region, inv.timeout),
        StepKind::Playground {
            model,
            prompt,
            system,
            ..
        } => {
            let pair = inv.pair.unwrap_or(ParamPair::DEFAULTS[0]);
            let request = ConverseRequest {
                model: model.clone(),
                prompt: prompt.clone(),
                system: system.clone(),
                max_tokens: Some(pair.max_tokens),
                temperature: Some(pair.temperature),
                top_p: None,
                guardrail: None,
            };
            sdk::converse_once(&request, inv.endpoint, inv.region, inv.timeout)
        }
        StepKind::Notebook(step) => {
            let env = child_env(inv)?;
            let bin = env.client_bin.clone().unwrap_or_default();
            let extra = if step.python.is_empty() {
                None
            } else {
                Some(inv.clients.lab_packages(&step.python, inv.progress)?)
            };
            notebook::run(step, &env, &bin, extra.as_deref(), inv.timeout)
        }
    }
}

/// The child environment for a process step, with its client provisioned.
fn child_env(inv: &Invocation<'_>) -> Result<ChildEnv, StepError> {
    if inv.client == ClientId::RustSdk {
        return Err(StepError::WrongClient {
            kind: inv.kind.name(),
            client: inv.client,
        });
    }
    let provisioned = inv.clients.ensure(inv.client, inv.progress)?;
    let env = ChildEnv {
        workspace: inv.workspace.clone(),
        endpoint: inv
            .guard
            .as_ref()
            .map_or_else(|| inv.endpoint.to_string(), |g| g.endpoint.clone()),
        region: inv.region.to_string(),
        client_bin: Some(provisioned.bin_dir),
        guard: inv.guard.clone(),
        services: inv.services.clone(),
        sandbox: crate::sandbox::Guard::choose(inv.sandbox),
        read_only: client_trees(inv.clients),
    };
    env.prepare().map_err(|e| StepError::Io {
        what: "preparing the workspace".into(),
        source: e,
    })?;
    Ok(env)
}

/// What a sandboxed step must read outside the system directories: the
/// clients cache (read-only: a student must not change what later students
/// are graded with) and each python its venvs were built from (`home =` of
/// `pyvenv.cfg`, e.g. `/root/.pyenv/versions/3.11.7/bin` → its prefix).
fn client_trees(clients: &Clients) -> Vec<PathBuf> {
    let Ok(root) = clients.root() else {
        return Vec::new();
    };
    let mut trees = vec![root.to_path_buf()];
    let Ok(entries) = std::fs::read_dir(root) else {
        return trees;
    };
    for entry in entries.flatten() {
        let cfg = entry.path().join("venv").join("pyvenv.cfg");
        let Ok(text) = std::fs::read_to_string(&cfg) else {
            continue;
        };
        let home = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == "home")
            .map(|(_, v)| PathBuf::from(v.trim()));
        // Only a python's own prefix (`/root/.pyenv/versions/X`, `/opt/py`):
        // never `/` or a top-level directory, which would make the whole
        // host (or all of `/home`) readable to the step.
        if let Some(prefix) = home.as_deref().and_then(std::path::Path::parent)
            && prefix.is_absolute()
            && prefix.components().count() >= 3
            && prefix != std::path::Path::new("/usr")
            && !trees.iter().any(|t| t == prefix)
        {
            trees.push(prefix.to_path_buf());
        }
    }
    trees
}

/// A program's text and where its first line is on the page (line 0 if not
/// from the page).
fn program_text(
    source: &ProgramSource,
    workspace: &std::path::Path,
) -> Result<(String, process::ScriptOrigin), StepError> {
    let none = process::ScriptOrigin::Page { line: 0 };
    match source {
        ProgramSource::Block {
            text,
            cell: Some(cell),
            ..
        } => Ok((text.clone(), process::ScriptOrigin::Cell(cell.clone()))),
        // The block's text starts on the line after its opening fence.
        ProgramSource::Block { text, line, .. } => {
            Ok((text.clone(), process::ScriptOrigin::Page { line: line + 1 }))
        }
        ProgramSource::Inline { text } => Ok((text.clone(), none)),
        ProgramSource::Workspace { path } => {
            let full = workspace.join(path);
            std::fs::read_to_string(&full)
                .map(|t| (t, none))
                .map_err(|_| StepError::MissingWorkspaceFile { path: path.clone() })
        }
    }
}
