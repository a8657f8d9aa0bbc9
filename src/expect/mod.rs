//! Judging what a step showed against what its `lab.toml` expects.
//!
//! Each check yields a [`Failure`] with what was expected, what happened and,
//! where we know it, the one thing to do about it. Text checks are built on
//! `predicates`. One check is always made, whatever the lab says: the trial's
//! replay server must have served the interactions the step expects to *this
//! trial's client*, so a script that only prints the expected text cannot pass.

mod diagnose;
mod incremental;
mod json;
pub mod notebook;
pub mod snapshot;

use std::fmt;
use std::path::Path;

use predicates::prelude::*;

use crate::ids::ClientId;
/// The misses a trial's [`Context`] holds, as the runner receives them.
pub use crate::replay::MissReport;
use crate::replay::ServedRequest;
use crate::spec::lab::{Expectations, ParamPair, TextExpect};
use crate::steps::StepOutput;

pub use diagnose::explain;
pub use incremental::{NotIncremental, judge_pieces};

/// One unmet expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was checked, e.g. `stdout`, `output.json`, `served requests`.
    pub subject: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    fn new(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            subject: subject.into(),
            message: message.into(),
            hint: None,
        }
    }
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  (hint: {hint})")?;
        }
        Ok(())
    }
}

/// What the trial knows besides the step's output.
pub struct Context<'a> {
    pub client: ClientId,
    pub served: &'a [ServedRequest],
    pub misses: &'a [MissReport],
    pub pair: Option<ParamPair>,
    pub workspace: &'a Path,
    pub timeout: std::time::Duration,
    pub cassette_dir: &'a Path,
    /// The lab's directory (its snapshots live in `<repo>/snapshots`).
    pub lab_dir: &'a Path,
}

/// The failure of a request replay could not match. It quotes the request
/// that arrived (operation, model, body) even when no cassette came close:
/// an author with an empty cassette set sees what to record. In record and
/// live modes the runner scrubs it with the rest of the outcome.
pub fn miss_failure(miss: &MissReport, cassette_dir: &Path) -> Failure {
    let hint = if miss.nearest_file.is_none() {
        "no cassette is loaded: record them with `labcheck record`, or write one holding the request above"
    } else {
        "if the lab changed on purpose, re-record its cassettes with `labcheck record`"
    };
    Failure::new(
        "replay",
        format!(
            "a request matched no cassette in {}\n{}",
            cassette_dir.display(),
            miss
        ),
    )
    .hint(hint)
}

/// Checks `out` against `exp`; empty means the trial passed.
pub fn check(exp: &Expectations, out: &StepOutput, ctx: &Context<'_>) -> Vec<Failure> {
    let mut failures = Vec::new();
    if let Some(run) = &out.notebook {
        notebook::missing_cells(run, &mut failures);
    }
    if let Some(run) = &out.notebook
        && let Some(failure) = notebook::failed_cell(run)
    {
        // The cell that raised or hung says more than an exit code; the
        // served and cell checks still run (a later item may hold).
        failures.push(failure);
        for miss in ctx.misses {
            failures.push(miss_failure(miss, ctx.cassette_dir));
        }
        notebook::check_cells(exp, run, &mut failures);
        check_served(exp, ctx, &mut failures);
        return failures;
    }
    if out.timed_out {
        failures.push(
            Failure::new(
                "time limit",
                format!(
                    "the step did not finish within {:?}; the client hung or waited for input",
                    ctx.timeout
                ),
            )
            .hint("raise `timeout` for this step in lab.toml if it is legitimately slow"),
        );
        return failures;
    }
    for miss in ctx.misses {
        failures.push(miss_failure(miss, ctx.cassette_dir));
    }
    let expected_code = exp.exit_code.unwrap_or(0);
    if out.exit_code != Some(expected_code) {
        let got = out.exit_code.map_or_else(
            || "killed by a signal".to_string(),
            |c| format!("exit code {c}"),
        );
        let mut failure = Failure::new(
            "exit code",
            format!(
                "expected {expected_code}, got {got}{}",
                tail("stderr", &out.stderr)
            ),
        );
        let explanations = explain(&out.stderr);
        if !explanations.is_empty() {
            failure = failure.hint(explanations.join("; "));
        }
        failures.push(failure);
    }
    check_text("stdout", &exp.stdout, &out.stdout, &mut failures);
    check_text("stderr", &exp.stderr, &out.stderr, &mut failures);
    for file in &exp.files {
        json::check_file(file, ctx.workspace, &mut failures);
    }
    if let Some(run) = &out.notebook {
        notebook::check_cells(exp, run, &mut failures);
        if let Some(inc) = &exp.incremental
            && let Err(why) =
                notebook::judge_kernel_stream(run, inc.cell, inc.min_pieces, stream_span(ctx))
        {
            failures.push(Failure::new("incremental output", why).hint(
                "print each delta as it arrives (`print(text, end='', flush=True)`) instead of collecting the answer first",
            ));
        }
    } else if let Some(inc) = &exp.incremental
        && let Err(why) = judge_pieces(&out.pieces, inc.min_pieces, stream_span(ctx))
    {
        failures.push(Failure::new("incremental output", why.to_string()).hint(
            "print each delta as it arrives (`print(text, end='', flush=True)`) instead of collecting the answer first",
        ));
    }
    if let Some(name) = &exp.snapshot
        && let Err(why) = snapshot::check(name, &out.stdout, &snapshot::snapshots_dir(ctx.lab_dir))
    {
        failures.push(Failure::new("snapshot", why.to_string()).hint(
            "review with `cargo insta review`, or accept the new output with INSTA_UPDATE=always",
        ));
    }
    check_tokens(exp, out, ctx.pair, &mut failures);
    check_served(exp, ctx, &mut failures);
    failures
}

