//! Stage 1: the raw shape of `lab.toml` as serde structs.
//!
//! Every table denies unknown keys. Values that stage 2 must blame (ids,
//! kinds, clients, block references, durations, regexes, JSON) are wrapped in
//! [`toml::Spanned`] so errors point at them; the JSON Schema sees the inner
//! type (`#[schemars(with = …)]`). Keys are snake_case, exactly as written in
//! the format reference (`docs/lab-toml.md`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::ids::{ClientId, Operation};

/// The whole `lab.toml` file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "lab.toml",
    description = "A labcheck lab: what each step of lab.md must show."
)]
pub struct LabFile {
    /// Lab-wide settings.
    #[schemars(with = "LabHeader")]
    pub lab: Spanned<LabHeader>,
    /// The steps, in the order the page gives them.
    #[serde(default)]
    #[schemars(with = "Vec<RawStep>")]
    pub step: Vec<Spanned<RawStep>>,
}

/// `[lab]`: lab-wide settings, all optional.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabHeader {
    /// Lab title; default: the page's front-matter `title`.
    pub title: Option<String>,
    /// The page, relative to the lab directory; default `lab.md`.
    #[schemars(with = "Option<String>")]
    pub page: Option<Spanned<String>>,
    /// Cassette directory, relative to the lab directory; default `cassettes`.
    pub cassettes: Option<String>,
    /// AWS region the lab uses; default `us-east-1`.
    pub region: Option<String>,
    /// Default per-step time limit (`90s`, `2m`, `500ms`); default `60s`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Maximum cassette age (`365d`); default: no limit.
    #[schemars(with = "Option<String>")]
    pub max_age: Option<Spanned<String>>,
    /// Setup services the lab calls besides Bedrock (boto3 client names:
    /// `s3`, `iam`, `sts`, …), emulated offline by moto in replay.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub services: Vec<Spanned<String>>,
    /// State created in the emulated services before each step
    /// (`seed.toml`, relative to the lab directory).
    #[schemars(with = "Option<String>")]
    pub seed: Option<Spanned<String>>,
    /// The resources the lab's steps create in the setup services, in the
    /// vocabulary of `state`: `{ service = "s3", bucket = "…" }`,
    /// `{ service = "iam", role = "…" }`, `{ service = "iam", policy = "…" }`
    /// (a managed policy), `{ service = "dynamodb", table = "…" }`. In record
    /// and live modes they get the run's prefix and are deleted at the end.
    #[serde(default)]
    #[schemars(with = "Vec<RawState>")]
    pub resources: Vec<Spanned<RawState>>,
    /// Extra python packages for the lab's notebook kernel, each pinned
    /// exactly (`name==version`); provisioned into their own slot.
    #[schemars(with = "Option<Vec<String>>")]
    pub python: Option<Spanned<Vec<String>>>,
}

/// The step kinds (schema only; validated in stage 2).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum StepKindName {
    Shell,
    Python,
    Sdk,
    Playground,
    Notebook,
}

/// The Rust SDK calls of an `sdk` step (schema only; validated in stage 2).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
pub enum SdkCallName {
    Invoke,
    InvokeStream,
    Converse,
    ConverseStream,
    ApplyGuardrail,
}

/// ApplyGuardrail's `source` (schema only; validated in stage 2).
#[derive(JsonSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum GuardrailSourceName {
    INPUT,
    OUTPUT,
}

