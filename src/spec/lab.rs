//! The validated lab: what the rest of labcheck consumes after `lab.toml` has
//! been parsed (stage 1) and cross-checked against `lab.md` (stage 2).
//!
//! Every code block reference is already resolved to its text, every checklist
//! binding to an item index, so runners never see an unresolved name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::diagnostic::CellLocation;
use crate::ids::{ClientId, LabId, StepId};

/// A lab ready to run.
#[derive(Debug, Clone)]
pub struct Lab {
    pub id: LabId,
    pub title: String,
    /// The lab directory (holds `lab.toml`, `lab.md`, `cassettes/`).
    pub dir: PathBuf,
    /// The page path (default `<dir>/lab.md`).
    pub page: PathBuf,
    /// The cassette directory (default `<dir>/cassettes`).
    pub cassettes: PathBuf,
    /// Region the lab's students use (default `us-east-1`).
    pub region: String,
    /// Maximum cassette age, if the lab sets one.
    pub max_age: Option<Duration>,
    /// The verification checklist of `lab.md`, in page order.
    pub checklist: Vec<ChecklistItem>,
    pub steps: Vec<Step>,
    /// Setup services (boto3 client names) emulated offline for this lab;
    /// empty: no emulator is started.
    pub services: Vec<String>,
    /// `seed.toml`: state created in the emulated services before each step.
    pub seed: Option<PathBuf>,
    /// `[lab] resources`: what the steps create in the setup services,
    /// deleted by the cleanup of record and live runs.
    pub resources: Vec<Resource>,
}

/// One `- [ ]` item of the page's verification checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// 1-based position in the checklist.
    pub index: usize,
    /// The item text, NFC-normalised, without the `- [ ]` marker.
    pub text: String,
    /// 1-based line in `lab.md` (in a notebook: a line of the page layout;
    /// `cell` says where it is).
    pub line: usize,
    /// In a notebook: the markdown cell and line the item is on.
    pub cell: Option<CellLocation>,
}

/// One step of the lab, resolved.
#[derive(Debug, Clone)]
pub struct Step {
    pub id: StepId,
    pub kind: StepKind,
    /// Clients this step runs under: one trial per client.
    pub clients: Vec<ClientId>,
    /// 1-based indexes of the checklist items this step proves.
    pub proves: Vec<usize>,
    /// Time limit of one trial of this step (lab default unless overridden).
    pub timeout: Duration,
    pub expect: Expectations,
    /// Line of the `[[step]]` header in `lab.toml`, for messages.
    pub line: usize,
}

/// Where a program (a shell script, a python file) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramSource {
    /// A fenced code block of `lab.md` (or a notebook's code cell), already
    /// resolved.
    Block {
        section: String,
        index: usize,
        line: usize,
        lang: Option<String>,
        text: String,
        /// In a notebook: the cell and line of the block's first code line
        /// (`line` is then a line of the page layout, not of a file).
        cell: Option<CellLocation>,
    },
    /// An inline command written in `lab.toml`.
    Inline { text: String },
    /// A file of the student's workspace (only when grading).
    Workspace { path: PathBuf },
}

/// A file the step writes into the trial workspace before running.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// Path relative to the workspace, e.g. `invoke_bedrock.py`.
    pub path: PathBuf,
    pub source: ProgramSource,
}

/// The step kinds of `lab.toml`.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// A bash script (a lab block or inline command) run in a fresh workspace.
    Shell { program: ProgramSource },
    /// Files the lab tells the student to create, then the command the lab says
    /// runs them (e.g. `python3 invoke_bedrock.py`), with the provisioned python.
    Python {
        files: Vec<FileSpec>,
        run: ProgramSource,
    },
    /// aws-sdk-bedrockruntime in process.
    Sdk { call: SdkCall },
    /// A console step emulated through Converse, once per (temperature, max tokens) pair.
    Playground {
        model: String,
        prompt: String,
        system: Option<String>,
        pairs: Vec<ParamPair>,
    },
    /// Cells of a Jupyter notebook run in order in one kernel.
    Notebook(NotebookStep),
}

/// A `notebook` step: which notebook, which cells, and their limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookStep {
    /// The notebook's file name relative to the lab directory (or to the
    /// student's workspace when grading), e.g. `lab.ipynb`.
    pub file: PathBuf,
    /// The notebook in the lab directory (`<lab dir>/<file>`).
    pub path: PathBuf,
    /// Read the notebook from the trial's workspace (grading) instead of
    /// the lab directory.
    pub from_workspace: bool,
    pub cells: CellSelection,
    /// Cells not run, numbered from 1 over all cells.
    pub skip: Vec<usize>,
    /// Cells the student writes, filled from lab files when the lab's own
    /// notebook runs (never when grading: the student's cell runs).
    pub fill: Vec<CellFill>,
    /// Time limit of one cell (the kernel is killed past it).
    pub cell_timeout: Duration,
    /// The lab's extra pinned packages (`[lab] python`), `name==version`.
    pub python: Vec<String>,
}

