//! Stage 2: one parsed `[[step]]` checked against the page and turned into a
//! validated [`Step`]: kind and clients parsed, kind-specific keys required
//! (and keys of other kinds refused), code blocks and checklist items resolved.

use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use toml::Spanned;

use super::error::{Problem, SpecError};
use super::expectations::{ModelView, expectations};
use super::lab::{
    ApplyGuardrailRequest, ConverseRequest, FileSpec, GuardrailSource, ParamPair, SdkCall, Step,
    StepKind,
};
use super::model::RawStep;
use super::resolve::{Ctx, did_you_mean};
use crate::ids::{ClientId, StepId};

const KINDS: [&str; 5] = ["shell", "python", "sdk", "playground", "notebook"];
const CALLS: [&str; 5] = [
    "invoke",
    "invoke-stream",
    "converse",
    "converse-stream",
    "apply-guardrail",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shell,
    Python,
    Sdk,
    Playground,
    Notebook,
}

impl Kind {
    fn name(self) -> &'static str {
        KINDS[self as usize]
    }

    /// Kind-specific keys this kind accepts.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Shell => &["program"],
            Kind::Python => &["files", "run"],
            Kind::Sdk => &[
                "call",
                "model",
                "body",
                "prompt",
                "system",
                "max_tokens",
                "temperature",
                "top_p",
                "guardrail",
                "source",
            ],
            Kind::Playground => &["model", "prompt", "system", "pairs"],
            Kind::Notebook => &["notebook", "cells", "skip", "fill", "cell_timeout"],
        }
    }

    /// Clients that can run this kind; the default when `clients` is absent.
    fn clients(self) -> (&'static [ClientId], Option<ClientId>) {
        match self {
            Kind::Shell => (&[ClientId::AwsCliV1, ClientId::AwsCliV2], None),
            Kind::Python => (&[ClientId::Boto3], Some(ClientId::Boto3)),
            Kind::Sdk | Kind::Playground => (&[ClientId::RustSdk], Some(ClientId::RustSdk)),
            Kind::Notebook => (&[ClientId::Kernel], Some(ClientId::Kernel)),
        }
    }
}

fn sp<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
    v.as_ref().map(Spanned::span)
}

/// The kind-specific keys of a step, with the span of each one present.
fn kind_keys(s: &RawStep) -> Vec<(&'static str, Option<Range<usize>>)> {
    vec![
        ("program", sp(&s.program)),
        ("files", sp(&s.files)),
        ("run", sp(&s.run)),
        ("call", sp(&s.call)),
        ("model", sp(&s.model)),
        ("body", sp(&s.body)),
        ("prompt", sp(&s.prompt)),
        ("system", sp(&s.system)),
        ("max_tokens", sp(&s.max_tokens)),
        ("temperature", sp(&s.temperature)),
        ("top_p", sp(&s.top_p)),
        ("guardrail", sp(&s.guardrail)),
        ("source", sp(&s.source)),
        ("pairs", sp(&s.pairs)),
        ("notebook", sp(&s.notebook)),
        ("cells", sp(&s.cells)),
        ("skip", sp(&s.skip)),
        ("fill", sp(&s.fill)),
        ("cell_timeout", sp(&s.cell_timeout)),
    ]
}

