//! `[lab] services`: the setup services a lab calls besides Bedrock, by their
//! boto3 client names (`s3`, `iam`, `sts`, …), and `state` expectations on
//! what a step left in them. In replay they are emulated offline by moto
//! (see `docs/setup-services.md`); the Bedrock services never are: they are
//! replayed from cassettes.

use super::error::{Problem, SpecError};
use super::lab::{Resource, StateExpect};
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

/// The SigV4 signing name of a boto3 client name (what a request's credential
/// scope names): the client name itself except where botocore's service
/// model says otherwise (`metadata.signingName`, else `endpointPrefix`, of
/// botocore 1.43.11).
pub fn signing_name(client: &str) -> &str {
    match client {
        "cloudwatch" => "monitoring",
        "opensearch" => "es",
        "opensearchserverless" => "aoss",
        "stepfunctions" => "states",
        other => other,
    }
}

/// The Bedrock services: always served by labcheck's replay server, never by moto.
pub const REPLAYED: &[&str] = &[
    "bedrock",
    "bedrock-runtime",
    "bedrock-agent",
    "bedrock-agent-runtime",
];

/// The services a `state` expectation can look at, and the cleanup can
/// delete `[lab] resources` of.
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

/// One `[lab] resources = [{ service = "…", … }]` entry: the state
/// vocabulary, one name per resource (`bucket`, `role`, `policy` or `table`).
pub(crate) fn resource(
    ctx: &Ctx<'_>,
    raw: &Spanned<RawState>,
    declared: &[String],
) -> Result<Resource, SpecError> {
    let r = raw.get_ref();
    let service = r.service.get_ref().as_str();
    let bad = |message: String, hint: String| {
        ctx.err(
            raw.span(),
            Problem::BadValue {
                key: "resources".into(),
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
            format!(
                "{} (labcheck can clean up resources of {})",
                did_you_mean(service, STATEFUL),
                STATEFUL.join(", ")
            ),
        ));
    }
    if !declared.iter().any(|d| d == service) {
        return Err(bad(
            format!("`{service}` is not one of the lab's `services`"),
            format!("add \"{service}\" to `services` under `[lab]`"),
        ));
    }
    let given: Vec<(&str, &String)> = [
        ("bucket", &r.bucket),
        ("key", &r.key),
        ("role", &r.role),
        ("policy", &r.policy),
        ("table", &r.table),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    .collect();
    let allowed: &[&str] = match service {
        "s3" => &["bucket"],
        "iam" => &["role", "policy"],
        _ => &["table"],
    };
    let example = |k: &str| format!("{{ service = \"{service}\", {k} = \"…\" }}");
    let alternatives = allowed
        .iter()
        .map(|k| example(k))
        .collect::<Vec<_>>()
        .join(" or ");
    if let Some((k, _)) = given.iter().find(|(k, _)| !allowed.contains(k)) {
        let hint = if *k == "key" {
            "declare the bucket: deleting it deletes every object in it".to_string()
        } else {
            format!("write {alternatives}")
        };
        return Err(bad(
            format!("`{k}` does not apply to a `{service}` resource"),
            hint,
        ));
    }
    match given.as_slice() {
        [("bucket", n)] => Ok(Resource::Bucket {
            bucket: (*n).clone(),
        }),
        [("role", n)] => Ok(Resource::Role { role: (*n).clone() }),
        [("policy", n)] => Ok(Resource::Policy {
            policy: (*n).clone(),
        }),
        [("table", n)] => Ok(Resource::Table {
            table: (*n).clone(),
        }),
        [] => Err(bad(
            format!(
                "a `{service}` resource needs {}",
                allowed
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            format!("write {alternatives}"),
        )),
        _ => Err(bad(
            "one resource per entry: a role's inline and attached policies are removed with it"
                .to_string(),
            format!("write one entry each: {alternatives}"),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::spec::lab::{Resource, StateExpect};
    use crate::spec::{SpecError, load_lab};

    /// Every emulated client's signing name, as botocore 1.43.11's service
    /// models give it (`metadata.signingName`, else `endpointPrefix`).
    #[test]
    fn every_emulated_client_has_its_botocore_signing_name() {
        let table = [
            ("acm", "acm"),
            ("apigateway", "apigateway"),
            ("athena", "athena"),
            ("cloudformation", "cloudformation"),
            ("cloudwatch", "monitoring"),
            ("cognito-idp", "cognito-idp"),
            ("dynamodb", "dynamodb"),
            ("ec2", "ec2"),
            ("ecr", "ecr"),
            ("events", "events"),
            ("firehose", "firehose"),
            ("glue", "glue"),
            ("iam", "iam"),
            ("kinesis", "kinesis"),
            ("kms", "kms"),
            ("lambda", "lambda"),
            ("logs", "logs"),
            ("opensearch", "es"),
            ("opensearchserverless", "aoss"),
            ("rds", "rds"),
            ("s3", "s3"),
            ("s3vectors", "s3vectors"),
            ("secretsmanager", "secretsmanager"),
            ("sns", "sns"),
            ("sqs", "sqs"),
            ("ssm", "ssm"),
            ("stepfunctions", "states"),
            ("sts", "sts"),
            ("textract", "textract"),
        ];
        let clients: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
        assert_eq!(clients, super::EMULATED, "one row per emulated client");
        for (client, signing) in table {
            assert_eq!(super::signing_name(client), signing, "{client}");
        }
    }

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
    fn resources_resolve_in_the_state_vocabulary() {
        let lab = load(
            "services = [\"s3\", \"iam\", \"dynamodb\"]\nresources = [\n  { service = \"s3\", bucket = \"b\" },\n  { service = \"iam\", role = \"r\" },\n  { service = \"iam\", policy = \"p\" },\n  { service = \"dynamodb\", table = \"t\" },\n  { service = \"s3\", bucket = \"b\" },\n]",
            "",
        )
        .unwrap();
        assert_eq!(
            lab.resources,
            [
                Resource::Bucket { bucket: "b".into() },
                Resource::Role { role: "r".into() },
                Resource::Policy { policy: "p".into() },
                Resource::Table { table: "t".into() },
            ]
        );
        assert_eq!(lab.resources[2].to_string(), "IAM policy `p`");
    }

    #[test]
    fn bad_resources_are_refused_where_written_saying_what_to_write() {
        let err = load(
            "services = [\"s3\"]\nresources = [{ service = \"iam\", role = \"r\" }]",
            "",
        )
        .unwrap_err();
        assert_eq!(
            (err.kind(), err.line, err.column),
            ("bad-value", 3, 14),
            "{err}"
        );
        assert!(
            err.to_string().contains("add \"iam\" to `services`"),
            "{err}"
        );
        let err = load(
            "services = [\"s3\"]\nresources = [{ service = \"s3\" }]",
            "",
        )
        .unwrap_err();
        assert!(err.to_string().contains("needs `bucket`"), "{err}");
        let err = load(
            "services = [\"s3\"]\nresources = [{ service = \"s3\", bucket = \"b\", key = \"k\" }]",
            "",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("deleting it deletes every object"),
            "{err}"
        );
        let err = load(
            "services = [\"iam\"]\nresources = [{ service = \"iam\", role = \"r\", policy = \"p\" }]",
            "",
        )
        .unwrap_err();
        assert!(err.to_string().contains("one resource per entry"), "{err}");
        let err = load(
            "services = [\"sqs\"]\nresources = [{ service = \"sqs\", queue = \"q\" }]",
            "",
        )
        .unwrap_err();
        assert_eq!(err.kind(), "unknown-key", "{err}");
        let err = load(
            "services = [\"sqs\"]\nresources = [{ service = \"sqs\" }]",
            "",
        )
        .unwrap_err();
        assert_eq!((err.kind(), err.line), ("unknown-service", 3), "{err}");
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
