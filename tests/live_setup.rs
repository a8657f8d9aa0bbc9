//! A lab with setup services (lab 5.1: S3, IAM, STS, then Bedrock) in record
//! and live modes against local upstreams that verify SigV4: Bedrock calls go through
//! the recording or metering proxy to a `VerifyingUpstream`, setup calls through each
//! trial's re-signing pass-through to a `SetupUpstream` whose answers come
//! from one moto server, the stand-in for the author's account. Each trial
//! seeds the account, its `state` expectations are read through the
//! pass-through, and what it made is deleted after it; what the lab does not
//! declare is reported as left behind.

mod common;

use std::path::Path;

use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::mode::Mode;
use labcheck::record::verify::VerifyingUpstream;
use labcheck::record::verify_setup::SetupUpstream;
use labcheck::record::{CredentialSource, Credentials, ProxySettings};
use labcheck::report::{ResultsDir, Status};
use labcheck::runner::RunConfig;
use labcheck::setup::MotoServer;
use labcheck::setup::http::{Call, send};

const LAB: &str = "labs/5.1-knowledge-base-setup";

fn author() -> Credentials {
    Credentials::new(
        "AKIATESTLIVESETUP00",
        "testSecretKeyForTheLiveSetupUpstream0000",
        None,
        None,
        "test",
    )
}

/// The author's "account" (moto behind a SigV4-verifying upstream) and a
/// Bedrock upstream answering from the lab's cassettes.
struct Account {
    moto: MotoServer,
    setup: SetupUpstream,
    bedrock: VerifyingUpstream,
}

fn account(lab: &Path) -> Account {
    let install = common::clients()
        .ensure_moto(&StderrProgress)
        .expect("moto provisioned");
    let moto = MotoServer::start(&install).expect("moto");
    let setup = SetupUpstream::start_blocking(author(), moto.endpoint()).expect("setup upstream");
    let set = CassetteSet::load_dir(lab.join("cassettes")).expect("cassettes");
    let bedrock =
        VerifyingUpstream::start_blocking(set, author(), "us-east-1", 0.0).expect("upstream");
    Account {
        moto,
        setup,
        bedrock,
    }
}

fn proxied_config(mode: Mode, lab: &Path, results: &Path, account: &Account) -> RunConfig {
    let mut config = common::config(lab, results);
    config.mode = mode;
    config.proxy = ProxySettings {
        upstream: Some(account.bedrock.url()),
        setup_upstream: Some(account.setup.url()),
        credentials: CredentialSource::Static(author()),
        ..ProxySettings::default()
    };
    config
}

/// The bucket names and role names in the account, read from moto directly.
fn account_contents(moto: &MotoServer) -> (Vec<String>, Vec<String>) {
    let buckets = send(
        moto.addr(),
        "us-east-1",
        &Call {
            service: "s3",
            method: "GET",
            path: "/",
            headers: &[],
            body: &[],
        },
    )
    .expect("ListBuckets");
    let roles = send(
        moto.addr(),
        "us-east-1",
        &Call {
            service: "iam",
            method: "POST",
            path: "/",
            headers: &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body: b"Action=ListRoles&Version=2010-05-08",
        },
    )
    .expect("ListRoles");
    let names = |xml: &str, tag: &str| -> Vec<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        xml.split(open.as_str())
            .skip(1)
            .filter_map(|rest| rest.split(close.as_str()).next())
            .map(str::to_string)
            .collect()
    };
    (names(&buckets.body, "Name"), names(&roles.body, "RoleName"))
}

#[test]
fn a_recording_run_re_signs_setup_calls_checks_state_through_them_and_deletes_what_it_made() {
    let (_tmp, lab) = lab_copy();
    let account = account(&lab);
    let results = tempfile::tempdir().expect("results");
    // Record mode (`once`): the Bedrock calls replay the lab's cassettes; the
    // setup calls always go to the account.
    let config = proxied_config(Mode::Record, &lab, results.path(), &account);
    let outcomes = common::run(&config, "");
    assert!(outcomes.len() >= 8, "{} trials", outcomes.len());
    for o in &outcomes {
        assert_eq!(
            o.status,
            Status::Passed,
            "{}: {}",
            o.trial,
            common::failures(o)
        );
    }
    assert!(
        account.setup.rejected().is_empty(),
        "every setup call re-signed correctly: {:?}",
        account.setup.rejected()
    );
    assert!(account.bedrock.rejected().is_empty());
    let verified = account.setup.verified();
    assert!(
        verified
            .iter()
            .any(|r| r.contains("/lc-") && r.contains("-kb-lab-documents")),
        "the bucket reached the account under a run prefix: {verified:#?}"
    );
    let (buckets, roles) = account_contents(&account.moto);
    assert!(
        buckets.is_empty() && roles.is_empty(),
        "the cleanup deleted every trial's bucket, seed bucket and role: {buckets:?} {roles:?}"
    );
    let left = ResultsDir::new(results.path(), &config.run_id)
        .read_leftovers()
        .expect("leftovers readable");
    assert!(left.is_empty(), "{left:#?}");
}