pub(crate) fn step(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawStep>,
    default_timeout: Duration,
    services: &[String],
) -> Result<Step, SpecError> {
    let s = raw.get_ref();
    let header = raw.span();
    let id = s.id.get_ref();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        let hint = "use a short name such as `cli-invoke` (trial names join ids with `::`)";
        return Err(ctx.err(s.id.span(), Problem::BadStepId { id: id.clone() }, hint));
    }
    let kind = match s.kind.get_ref().as_str() {
        "shell" => Kind::Shell,
        "python" => Kind::Python,
        "sdk" => Kind::Sdk,
        "playground" => Kind::Playground,
        "notebook" => Kind::Notebook,
        other => {
            let problem = Problem::UnknownKind {
                kind: other.to_string(),
            };
            return Err(ctx.err(s.kind.span(), problem, did_you_mean(other, &KINDS)));
        }
    };
    for (key, span) in kind_keys(s) {
        if let Some(span) = span.filter(|_| !kind.keys().contains(&key)) {
            let allowed = kind.keys().iter().map(|k| k.to_string()).collect();
            let hint = format!("remove `{key}`, or change `kind` to a kind that uses it");
            return Err(ctx.err(
                span,
                Problem::KeyNotForKind {
                    key: key.to_string(),
                    kind: kind.name(),
                    allowed,
                },
                hint,
            ));
        }
    }
    let clients = clients(ctx, s, kind, header.clone())?;
    let proves = s
        .proves
        .iter()
        .map(|p| ctx.checklist_ref(p))
        .collect::<Result<Vec<_>, _>>()?;
    let timeout = s
        .timeout
        .as_ref()
        .map(|t| ctx.timeout("step `timeout`", t))
        .transpose()?
        .unwrap_or(default_timeout);
    let missing = |key: &str, example: &str| {
        let problem = Problem::MissingKey {
            key: key.to_string(),
            table: format!("step `{id}`"),
        };
        ctx.err(
            header.clone(),
            problem,
            format!("a `{}` step needs `{key}`, e.g. `{example}`", kind.name()),
        )
    };
    let mut notebook = None;
    let step_kind = match kind {
        Kind::Shell => {
            let program = s
                .program
                .as_ref()
                .ok_or_else(|| missing("program", "program = { section = \"…\", index = 0 }"))?;
            StepKind::Shell {
                program: ctx.source("program", program)?,
            }
        }
        Kind::Python => {
            let files = s.files.as_ref().ok_or_else(|| {
                missing(
                    "files",
                    "files = [{ path = \"x.py\", from = { section = \"…\", index = 0 } }]",
                )
            })?;
            let run = s
                .run
                .as_ref()
                .ok_or_else(|| missing("run", "run = { command = \"python3 x.py\" }"))?;
            let files = files
                .get_ref()
                .iter()
                .map(|f| {
                    Ok(FileSpec {
                        path: f.path.clone().into(),
                        source: ctx.source("from", &f.from)?,
                    })
                })
                .collect::<Result<_, SpecError>>()?;
            StepKind::Python {
                files,
                run: ctx.source("run", run)?,
            }
        }
        Kind::Sdk => StepKind::Sdk {
            call: sdk_call(ctx, s, &missing)?,
        },
        Kind::Playground => {
            let model = s
                .model
                .as_ref()
                .ok_or_else(|| missing("model", "model = \"us.anthropic.…\""))?;
            let prompt = s
                .prompt
                .as_ref()
                .ok_or_else(|| missing("prompt", "prompt = { section = \"…\", index = 0 }"))?;
            let pairs = match &s.pairs {
                None => ParamPair::DEFAULTS.to_vec(),
                Some(p) => p
                    .get_ref()
                    .iter()
                    .map(|&(temperature, max_tokens)| {
                        check_inference(ctx, p.span(), Some(temperature), None, Some(max_tokens))?;
                        Ok(ParamPair {
                            temperature,
                            max_tokens,
                        })
                    })
                    .collect::<Result<_, SpecError>>()?,
            };
            StepKind::Playground {
                model: model.get_ref().clone(),
                prompt: ctx.text_or_block(prompt)?,
                system: s.system.as_ref().map(|v| v.get_ref().clone()),
                pairs,
            }
        }
        Kind::Notebook => {
            let (step, nb) = super::notebook::step(ctx, s, timeout)?;
            notebook = Some(nb);
            StepKind::Notebook(step)
        }
    };
    let runs_process = matches!(kind, Kind::Shell | Kind::Python | Kind::Notebook);
    // What labcheck itself sees of a model's answer: nothing for a process
    // step (its program talks to the model), and no stop reason or token
    // usage for ApplyGuardrail, which calls no model.
    let sees = if runs_process {
        ModelView::None { kind: kind.name() }
    } else if matches!(
        step_kind,
        StepKind::Sdk {
            call: SdkCall::ApplyGuardrail(_)
        }
    ) {
        ModelView::None {
            kind: "apply-guardrail",
        }
    } else {
        ModelView::Response
    };
    Ok(Step {
        id: StepId(id.clone()),
        kind: step_kind,
        clients,
        proves,
        timeout,
        expect: expectations(
            ctx,
            &s.expect,
            runs_process,
            kind.name(),
            sees,
            services,
            notebook.as_ref(),
        )?,
        line: ctx.src.line_of(header.start),
    })
}

