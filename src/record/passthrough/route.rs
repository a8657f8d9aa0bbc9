//! Where a setup request goes: its signing name and region from the client's
//! own credential scope (header or presigned query), the real endpoint of
//! that signing name, and what a successful call did (the ledger's entry).

use super::names::NameMap;

/// Signing name and region of a request, as the client's SDK chose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub service: String,
    pub region: String,
}

/// `AKID/DATE/REGION/SERVICE/aws4_request` → its region and service.
fn parse_credential(credential: &str) -> Option<Scope> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts[..] {
        [_, _, region, service, "aws4_request"] if !service.is_empty() => Some(Scope {
            service: service.to_string(),
            region: region.to_string(),
        }),
        _ => None,
    }
}

/// The scope of the `Authorization` header, else of a presigned URL's
/// `X-Amz-Credential` query parameter. S3's legacy SigV2 (`AWS AKID:sig`
/// header, or `AWSAccessKeyId=…&Signature=…` in a URL: what botocore
/// presigns S3 URLs with by default) names no region: it is left empty.
pub fn scope(authorization: Option<&str>, query: &str) -> Option<Scope> {
    let s3_v2 = || Scope {
        service: "s3".into(),
        region: String::new(),
    };
    match crate::http::Auth::parse(authorization) {
        crate::http::Auth::SigV4(sig) => return parse_credential(sig.credential),
        crate::http::Auth::Other(h) if h.starts_with("AWS ") => return Some(s3_v2()),
        _ => {}
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some((_, v)) = params.iter().find(|(k, _)| k == "X-Amz-Credential") {
        return parse_credential(v);
    }
    params
        .iter()
        .any(|(k, _)| k == "AWSAccessKeyId")
        .then(s3_v2)
}

/// Why a credential scope cannot name a real endpoint, if it cannot: the
/// signing name and region go into the upstream host name, so only what AWS
/// itself uses passes (`s3`, `cognito-idp`; `us-east-1`, `us-gov-west-1`;
/// SigV2's empty region).
pub fn check_scope(scope: &Scope) -> Result<(), String> {
    let name_ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    let service = &scope.service;
    if service.is_empty() || service.len() > 64 || !service.chars().all(name_ok) {
        return Err(format!(
            "signing name `{service}` of the credential scope is not a service name"
        ));
    }
    let region = &scope.region;
    if !region.is_empty() && !region_shaped(region) {
        return Err(format!(
            "region `{region}` of the credential scope is not a region name"
        ));
    }
    Ok(())
}

/// `^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`.
fn region_shaped(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let [first, middle @ .., last] = &parts[..] else {
        return false;
    };
    first.len() == 2
        && first.chars().all(|c| c.is_ascii_lowercase())
        && !middle.is_empty()
        && middle.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && !last.is_empty()
        && last.chars().all(|c| c.is_ascii_digit())
}

/// Whether `url`'s host is an AWS one (`….amazonaws.com`).
pub fn aws_host(url: &str) -> bool {
    url.parse::<http::Uri>().ok().is_some_and(|u| {
        u.scheme_str() == Some("https") && u.host().is_some_and(|h| h.ends_with(".amazonaws.com"))
    })
}

/// The operations a request may call, where a protocol names one: the
/// `X-Amz-Target` of JSON services (`secretsmanager.GetSecretValue`) and
/// every `Action` of query services, in the body (read as a form whatever
/// its declared type) and in the query string, so a request naming one
/// operation in the body and another in the query is judged by both.
pub fn operations(target: Option<&str>, query: &str, body: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = target
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
        .into_iter()
        .collect();
    for bytes in [body, query.as_bytes()] {
        out.extend(
            form_urlencoded::parse(bytes)
                .filter(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned()),
        );
    }
    out
}

/// Operations never forwarded, whatever the lab's services: they mint
/// credentials (signed by the author's) or hand out stored secrets.
pub fn mints_credentials(service: &str, op: &str) -> bool {
    match service {
        "sts" => {
            op.starts_with("AssumeRole")
                || matches!(op, "AssumeRoot" | "GetSessionToken" | "GetFederationToken")
        }
        "iam" => matches!(
            op,
            "CreateAccessKey"
                | "CreateLoginProfile"
                | "UpdateLoginProfile"
                | "CreateServiceSpecificCredential"
                | "ResetServiceSpecificCredential"
        ),
        "secretsmanager" => matches!(op, "GetSecretValue" | "BatchGetSecretValue"),
        _ => false,
    }
}

/// Query parameters of a presigned URL: the client's signature, dropped
/// before re-signing in the `Authorization` header (`sigv2`: the URL is a
/// SigV2 one, whose `Signature` and `Expires` are dropped too).
pub fn presign_param(name: &str, sigv2: bool) -> bool {
    (sigv2 && matches!(name, "AWSAccessKeyId" | "Signature" | "Expires"))
        || matches!(
            name,
            "X-Amz-Algorithm"
                | "X-Amz-Credential"
                | "X-Amz-Date"
                | "X-Amz-Expires"
                | "X-Amz-SignedHeaders"
                | "X-Amz-Signature"
                | "X-Amz-Security-Token"
        )
}

/// Signing names that belong to the Bedrock proxy, never to this one.
pub fn is_bedrock(service: &str) -> bool {
    service == "bedrock" || service.starts_with("bedrock-")
}

/// The real endpoint of a signing name in `region`, and the region its
/// requests are signed for (IAM and Route 53 are global, signed for
/// `us-east-1`).
pub fn endpoint(service: &str, region: &str) -> (String, String) {
    match service {
        "iam" => ("https://iam.amazonaws.com".into(), "us-east-1".into()),
        // Path-style (`/bucket/key`), as clients address a loopback endpoint.
        "s3" => (format!("https://s3.{region}.amazonaws.com"), region.into()),
        // `aoss` control plane; other signing names whose host differs.
        "route53" => ("https://route53.amazonaws.com".into(), "us-east-1".into()),
        // Signing names whose host differs (botocore's `endpointPrefix`).
        "ses" => (
            format!("https://email.{region}.amazonaws.com"),
            region.into(),
        ),
        "sagemaker" => (
            format!("https://api.sagemaker.{region}.amazonaws.com"),
            region.into(),
        ),
        "ecr" => (
            format!("https://api.ecr.{region}.amazonaws.com"),
            region.into(),
        ),
        // sts, dynamodb, lambda, logs, es, aoss, states, monitoring,
        // apigateway, secretsmanager, ssm, kms, cloudformation, ec2, sns,
        // sqs, …: `<name>.<region>.amazonaws.com`.
        other => (
            format!("https://{other}.{region}.amazonaws.com"),
            region.into(),
        ),
    }
}

/// A resource a successful call created or deleted (the ledger's entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// The signing name, e.g. `s3`, `iam`.
    pub service: String,
    /// As the student sees it: `s3 bucket kb-lab-documents`,
    /// `s3 object kb-lab-documents/docs/a.md`, `iam role KbLabBedrockRole`.
    pub resource: String,
    /// The same with the names as sent to AWS (prefixed).
    pub real: String,
    pub created: bool,
    pub deleted: bool,
}