/// A cell of the lab's notebook replaced by a lab file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellFill {
    /// The cell's number (1-based over all cells).
    pub cell: usize,
    /// The file, relative to the lab directory.
    pub file: PathBuf,
    /// Its text, read when the lab is loaded.
    pub source: String,
}

/// The cells a notebook step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellSelection {
    All,
    /// Cell numbers in ascending order.
    Numbers(Vec<usize>),
}

impl CellSelection {
    pub fn contains(&self, number: usize) -> bool {
        match self {
            CellSelection::All => true,
            CellSelection::Numbers(n) => n.binary_search(&number).is_ok(),
        }
    }
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Shell { .. } => "shell",
            StepKind::Python { .. } => "python",
            StepKind::Sdk { .. } => "sdk",
            StepKind::Playground { .. } => "playground",
            StepKind::Notebook(_) => "notebook",
        }
    }
}

/// One Playground parameter setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamPair {
    pub temperature: f32,
    pub max_tokens: i32,
}

impl ParamPair {
    /// The four pairs the seed lab asks a student to try.
    pub const DEFAULTS: [ParamPair; 4] = [
        ParamPair {
            temperature: 0.1,
            max_tokens: 100,
        },
        ParamPair {
            temperature: 0.1,
            max_tokens: 500,
        },
        ParamPair {
            temperature: 0.9,
            max_tokens: 100,
        },
        ParamPair {
            temperature: 0.9,
            max_tokens: 500,
        },
    ];

    /// Label used in trial names: `t0.1-m100`.
    pub fn label(&self) -> String {
        format!("t{}-m{}", self.temperature, self.max_tokens)
    }
}

/// The Rust SDK operation an `sdk` step performs.
#[derive(Debug, Clone, PartialEq)]
pub enum SdkCall {
    /// `invoke_model` with a raw JSON body.
    Invoke {
        model: String,
        body: serde_json::Value,
    },
    /// `invoke_model_with_response_stream` with a raw JSON body.
    InvokeStream {
        model: String,
        body: serde_json::Value,
    },
    /// `converse` with one user message.
    Converse(ConverseRequest),
    /// `converse_stream` with one user message.
    ConverseStream(ConverseRequest),
    /// `apply_guardrail` on one text; no model is called.
    ApplyGuardrail(ApplyGuardrailRequest),
}

/// An `apply-guardrail` call: one text checked against one guardrail.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyGuardrailRequest {
    pub guardrail: crate::spec::model::GuardrailRef,
    /// Whether the text is a user's input or a model's output.
    pub source: GuardrailSource,
    /// Sent as the one `content` block `{ text: { text } }`.
    pub text: String,
}

/// ApplyGuardrail's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardrailSource {
    Input,
    Output,
}

impl GuardrailSource {
    /// The value as the API and `lab.toml` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardrailSource::Input => "INPUT",
            GuardrailSource::Output => "OUTPUT",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConverseRequest {
    pub model: String,
    pub prompt: String,
    pub system: Option<String>,
    pub max_tokens: Option<i32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    /// Sent as `guardrailConfig` with `trace: enabled`.
    pub guardrail: Option<crate::spec::model::GuardrailRef>,
}

/// What a trial must show. Every field is optional except `served`, which the
/// runner always checks (a step that prints the right text without calling
/// Bedrock cannot pass).
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Expected exit code of a shell/python step (default 0).
    pub exit_code: Option<i32>,
    pub stdout: TextExpect,
    pub stderr: TextExpect,
    pub files: Vec<FileExpect>,
    /// Output must arrive incrementally (streaming steps).
    pub incremental: Option<IncrementalExpect>,
    /// Interactions the replay server must have served to this trial's client.
    pub served: Vec<ServedExpect>,
    /// Upper bound on output tokens reported by the model (usage).
    pub max_output_tokens: Option<u32>,
    /// Accepted stop reasons (sdk/playground), e.g. `end_turn`, `max_tokens`.
    pub stop_reasons: Vec<String>,
    /// Name of an insta snapshot (under `snapshots/`) of stdout / the model text.
    pub snapshot: Option<String>,
    /// Expectations that depend on exact model text: skipped in live mode.
    pub replay_only: Vec<ReplayOnly>,
    /// What the step must have created in the lab's setup services.
    pub state: Vec<StateExpect>,
    /// notebook: checks on single cells' outputs.
    pub cells: Vec<CellExpect>,
}

/// Something a step must leave in an emulated setup service, read back
/// after the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateExpect {
    /// An S3 bucket exists.
    Bucket { bucket: String },
    /// An object exists in an S3 bucket.
    Object { bucket: String, key: String },
    /// An IAM role exists.
    Role { role: String },
    /// An IAM role has a policy of this name, inline or attached.
    RolePolicy { role: String, policy: String },
    /// A DynamoDB table exists.
    Table { table: String },
}

