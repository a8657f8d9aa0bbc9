//! The four Bedrock services, routed from their service models and exercised
//! by the real clients: every operation botocore serializes reaches replay as
//! that operation; the operation table is the pinned botocore's; a lab using
//! operations no bundled lab uses (GetInferenceProfile, Retrieve, and the
//! InvokeAgent and RetrieveAndGenerateStream event streams) passes with cassettes alone, through `labcheck
//! run` with boto3 and AWS CLI v1 and v2; a miss names service, operation and
//! params and shows the nearest interaction.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::ids::{ClientId, Operation, Service};
use labcheck::replay::{ReplayOptions, ReplayServer};
use labcheck::steps::env::ChildEnv;
use labcheck::steps::process::{self, ProcessOutput};

use common::repo;

const LAB: &str = "tests/fixtures/services/services-lab";

fn server(set: CassetteSet) -> ReplayServer {
    let opts = ReplayOptions {
        speed: 0.0,
        label: "services".into(),
        ..ReplayOptions::default()
    };
    ReplayServer::start_blocking(set, opts).expect("server")
}

/// Runs `command` with the provisioned boto3 python first on PATH and every
/// Bedrock endpoint variable pointed at `endpoint`, as a trial does.
fn run_python(endpoint: &str, files: &[(&str, &str)], command: &str) -> ProcessOutput {
    let ws = tempfile::tempdir().expect("workspace");
    let boto3 = common::clients()
        .ensure(ClientId::Boto3, &StderrProgress)
        .expect("boto3 provisioned");
    let env = ChildEnv {
        workspace: ws.path().to_path_buf(),
        endpoint: endpoint.to_string(),
        region: "us-east-1".into(),
        client_bin: Some(boto3.bin_dir),
        guard: None,
        services: None,
        // Unsandboxed: these tests are about routing.
        sandbox: labcheck::sandbox::Guard::None,
        read_only: Vec::new(),
    };
    env.prepare().expect("prepare");
    for (name, text) in files {
        process::write_file(ws.path(), Path::new(name), text).expect("write");
    }
    process::run_bash(command, 0, &env, Duration::from_secs(300)).expect("run")
}

#[test]
fn every_operation_botocore_serializes_is_routed_to_that_operation() {
    let server = server(CassetteSet::default());
    let script = std::fs::read_to_string(repo().join("tests/fixtures/services/every_operation.py"))
        .expect("script");
    let out = run_python(
        &server.endpoint(),
        &[("every_operation.py", &script)],
        "python3 every_operation.py",
    );
    assert_eq!(out.exit_code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let sent: Vec<Operation> = out
        .stdout
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            assert_eq!(words.next(), Some("sent"), "{line}");
            let service: Service = words.next().expect("service").parse().expect("service");
            let name = words.next().expect("operation");
            Operation::find(service, name).unwrap_or_else(|| panic!("not in the table: {line}"))
        })
        .collect();
    // One request per operation of the table, in the script's order.
    assert_eq!(sent.len(), Operation::all().len());
    assert_eq!(
        sent.iter().collect::<BTreeSet<_>>().len(),
        Operation::all().len()
    );
    let served = server.served();
    assert_eq!(served.len(), sent.len());
    for (s, op) in served.iter().zip(&sent) {
        assert_eq!(s.operation, Some(*op), "{op:?} routed as {:?}", s.operation);
        // A miss (400), never an unknown route (404) or an auth refusal (403).
        assert_eq!(s.status, 400, "{op:?}");
    }
    assert_eq!(server.miss_count(), sent.len() as u64);
}

#[test]
fn the_table_is_the_pinned_botocores_models() {
    let server = server(CassetteSet::default());
    let generator = repo().join("tools/gen_operations.py");
    let names = r#"
import botocore.session
s = botocore.session.get_session()
for svc in ["bedrock-runtime", "bedrock", "bedrock-agent", "bedrock-agent-runtime"]:
    for name in s.get_service_model(svc).operation_names:
        print(svc, name)
"#;
    let out = run_python(
        &server.endpoint(),
        &[("names.py", names)],
        &format!(
            "python3 names.py > names.txt && python3 '{}' > generated.rs && cat names.txt && echo '--' && cat generated.rs",
            generator.display()
        ),
    );
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    let (names, generated) = out.stdout.split_once("--\n").expect("two parts");
    let models: BTreeSet<(String, String)> = names
        .lines()
        .map(|l| {
            let (s, n) = l.split_once(' ').expect("service name");
            (s.to_string(), n.to_string())
        })
        .collect();
    let table: BTreeSet<(String, String)> = Operation::all()
        .map(|o| (o.service().to_string(), o.as_str().to_string()))
        .collect();
    let excluded: BTreeSet<(String, String)> = labcheck::services::EXCLUDED
        .iter()
        .map(|(s, n, _)| (s.to_string(), n.to_string()))
        .collect();
    let missing: Vec<_> = models.difference(&table).cloned().collect();
    let invented: Vec<_> = table.difference(&models).collect();
    assert_eq!(
        missing.into_iter().collect::<BTreeSet<_>>(),
        excluded,
        "missing"
    );
    assert!(invented.is_empty(), "not in the models: {invented:?}");
    // The committed table is what the generator writes from this botocore.
    let committed =
        std::fs::read_to_string(repo().join("src/services/generated.rs")).expect("table");
    assert!(
        committed == generated,
        "src/services/generated.rs is out of date (hint: re-run tools/gen_operations.py with the provisioned python)"
    );
    assert!(committed.contains(&format!(
        "from botocore {}",
        labcheck::services::BOTOCORE_VERSION
    )));
}

