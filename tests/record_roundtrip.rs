//! Record mode end to end against a local upstream that verifies SigV4:
//! bad signatures get 403, and recording the seed lab through the proxy
//! produces cassettes that replay serves to every client with the same output.

mod common;

use bytes::Bytes;
use common::{SEED, repo};
use http_body_util::{BodyExt, Full};
use labcheck::cassette::{CassetteSet, Source};
use labcheck::mode::Mode;
use labcheck::plan::TrialDef;
use labcheck::record::verify::VerifyingUpstream;
use labcheck::record::{CredentialSource, Credentials, ProxySettings, RecordMode, Upstream};
use labcheck::runner::{self, RunConfig};
use labcheck::steps::StepOutput;

fn creds() -> Credentials {
    Credentials::new(
        "AKIATESTRECORDER000",
        "testSecretKeyForTheVerifyingUpstream0000",
        None,
        None,
        "test",
    )
}

fn upstream() -> VerifyingUpstream {
    let set = CassetteSet::load_dir(repo().join(SEED).join("cassettes")).expect("seed cassettes");
    VerifyingUpstream::start_blocking(set, creds(), "us-east-1", 1.0).expect("upstream")
}

/// POSTs a request signed with `signer` to the upstream; `tamper` edits it after signing.
fn send(
    up: &VerifyingUpstream,
    signer: &Credentials,
    tamper: impl FnOnce(&mut http::Request<Full<Bytes>>),
) -> (u16, String) {
    let body = std::fs::read(repo().join("tests/fixtures/record/invoke-body.json")).expect("body");
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().expect("value"));
    let up_ = Upstream::new(Some(&up.url()), "us-east-1").expect("url");
    let mut req = labcheck::record::signed_request(
        &up_,
        "/model/us.anthropic.claude-sonnet-4-6/invoke",
        &headers,
        Bytes::from(body),
        signer,
        "us-east-1",
    )
    .expect("signed");
    tamper(&mut req);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let resp = client.request(req).await.expect("response");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

#[test]
fn the_upstream_rejects_a_wrong_secret_and_a_body_changed_after_signing() {
    let up = upstream();
    let (ok, body) = send(&up, &creds(), |_| {});
    assert_eq!(ok, 200, "{body}");
    assert!(body.contains("Amazon Bedrock is a fully managed"), "{body}");
    let wrong = Credentials::new(creds().access_key_id(), "notTheSecret", None, None, "test");
    let (status, body) = send(&up, &wrong, |_| {});
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("signature we calculated does not match"),
        "{body}"
    );
    let (status, body) = send(&up, &creds(), |r| {
        *r.body_mut() = Full::new(Bytes::from_static(b"{\"max_tokens\": 9999}"));
    });
    assert_eq!(status, 403, "{body}");
    assert_eq!(up.verified(), 1);
    assert_eq!(up.rejected().len(), 2, "{:?}", up.rejected());
}

fn settings(up: &VerifyingUpstream, mode: RecordMode) -> ProxySettings {
    ProxySettings {
        upstream: Some(up.url()),
        record_mode: mode,
        credentials: CredentialSource::Static(creds()),
        ..ProxySettings::default()
    }
}

/// The client's output and the failures of one trial.
fn run_step(def: &TrialDef, config: &RunConfig) -> (StepOutput, Vec<String>) {
    let run = runner::run_step(def, config).expect("step runs");
    let failures = run.failures.iter().map(|f| f.to_string()).collect();
    (run.output, failures)
}

fn run_all(config: &RunConfig) -> Vec<(String, StepOutput)> {
    let plan = config.plan();
    assert!(plan.broken.is_empty(), "{:?}", plan.broken);
    let mut out: Vec<(String, StepOutput)> = std::thread::scope(|s| {
        let handles: Vec<_> = plan
            .trials
            .iter()
            .map(|t| s.spawn(move || (t.name.clone(), run_step(t, config))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let (name, (output, failures)) = h.join().expect("trial");
                assert!(
                    failures.is_empty(),
                    "{name} ({:?}): {failures:#?}",
                    config.mode
                );
                (name, output)
            })
            .collect()
    });
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn recording_the_seed_lab_then_replaying_gives_every_client_the_same_output() {
    let up = upstream();
    let (_tmp, lab) = common::seed_copy();
    let cassettes = lab.join("cassettes");
    std::fs::remove_dir_all(&cassettes).expect("clear cassettes");
    let results = tempfile::tempdir().expect("results");
    let mut config = common::config(&lab, results.path());
    config.mode = Mode::Record;
    config.proxy = settings(&up, RecordMode::Once);
    // Every trial in parallel: they all record into one cassette dir.
    let recorded = run_all(&config);
    // Trials whose proxy starts after another trial wrote a cassette replay
    // that interaction locally (`once`), so not every trial reaches upstream;
    // what must hold is that nothing unsigned did, and (below) that every
    // recorded interaction came from a verified upstream request.
    assert!(up.rejected().is_empty(), "{:?}", up.rejected());

    let set = CassetteSet::load_dir(&cassettes).expect("recorded cassettes load");
    let names: Vec<&str> = set.files().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "converse-stream.json",
            "converse.json",
            "invoke-with-response-stream.json",
            "invoke.json"
        ]
    );
    for f in set.files() {
        assert_eq!(f.cassette.meta.source, Source::Proxied, "{}", f.name);
        assert_eq!(f.cassette.meta.upstream.as_deref(), Some(up.url().as_str()));
    }
    // One interaction per distinct request (the seed's current-model ones),
    // though parallel trials sent some twice (CLI v1 and v2 send one invoke).
    let seed = CassetteSet::load_dir(repo().join(SEED).join("cassettes")).expect("seed");
    let current = seed
        .files()
        .iter()
        .filter(|f| f.name != "original-model-eol.json")
        .map(|f| f.cassette.interactions.len())
        .sum::<usize>();
    assert_eq!(set.len(), current, "{names:?}");
    assert!(
        up.verified() >= set.len(),
        "every recorded interaction went upstream signed: {} verified for {} interactions",
        up.verified(),
        set.len()
    );
    let stream = set
        .interactions()
        .find_map(|(_, _, it)| it.response.stream.clone())
        .expect("a stream");
    assert!(
        stream.iter().skip(1).any(|e| e.delay_ms > 0),
        "real delays kept"
    );

    config.mode = Mode::Replay;
    let replayed = run_all(&config);
    assert_eq!(recorded.len(), replayed.len());
    for ((name, rec), (_, rep)) in recorded.iter().zip(&replayed) {
        assert_eq!(rec.stdout, rep.stdout, "{name}: stdout differs");
        assert_eq!(rec.exit_code, rep.exit_code, "{name}");
        assert_eq!(rec.stop_reason, rep.stop_reason, "{name}");
        assert_eq!(rec.events, rep.events, "{name}");
    }
    let clients: std::collections::BTreeSet<&str> = recorded
        .iter()
        .filter_map(|(n, _)| n.rsplit("::").next())
        .collect();
    assert_eq!(
        clients.into_iter().collect::<Vec<_>>(),
        ["aws-cli-v1", "aws-cli-v2", "boto3", "rust-sdk"]
    );
}