impl std::fmt::Display for StateExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateExpect::Bucket { bucket } => write!(f, "S3 bucket `{bucket}`"),
            StateExpect::Object { bucket, key } => write!(f, "S3 object `s3://{bucket}/{key}`"),
            StateExpect::Role { role } => write!(f, "IAM role `{role}`"),
            StateExpect::RolePolicy { role, policy } => {
                write!(f, "policy `{policy}` of IAM role `{role}`")
            }
            StateExpect::Table { table } => write!(f, "DynamoDB table `{table}`"),
        }
    }
}

/// A resource a lab's steps create in a setup service (`[lab] resources`),
/// named as the lab writes it (the run prefix is added on the way to AWS).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// An S3 bucket (deleted with every object and version in it).
    Bucket { bucket: String },
    /// An IAM role (its inline policies, attachments and instance profiles go first).
    Role { role: String },
    /// A customer-managed IAM policy (detached and its versions deleted first).
    Policy { policy: String },
    /// A DynamoDB table.
    Table { table: String },
}

impl Resource {
    /// The boto3 client name of its service.
    pub fn service(&self) -> &'static str {
        match self {
            Resource::Bucket { .. } => "s3",
            Resource::Role { .. } | Resource::Policy { .. } => "iam",
            Resource::Table { .. } => "dynamodb",
        }
    }

    /// Its name as the lab writes it.
    pub fn name(&self) -> &str {
        match self {
            Resource::Bucket { bucket: n }
            | Resource::Role { role: n }
            | Resource::Policy { policy: n }
            | Resource::Table { table: n } => n,
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Bucket { bucket } => write!(f, "S3 bucket `{bucket}`"),
            Resource::Role { role } => write!(f, "IAM role `{role}`"),
            Resource::Policy { policy } => write!(f, "IAM policy `{policy}`"),
            Resource::Table { table } => write!(f, "DynamoDB table `{table}`"),
        }
    }
}

/// Checks on the text of one notebook cell's outputs.
#[derive(Debug, Clone, Default)]
pub struct CellExpect {
    pub cell: usize,
    pub text: TextExpect,
}

/// An expectation key of `replay_only`: one that depends on exact model text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayOnly {
    Stdout,
    Stderr,
    Files,
    Snapshot,
    MaxOutputTokens,
    StopReasons,
}

impl ReplayOnly {
    /// The key as written in `lab.toml`.
    pub fn key(self) -> &'static str {
        match self {
            ReplayOnly::Stdout => "stdout",
            ReplayOnly::Stderr => "stderr",
            ReplayOnly::Files => "files",
            ReplayOnly::Snapshot => "snapshot",
            ReplayOnly::MaxOutputTokens => "max_output_tokens",
            ReplayOnly::StopReasons => "stop_reasons",
        }
    }
}

impl Expectations {
    /// The expectations live and record modes check against real model
    /// output: the `replay_only` ones removed, and always the snapshot (an
    /// exact answer a real model never repeats). Returns them with the keys
    /// that were skipped.
    pub fn for_live(&self) -> (Expectations, Vec<&'static str>) {
        let mut e = self.clone();
        let mut skipped: Vec<&'static str> = self.replay_only.iter().map(|k| k.key()).collect();
        if e.snapshot.take().is_some() && !skipped.contains(&ReplayOnly::Snapshot.key()) {
            skipped.push(ReplayOnly::Snapshot.key());
        }
        for key in &self.replay_only {
            match key {
                ReplayOnly::Stdout => {
                    e.stdout = TextExpect::default();
                    e.cells.clear();
                }
                ReplayOnly::Stderr => e.stderr = TextExpect::default(),
                ReplayOnly::Files => e.files.clear(),
                ReplayOnly::Snapshot => e.snapshot = None,
                ReplayOnly::MaxOutputTokens => e.max_output_tokens = None,
                ReplayOnly::StopReasons => e.stop_reasons.clear(),
            }
        }
        e.replay_only.clear();
        (e, skipped)
    }
}

#[derive(Debug, Clone, Default)]
pub struct TextExpect {
    pub contains: Vec<String>,
    pub not_contains: Vec<String>,
    /// Regexes, already compiled-checked in stage 2.
    pub matches: Vec<String>,
    /// JSON pointer → expected value; implies the text is valid JSON.
    pub json: BTreeMap<String, serde_json::Value>,
}

impl TextExpect {
    pub fn is_empty(&self) -> bool {
        self.contains.is_empty()
            && self.not_contains.is_empty()
            && self.matches.is_empty()
            && self.json.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct FileExpect {
    pub path: PathBuf,
    /// The file must parse as JSON.
    pub is_json: bool,
    /// JSON pointer → expected value (implies `is_json`).
    pub json: BTreeMap<String, serde_json::Value>,
    pub contains: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncrementalExpect {
    /// Minimum number of separately arriving pieces (default 3).
    pub min_pieces: usize,
    /// notebook: the cell judged (default: the one with most stream messages).
    pub cell: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedExpect {
    /// `InvokeModel`, `InvokeModelWithResponseStream`, `Converse`, `ConverseStream`.
    pub operation: String,
    /// Decoded model id, if the step pins it.
    pub model: Option<String>,
    /// Exact count, default 1.
    pub count: usize,
}
