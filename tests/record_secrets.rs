//! Planted secrets: an access key, secret, session token and account id in
//! request headers, request and response bodies, stream payloads (base64 on
//! the wire, one value split across frames) and a percent-encoded ARN in the
//! path appear nowhere under the cassette dir after recording; and an answer
//! that echoes the caller's credentials into a failing step's output appears
//! nowhere in what `labcheck record` and `labcheck report` write or print.

mod common;

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::ResponseStream;
use std::process::{Command, Output};

use common::repo;
use labcheck::cassette::CassetteSet;
use labcheck::record::verify::VerifyingUpstream;
use labcheck::record::{
    CredentialSource, Credentials, ProxyRole, ProxySettings, ProxyTarget, RecordMode,
    RecordingProxy,
};

const ACCESS: &str = "AKIAPLANTED0EXAMPLE1";
const SECRET: &str = "pLaNtEdSeCrEt/0123456789+abcdefghijKLMNO";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEPLANTEDsessionTOKEN0123456789abcdefXYZ==";
const ACCOUNT: &str = "987654321098";
const EXTRA: &str = "PLANTED-EXTRA-42";

fn planted() -> String {
    format!(
        "key {ACCESS} secret {SECRET} token {TOKEN} account {ACCOUNT} in {} and {EXTRA}",
        arn()
    )
}

fn arn() -> String {
    format!("arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.anthropic.claude-sonnet-4-6")
}

fn body(prefix: &str) -> Blob {
    Blob::new(
        serde_json::json!({
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": format!("{prefix}{}", planted())}]
        })
        .to_string(),
    )
}

/// Every file under `dir`, concatenated.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else {
            out.extend(std::fs::read(&p).expect("read"));
        }
    }
    out
}

#[test]
fn planted_secrets_are_nowhere_under_the_cassette_dir() {
    let creds = Credentials::new(ACCESS, SECRET, Some(TOKEN.into()), None, "planted");
    let set = CassetteSet::load_dir(repo().join("tests/fixtures/record/planted")).expect("fixture");
    let up = VerifyingUpstream::start_blocking(set, creds.clone(), "us-east-1", 0.0).expect("up");
    let dir = tempfile::tempdir().expect("dir");
    let target = ProxyTarget {
        lab: "planted".into(),
        region: "us-east-1".into(),
        cassettes: dir.path().to_path_buf(),
        extra_patterns: vec!["PLANTED-EXTRA-[0-9]+".into()],
        max_age: None,
    };
    let settings = ProxySettings {
        upstream: Some(up.url()),
        record_mode: RecordMode::Once,
        credentials: CredentialSource::Static(creds.clone()),
        ..ProxySettings::default()
    };
    let proxy = RecordingProxy::start_blocking(
        ProxyRole::Record(RecordMode::Once),
        &target,
        CassetteSet::default(),
        1.0,
        &settings,
    )
    .expect("proxy");
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .endpoint_url(proxy.endpoint())
        .credentials_provider(creds)
        .build();
    let client = aws_sdk_bedrockruntime::Client::from_conf(conf);
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let hello = || {
        Blob::new(
            r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}"#,
        )
    };
    let (text, streamed) = rt.block_on(async {
        let out = client
            .invoke_model()
            .model_id(arn())
            .content_type("application/json")
            .body(body("repeat: "))
            .customize()
            .mutate_request(|r| {
                r.headers_mut()
                    .insert("x-amzn-bedrock-planted", planted().replace(' ', "_"));
            })
            .send()
            .await
            .expect("invoke through the proxy");
        let text = String::from_utf8_lossy(out.body().as_ref()).into_owned();
        let mut stream = client
            .invoke_model_with_response_stream()
            .model_id(arn())
            .content_type("application/json")
            .body(body("stream: "))
            .send()
            .await
            .expect("stream through the proxy");
        let mut streamed = String::new();
        while let Some(ev) = stream.body.recv().await.expect("event") {
            if let ResponseStream::Chunk(c) = ev {
                streamed.push_str(&String::from_utf8_lossy(
                    c.bytes().map(|b| b.as_ref()).unwrap_or_default(),
                ));
            }
        }
        client
            .invoke_model()
            .model_id(arn())
            .body(hello())
            .send()
            .await
            .expect("plain invoke through the proxy");
        (text, streamed)
    });
    let errors = proxy.shutdown();
    assert!(errors.is_empty(), "{errors:?}");
    // The client got the real answer, secrets and all: only disk is scrubbed.
    assert!(text.contains(ACCESS) && text.contains(SECRET), "{text}");
    assert!(streamed.contains(&ACCESS[..9]), "{streamed}");
    assert_eq!(up.verified(), 3, "{:?}", up.rejected());

    let recorded = CassetteSet::load_dir(dir.path()).expect("recordings load");
    assert_eq!(recorded.len(), 3);
    let bytes = all_bytes(dir.path());
    let text = String::from_utf8_lossy(&bytes);
    for secret in [ACCESS, SECRET, TOKEN, ACCOUNT, EXTRA] {
        // Not the value, not its base64, and no 8-character piece of it
        // (a value split across frames leaves pieces if scrubbed per frame).
        let b64 = aws_smithy_types::base64::encode(secret);
        assert!(!text.contains(&b64), "base64 of {secret} on disk");
        for i in 0..=secret.len() - 8 {
            let piece = &secret[i..i + 8];
            assert!(
                !text.contains(piece),
                "`{piece}` of {secret} on disk:\n{text}"
            );
        }
    }
    let percent = "arn%3Aaws%3Abedrock%3Aus-east-1%3A987654321098";
    assert!(!text.contains(percent));
    assert!(
        text.contains("arn:aws:bedrock:us-east-1:000000000000:inference-profile/"),
        "the model id keeps its shape: {text}"
    );
}