#[test]
fn operations_no_bundled_lab_uses_need_only_a_cassette() {
    // A private copy: `labcheck run` of a lab with a GetInferenceProfile,
    // Retrieve and InvokeAgent cassette and no Rust of its own.
    let tmp = tempfile::tempdir().expect("tempdir");
    let lab = tmp.path().join("services-lab");
    common::copy_dir(&repo().join(LAB), &lab);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .arg("run")
        .arg(&lab)
        .arg("--results-dir")
        .arg(tmp.path().join("results"))
        .current_dir(tmp.path())
        .output()
        .expect("labcheck run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for trial in [
        "services-lab::cli-profile::aws-cli-v1 ... ok",
        "services-lab::cli-profile::aws-cli-v2 ... ok",
        "services-lab::python-profile::boto3 ... ok",
        "services-lab::python-retrieve::boto3 ... ok",
        "services-lab::python-agent::boto3 ... ok",
        "services-lab::python-rag-stream::boto3 ... ok",
        "test result: ok. 6 passed",
    ] {
        let squeezed = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(squeezed.contains(trial), "missing {trial:?} in\n{stdout}");
    }
}

#[test]
fn a_miss_names_service_operation_and_params_and_shows_the_nearest() {
    let set = CassetteSet::load_dir(repo().join(LAB).join("cassettes")).expect("cassettes");
    let server = server(set);
    let script = r#"
import boto3
c = boto3.client("bedrock-agent-runtime")
try:
    c.retrieve(knowledgeBaseId="KBOTHER", retrievalQuery={"text": "What is RAG?"})
except c.exceptions.ValidationException as e:
    print(e.response["Error"]["Message"])
"#;
    let out = run_python(
        &server.endpoint(),
        &[("miss.py", script)],
        "python3 miss.py",
    );
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    for needle in [
        "matches bedrock-agent-runtime Retrieve {knowledgeBaseId=KBOTHER}",
        "nearest is `retrieve-rag` in `agent-runtime.json`",
        "`params.knowledgeBaseId` (recorded KBEXAMPLE1, received KBOTHER)",
    ] {
        assert!(out.stdout.contains(needle), "{needle:?} in {}", out.stdout);
    }
    let misses = server.misses();
    assert_eq!(misses.len(), 1);
    let diff = &misses[0].diff;
    assert!(
        diff.contains("-POST bedrock-agent-runtime Retrieve knowledgeBaseId=KBEXAMPLE1")
            && diff.contains("+POST bedrock-agent-runtime Retrieve knowledgeBaseId=KBOTHER"),
        "{diff}"
    );
    assert!(
        misses[0].request().starts_with(
            "request received: bedrock-agent-runtime Retrieve {knowledgeBaseId=KBOTHER} POST"
        ),
        "{}",
        misses[0].request()
    );
}

#[test]
fn labcheck_operations_prints_the_table_one_service_operation_per_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .arg("operations")
        .output()
        .expect("labcheck operations");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    let table: Vec<String> = Operation::all()
        .map(|o| format!("{} {}", o.service(), o.as_str()))
        .chain(labcheck::replay::openai::route_lines())
        .collect();
    assert_eq!(lines, table);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("openai POST ") && l.ends_with("/chat/completions")),
        "the OpenAI-compatible paths are listed too"
    );
    assert!(lines.contains(&"bedrock GetInferenceProfile"));
    assert!(lines.contains(&"bedrock-agent-runtime RetrieveAndGenerateStream"));
    assert!(lines.contains(&"bedrock-agent TagResource"));
    assert!(
        !lines
            .iter()
            .any(|l| l.ends_with(" InvokeModelWithBidirectionalStream"))
    );
}

#[test]
fn a_recorded_error_of_another_service_raises_its_modeled_class() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cassette = serde_json::json!({
        "version": 1,
        "meta": {"source": "authored", "model": "-", "region": "us-east-1",
                 "recorded_at": "2026-11-27T00:00:00Z", "client": "any",
                 "note": "GetAgent for an agent that does not exist: bedrock-agent's modeled 404."},
        "interactions": [{
            "name": "get-agent-missing",
            "request": {"service": "bedrock-agent", "operation": "GetAgent", "params": {"agentId": "NOSUCHAGNT"}},
            "response": {
                "status": 404,
                "headers": {"x-amzn-errortype": "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon.bedrock/"},
                "body": {"message": "Agent NOSUCHAGNT not found."}
            }
        }]
    });
    std::fs::write(
        dir.path().join("agent.json"),
        serde_json::to_vec_pretty(&cassette).expect("json"),
    )
    .expect("write");
    let server = server(CassetteSet::load_dir(dir.path()).expect("loads"));
    let script = r#"
import boto3
agent = boto3.client("bedrock-agent")
try:
    agent.get_agent(agentId="NOSUCHAGNT")
except agent.exceptions.ResourceNotFoundException as e:
    print("modeled:", e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"])
runtime = boto3.client("bedrock-agent-runtime")
try:
    runtime.retrieve(knowledgeBaseId="KBEXAMPLE1", retrievalQuery={"text": "x"})
except runtime.exceptions.ValidationException as e:
    print("miss:", e.response["ResponseMetadata"]["HTTPStatusCode"])
"#;
    let out = run_python(&server.endpoint(), &[("err.py", script)], "python3 err.py");
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "modeled: 404 Agent NOSUCHAGNT not found.\nmiss: 400\n"
    );
}