#[test]
fn a_failing_trial_is_cleaned_up_too_and_the_undeclared_is_reported_left_behind() {
    let (_tmp, lab) = lab_copy();
    let toml = std::fs::read_to_string(lab.join("lab.toml")).expect("lab.toml");
    let declared = "resources = [\n    { service = \"s3\", bucket = \"kb-lab-documents\" },\n    { service = \"iam\", role = \"KbLabBedrockRole\" },\n]\n";
    assert!(toml.contains(declared), "lab 5.1 declares its resources");
    // The CLI upload step is also asked for an object it never uploads: the
    // state read through the pass-through must miss it.
    let uploaded = "    { service = \"s3\", bucket = \"kb-lab-documents\", key = \"docs/shipping.md\" },\n]\n\n[[step]]\nid = \"python-upload\"";
    assert!(toml.contains(uploaded));
    let edited = toml.replace(declared, "").replacen(
        uploaded,
        &uploaded.replacen(
            "]\n",
            "    { service = \"s3\", bucket = \"kb-lab-documents\", key = \"docs/faq.md\" },\n]\n",
            1,
        ),
        1,
    );
    std::fs::write(lab.join("lab.toml"), edited).expect("write");
    let account = account(&lab);
    let results = tempfile::tempdir().expect("results");
    let config = proxied_config(Mode::Live, &lab, results.path(), &account);
    let outcomes = common::run(&config, "cli-upload::aws-cli-v2");
    assert_eq!(outcomes.len(), 1);
    let failures = common::failures(&outcomes[0]);
    assert_eq!(outcomes[0].status, Status::Failed, "{failures}");
    assert!(
        failures.contains("s3://kb-lab-documents/docs/faq.md"),
        "only the missing object fails, named as the student wrote it: {failures}"
    );
    assert_eq!(failures.matches("is missing").count(), 1, "{failures}");
    let (buckets, _) = account_contents(&account.moto);
    assert_eq!(
        buckets,
        ["kb-lab-documents"],
        "undeclared, so neither prefixed nor deleted; the seed's bucket is gone"
    );
    let left = ResultsDir::new(results.path(), &config.run_id)
        .read_leftovers()
        .expect("leftovers readable");
    let resources: Vec<&str> = left.iter().map(|l| l.resource.as_str()).collect();
    assert!(
        resources.contains(&"s3 bucket kb-lab-documents"),
        "{resources:?}"
    );
    assert!(
        resources
            .iter()
            .any(|r| r.starts_with("s3 object kb-lab-documents/")),
        "{resources:?}"
    );
    assert!(
        left.iter()
            .all(|l| l.trial.ends_with("cli-upload::aws-cli-v2"))
    );
    assert!(
        left.iter().all(|l| l.reason.contains("[lab] resources")),
        "{left:#?}"
    );
}

#[test]
fn a_step_that_cannot_start_still_has_its_seed_deleted() {
    let (_tmp, lab) = lab_copy();
    let toml = std::fs::read_to_string(lab.join("lab.toml")).expect("lab.toml");
    let program = "program = { section = \"Step 1: Create the document bucket and upload the documents\", index = 0 }";
    assert!(toml.contains(program));
    // A script the (empty) workspace does not hold: the step never starts,
    // after the seed has made its bucket in the account.
    let edited = toml.replacen(program, "program = { workspace = \"upload.sh\" }", 1);
    std::fs::write(lab.join("lab.toml"), edited).expect("write");
    let account = account(&lab);
    let results = tempfile::tempdir().expect("results");
    let config = proxied_config(Mode::Live, &lab, results.path(), &account);
    let outcomes = common::run(&config, "cli-upload::aws-cli-v1");
    assert_eq!(outcomes.len(), 1);
    let failures = common::failures(&outcomes[0]);
    assert!(failures.contains("could not run the step"), "{failures}");
    assert!(
        account
            .setup
            .verified()
            .iter()
            .any(|r| r.contains("-kb-lab-course-corpus")),
        "the seed reached the account"
    );
    let (buckets, roles) = account_contents(&account.moto);
    assert!(
        buckets.is_empty() && roles.is_empty(),
        "{buckets:?} {roles:?}"
    );
}

fn lab_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join("5.1-knowledge-base-setup");
    common::copy_dir(&common::repo().join(LAB), &lab);
    (tmp, lab)
}
