//! Record and live modes' setup pass-through (docs/setup-services.md,
//! "Record and live"): real clients (boto3, AWS CLI v2 and v1) signing with
//! dummy credentials at `AWS_ENDPOINT_URL` = the pass-through, which re-signs
//! for the author against a local upstream that VERIFIES SigV4 for any
//! service and answers from a moto server: every request verifies, the
//! upload lands under the run-prefixed bucket with its bytes, the client
//! prints the names the page used, and the ledger lists what was created.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use labcheck::cassette::scrub::ACCESS_KEY;
use labcheck::clients::StderrProgress;
use labcheck::ids::ClientId;
use labcheck::record::verify_setup::SetupUpstream;
use labcheck::record::{CallBudget, Credentials, NameMap, SetupProxy, SetupProxySettings, Touched};
use labcheck::setup::http::{Call, Response, send};
use labcheck::setup::{ACCOUNT_ID, MotoServer};
use labcheck::steps::env::{DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY};

const PREFIX: &str = "lc-3f9a2b-";
const BUCKET: &str = "kb-lab-documents";
const ROLE: &str = "KbLabBedrockRole";
const TEXT: &str = "# Returns\nCustomers may return an item within 30 days.\n";
const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;

fn author() -> Credentials {
    Credentials::new(
        "AKIATESTSETUPAUTHOR",
        "testSecretKeyForTheSetupUpstream00000000",
        None,
        None,
        "test",
    )
}

/// A trial's moto, the verifying upstream in front of it, the pass-through.
struct Rig {
    moto: MotoServer,
    upstream: SetupUpstream,
    proxy: SetupProxy,
}

fn rig(signing: Credentials) -> Rig {
    rig_with_budget(signing, 1000)
}

fn rig_with_budget(signing: Credentials, calls: u64) -> Rig {
    let install = common::clients()
        .ensure_moto(&StderrProgress)
        .expect("moto provisioned");
    let moto = MotoServer::start(&install).expect("moto");
    let upstream = SetupUpstream::start_blocking(author(), moto.endpoint()).expect("upstream");
    let proxy = SetupProxy::start_blocking(SetupProxySettings {
        credentials: signing,
        region: "us-east-1".into(),
        upstream: Some(upstream.url()),
        names: NameMap::new(PREFIX, [BUCKET, ROLE, "chat-history"]),
        services: ["s3", "iam", "sts", "dynamodb", "secretsmanager"]
            .map(String::from)
            .to_vec(),
        calls: std::sync::Arc::new(CallBudget::new(calls)),
    })
    .expect("pass-through");
    Rig {
        moto,
        upstream,
        proxy,
    }
}

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().expect("addr")
}