/// `[[step]]`: one step. Which keys apply depends on `kind`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Unique within the lab; part of trial names (`lab::step::client`).
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// `shell`, `python`, `sdk`, `playground` or `notebook`.
    #[schemars(with = "StepKindName")]
    pub kind: Spanned<String>,
    /// Checklist items this step proves: 1-based index or exact item text.
    #[serde(default)]
    #[schemars(with = "Vec<ChecklistRef>")]
    pub proves: Vec<Spanned<ChecklistRef>>,
    /// Clients to run the step with; one trial each. Default: `boto3` for
    /// python, `rust-sdk` for sdk and playground, `kernel` for notebook;
    /// required for shell.
    #[schemars(with = "Option<Vec<ClientId>>")]
    pub clients: Option<Spanned<Vec<Spanned<String>>>>,
    /// Per-step time limit; default: `[lab] timeout`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// shell: the script to run.
    #[schemars(with = "Option<SourceRef>")]
    pub program: Option<Spanned<SourceRef>>,
    /// python: files written into the workspace before `run`.
    #[schemars(with = "Option<Vec<StepFile>>")]
    pub files: Option<Spanned<Vec<StepFile>>>,
    /// python: the command that runs the files.
    #[schemars(with = "Option<SourceRef>")]
    pub run: Option<Spanned<SourceRef>>,
    /// sdk: `invoke`, `invoke-stream`, `converse`, `converse-stream` or
    /// `apply-guardrail`.
    #[schemars(with = "Option<SdkCallName>")]
    pub call: Option<Spanned<String>>,
    /// sdk (not apply-guardrail), playground: the model id.
    #[schemars(with = "Option<String>")]
    pub model: Option<Spanned<String>>,
    /// sdk invoke / invoke-stream: the request body, JSON text.
    #[schemars(with = "Option<String>")]
    pub body: Option<Spanned<String>>,
    /// sdk converse*, playground: the user prompt (text or a code block);
    /// sdk apply-guardrail: the text the guardrail checks.
    #[schemars(with = "Option<TextOrBlock>")]
    pub prompt: Option<Spanned<TextOrBlock>>,
    /// sdk converse*, playground: the system prompt.
    #[schemars(with = "Option<String>")]
    pub system: Option<Spanned<String>>,
    /// sdk converse*: inference `maxTokens`.
    #[schemars(with = "Option<i32>")]
    pub max_tokens: Option<Spanned<i32>>,
    /// sdk converse*: inference `temperature`.
    #[schemars(with = "Option<f32>")]
    pub temperature: Option<Spanned<f32>>,
    /// sdk converse*: inference `topP`.
    #[schemars(with = "Option<f32>")]
    pub top_p: Option<Spanned<f32>>,
    /// sdk converse*: a guardrail applied to the call (`guardrailConfig`,
    /// trace enabled); sdk apply-guardrail: the guardrail checked (required).
    #[schemars(with = "Option<GuardrailRef>")]
    pub guardrail: Option<Spanned<GuardrailRef>>,
    /// sdk apply-guardrail: `INPUT` (default: the text is a user's input) or
    /// `OUTPUT` (a model's answer).
    #[schemars(with = "Option<GuardrailSourceName>")]
    pub source: Option<Spanned<String>>,
    /// playground: `[temperature, max_tokens]` pairs; default the four of the seed lab.
    #[schemars(with = "Option<Vec<(f32, i32)>>")]
    pub pairs: Option<Spanned<Vec<(f32, i32)>>>,
    /// notebook: the `.ipynb` file, relative to the lab directory; default
    /// the page when it is a notebook.
    #[schemars(with = "Option<String>")]
    pub notebook: Option<Spanned<String>>,
    /// notebook: which cells run, numbered from 1 over all cells: `all`
    /// (default), `3-12`, or `3, 5, 7-9`; or a list of numbers, ranges
    /// (`"3-12"`), cells by id (`{ cell = "…" }`) and cells by tag
    /// (`{ tag = "…" }`, every cell with it). Markdown cells are passed over.
    #[schemars(with = "Option<RawCells>")]
    pub cells: Option<Spanned<RawCells>>,
    /// notebook: cells not run (console-only, a real account, …): numbers,
    /// `{ cell = "…" }` or `{ tag = "…" }`.
    #[schemars(with = "Option<Vec<CellRef>>")]
    pub skip: Option<Spanned<Vec<CellRef>>>,
    /// notebook: cells the student writes ("paste the function here"),
    /// filled from a file of the lab when the lab runs; when grading, the
    /// student's own cell runs instead.
    #[schemars(with = "Option<Vec<RawFill>>")]
    pub fill: Option<Spanned<Vec<RawFill>>>,
    /// notebook: time limit of one cell; past it the kernel is killed.
    /// Default: the step's `timeout`.
    #[schemars(with = "Option<String>")]
    pub cell_timeout: Option<Spanned<String>>,
    /// What the step must show.
    #[serde(default)]
    pub expect: RawExpect,
}

/// Where text comes from: exactly one of `section` (+ `index`), `cell`,
/// `tag`, `command`, `workspace`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// Heading of the page section holding the code block.
    pub section: Option<String>,
    /// 0-based fenced code block within the section; default 0.
    pub index: Option<usize>,
    /// Notebook pages: the nbformat id of the cell holding the code.
    pub cell: Option<String>,
    /// Notebook pages: the tag of the one cell holding the code.
    pub tag: Option<String>,
    /// Inline text (a shell command, or a file's content).
    pub command: Option<String>,
    /// A path in the student's workspace (grading only).
    pub workspace: Option<String>,
}

/// A code block reference: `{ section = "…", index = 0 }`, or in a notebook
/// `{ cell = "<cell id>" }` / `{ tag = "<cell tag>" }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRef {
    pub section: Option<String>,
    pub index: Option<usize>,
    pub cell: Option<String>,
    pub tag: Option<String>,
}

/// A `notebook` step's `cells`: the string form (`all`, `3-12`, `3, 5`) or a
/// list of [`CellRef`].
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum RawCells {
    Text(String),
    List(Vec<CellRef>),
}

/// A cell of a notebook step: its number (1-based over all cells), a string
/// (a range such as `"3-12"` in `cells`; a cell id where one cell is meant),
/// or `{ cell = "<cell id>" }` / `{ tag = "<cell tag>" }`, the selectors of
/// notebook pages.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[serde(untagged)]
pub enum CellRef {
    Number(#[schemars(range(min = 1))] usize),
    Text(String),
    Select(CellSelect),
}

/// `{ cell = "<cell id>" }` or `{ tag = "<cell tag>" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CellSelect {
    pub cell: Option<String>,
    pub tag: Option<String>,
}

/// `fill = [{ cell = "<id>", file = "solution/get_weather.py" }]`: the cell
/// (number, id, or `tag` on one cell) and the lab file that fills it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFill {
    pub cell: Option<CellRef>,
    pub tag: Option<String>,
    /// Relative to the lab directory.
    pub file: String,
}