fn clients(
    ctx: &Ctx<'_>,
    s: &RawStep,
    kind: Kind,
    header: Range<usize>,
) -> Result<Vec<ClientId>, SpecError> {
    let (allowed, default) = kind.clients();
    let allowed_names: Vec<String> = allowed.iter().map(|c| c.as_str().to_string()).collect();
    let Some(list) = &s.clients else {
        return match default {
            Some(c) => Ok(vec![c]),
            None => Err(ctx.err(
                header,
                Problem::MissingKey { key: "clients".to_string(), table: format!("step `{}`", s.id.get_ref()) },
                format!("a `{}` step runs under named clients, e.g. `clients = [\"aws-cli-v1\", \"aws-cli-v2\"]`", kind.name()),
            )),
        };
    };
    if list.get_ref().is_empty() {
        let hint = format!(
            "list at least one of {}, or remove `clients` to use the default",
            super::error::ticks(&allowed_names)
        );
        return Err(ctx.err(list.span(), Problem::EmptyClients, hint));
    }
    let mut out = Vec::new();
    for name in list.get_ref() {
        let all: Vec<&str> = ClientId::ALL.iter().map(|c| c.as_str()).collect();
        let client = ClientId::from_str(name.get_ref()).map_err(|_| {
            let problem = Problem::UnknownClient {
                client: name.get_ref().clone(),
            };
            ctx.err(name.span(), problem, did_you_mean(name.get_ref(), &all))
        })?;
        if !allowed.contains(&client) {
            let problem = Problem::ClientNotForKind {
                client: client.to_string(),
                kind: kind.name(),
                allowed: allowed_names.clone(),
            };
            let runs = match client {
                ClientId::AwsCliV1 | ClientId::AwsCliV2 => "`shell` steps",
                ClientId::Boto3 => "`python` steps",
                ClientId::RustSdk => "`sdk` and `playground` steps",
                ClientId::Kernel => "`notebook` steps",
            };
            let hint = format!(
                "`{client}` runs {runs}; a `{}` step takes {}",
                kind.name(),
                super::error::ticks(&allowed_names)
            );
            return Err(ctx.err(name.span(), problem, hint));
        }
        if out.contains(&client) {
            let hint = "list each client once: each one is a separate trial";
            return Err(ctx.err(
                name.span(),
                Problem::DuplicateClient {
                    client: client.to_string(),
                },
                hint,
            ));
        }
        out.push(client);
    }
    Ok(out)
}

/// The three shapes of sdk call, each with its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallShape {
    /// `invoke`, `invoke-stream`: a raw body.
    Invoke,
    /// `converse`, `converse-stream`: a prompt and inference settings.
    Converse,
    /// `apply-guardrail`: a text and a guardrail, no model.
    ApplyGuardrail,
}