impl Touched {
    /// How a leftover is named: by its real name, what to delete by hand (the
    /// student's name may be the author's own, unprefixed, resource), with
    /// the lab's name after it when they differ:
    /// `s3 bucket lc-3fa9c1-kb-lab-documents (`kb-lab-documents` in the lab)`.
    pub fn leftover(&self) -> String {
        leftover_name(&self.real, &self.resource)
    }
}

/// `real`, and `(`lab` in the lab)` after it when the lab names it otherwise:
/// the `lab` part is its name alone (what follows the kind's words).
pub fn leftover_name(real: &str, lab: &str) -> String {
    if real == lab {
        return real.to_string();
    }
    let (r, l): (Vec<&str>, Vec<&str>) = (real.split(' ').collect(), lab.split(' ').collect());
    let common = r.iter().zip(&l).take_while(|(a, b)| a == b).count();
    format!(
        "{real} (`{}` in the lab)",
        l[common..].join(" ").replace('`', "")
    )
}

/// The resources a ledger leaves in place (named by [`Touched::leftover`]),
/// in the order they were first created: the last successful call on each (by its real name) created it,
/// and it is not an object of a bucket deleted after it was written.
pub fn outstanding(ledger: &[Touched]) -> Vec<String> {
    // One resource named two ways: IAM creates a policy by name and deletes
    // it by ARN (`arn:aws:iam::…:policy/NAME`); compare by the name.
    let key = |real: &str| {
        real.split(' ')
            .map(|token| match token.strip_prefix("arn:") {
                Some(arn) => arn.rsplit('/').next().unwrap_or(arn).to_string(),
                None => token.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut last: Vec<(&Touched, usize)> = Vec::new();
    for (at, t) in ledger.iter().enumerate() {
        match last
            .iter_mut()
            .find(|(seen, _)| key(&seen.real) == key(&t.real))
        {
            Some(entry) => *entry = (t, at),
            None => last.push((t, at)),
        }
    }
    let bucket_gone_after = |object: &str, written: usize| {
        let Some(bucket) = object
            .strip_prefix("s3 object ")
            .and_then(|rest| rest.split('/').next())
        else {
            return false;
        };
        let name = format!("s3 bucket {bucket}");
        ledger
            .iter()
            .enumerate()
            .any(|(at, t)| at > written && t.deleted && t.real == name)
    };
    last.into_iter()
        .filter(|(t, at)| t.created && !t.deleted && !bucket_gone_after(&t.real, *at))
        .map(|(t, _)| t.leftover())
        .collect()
}

/// What a request is, as far as the ledger cares.
pub struct Call<'a> {
    pub service: &'a str,
    pub method: &'a str,
    /// The real (prefixed) path, percent-encoded, no query.
    pub path: &'a str,
    pub query: &'a str,
    /// `X-Amz-Target`, for JSON protocol services.
    pub target: Option<&'a str>,
    /// The real (prefixed) request body.
    pub body: &'a [u8],
}

/// The `Put…` operations that create a resource (deleted by the matching
/// `Delete…`); every other `Put…` writes into one (DynamoDB `PutItem`, logs
/// `PutLogEvents`, Kinesis `PutRecord`, EventBridge `PutEvents`, …). S3's
/// `PUT`s are told apart by [`s3_ledger`].
const PUT_CREATES: [&str; 5] = [
    "PutRolePolicy",
    "PutUserPolicy",
    "PutGroupPolicy",
    "PutParameter",
    "PutRule",
];

/// `CreateRole` → (`Create`, `role`); `PutRolePolicy` → (`Put`, `role policy`).
fn verb_noun(op: &str) -> Option<(&'static str, String)> {
    const VERBS: [&str; 5] = ["Create", "Put", "Attach", "Delete", "Detach"];
    let verb = VERBS.into_iter().find(|v| op.starts_with(v))?;
    if verb == "Put" && !PUT_CREATES.contains(&op) {
        return None;
    }
    let mut noun = String::new();
    for c in op[verb.len()..].chars() {
        if c.is_ascii_uppercase() && !noun.is_empty() {
            noun.push(' ');
        }
        noun.push(c.to_ascii_lowercase());
    }
    (!noun.is_empty()).then_some((verb, noun))
}

fn touched(call: &Call<'_>, names: &NameMap, verb: &str, real: String) -> Touched {
    Touched {
        service: call.service.to_string(),
        resource: names.to_student(&real),
        real,
        created: matches!(verb, "Create" | "Put" | "Attach"),
        deleted: matches!(verb, "Delete" | "Detach"),
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The resources a successful `call` created or deleted.
pub fn ledger(call: &Call<'_>, names: &NameMap) -> Vec<Touched> {
    let svc = call.service;
    if svc == "s3" {
        return s3_ledger(call, names);
    }
    let body = String::from_utf8_lossy(call.body);
    // Query protocol (IAM, STS, SNS, …): `Action=CreateRole&RoleName=…`.
    let form: Vec<(String, String)> = if call.method == "POST" && call.target.is_none() {
        form_urlencoded::parse(call.body).into_owned().collect()
    } else {
        form_urlencoded::parse(call.query.as_bytes())
            .into_owned()
            .collect()
    };
    if let Some((_, action)) = form.iter().find(|(k, _)| k == "Action") {
        let Some((verb, noun)) = verb_noun(action) else {
            return Vec::new();
        };
        let ids: Vec<&str> = form
            .iter()
            .filter(|(k, _)| k.ends_with("Name") || k.ends_with("Arn"))
            .map(|(_, v)| v.as_str())
            .collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let real = format!("{svc} {noun} {}", ids.join(" "));
        return vec![touched(call, names, verb, real)];
    }
    // JSON protocol: `X-Amz-Target: DynamoDB_20120810.CreateTable`.
    if let Some(target) = call.target {
        let op = target.rsplit('.').next().unwrap_or(target);
        let Some((verb, noun)) = verb_noun(op) else {
            return Vec::new();
        };
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let ids: Vec<String> = json
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.ends_with("Name") || k.ends_with("Arn") || k.as_str() == "name")
            .filter_map(|(_, v)| v.as_str().map(str::to_string))
            .collect();
        let real = format!("{svc} {noun} {}", ids.join(" "));
        return vec![touched(call, names, verb, real.trim_end().to_string())];
    }
    // Lambda's REST API: `POST …/functions` creates, `DELETE …/functions/NAME` deletes.
    if svc == "lambda" {
        let segs: Vec<&str> = call.path.trim_matches('/').split('/').collect();
        return match (call.method, &segs[..]) {
            ("POST", [_, "functions"]) => {
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let name = json["FunctionName"].as_str().unwrap_or_default();
                vec![touched(
                    call,
                    names,
                    "Create",
                    format!("lambda function {name}"),
                )]
            }
            ("DELETE", [_, "functions", name]) => vec![touched(
                call,
                names,
                "Delete",
                format!("lambda function {}", decode(name)),
            )],
            _ => Vec::new(),
        };
    }
    Vec::new()
}

/// S3 query parameters that do not make a request a sub-resource one (an
/// object's data or the bucket itself): the SDK's operation hint, a part
/// upload's, a version, a presigned URL's signature (SigV4 `X-Amz-*`, SigV2
/// `AWSAccessKeyId`, `Signature`, `Expires`) and headers it carries
/// (`x-amz-acl`), and GetObject's `response-*` overrides.
pub fn plain_s3_param(name: &str) -> bool {
    matches!(
        name,
        "x-id"
            | "uploadId"
            | "partNumber"
            | "versionId"
            | "AWSAccessKeyId"
            | "Signature"
            | "Expires"
    ) || name.to_ascii_lowercase().starts_with("x-amz-")
        || name.starts_with("response-")
}

fn s3_ledger(call: &Call<'_>, names: &NameMap) -> Vec<Touched> {
    let path = call.path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (decode(b), Some(decode(k))),
        _ => (decode(path.trim_end_matches('/')), None),
    };
    if bucket.is_empty() {
        return Vec::new();
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(call.query.as_bytes())
        .into_owned()
        .collect();
    let sub = params.iter().any(|(k, _)| !plain_s3_param(k));
    let has = |name: &str| params.iter().any(|(k, _)| k == name);
    let entry = |verb, what: String| touched(call, names, verb, what);
    match (call.method, key) {
        ("PUT", None) if !sub => vec![entry("Create", format!("s3 bucket {bucket}"))],
        ("DELETE", None) if !sub => vec![entry("Delete", format!("s3 bucket {bucket}"))],
        // PutObject, CopyObject; a part upload is not an object yet.
        ("PUT", Some(key)) if !sub && !has("uploadId") => {
            vec![entry("Create", format!("s3 object {bucket}/{key}"))]
        }
        // CompleteMultipartUpload.
        ("POST", Some(key)) if has("uploadId") => {
            vec![entry("Create", format!("s3 object {bucket}/{key}"))]
        }
        ("DELETE", Some(key)) if !sub => {
            vec![entry("Delete", format!("s3 object {bucket}/{key}"))]
        }
        // DeleteObjects: `<Delete><Object><Key>…</Key></Object>…`.
        ("POST", None) if has("delete") => String::from_utf8_lossy(call.body)
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .map(|k| entry("Delete", format!("s3 object {bucket}/{k}")))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(real: &str, created: bool) -> Touched {
        Touched {
            service: real.split(' ').next().unwrap_or_default().into(),
            resource: real.replace("lc-1-", ""),
            real: real.into(),
            created,
            deleted: !created,
        }
    }

    #[test]
    fn what_stays_is_what_was_last_created_and_not_under_a_deleted_bucket() {
        let ledger = [
            t("s3 bucket lc-1-docs", true),
            t("s3 object lc-1-docs/a.md", true),
            t("s3 object lc-1-docs/b.md", true),
            t("s3 object lc-1-docs/a.md", false),
            t("iam role lc-1-Role", true),
            t("iam RolePolicy lc-1-Role Inline", true),
            t("iam Policy lc-1-Managed", true),
            t(
                "iam Policy arn:aws:iam::000000000000:policy/lc-1-Managed",
                false,
            ),
            t("s3 bucket lc-1-kept", true),
            t("s3 object lc-1-kept/c.md", true),
        ];
        assert_eq!(
            outstanding(&ledger),
            [
                "s3 bucket lc-1-docs (`docs` in the lab)",
                "s3 object lc-1-docs/b.md (`docs/b.md` in the lab)",
                "iam role lc-1-Role (`Role` in the lab)",
                "iam RolePolicy lc-1-Role Inline (`Role Inline` in the lab)",
                "s3 bucket lc-1-kept (`kept` in the lab)",
                "s3 object lc-1-kept/c.md (`kept/c.md` in the lab)",
            ]
        );
        let mut gone = ledger.to_vec();
        gone.push(t("s3 bucket lc-1-docs", false));
        gone.push(t("iam RolePolicy lc-1-Role Inline", false));
        gone.push(t("iam role lc-1-Role", false));
        assert_eq!(
            outstanding(&gone),
            [
                "s3 bucket lc-1-kept (`kept` in the lab)",
                "s3 object lc-1-kept/c.md (`kept/c.md` in the lab)"
            ],
            "a deleted bucket takes its objects; a policy deleted by ARN is gone"
        );
    }

    #[test]
    fn leftovers_are_named_as_in_the_account_then_as_in_the_lab() {
        assert_eq!(
            leftover_name("S3 bucket `lc-1-docs`", "S3 bucket `docs`"),
            "S3 bucket `lc-1-docs` (`docs` in the lab)"
        );
        assert_eq!(
            leftover_name("s3 bucket mine", "s3 bucket mine"),
            "s3 bucket mine"
        );
    }

    #[test]
    fn only_service_and_region_shaped_scopes_pass_and_only_aws_hosts() {
        let scope = |service: &str, region: &str| Scope {
            service: service.into(),
            region: region.into(),
        };
        for (service, region) in [
            ("s3", "us-east-1"),
            ("cognito-idp", "eu-west-3"),
            ("iam", "us-gov-west-1"),
            ("s3", ""),
            ("es", "ap-southeast-2"),
        ] {
            assert_eq!(
                check_scope(&scope(service, region)),
                Ok(()),
                "{service} {region}"
            );
        }
        for (service, region) in [
            ("s3", "evil.example#"),
            ("s3#", "us-east-1"),
            ("evil.example/", "us-east-1"),
            ("", "us-east-1"),
            ("S3", "us-east-1"),
            ("s3", "us-east"),
            ("s3", "useast-1"),
            ("s3", "us--1"),
            ("s3", "us-east-1a"),
            (&"a".repeat(65), "us-east-1"),
        ] {
            assert!(
                check_scope(&scope(service, region)).is_err(),
                "{service} {region}"
            );
        }
        assert!(aws_host("https://s3.us-east-1.amazonaws.com/b?x=1"));
        assert!(!aws_host("https://s3.evil.example/.amazonaws.com/b"));
        assert!(!aws_host("https://amazonaws.com.evil.example/"));
        assert!(!aws_host("http://s3.us-east-1.amazonaws.com/"));
    }

    #[test]
    fn credential_minting_operations_are_named_and_refused() {
        assert_eq!(
            operations(None, "", b"Action=AssumeRole&Version=2011-06-15"),
            ["AssumeRole"]
        );
        assert_eq!(
            operations(None, "Action=GetCallerIdentity", b"Action=GetSessionToken"),
            ["GetSessionToken", "GetCallerIdentity"]
        );
        assert_eq!(
            operations(Some("secretsmanager.GetSecretValue"), "", b"{}"),
            ["GetSecretValue"]
        );
        assert!(operations(None, "list-type=2", b"").is_empty());
        for (service, name) in [
            ("sts", "AssumeRole"),
            ("sts", "AssumeRoleWithWebIdentity"),
            ("sts", "AssumeRoleWithSAML"),
            ("sts", "GetSessionToken"),
            ("sts", "GetFederationToken"),
            ("iam", "CreateAccessKey"),
            ("iam", "CreateLoginProfile"),
            ("iam", "UpdateLoginProfile"),
            ("iam", "CreateServiceSpecificCredential"),
            ("iam", "ResetServiceSpecificCredential"),
            ("secretsmanager", "GetSecretValue"),
        ] {
            assert!(mints_credentials(service, name), "{service} {name}");
        }
        for (service, name) in [
            ("sts", "GetCallerIdentity"),
            ("iam", "CreateRole"),
            ("secretsmanager", "CreateSecret"),
            ("s3", "AssumeRole"),
        ] {
            assert!(!mints_credentials(service, name), "{service} {name}");
        }
    }

    #[test]
    fn the_scope_comes_from_the_header_or_a_presigned_query() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00";
        let s3 = Scope {
            service: "s3".into(),
            region: "eu-west-1".into(),
        };
        assert_eq!(scope(Some(h), ""), Some(s3.clone()));
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261127%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=00";
        assert_eq!(scope(None, q), Some(s3));
        assert_eq!(scope(None, "a=b"), None);
        let v2 = Scope {
            service: "s3".into(),
            region: String::new(),
        };
        assert_eq!(
            scope(None, "AWSAccessKeyId=AKIDEXAMPLE&Signature=x%3D&Expires=1"),
            Some(v2.clone())
        );
        assert_eq!(scope(Some("AWS AKIDEXAMPLE:c2ln"), ""), Some(v2));
        assert_eq!(scope(Some("Bearer x"), ""), None);
    }

    #[test]
    fn endpoints_by_signing_name() {
        assert_eq!(
            endpoint("iam", "eu-west-1"),
            ("https://iam.amazonaws.com".into(), "us-east-1".into())
        );
        assert_eq!(
            endpoint("s3", "eu-west-1").0,
            "https://s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint("sts", "us-west-2").0,
            "https://sts.us-west-2.amazonaws.com"
        );
        assert_eq!(
            endpoint("dynamodb", "us-west-2").0,
            "https://dynamodb.us-west-2.amazonaws.com"
        );
        assert_eq!(
            endpoint("route53", "eu-west-1"),
            ("https://route53.amazonaws.com".into(), "us-east-1".into())
        );
        for (service, host) in [
            ("apigateway", "apigateway.eu-west-1"),
            ("states", "states.eu-west-1"),
            ("ses", "email.eu-west-1"),
            ("sagemaker", "api.sagemaker.eu-west-1"),
            ("ecr", "api.ecr.eu-west-1"),
            ("aoss", "aoss.eu-west-1"),
            ("es", "es.eu-west-1"),
            ("monitoring", "monitoring.eu-west-1"),
        ] {
            assert_eq!(
                endpoint(service, "eu-west-1"),
                (format!("https://{host}.amazonaws.com"), "eu-west-1".into()),
                "{service}"
            );
        }
        assert!(is_bedrock("bedrock") && !is_bedrock("s3"));
    }

    fn call<'a>(
        service: &'a str,
        method: &'a str,
        path: &'a str,
        query: &'a str,
        body: &'a [u8],
    ) -> Call<'a> {
        Call {
            service,
            method,
            path,
            query,
            target: None,
            body,
        }
    }

    #[test]
    fn the_ledger_names_what_was_created_and_deleted() {
        let m = NameMap::new("lc-1-", ["kb-lab-documents", "KbLabBedrockRole"]);
        let one = |c: Call<'_>| {
            let mut t = ledger(&c, &m);
            assert_eq!(t.len(), 1, "{t:?}");
            let t = t.remove(0);
            (t.resource, t.real, t.created, t.deleted)
        };
        assert_eq!(
            one(call("s3", "PUT", "/lc-1-kb-lab-documents", "", b"")),
            (
                "s3 bucket kb-lab-documents".into(),
                "s3 bucket lc-1-kb-lab-documents".into(),
                true,
                false
            )
        );
        assert_eq!(
            one(call(
                "s3",
                "PUT",
                "/lc-1-kb-lab-documents/docs/a%20b.md",
                "x-id=PutObject",
                b""
            ))
            .0,
            "s3 object kb-lab-documents/docs/a b.md"
        );
        assert!(
            one(call(
                "s3",
                "DELETE",
                "/lc-1-kb-lab-documents/docs/a.md",
                "",
                b""
            ))
            .3
        );
        assert!(ledger(&call("s3", "PUT", "/b", "policy", b"{}"), &m).is_empty());
        assert!(ledger(&call("s3", "GET", "/b/k", "", b""), &m).is_empty());
        let form = b"Action=CreateRole&Version=2010-05-08&RoleName=lc-1-KbLabBedrockRole&AssumeRolePolicyDocument=%7B%7D";
        assert_eq!(
            one(call("iam", "POST", "/", "", form)),
            (
                "iam role KbLabBedrockRole".into(),
                "iam role lc-1-KbLabBedrockRole".into(),
                true,
                false
            )
        );
        let put = b"Action=PutRolePolicy&RoleName=lc-1-KbLabBedrockRole&PolicyName=Read&PolicyDocument=%7B%7D";
        assert_eq!(
            one(call("iam", "POST", "/", "", put)).0,
            "iam role policy KbLabBedrockRole Read"
        );
        assert!(
            ledger(
                &call("sts", "POST", "/", "", b"Action=GetCallerIdentity"),
                &m
            )
            .is_empty()
        );
        let mut ddb = call("dynamodb", "POST", "/", "", br#"{"TableName":"chat"}"#);
        ddb.target = Some("DynamoDB_20120810.DeleteTable");
        assert_eq!(one(ddb).0, "dynamodb table chat");
        // Writing into a resource is no creation.
        for (service, target) in [
            ("dynamodb", "DynamoDB_20120810.PutItem"),
            ("logs", "Logs_20140328.PutLogEvents"),
            ("kinesis", "Kinesis_20131202.PutRecord"),
            ("events", "AWSEvents.PutEvents"),
        ] {
            let mut put = call(
                service,
                "POST",
                "/",
                "",
                br#"{"TableName":"chat","Item":{}}"#,
            );
            put.target = Some(target);
            assert!(ledger(&put, &m).is_empty(), "{target}");
        }
        let mut rule = call("events", "POST", "/", "", br#"{"Name":"nightly"}"#);
        rule.target = Some("AWSEvents.PutRule");
        assert_eq!(one(rule).0, "events rule nightly");
        let del =
            b"<Delete><Object><Key>a.md</Key></Object><Object><Key>b.md</Key></Object></Delete>";
        assert_eq!(
            ledger(
                &call("s3", "POST", "/lc-1-kb-lab-documents", "delete", del),
                &m
            )
            .len(),
            2
        );
    }
}