/// A plain string or a code block of the page.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum TextOrBlock {
    Text(String),
    Block(BlockRef),
}

/// A checklist item: 1-based index or exact text (NFC-compared).
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum ChecklistRef {
    Index(#[schemars(range(min = 1))] u64),
    Text(String),
}

/// `guardrail = { identifier = "…", version = "1" }` of an sdk converse or
/// apply-guardrail step.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailRef {
    /// The guardrail id or ARN.
    pub identifier: String,
    /// Its version: a number or `DRAFT`.
    pub version: String,
}

/// A file a python step writes before running.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepFile {
    /// Path relative to the workspace.
    pub path: String,
    /// Its content.
    #[schemars(with = "SourceRef")]
    pub from: Spanned<SourceRef>,
}

/// `[step.expect]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// shell/python exit code; default 0.
    pub exit_code: Option<i32>,
    /// Checks on stdout (for sdk/playground: the model's text).
    #[serde(default)]
    pub stdout: RawTextExpect,
    /// Checks on stderr.
    #[serde(default)]
    pub stderr: RawTextExpect,
    /// Files the step must leave in its workspace.
    #[serde(default)]
    pub files: Vec<RawFileExpect>,
    /// Output must arrive in pieces (streaming).
    #[schemars(with = "Option<RawIncremental>")]
    pub incremental: Option<Spanned<RawIncremental>>,
    /// Interactions the replay server must serve to the trial.
    #[serde(default)]
    pub served: Vec<RawServed>,
    /// Upper bound on output tokens (sdk and playground steps only).
    #[schemars(with = "Option<u32>")]
    pub max_output_tokens: Option<Spanned<u32>>,
    /// Accepted stop reasons (sdk and playground steps only).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub stop_reasons: Vec<Spanned<String>>,
    /// Name of an insta snapshot of stdout under `snapshots/`.
    pub snapshot: Option<String>,
    /// notebook: checks on one cell's outputs.
    #[serde(default)]
    #[schemars(with = "Vec<RawCellExpect>")]
    pub cells: Vec<Spanned<RawCellExpect>>,
    /// Expectations on exact model text: checked in replay and record, skipped
    /// (with a visible reason) in live mode.
    #[serde(default)]
    pub replay_only: Vec<crate::spec::lab::ReplayOnly>,
    /// What the step must have created in the lab's setup services.
    #[serde(default)]
    #[schemars(with = "Vec<RawState>")]
    pub state: Vec<Spanned<RawState>>,
}

/// `{ service = "s3", bucket = "…", key = "…" }`, `{ service = "iam", role = "…",
/// policy = "…" }` or `{ service = "dynamodb", table = "…" }`: a `state`
/// expectation, or (one name each, no `key`) a `[lab] resources` entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    /// `s3`, `iam` or `dynamodb`.
    #[schemars(with = "String")]
    pub service: Spanned<String>,
    /// s3: the bucket that must exist (resources: the bucket created).
    pub bucket: Option<String>,
    /// s3: an object that must exist in `bucket` (state only).
    pub key: Option<String>,
    /// iam: the role that must exist (resources: the role created).
    pub role: Option<String>,
    /// iam: a policy of `role`, inline or attached (by policy name);
    /// resources: a customer-managed policy the lab creates, on its own.
    pub policy: Option<String>,
    /// dynamodb: the table that must exist (resources: the table created).
    pub table: Option<String>,
}

/// Checks on a text stream.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTextExpect {
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Regexes (Rust `regex` syntax).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub matches: Vec<Spanned<String>>,
    /// JSON pointer → expected value; the text must be JSON.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub json: BTreeMap<Spanned<String>, serde_json::Value>,
}

/// A file the step must leave behind.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFileExpect {
    pub path: String,
    /// Must parse as JSON; default false (implied by `json`).
    #[serde(default)]
    pub is_json: bool,
    /// JSON pointer → expected value.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub json: BTreeMap<Spanned<String>, serde_json::Value>,
    #[serde(default)]
    pub contains: Vec<String>,
}

/// `incremental = { min_pieces = 3 }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIncremental {
    /// Default 3.
    pub min_pieces: Option<usize>,
    /// notebook: the cell whose stream messages are judged (number or cell
    /// id); default the cell with the most stdout stream messages.
    pub cell: Option<CellRef>,
}

/// `cells = [{ cell = 7, contains = ["…"] }]`: checks on the text of one
/// cell's outputs (stream text, results and displays as text, errors).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCellExpect {
    /// The cell: its number (1-based over all cells) or its cell id.
    pub cell: Option<CellRef>,
    /// Or the one cell carrying this tag.
    pub tag: Option<String>,
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Regexes (Rust `regex` syntax).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub matches: Vec<Spanned<String>>,
}

/// An interaction the replay server must serve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawServed {
    #[schemars(with = "Operation")]
    pub operation: Spanned<String>,
    /// Decoded model id; default: any.
    pub model: Option<String>,
    /// Exact count; default 1.
    pub count: Option<usize>,
}