impl CallShape {
    /// The kind named in `key-not-for-kind` errors.
    fn name(self) -> &'static str {
        match self {
            CallShape::Invoke => "sdk invoke",
            CallShape::Converse => "sdk converse",
            CallShape::ApplyGuardrail => "sdk apply-guardrail",
        }
    }

    /// The sdk keys this shape takes besides `call` (and `model`, which
    /// every shape but apply-guardrail requires).
    fn own(self) -> &'static [&'static str] {
        match self {
            CallShape::Invoke => &["body"],
            CallShape::Converse => &[
                "prompt",
                "system",
                "max_tokens",
                "temperature",
                "top_p",
                "guardrail",
            ],
            CallShape::ApplyGuardrail => &["guardrail", "prompt", "source"],
        }
    }

    /// What to write instead of a `key` this shape refuses.
    fn hint(self, key: &str) -> &'static str {
        match (self, key) {
            (CallShape::Invoke, "source") | (CallShape::Converse, "source") => {
                "`source` is for `apply-guardrail` calls; remove it"
            }
            (CallShape::Invoke, _) => "put the whole request in `body`",
            (CallShape::Converse, _) => "`body` is for `invoke` calls; use `prompt`",
            (CallShape::ApplyGuardrail, "model") => {
                "ApplyGuardrail calls no model: remove `model` (to check a model's answer, \
                 put it in `prompt` with `source = \"OUTPUT\"`)"
            }
            (CallShape::ApplyGuardrail, _) => {
                "an `apply-guardrail` call takes only `guardrail`, `prompt` (the text checked) \
                 and `source`; remove it"
            }
        }
    }
}

fn sdk_call(
    ctx: &Ctx<'_>,
    s: &RawStep,
    missing: &dyn Fn(&str, &str) -> SpecError,
) -> Result<SdkCall, SpecError> {
    let call = s
        .call
        .as_ref()
        .ok_or_else(|| missing("call", "call = \"invoke\""))?;
    let shape = match call.get_ref().as_str() {
        "invoke" | "invoke-stream" => CallShape::Invoke,
        "converse" | "converse-stream" => CallShape::Converse,
        "apply-guardrail" => CallShape::ApplyGuardrail,
        other => {
            // A missing `model` is reported first, as before apply-guardrail
            // (which takes none) existed.
            if s.model.is_none() {
                return Err(missing("model", "model = \"us.anthropic.…\""));
            }
            let problem = Problem::UnknownCall {
                call: other.to_string(),
            };
            return Err(ctx.err(call.span(), problem, did_you_mean(other, &CALLS)));
        }
    };
    // Checked before foreign keys, as it always was; apply-guardrail takes
    // no model (a `model` there is refused just below) and never reads it.
    let model = match (shape, s.model.as_ref()) {
        (CallShape::ApplyGuardrail, _) => String::new(),
        (_, Some(m)) => m.get_ref().clone(),
        (_, None) => return Err(missing("model", "model = \"us.anthropic.…\"")),
    };
    let sdk_keys = Kind::Sdk.keys();
    if let Some((key, span)) = kind_keys(s).into_iter().find_map(|(k, sp)| {
        let foreign = sdk_keys.contains(&k)
            && k != "call"
            && !shape.own().contains(&k)
            && !(k == "model" && shape != CallShape::ApplyGuardrail);
        sp.filter(|_| foreign).map(|sp| (k, sp))
    }) {
        let problem = Problem::KeyNotForKind {
            key: key.to_string(),
            kind: shape.name(),
            allowed: shape.own().iter().map(|k| k.to_string()).collect(),
        };
        return Err(ctx.err(span, problem, shape.hint(key)));
    }
    if shape == CallShape::ApplyGuardrail {
        return apply_guardrail(ctx, s, call.span());
    }
    if shape == CallShape::Invoke {
        let body = s
            .body
            .as_ref()
            .ok_or_else(|| missing("body", "body = '''{ \"anthropic_version\": … }'''"))?;
        let body: serde_json::Value = serde_json::from_str(body.get_ref()).map_err(|e| {
            let problem = Problem::BadJson {
                key: "body".to_string(),
                message: e.to_string(),
            };
            ctx.err(
                body.span(),
                problem,
                "write the request body as JSON text, e.g. in a '''…''' literal string",
            )
        })?;
        return Ok(if call.get_ref() == "invoke" {
            SdkCall::Invoke { model, body }
        } else {
            SdkCall::InvokeStream { model, body }
        });
    }
    let prompt = s
        .prompt
        .as_ref()
        .ok_or_else(|| missing("prompt", "prompt = \"…\""))?;
    let temperature = s.temperature.as_ref().map(|v| *v.get_ref());
    let top_p = s.top_p.as_ref().map(|v| *v.get_ref());
    let max_tokens = s.max_tokens.as_ref().map(|v| *v.get_ref());
    let span = sp(&s.temperature)
        .or(sp(&s.top_p))
        .or(sp(&s.max_tokens))
        .unwrap_or(0..0);
    check_inference(ctx, span, temperature, top_p, max_tokens)?;
    let request = ConverseRequest {
        model,
        prompt: ctx.text_or_block(prompt)?,
        system: s.system.as_ref().map(|v| v.get_ref().clone()),
        max_tokens,
        temperature,
        top_p,
        guardrail: s.guardrail.as_ref().map(|g| g.get_ref().clone()),
    };
    Ok(if call.get_ref() == "converse" {
        SdkCall::Converse(request)
    } else {
        SdkCall::ConverseStream(request)
    })
}