/// Runs a provisioned client's command with dummy credentials and the
/// pass-through as `AWS_ENDPOINT_URL`, nothing else from this environment.
fn client(client: ClientId, args: &[&str], proxy: &SetupProxy, dir: &Path) -> Output {
    let bin = common::clients()
        .ensure(client, &StderrProgress)
        .expect("client provisioned")
        .bin_dir;
    let program = if client == ClientId::Boto3 {
        "python3"
    } else {
        "aws"
    };
    Command::new(bin.join(program))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("AWS_ENDPOINT_URL", proxy.url())
        .env("AWS_ACCESS_KEY_ID", DUMMY_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", DUMMY_SECRET_ACCESS_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .output()
        .expect("client runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn moto_call(moto: &MotoServer, service: &str, method: &str, path: &str, body: &[u8]) -> Response {
    let form = [(
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )];
    let call = Call {
        service,
        method,
        path,
        headers: if body.is_empty() { &[] } else { &form },
        body,
    };
    send(moto.addr(), "us-east-1", &call).expect("moto answers")
}

/// What landed in moto: the object under the PREFIXED bucket with its
/// bytes, no unprefixed bucket, and the prefixed role.
fn assert_landed(rig: &Rig, key: &str) {
    let object = moto_call(
        &rig.moto,
        "s3",
        "GET",
        &format!("/{PREFIX}{BUCKET}/{key}"),
        b"",
    );
    assert_eq!(object.status, 200, "{}", object.body);
    assert_eq!(object.body, TEXT);
    let plain = moto_call(&rig.moto, "s3", "GET", &format!("/{BUCKET}"), b"");
    assert_eq!(
        plain.status, 404,
        "an unprefixed bucket exists: {}",
        plain.body
    );
    let body = format!("Action=GetRole&Version=2010-05-08&RoleName={PREFIX}{ROLE}");
    let role = moto_call(&rig.moto, "iam", "POST", "/", body.as_bytes());
    assert_eq!(role.status, 200, "{}", role.body);
}

fn assert_verified(rig: &Rig, at_least: usize) {
    assert_eq!(rig.upstream.rejected(), Vec::<(u16, String)>::new());
    let verified = rig.upstream.verified();
    assert!(verified.len() >= at_least, "{verified:#?}");
    assert!(
        verified.iter().any(|v| v.starts_with("s3 PUT ")),
        "{verified:#?}"
    );
    assert!(
        verified.iter().any(|v| v.starts_with("iam POST ")),
        "{verified:#?}"
    );
}

fn resources(ledger: &[Touched]) -> Vec<(String, String, bool)> {
    ledger
        .iter()
        .map(|t| (t.resource.clone(), t.real.clone(), t.created))
        .collect()
}

fn assert_ledger(rig: &Rig, key: &str) {
    let got = resources(&rig.proxy.ledger());
    for (resource, real) in [
        (
            format!("s3 bucket {BUCKET}"),
            format!("s3 bucket {PREFIX}{BUCKET}"),
        ),
        (
            format!("s3 object {BUCKET}/{key}"),
            format!("s3 object {PREFIX}{BUCKET}/{key}"),
        ),
        (
            format!("iam role {ROLE}"),
            format!("iam role {PREFIX}{ROLE}"),
        ),
    ] {
        assert!(
            got.contains(&(resource.clone(), real, true)),
            "{resource} missing from {got:#?}"
        );
    }
}

const BOTO3: &str = r#"
import json, boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="kb-lab-documents")
s3.put_object(Bucket="kb-lab-documents", Key="docs/a.md", Body=TEXT.encode(), ContentType="text/markdown")
print("buckets", [b["Name"] for b in s3.list_buckets()["Buckets"]])
print("keys", [o["Key"] for o in s3.list_objects_v2(Bucket="kb-lab-documents")["Contents"]])
print("body", repr(s3.get_object(Bucket="kb-lab-documents", Key="docs/a.md")["Body"].read().decode()))
print("size", s3.head_object(Bucket="kb-lab-documents", Key="docs/a.md")["ContentLength"])
s3.download_file("kb-lab-documents", "docs/a.md", "copy.md")
print("downloaded", repr(open("copy.md").read()))
iam = boto3.client("iam")
role = iam.create_role(RoleName="KbLabBedrockRole", AssumeRolePolicyDocument=TRUST)["Role"]
print("role", role["RoleName"], role["Arn"])
read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::kb-lab-documents/*"}]}
iam.put_role_policy(RoleName="KbLabBedrockRole", PolicyName="KbLabS3Read", PolicyDocument=json.dumps(read))
doc = iam.get_role_policy(RoleName="KbLabBedrockRole", PolicyName="KbLabS3Read")["PolicyDocument"]
print("policy", doc["Statement"][0]["Resource"])
print("account", boto3.client("sts").get_caller_identity()["Account"])
ddb = boto3.client("dynamodb")
table = ddb.create_table(TableName="chat-history", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
print("table", table["TableDescription"]["TableArn"])
s3.put_object(Bucket="kb-lab-documents", Key="docs/tmp.md", Body=b"x")
s3.delete_object(Bucket="kb-lab-documents", Key="docs/tmp.md")
import urllib.request
url = s3.generate_presigned_url("get_object", Params={"Bucket": "kb-lab-documents", "Key": "docs/a.md"})
print("presigned", repr(urllib.request.urlopen(url).read().decode()))
from botocore.config import Config
v4 = boto3.client("s3", config=Config(signature_version="s3v4"))
url = v4.generate_presigned_url("get_object", Params={"Bucket": "kb-lab-documents", "Key": "docs/a.md"})
assert "X-Amz-Credential=" in url, url
print("presigned-v4", repr(urllib.request.urlopen(url).read().decode()))
"#;

#[test]
fn boto3_upload_and_create_role_are_re_signed_and_prefixed() {
    let rig = rig(author());
    let dir = tempfile::tempdir().expect("tempdir");
    let script = format!("TEXT = {TEXT:?}\nTRUST = {TRUST:?}\n{BOTO3}");
    let out = client(ClientId::Boto3, &["-c", &script], &rig.proxy, dir.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("buckets ['kb-lab-documents']"), "{stdout}");
    assert!(stdout.contains("keys ['docs/a.md']"), "{stdout}");
    assert!(
        stdout.contains(&format!("body {TEXT:?}").replace('"', "'")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "role {ROLE} arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}"
        )),
        "{stdout}"
    );
    // A presigned URL's dummy signature (SigV2, botocore's default for S3)
    // is replaced by a header signature.
    assert!(
        stdout.contains(&format!("presigned {TEXT:?}").replace('"', "'")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("presigned-v4 {TEXT:?}").replace('"', "'")),
        "{stdout}"
    );
    assert!(
        stdout.contains("policy arn:aws:s3:::kb-lab-documents/*"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("account {ACCOUNT_ID}\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "table arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/chat-history\n"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains(PREFIX), "{stdout}");
    // The policy document inside the form body was prefixed too.
    let body = format!(
        "Action=GetRolePolicy&Version=2010-05-08&RoleName={PREFIX}{ROLE}&PolicyName=KbLabS3Read"
    );
    let policy = moto_call(&rig.moto, "iam", "POST", "/", body.as_bytes());
    assert!(
        policy.body.contains(&format!("{PREFIX}{BUCKET}")),
        "{}",
        policy.body
    );
    assert_landed(&rig, "docs/a.md");
    assert_verified(&rig, 10);
    assert_ledger(&rig, "docs/a.md");
    let tmp = format!("s3 object {BUCKET}/docs/tmp.md");
    let ledger = rig.proxy.ledger();
    let deleted: Vec<_> = ledger.iter().filter(|t| t.resource == tmp).collect();
    assert_eq!(deleted.len(), 2, "{ledger:#?}");
    assert!(
        ledger
            .iter()
            .any(|t| t.resource == format!("iam role policy {ROLE} KbLabS3Read") && t.created),
        "{ledger:#?}"
    );
    // JSON protocol (X-Amz-Target): signed for dynamodb, in the ledger.
    assert!(
        ledger.iter().any(|t| t.service == "dynamodb"
            && t.resource == "dynamodb table chat-history"
            && t.real == format!("dynamodb table {PREFIX}chat-history")
            && t.created),
        "{ledger:#?}"
    );
    let verified = rig.upstream.verified();
    for service in ["sts POST ", "dynamodb POST "] {
        assert!(
            verified.iter().any(|v| v.starts_with(service)),
            "{verified:#?}"
        );
    }
    assert!(deleted[0].created && !deleted[0].deleted);
    assert!(deleted[1].deleted && !deleted[1].created);
    // Leftovers are named as in the account, then as in the lab: deleting
    // `kb-lab-documents` by hand would delete the author's own bucket.
    let left = rig.proxy.outstanding();
    assert!(
        left.contains(&format!(
            "s3 bucket {PREFIX}{BUCKET} (`{BUCKET}` in the lab)"
        )),
        "{left:#?}"
    );
    assert!(
        !left
            .iter()
            .any(|l| l.starts_with(&format!("s3 bucket {BUCKET}")))
    );
    assert_eq!(
        rig.proxy.real_name(&format!("S3 bucket `{BUCKET}`")),
        format!("S3 bucket `{PREFIX}{BUCKET}` (`{BUCKET}` in the lab)")
    );
}

fn cli_upload_and_create_role(which: ClientId) {
    let rig = rig(author());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.md"), TEXT).expect("write");
    std::fs::write(dir.path().join("trust.json"), TRUST).expect("write");
    let run = |args: &[&str]| {
        let out = client(which, args, &rig.proxy, dir.path());
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "aws {args:?}: {stdout}\n{stderr}");
        stdout
    };
    let mb = run(&["s3", "mb", "s3://kb-lab-documents"]);
    assert_eq!(mb.trim(), "make_bucket: kb-lab-documents");
    let cp = run(&["s3", "cp", "a.md", "s3://kb-lab-documents/docs/b.md"]);
    assert!(
        cp.contains("upload: ./a.md to s3://kb-lab-documents/docs/b.md"),
        "{cp}"
    );
    let ls = run(&["s3", "ls", "s3://kb-lab-documents/docs/"]);
    assert!(ls.contains(" b.md"), "{ls}");
    let role = run(&[
        "iam",
        "create-role",
        "--role-name",
        ROLE,
        "--assume-role-policy-document",
        "file://trust.json",
        "--query",
        "Role.Arn",
        "--output",
        "text",
    ]);
    assert_eq!(
        role.trim(),
        format!("arn:aws:iam::{ACCOUNT_ID}:role/{ROLE}")
    );
    for out in [&mb, &cp, &ls, &role] {
        assert!(!out.contains(PREFIX), "{out}");
    }
    assert_landed(&rig, "docs/b.md");
    assert_verified(&rig, 4);
    assert_ledger(&rig, "docs/b.md");
}

#[test]
fn aws_cli_v2_upload_and_create_role_are_re_signed_and_prefixed() {
    cli_upload_and_create_role(ClientId::AwsCliV2);
}

#[test]
fn aws_cli_v1_upload_and_create_role_are_re_signed_and_prefixed() {
    cli_upload_and_create_role(ClientId::AwsCliV1);
}

/// botocore's `aws-chunked` upload with a trailing checksum (what it sends
/// over HTTPS), sent to the pass-through as captured: re-sent as plain bytes
/// with the checksum as a header, verified, and stored as sent.
#[test]
fn an_aws_chunked_upload_with_a_trailer_checksum_lands_as_plain_bytes() {
    let rig = rig(author());
    let proxy = addr(&rig.proxy.url());
    let mb = Call {
        service: "s3",
        method: "PUT",
        path: "/kb-lab-documents",
        headers: &[],
        body: b"",
    };
    assert_eq!(send(proxy, "us-east-1", &mb).expect("answer").status, 200);
    let chunked = std::fs::read(
        common::repo().join("tests/fixtures/record-setup/botocore-1.43.11-put-object.aws-chunked"),
    )
    .expect("fixture");
    let put = Call {
        service: "s3",
        method: "PUT",
        path: "/kb-lab-documents/docs/a.md",
        headers: &[
            ("Content-Encoding", "aws-chunked"),
            ("X-Amz-Trailer", "x-amz-checksum-crc32"),
            ("X-Amz-Decoded-Content-Length", "55"),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
            ("X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ],
        body: &chunked,
    };
    let answer = send(proxy, "us-east-1", &put).expect("answer");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(rig.upstream.rejected(), Vec::<(u16, String)>::new());
    let object = moto_call(
        &rig.moto,
        "s3",
        "GET",
        &format!("/{PREFIX}{BUCKET}/docs/a.md"),
        b"",
    );
    assert_eq!(object.body, TEXT);
    // A broken chunk is refused by the pass-through, never forwarded.
    let broken = Call {
        body: b"zz\r\nab\r\n0\r\n\r\n",
        ..put
    };
    let refused = send(proxy, "us-east-1", &broken).expect("answer");
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .body
            .contains("malformed aws-chunked body at byte 0"),
        "{}",
        refused.body
    );
}

#[test]
fn a_wrong_author_secret_gets_the_upstreams_403_back_to_the_client() {
    let wrong = Credentials::new(
        author().access_key_id(),
        "notTheSecretTheUpstreamKnows000000000000",
        None,
        None,
        "test",
    );
    let rig = rig(wrong);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = "import boto3\nboto3.client('iam').create_role(RoleName='KbLabBedrockRole', AssumeRolePolicyDocument='{}')";
    let out = client(ClientId::Boto3, &["-c", script], &rig.proxy, dir.path());
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "An error occurred (SignatureDoesNotMatch) when calling the CreateRole operation"
        ),
        "{stderr}"
    );
    let rejected = rig.upstream.rejected();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].0, 403);
    assert!(rig.upstream.verified().is_empty());
    assert!(rig.proxy.ledger().is_empty());
}

/// A raw request without any signature: the answer's status line and body.
fn unsigned(proxy: SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let mut tcp = std::net::TcpStream::connect(proxy).expect("connect");
    tcp.write_all(b"GET /kb-lab-documents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn bedrock_and_unsigned_requests_are_refused_with_a_reason() {
    let rig = rig(author());
    let proxy = addr(&rig.proxy.url());
    assert_eq!(proxy, rig.proxy.addr());
    let bedrock = Call {
        service: "bedrock",
        method: "POST",
        path: "/model/m/converse",
        headers: &[("Content-Type", "application/json")],
        body: b"{}",
    };
    let answer = send(proxy, "us-east-1", &bedrock).expect("answer");
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .body
            .contains("signing name `bedrock` belongs to the Bedrock proxy"),
        "{}",
        answer.body
    );
    let answer = unsigned(proxy);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("<Code>MissingAuthenticationToken</Code>"),
        "{answer}"
    );
    assert!(rig.upstream.verified().is_empty() && rig.upstream.rejected().is_empty());
}

const GUARDED: &str = r#"
import boto3, botocore
def attempt(name, call):
    try:
        call()
        print(name, "ok")
    except botocore.exceptions.ClientError as e:
        print(name, e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"], e.response["Error"]["Message"])
sts = boto3.client("sts")
attempt("sqs", lambda: boto3.client("sqs").list_queues())
attempt("assume", lambda: sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="session"))
attempt("session", lambda: sts.get_session_token())
attempt("federation", lambda: sts.get_federation_token(Name="federated"))
attempt("key", lambda: boto3.client("iam").create_access_key(UserName="u"))
attempt("login", lambda: boto3.client("iam").create_login_profile(UserName="u", Password="p"))
attempt("secret", lambda: boto3.client("secretsmanager").get_secret_value(SecretId="s"))
attempt("caller", lambda: sts.get_caller_identity())
"#;

#[test]
fn services_the_lab_does_not_list_and_credential_minting_calls_are_refused() {
    let rig = rig(author());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = client(ClientId::Boto3, &["-c", GUARDED], &rig.proxy, dir.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = |name: &str| -> String {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    let sqs = line("sqs");
    assert!(sqs.starts_with("sqs 403 AccessDenied"), "{stdout}");
    assert!(
        sqs.contains("`sqs`") && sqs.contains("`[lab] services`"),
        "{stdout}"
    );
    for (name, op) in [
        ("assume", "sts AssumeRole"),
        ("session", "sts GetSessionToken"),
        ("federation", "sts GetFederationToken"),
        ("key", "iam CreateAccessKey"),
        ("login", "iam CreateLoginProfile"),
        ("secret", "secretsmanager GetSecretValue"),
    ] {
        let l = line(name);
        assert!(
            l.starts_with(&format!("{name} 403 AccessDenied")),
            "{stdout}"
        );
        assert!(
            l.contains(&format!(
                "labcheck does not forward {op} in record and live modes"
            )),
            "{stdout}"
        );
    }
    assert_eq!(line("caller"), "caller ok", "{stdout}");
    assert_eq!(
        rig.upstream.verified(),
        ["sts POST /"],
        "only the allowed call went up"
    );
    assert!(rig.upstream.rejected().is_empty());
}

#[test]
fn the_steps_setup_calls_stop_at_the_runs_budget_and_labcheck_own_calls_do_not_count() {
    let rig = rig_with_budget(author(), 2);
    // labcheck's own calls (seed, state, cleanup) are not metered.
    for _ in 0..3 {
        assert!(moto_list_buckets_through(&rig.proxy).ok());
    }
    rig.proxy.meter(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let script = r#"
import boto3, botocore
s3 = boto3.client("s3")
for i in range(3):
    try:
        s3.list_buckets()
        print(i, "ok")
    except botocore.exceptions.ClientError as e:
        print(i, e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"])
"#;
    let out = client(ClientId::Boto3, &["-c", script], &rig.proxy, dir.path());
    let (stdout, stderr) = text(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.get(..2),
        Some(&["0 ok", "1 ok"][..]),
        "{stdout}\n{stderr}"
    );
    let third = lines.get(2).copied().unwrap_or_default();
    assert!(
        third.starts_with("2 403") && third.contains("LABCHECK_MAX_SETUP_CALLS=2"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(
        rig.upstream.verified().len(),
        5,
        "three of labcheck's calls and two of the step's went up"
    );
    rig.proxy.meter(false);
    assert!(
        moto_list_buckets_through(&rig.proxy).ok(),
        "the cleanup still goes through"
    );
}

/// ListBuckets through the pass-through as labcheck's own calls send it.
fn moto_list_buckets_through(proxy: &SetupProxy) -> Response {
    let call = Call {
        service: "s3",
        method: "GET",
        path: "/",
        headers: &[],
        body: &[],
    };
    send(proxy.addr(), "us-east-1", &call).expect("answer")
}

/// A raw request: the answer's status line, headers and body.
fn raw(proxy: SocketAddr, head: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut tcp = std::net::TcpStream::connect(proxy).expect("connect");
    tcp.write_all(head.as_bytes()).expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn a_credential_scope_that_is_not_a_service_and_region_never_reaches_a_host() {
    let rig = rig(author());
    let proxy = rig.proxy.addr();
    for credential in [
        "AKIDEXAMPLE/20260101/evil.example#/s3/aws4_request",
        "AKIDEXAMPLE/20260101/us-east-1/s3#/aws4_request",
        "AKIDEXAMPLE/20260101/us-east-1/evil.example%2F/aws4_request",
    ] {
        let answer = raw(
            proxy,
            &format!(
                "GET /kb-lab-documents HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=00\r\nConnection: close\r\n\r\n"
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.contains("of the credential scope is not a"),
            "{answer}"
        );
    }
    assert!(rig.upstream.verified().is_empty() && rig.upstream.rejected().is_empty());
}

#[test]
fn the_authors_key_id_in_an_upstream_error_never_reaches_the_client() {
    let wrong = Credentials::new(
        author().access_key_id(),
        "notTheSecretTheUpstreamKnows000000000000",
        None,
        None,
        "test",
    );
    let rig = rig(wrong);
    let list = Call {
        service: "s3",
        method: "GET",
        path: "/kb-lab-documents",
        headers: &[],
        body: b"",
    };
    let answer = send(rig.proxy.addr(), "us-east-1", &list).expect("answer");
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("<Code>SignatureDoesNotMatch</Code>"),
        "{}",
        answer.body
    );
    // The upstream quoted the key id it was signed with, as S3 does.
    assert!(
        answer
            .body
            .contains(&format!("<AWSAccessKeyId>{ACCESS_KEY}</AWSAccessKeyId>")),
        "{}",
        answer.body
    );
    assert!(
        !answer.body.contains(author().access_key_id()),
        "{}",
        answer.body
    );
    assert_eq!(rig.upstream.rejected().len(), 1);
}

const PRESIGNED_PUT: &str = r#"
import boto3, urllib.request
from botocore.config import Config
s3 = boto3.client("s3")
s3.create_bucket(Bucket="kb-lab-documents")
v4 = boto3.client("s3", config=Config(signature_version="s3v4"))
for name, c in [("v2", s3), ("v4", v4)]:
    url = c.generate_presigned_url("put_object", Params={"Bucket": "kb-lab-documents", "Key": f"docs/{name}.md"})
    # urllib's default form content type would have moto parse the body away.
    put = urllib.request.Request(url, data=BODY.encode(), method="PUT", headers={"Content-Type": "text/markdown"})
    print(name, urllib.request.urlopen(put).status)
s3.copy_object(Bucket="kb-lab-documents", Key="docs/copy.md", CopySource={"Bucket": "kb-lab-documents", "Key": "docs/v4.md"})
print("copied", repr(s3.get_object(Bucket="kb-lab-documents", Key="docs/copy.md")["Body"].read().decode()))
"#;

/// Object data naming a declared resource, uploaded through presigned URLs
/// (SigV2 and SigV4) and copied with `x-amz-copy-source`: stored byte for
/// byte under the prefixed bucket.
#[test]
fn presigned_puts_land_byte_identical_and_copies_find_their_prefixed_source() {
    let rig = rig(author());
    let dir = tempfile::tempdir().expect("tempdir");
    let body = "See kb-lab-documents and KbLabBedrockRole.\n";
    let script = format!("BODY = {body:?}\n{PRESIGNED_PUT}");
    let out = client(ClientId::Boto3, &["-c", &script], &rig.proxy, dir.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("v2 200\nv4 200\n"), "{stdout}");
    for key in ["docs/v2.md", "docs/v4.md", "docs/copy.md"] {
        let object = moto_call(
            &rig.moto,
            "s3",
            "GET",
            &format!("/{PREFIX}{BUCKET}/{key}"),
            b"",
        );
        assert_eq!(object.status, 200, "{key}: {}", object.body);
        assert_eq!(object.body, body, "{key}");
    }
    assert!(
        stdout.contains(&format!("copied {body:?}").replace('"', "'")),
        "{stdout}"
    );
    assert_eq!(rig.upstream.rejected(), Vec::<(u16, String)>::new());
}