#[test]
fn replay_matches_a_scrubbed_arn_recording_with_the_real_account_in_the_path() {
    let creds = Credentials::new(ACCESS, SECRET, Some(TOKEN.into()), None, "planted");
    // What a recording of `invoke-arn-only` holds: the account id scrubbed.
    let fixture =
        std::fs::read_to_string(repo().join("tests/fixtures/record/planted/planted.json"))
            .expect("fixture")
            .replace(ACCOUNT, "000000000000");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("scrubbed.json"), fixture).expect("write");
    let set = CassetteSet::load_dir(dir.path()).expect("loads");
    let server =
        labcheck::replay::ReplayServer::start_blocking(set, Default::default()).expect("replay");
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_bedrockruntime::config::Region::new("us-east-1"))
        .endpoint_url(server.endpoint())
        .credentials_provider(creds)
        .build();
    let client = aws_sdk_bedrockruntime::Client::from_conf(conf);
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let out = rt
        .block_on(
            client
                .invoke_model()
                .model_id(arn())
                .body(Blob::new(
                    r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}"#,
                ))
                .send(),
        )
        .expect("the real-account ARN matches the scrubbed recording");
    assert!(String::from_utf8_lossy(out.body().as_ref()).contains("Hi there."));
    assert!(
        server.served()[0].model_id.contains(ACCOUNT),
        "the log keeps what the client sent"
    );
}

/// The caller's credentials of [`an_echoed_answer_leaves_no_secret_in_results_reports_or_output`]:
/// the session token has no well-known prefix, so only the scrubber that
/// knows the credentials in use can find it.
const ECHO_ACCESS: &str = "AKIAECHOPLANTEXAMPLE";
const ECHO_SECRET: &str = "echoedPlantedSecret/0123456789+abcdefghij";
const ECHO_TOKEN: &str = "EchoedPlantedSessionToken0123456789abcdefghijklmnop";
const ECHO_ACCOUNT: &str = "123456789012";

fn labcheck(args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Output {
    let none = std::env::temp_dir().join("labcheck-no-aws-config");
    Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("AWS_PROFILE")
        .env_remove("LABCHECK_MODE")
        .env_remove("LABCHECK_RECORD")
        .env_remove("NEXTEST_RUN_ID")
        .env("AWS_CONFIG_FILE", &none)
        .env("AWS_SHARED_CREDENTIALS_FILE", &none)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("labcheck runs")
}

/// Every file under `dir` with its text.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            out.push((p, text));
        }
    }
    out
}

/// Where `secret` shows in `text`: the value, or any 8-character piece of it.
fn leaked(text: &str, secret: &str) -> Option<String> {
    (0..=secret.len() - 8)
        .map(|i| &secret[i..i + 8])
        .find(|piece| text.contains(piece))
        .map(|piece| format!("`{piece}` of {secret}"))
}

