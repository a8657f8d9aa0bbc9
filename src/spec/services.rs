//! `[lab] services`: the setup services a lab calls besides Bedrock, by their
//! boto3 client names (`s3`, `iam`, `sts`, …), and `state` expectations on
//! what a step left in them. In replay they are emulated offline by moto
//! (see `docs/setup-services.md`); the Bedrock services never are: they are
//! replayed from cassettes.

use super::error::{Problem, SpecError};
use super::lab::StateExpect;
use super::model::RawState;
use super::resolve::{Ctx, did_you_mean};
use toml::Spanned;

/// boto3 client names of the services the pinned moto serves (and labcheck
/// routes to it): what a lab may list in `services`.
pub const EMULATED: &[&str] = &[
    "acm",
    "apigateway",
    "athena",
    "cloudformation",
    "cloudwatch",
    "cognito-idp",
    "dynamodb",
    "ec2",
    "ecr",
    "events",
    "firehose",
    "glue",
    "iam",
    "kinesis",
    "kms",
    "lambda",
    "logs",
    "opensearch",
    "opensearchserverless",
    "rds",
    "s3",
    "s3vectors",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "stepfunctions",
    "sts",
    "textract",
];

/// The Bedrock services: always served by labcheck's replay server, never by moto.
pub const REPLAYED: &[&str] = &[
    "bedrock",
    "bedrock-runtime",
    "bedrock-agent",
    "bedrock-agent-runtime",
];

/// The services a `state` expectation can look at.
pub const STATEFUL: &[&str] = &["s3", "iam", "dynamodb"];

/// `[lab] services`, each name checked at its position.
pub(crate) fn services(
    ctx: &Ctx<'_>,
    raw: &[Spanned<String>],
) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    for name in raw {
        let n = name.get_ref();
        if EMULATED.contains(&n.as_str()) {
            if !out.contains(n) {
                out.push(n.clone());
            }
            continue;
        }
        let hint = if REPLAYED.contains(&n.as_str()) {
            format!("`{n}` is replayed from the lab's cassettes: list only the setup services")
        } else {
            did_you_mean(n, EMULATED)
        };
        return Err(ctx.err(
            name.span(),
            Problem::UnknownService { service: n.clone() },
            hint,
        ));
    }
    Ok(out)
}

/// One `state = [{ service = "…", … }]` entry.
pub(crate) fn state(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawState>,
    declared: &[String],
) -> Result<StateExpect, SpecError> {
    let r = raw.get_ref();
    let service = r.service.get_ref().as_str();
    let bad = |message: String, hint: &str| {
        ctx.err(
            raw.span(),
            Problem::BadValue {
                key: "state".into(),
                message,
            },
            hint,
        )
    };
    if !STATEFUL.contains(&service) {
        return Err(ctx.err(
            r.service.span(),
            Problem::UnknownService {
                service: service.into(),
            },
            did_you_mean(service, STATEFUL),
        ));
    }
    if !declared.iter().any(|d| d == service) {
        return Err(bad(
            format!("`{service}` is not one of the lab's `services`"),
            &format!("add \"{service}\" to `services` under `[lab]`"),
        ));
    }
    let given: Vec<&str> = [
        ("bucket", r.bucket.is_some()),
        ("key", r.key.is_some()),
        ("role", r.role.is_some()),
        ("policy", r.policy.is_some()),
        ("table", r.table.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    let allowed: &[&str] = match service {
        "s3" => &["bucket", "key"],
        "iam" => &["role", "policy"],
        _ => &["table"],
    };
    if let Some(k) = given.iter().find(|k| !allowed.contains(k)) {
        return Err(bad(
            format!("`{k}` does not apply to `{service}`"),
            &format!("`{service}` takes {}", allowed.join(", ")),
        ));
    }
    let missing = || {
        bad(
            format!("`{service}` needs `{}`", allowed[0]),
            &format!("e.g. {{ service = \"{service}\", {} = \"…\" }}", allowed[0]),
        )
    };
    Ok(match service {
        "s3" => {
            let bucket = r.bucket.clone().ok_or_else(missing)?;
            match r.key.clone() {
                Some(key) => StateExpect::Object { bucket, key },
                None => StateExpect::Bucket { bucket },
            }
        }
        "iam" => {
            let role = r.role.clone().ok_or_else(missing)?;
            match r.policy.clone() {
                Some(policy) => StateExpect::RolePolicy { role, policy },
                None => StateExpect::Role { role },
            }
        }
        _ => StateExpect::Table {
            table: r.table.clone().ok_or_else(missing)?,
        },
    })
}
