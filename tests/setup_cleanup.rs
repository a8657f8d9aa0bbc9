//! The cleanup of `[lab] resources` (record and live modes), run against a
//! real moto from the fork server: a versioned bucket with objects, a role
//! with an inline policy, an attached managed policy and an instance
//! profile, the managed policy itself and a DynamoDB table are all deleted;
//! a second cleanup finds every one of them absent.

mod common;

use labcheck::clients::StderrProgress;
use labcheck::setup::MotoServer;
use labcheck::setup::cleanup::{CleanupReport, cleanup};
use labcheck::setup::http::{Call, Response, form, send};
use labcheck::setup::state;
use labcheck::spec::lab::{Resource, StateExpect};

const REGION: &str = "us-east-1";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"bedrock.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

fn call(server: &MotoServer, c: &Call<'_>) -> Response {
    let r = send(server.addr(), REGION, c).expect("moto answers");
    assert!(r.ok(), "{} {}: {} {}", c.method, c.path, r.status, r.body);
    r
}

fn s3(server: &MotoServer, method: &str, path: &str, body: &[u8]) -> Response {
    call(
        server,
        &Call {
            service: "s3",
            method,
            path,
            headers: &[],
            body,
        },
    )
}

fn iam(server: &MotoServer, params: &[(&str, &str)]) -> Response {
    let mut all = params.to_vec();
    all.push(("Version", "2010-05-08"));
    let body = form(&all);
    call(
        server,
        &Call {
            service: "iam",
            method: "POST",
            path: "/",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: body.as_bytes(),
        },
    )
}

/// What a lab's steps would have left: everything the cleanup must undo.
fn create_everything(server: &MotoServer) {
    s3(server, "PUT", "/kb-lab-documents", b"");
    s3(
        server,
        "PUT",
        "/kb-lab-documents?versioning",
        b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
    );
    for key in ["docs/returns-policy.md", "docs/shipping.md", "a%20b%26c.md"] {
        s3(server, "PUT", &format!("/kb-lab-documents/{key}"), b"v1");
    }
    // A second version of one object.
    s3(server, "PUT", "/kb-lab-documents/docs/shipping.md", b"v2");
    s3(server, "PUT", "/kb-lab-scratch", b"");
    s3(server, "PUT", "/kb-lab-scratch/notes.txt", b"x");

    iam(
        server,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "KbLabBedrockRole"),
            ("AssumeRolePolicyDocument", TRUST),
        ],
    );
    iam(
        server,
        &[
            ("Action", "PutRolePolicy"),
            ("RoleName", "KbLabBedrockRole"),
            ("PolicyName", "KbLabS3Read"),
            ("PolicyDocument", POLICY),
        ],
    );
    iam(
        server,
        &[
            ("Action", "CreatePolicy"),
            ("PolicyName", "KbLabManaged"),
            ("PolicyDocument", POLICY),
        ],
    );
    let arn = format!(
        "arn:aws:iam::{}:policy/KbLabManaged",
        labcheck::setup::ACCOUNT_ID
    );
    iam(
        server,
        &[
            ("Action", "CreatePolicyVersion"),
            ("PolicyArn", &arn),
            ("PolicyDocument", POLICY),
            ("SetAsDefault", "true"),
        ],
    );
    iam(
        server,
        &[
            ("Action", "AttachRolePolicy"),
            ("RoleName", "KbLabBedrockRole"),
            ("PolicyArn", &arn),
        ],
    );
    iam(
        server,
        &[
            ("Action", "CreateInstanceProfile"),
            ("InstanceProfileName", "KbLabProfile"),
        ],
    );
    iam(
        server,
        &[
            ("Action", "AddRoleToInstanceProfile"),
            ("InstanceProfileName", "KbLabProfile"),
            ("RoleName", "KbLabBedrockRole"),
        ],
    );

    let table = serde_json::json!({
        "TableName": "chat-history",
        "KeySchema": [{ "AttributeName": "id", "KeyType": "HASH" }],
        "AttributeDefinitions": [{ "AttributeName": "id", "AttributeType": "S" }],
        "BillingMode": "PAY_PER_REQUEST",
    })
    .to_string();
    call(
        server,
        &Call {
            service: "dynamodb",
            method: "POST",
            path: "/",
            headers: &[
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "DynamoDB_20120810.CreateTable"),
            ],
            body: table.as_bytes(),
        },
    );
}