/// How long the trial's stream took to write, from the first to the last frame.
fn stream_span(ctx: &Context<'_>) -> Option<std::time::Duration> {
    ctx.served
        .iter()
        .filter(|s| s.frames_sent.len() >= 2)
        .filter_map(|s| {
            Some(
                s.frames_sent
                    .last()?
                    .duration_since(*s.frames_sent.first()?),
            )
        })
        .max()
}

fn tail(name: &str, text: &str) -> String {
    let text = text.trim_end();
    if text.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(12);
    format!(
        "\n  {name} (last lines):\n    {}",
        lines[start..].join("\n    ")
    )
}

fn check_text(subject: &str, exp: &TextExpect, actual: &str, failures: &mut Vec<Failure>) {
    for needle in &exp.contains {
        if !predicate::str::contains(needle.as_str()).eval(actual) {
            failures.push(Failure::new(
                subject,
                format!("expected to contain {needle:?}{}", tail(subject, actual)),
            ));
        }
    }
    for needle in &exp.not_contains {
        if predicate::str::contains(needle.as_str()).eval(actual) {
            failures.push(Failure::new(
                subject,
                format!(
                    "expected not to contain {needle:?}{}",
                    tail(subject, actual)
                ),
            ));
        }
    }
    for pattern in &exp.matches {
        match predicate::str::is_match(pattern.as_str()) {
            Ok(p) if p.eval(actual) => {}
            Ok(_) => failures.push(Failure::new(
                subject,
                format!("expected to match /{pattern}/{}", tail(subject, actual)),
            )),
            Err(e) => failures.push(Failure::new(
                subject,
                format!("invalid regex /{pattern}/: {e}"),
            )),
        }
    }
    if !exp.json.is_empty() {
        json::check_pointers(subject, actual, &exp.json, failures);
    }
}

fn check_tokens(
    exp: &Expectations,
    out: &StepOutput,
    pair: Option<ParamPair>,
    failures: &mut Vec<Failure>,
) {
    // A playground pair's max tokens bounds the answer as tightly as the lab's own limit.
    let pair_limit = pair.map(|p| p.max_tokens.max(0) as u32);
    let limit = match (exp.max_output_tokens, pair_limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let (Some(limit), Some(used)) = (limit, out.output_tokens)
        && used > limit
    {
        failures.push(Failure::new(
            "output tokens",
            format!("the model reported {used} output tokens, above the limit {limit}"),
        ));
    }
    let mut reasons = exp.stop_reasons.clone();
    if reasons.is_empty() && pair.is_some() {
        reasons = vec![
            "end_turn".into(),
            "max_tokens".into(),
            "stop_sequence".into(),
        ];
    }
    if !reasons.is_empty() {
        match &out.stop_reason {
            Some(r) if reasons.contains(r) => {}
            Some(r) => failures.push(Failure::new(
                "stop reason",
                format!("expected one of {reasons:?}, got {r:?}"),
            )),
            None if out.exit_code == Some(0) => failures.push(Failure::new(
                "stop reason",
                format!("expected one of {reasons:?}, the response had none"),
            )),
            None => {}
        }
    }
}

fn check_served(exp: &Expectations, ctx: &Context<'_>, failures: &mut Vec<Failure>) {
    let prefix = match ctx.client {
        ClientId::Kernel => format!(
            "{}… app/{}",
            ctx.client.user_agent_prefix(),
            crate::ids::KERNEL_APP_ID
        ),
        c => format!("{}…", c.user_agent_prefix()),
    };
    for want in &exp.served {
        let matching = |s: &&ServedRequest| {
            s.operation.is_some_and(|op| op.as_str() == want.operation)
                && want.model.as_ref().is_none_or(|m| &s.model_id == m)
        };
        let by_client = ctx
            .served
            .iter()
            .filter(matching)
            .filter(|s| ctx.client.sent(&s.user_agent))
            .count();
        if by_client == want.count {
            continue;
        }
        let by_anyone = ctx.served.iter().filter(matching).count();
        let what = match &want.model {
            Some(m) => format!("{} for `{m}`", want.operation),
            None => want.operation.clone(),
        };
        let mut message = format!(
            "expected {} {what} request(s) from {} (User-Agent `{prefix}`), the replay server served {by_client}",
            want.count, ctx.client
        );
        if by_anyone > by_client {
            let agents: Vec<&str> = ctx
                .served
                .iter()
                .filter(matching)
                .map(|s| s.user_agent.as_str())
                .collect();
            message.push_str(&format!(
                " (and {} to other clients: {agents:?})",
                by_anyone - by_client
            ));
        }
        let hint = if ctx.served.is_empty() {
            "the step never called Bedrock: printing the expected text is not enough, the program must call the API"
        } else {
            "check the operation and model id the step calls"
        };
        failures.push(Failure::new("served requests", message).hint(hint));
    }
}