#[test]
fn an_echoed_answer_leaves_no_secret_in_results_reports_or_output() {
    let creds = Credentials::new(
        ECHO_ACCESS,
        ECHO_SECRET,
        Some(ECHO_TOKEN.into()),
        None,
        "planted",
    );
    // Like a real AccessDenied: the answer names the caller, account and role.
    let answer = format!(
        "User: arn:aws:iam::{ECHO_ACCOUNT}:role/x is not authorized (access key {ECHO_ACCESS}, session token {ECHO_TOKEN}, secret {ECHO_SECRET})"
    );
    let up = common::edited_seed_upstream(creds, "/content/0/text", &answer, 0.0);
    let (tmp, lab) = common::seed_copy();
    std::fs::remove_dir_all(lab.join("cassettes")).expect("clear cassettes");
    let results = tmp.path().join("results");
    let url = up.url();
    let env = [
        ("LABCHECK_UPSTREAM", url.as_str()),
        ("LABCHECK_RUN_ID", "echoed"),
        ("AWS_ACCESS_KEY_ID", ECHO_ACCESS),
        ("AWS_SECRET_ACCESS_KEY", ECHO_SECRET),
        ("AWS_SESSION_TOKEN", ECHO_TOKEN),
    ];
    // The InvokeModel steps (AWS CLI v1 and v2 into `output.json`, a boto3
    // script, the Rust SDK) print or save the answer, which then lacks the
    // text the lab expects: their failures quote it.
    let record = labcheck(
        &[
            "record".as_ref(),
            lab.as_os_str(),
            "--results-dir".as_ref(),
            results.as_os_str(),
            "--".as_ref(),
            "invoke::".as_ref(),
        ],
        &env,
    );
    let mut printed = vec![
        String::from_utf8_lossy(&record.stdout).into_owned(),
        String::from_utf8_lossy(&record.stderr).into_owned(),
    ];
    let failed = Some(i32::from(labcheck::exit_code::FAILED));
    assert_eq!(record.status.code(), failed, "{printed:#?}");
    assert!(up.rejected().is_empty(), "{:?}", up.rejected());
    for (format, file) in [
        ("text", "report.txt"),
        ("json", "report.json"),
        ("junit", "report.xml"),
        ("markdown", "report.md"),
    ] {
        let out = labcheck(
            &[
                "report".as_ref(),
                "--run-id".as_ref(),
                "echoed".as_ref(),
                "--results-dir".as_ref(),
                results.as_os_str(),
                "--format".as_ref(),
                format.as_ref(),
                "-o".as_ref(),
                tmp.path().join(file).as_os_str(),
                lab.as_os_str(),
            ],
            &[],
        );
        printed.push(String::from_utf8_lossy(&out.stdout).into_owned());
        printed.push(String::from_utf8_lossy(&out.stderr).into_owned());
        assert_eq!(out.status.code(), failed, "{format}: {printed:#?}");
    }
    // Everything on disk: the lab copy with its new cassettes, the outcome
    // files, the reports.
    let files = all_files(tmp.path());
    for secret in [ECHO_ACCESS, ECHO_SECRET, ECHO_TOKEN] {
        for (path, text) in &files {
            if let Some(piece) = leaked(text, secret) {
                panic!("{piece} in {}:\n{text}", path.display());
            }
        }
        for text in &printed {
            if let Some(piece) = leaked(text, secret) {
                panic!("{piece} printed:\n{text}");
            }
        }
    }
    for text in printed.iter().chain(files.iter().map(|(_, text)| text)) {
        assert!(!text.contains(ECHO_ACCOUNT), "account id leaked:\n{text}");
    }
    // ...and not because the answer never got there.
    let scrubbed = "arn:aws:iam::000000000000:role/x is not authorized";
    assert!(
        printed[0].contains(scrubbed),
        "the failure libtest prints quotes the answer: {printed:#?}"
    );
    let report = std::fs::read_to_string(tmp.path().join("report.json")).expect("json report");
    assert!(report.contains(scrubbed), "{report}");
    let outcomes = String::from_utf8_lossy(&all_bytes(&results.join("echoed"))).into_owned();
    assert!(outcomes.contains(scrubbed), "{outcomes}");
    let cassettes = String::from_utf8_lossy(&all_bytes(&lab.join("cassettes"))).into_owned();
    assert!(cassettes.contains(scrubbed), "{cassettes}");
}

#[test]
fn live_mode_outcomes_are_scrubbed_too() {
    let creds = Credentials::new(
        ECHO_ACCESS,
        ECHO_SECRET,
        Some(ECHO_TOKEN.into()),
        None,
        "planted",
    );
    let answer = format!(
        "arn:aws:iam::{ECHO_ACCOUNT}:role/x with {ECHO_ACCESS} and {ECHO_TOKEN} is not authorized"
    );
    let up = common::edited_seed_upstream(creds.clone(), "/content/0/text", &answer, 0.0);
    let (_tmp, lab) = common::seed_copy();
    let results = tempfile::tempdir().expect("results");
    let mut config = common::config(&lab, results.path());
    config.mode = labcheck::mode::Mode::Live;
    config.proxy = ProxySettings {
        upstream: Some(up.url()),
        credentials: CredentialSource::Static(creds),
        progress: false,
        ..ProxySettings::default()
    };
    let outcomes = common::run(&config, "::sdk-invoke::");
    let failures = common::failures(&outcomes[0]);
    assert!(
        failures.contains(&format!(
            "arn:aws:iam::000000000000:role/x with {} and REDACTED",
            labcheck::cassette::scrub::ACCESS_KEY
        )),
        "{failures}"
    );
    let disk = String::from_utf8_lossy(&all_bytes(results.path())).into_owned();
    for secret in [ECHO_ACCESS, ECHO_TOKEN, ECHO_ACCOUNT] {
        assert!(leaked(&disk, secret).is_none(), "{secret} on disk: {disk}");
    }
}
