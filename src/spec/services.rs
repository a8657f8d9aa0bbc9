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
pub(crate) fn services(ctx: &Ctx<'_>, raw: &[Spanned<String>]) -> Result<Vec<String>, SpecError> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::spec::lab::StateExpect;
    use crate::spec::{SpecError, load_lab};

    const PAGE: &str = "---\ntitle: t\n---\n## S\n\n```bash\naws s3 ls\n```\n\n- [ ] item\n";

    fn load(header: &str, expect: &str) -> Result<crate::spec::lab::Lab, SpecError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lab.md"), PAGE).unwrap();
        std::fs::write(dir.path().join("seed.toml"), "").unwrap();
        let toml = format!(
            "[lab]\n{header}\n\n[[step]]\nid = \"a\"\nkind = \"shell\"\nproves = [1]\nclients = [\"aws-cli-v2\"]\nprogram = {{ section = \"S\" }}\n[step.expect]\n{expect}\n"
        );
        std::fs::write(dir.path().join("lab.toml"), toml).unwrap();
        load_lab(dir.path())
    }

    #[test]
    fn services_and_state_resolve() {
        let lab = load(
            "services = [\"s3\", \"iam\", \"s3\"]\nseed = \"seed.toml\"",
            "state = [{ service = \"s3\", bucket = \"b\", key = \"k\" }, { service = \"iam\", role = \"r\", policy = \"p\" }, { service = \"s3\", bucket = \"b\" }]",
        )
        .unwrap();
        assert_eq!(lab.services, ["s3", "iam"]);
        assert!(lab.seed.unwrap().ends_with("seed.toml"));
        assert_eq!(
            lab.steps[0].expect.state,
            [
                StateExpect::Object {
                    bucket: "b".into(),
                    key: "k".into()
                },
                StateExpect::RolePolicy {
                    role: "r".into(),
                    policy: "p".into()
                },
                StateExpect::Bucket { bucket: "b".into() },
            ]
        );
    }

    #[test]
    fn an_unknown_service_is_refused_at_its_position_with_a_suggestion() {
        let err = load("services = [\"s3\", \"dynamodbb\"]", "").unwrap_err();
        assert_eq!(err.kind(), "unknown-service");
        assert_eq!((err.line, err.column), (2, 19), "{err}");
        assert!(err.to_string().contains("`dynamodb`"), "{err}");
    }

    #[test]
    fn a_bedrock_service_is_refused_as_replayed() {
        let err = load("services = [\"bedrock-runtime\"]", "").unwrap_err();
        assert_eq!(err.kind(), "unknown-service");
        assert!(
            err.to_string()
                .contains("replayed from the lab's cassettes"),
            "{err}"
        );
    }

    #[test]
    fn state_needs_a_declared_service_and_its_own_keys() {
        let err = load("", "state = [{ service = \"s3\", bucket = \"b\" }]").unwrap_err();
        assert!(
            err.to_string().contains("not one of the lab's `services`"),
            "{err}"
        );
        let err = load(
            "services = [\"s3\"]",
            "state = [{ service = \"s3\", role = \"r\" }]",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`role` does not apply to `s3`"),
            "{err}"
        );
        let err = load("services = [\"s3\"]", "state = [{ service = \"sqs\" }]").unwrap_err();
        assert_eq!(err.kind(), "unknown-service");
        let err = load("seed = \"seed.toml\"", "").unwrap_err();
        assert!(
            err.to_string()
                .contains("a seed needs the lab's `services`"),
            "{err}"
        );
    }
}
