//! Record mode for the other Bedrock services: the services fixture lab
//! (bedrock GetInferenceProfile with AWS CLI v1/v2 and boto3,
//! bedrock-agent-runtime Retrieve and the InvokeAgent and
//! RetrieveAndGenerateStream event streams with boto3) recorded through the re-signing proxy against a local upstream
//! that verifies SigV4 for any method and path, then replayed: the same
//! output for every client.

mod common;

use common::repo;
use labcheck::cassette::{CassetteSet, Source};
use labcheck::ids::{Operation, Service};
use labcheck::mode::Mode;
use labcheck::plan::TrialDef;
use labcheck::record::verify::VerifyingUpstream;
use labcheck::record::{CredentialSource, Credentials, ProxySettings, RecordMode};
use labcheck::runner::{self, RunConfig};
use labcheck::steps::StepOutput;

const LAB: &str = "tests/fixtures/services/services-lab";

fn creds() -> Credentials {
    Credentials::new(
        "AKIATESTRECORDER000",
        "testSecretKeyForTheVerifyingUpstream0000",
        None,
        None,
        "test",
    )
}

fn run_all(config: &RunConfig) -> Vec<(String, StepOutput)> {
    let plan = config.plan();
    assert!(plan.broken.is_empty(), "{:?}", plan.broken);
    let mut out: Vec<(String, StepOutput)> = plan
        .trials
        .iter()
        .map(|t: &TrialDef| {
            let run = runner::run_step(t, config).expect("step runs");
            let failures: Vec<String> = run.failures.iter().map(|f| f.to_string()).collect();
            assert!(
                failures.is_empty(),
                "{} ({:?}): {failures:#?}",
                t.name,
                config.mode
            );
            (t.name.clone(), run.output)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn recording_other_services_then_replaying_gives_the_same_output() {
    let set = CassetteSet::load_dir(repo().join(LAB).join("cassettes")).expect("cassettes");
    let up = VerifyingUpstream::start_blocking(set, creds(), "us-east-1", 1.0).expect("upstream");
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join("services-lab");
    common::copy_dir(&repo().join(LAB), &lab);
    let cassettes = lab.join("cassettes");
    std::fs::remove_dir_all(&cassettes).expect("clear cassettes");
    let results = tempfile::tempdir().expect("results");
    let mut config = common::config(&lab, results.path());
    config.mode = Mode::Record;
    config.proxy = ProxySettings {
        upstream: Some(up.url()),
        record_mode: RecordMode::Once,
        credentials: CredentialSource::Static(creds()),
        ..ProxySettings::default()
    };
    // One trial at a time: each reaches the upstream or replays what an
    // earlier one recorded.
    let recorded = run_all(&config);
    assert!(up.rejected().is_empty(), "{:?}", up.rejected());

    let set = CassetteSet::load_dir(&cassettes).expect("recorded cassettes load");
    let names: Vec<&str> = set.files().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bedrock-agent-runtime-invoke-agent.json",
            "bedrock-agent-runtime-retrieve-and-generate-stream.json",
            "bedrock-agent-runtime-retrieve.json",
            "bedrock-get-inference-profile.json",
        ]
    );
    assert!(up.verified() >= set.len());
    for (_, f, it) in set.interactions() {
        assert_eq!(f.cassette.meta.source, Source::Proxied, "{}", f.name);
        assert!(it.request.model_id.is_empty(), "{}", f.name);
    }
    let find = |op: Operation| {
        set.interactions()
            .find(|(_, _, it)| it.request.operation == op)
            .map(|(_, _, it)| it.clone())
            .unwrap_or_else(|| panic!("{op:?} recorded"))
    };
    let profile = find(Operation::GetInferenceProfile);
    assert_eq!(profile.request.service, Service::Bedrock);
    assert_eq!(profile.request.method, "GET");
    assert_eq!(
        profile.request.params["inferenceProfileIdentifier"],
        "us.anthropic.claude-sonnet-4-6"
    );
    let agent = find(Operation::InvokeAgent);
    assert_eq!(agent.request.params["sessionId"], "session-1");
    let stream = agent.response.stream.expect("a stream");
    let events: Vec<_> = stream.iter().filter_map(|e| e.event.as_deref()).collect();
    assert_eq!(events, ["trace", "chunk", "chunk"]);
    // The chunk's blob is kept as its text, as an author writes it.
    assert_eq!(
        stream[1].payload["bytes"],
        "RAG retrieves relevant documents "
    );
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
    }
    assert!(
        recorded
            .iter()
            .any(|(n, o)| n.ends_with("python-agent::boto3") && o.stdout.contains("chunk: RAG")),
        "{recorded:#?}"
    );
}