/// An `apply-guardrail` call: `guardrail` and `prompt` required, `source`
/// `INPUT` (default) or `OUTPUT`. Errors point at the `call` key, which is
/// what makes these keys required.
fn apply_guardrail(ctx: &Ctx<'_>, s: &RawStep, call: Range<usize>) -> Result<SdkCall, SpecError> {
    let required = |key: &str, example: &str| {
        let problem = Problem::MissingKey {
            key: key.to_string(),
            table: format!("step `{}`", s.id.get_ref()),
        };
        ctx.err(
            call.clone(),
            problem,
            format!("an `apply-guardrail` call needs `{key}`, e.g. `{example}`"),
        )
    };
    let guardrail = s.guardrail.as_ref().ok_or_else(|| {
        required(
            "guardrail",
            "guardrail = { identifier = \"gr7labdemo01\", version = \"1\" }",
        )
    })?;
    let prompt = s
        .prompt
        .as_ref()
        .ok_or_else(|| required("prompt", "prompt = \"the text to check\""))?;
    let source = match s.source.as_ref() {
        None => GuardrailSource::Input,
        Some(v) => match v.get_ref().as_str() {
            "INPUT" => GuardrailSource::Input,
            "OUTPUT" => GuardrailSource::Output,
            other => {
                let problem = Problem::BadValue {
                    key: "source".to_string(),
                    message: format!("`{other}` is neither `INPUT` nor `OUTPUT`"),
                };
                let hint = "write `source = \"INPUT\"` for a user's input (the default) or \
                            `source = \"OUTPUT\"` for a model's answer";
                return Err(ctx.err(v.span(), problem, hint));
            }
        },
    };
    Ok(SdkCall::ApplyGuardrail(ApplyGuardrailRequest {
        guardrail: guardrail.get_ref().clone(),
        source,
        text: ctx.text_or_block(prompt)?,
    }))
}

/// Bedrock's ranges: temperature and top_p in 0..=1, max_tokens >= 1.
fn check_inference(
    ctx: &Ctx<'_>,
    span: Range<usize>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    max_tokens: Option<i32>,
) -> Result<(), SpecError> {
    let bad = |key: &str, message: String| {
        let hint = "temperature and top_p are between 0 and 1; max_tokens is at least 1";
        Err(ctx.err(
            span.clone(),
            Problem::BadValue {
                key: key.to_string(),
                message,
            },
            hint,
        ))
    };
    if let Some(t) = temperature.filter(|t| !(0.0..=1.0).contains(t)) {
        return bad("temperature", format!("`{t}` is outside 0..=1"));
    }
    if let Some(p) = top_p.filter(|p| !(0.0..=1.0).contains(p)) {
        return bad("top_p", format!("`{p}` is outside 0..=1"));
    }
    if let Some(m) = max_tokens.filter(|m| *m < 1) {
        return bad("max_tokens", format!("`{m}` is below 1"));
    }
    Ok(())
}