fn declared() -> Vec<Resource> {
    vec![
        // The policy first: the cleanup still deletes the role before it.
        Resource::Policy {
            policy: "KbLabManaged".into(),
        },
        Resource::Bucket {
            bucket: "kb-lab-documents".into(),
        },
        Resource::Role {
            role: "KbLabBedrockRole".into(),
        },
        Resource::Bucket {
            bucket: "kb-lab-scratch".into(),
        },
        Resource::Table {
            table: "chat-history".into(),
        },
    ]
}

fn names(resources: &[Resource]) -> Vec<String> {
    let mut v: Vec<String> = resources.iter().map(ToString::to_string).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn cleanup_empties_moto_and_a_second_run_finds_everything_absent() {
    let install = common::clients()
        .ensure_moto(&StderrProgress)
        .expect("moto provisioned");
    let server = MotoServer::start(&install).expect("a server");
    create_everything(&server);
    let there = [
        StateExpect::Bucket {
            bucket: "kb-lab-documents".into(),
        },
        StateExpect::RolePolicy {
            role: "KbLabBedrockRole".into(),
            policy: "KbLabManaged".into(),
        },
        StateExpect::Table {
            table: "chat-history".into(),
        },
    ];
    assert_eq!(state::check(server.addr(), REGION, &there), []);

    let first = cleanup(&server.endpoint(), REGION, &declared());
    assert_eq!(first.failed, [], "{first:?}");
    assert_eq!(sorted(first.removed.clone()), names(&declared()));
    assert_eq!(first.absent, Vec::<String>::new());

    // Read back through the state checks: every one of them is gone.
    let gone = [
        StateExpect::Bucket {
            bucket: "kb-lab-documents".into(),
        },
        StateExpect::Bucket {
            bucket: "kb-lab-scratch".into(),
        },
        StateExpect::Role {
            role: "KbLabBedrockRole".into(),
        },
        StateExpect::Table {
            table: "chat-history".into(),
        },
    ];
    let missing = state::check(server.addr(), REGION, &gone);
    assert_eq!(missing.len(), gone.len(), "{missing:?}");
    assert!(
        missing[0].detail.contains("the account has no bucket"),
        "{missing:?}"
    );
    assert!(
        missing[2].detail.contains("the account has no role"),
        "{missing:?}"
    );
    let policies = iam(&server, &[("Action", "ListPolicies"), ("Scope", "Local")]);
    assert!(!policies.body.contains("KbLabManaged"), "{}", policies.body);
    let profile = iam(
        &server,
        &[
            ("Action", "GetInstanceProfile"),
            ("InstanceProfileName", "KbLabProfile"),
        ],
    );
    assert!(
        !profile.body.contains("KbLabBedrockRole"),
        "{}",
        profile.body
    );

    let second = cleanup(&server.endpoint(), REGION, &declared());
    assert_eq!(
        second,
        CleanupReport {
            removed: vec![],
            failed: vec![],
            absent: second.absent.clone(),
        }
    );
    assert_eq!(sorted(second.absent), names(&declared()));
}

#[test]
fn an_endpoint_that_does_not_answer_fails_each_resource_naming_why() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let r = cleanup(&format!("http://127.0.0.1:{port}"), REGION, &declared());
    assert_eq!(r.failed.len(), declared().len(), "{r:?}");
    assert!(
        r.failed
            .iter()
            .all(|(_, why)| why.contains("could not be asked")),
        "{r:?}"
    );
    assert!(r.removed.is_empty() && r.absent.is_empty());
}
