//! The replay server exercised by the real python clients, provisioned by
//! labcheck: boto3 runs the seed page's Bước 3 and Bước 4 scripts with the
//! endpoint set only by environment variable, and streams incrementally.

mod common;

use std::path::Path;
use std::time::Duration;

use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::content::LabPage;
use labcheck::ids::{ClientId, Operation};
use labcheck::replay::{ReplayOptions, ReplayServer};
use labcheck::steps::env::ChildEnv;
use labcheck::steps::process::{self, ProcessOutput};

use common::repo;

const LAB: &str = "labs/4.1-invoke-fm-via-bedrock";

fn server() -> ReplayServer {
    let set =
        CassetteSet::load_dir(repo().join(LAB).join("cassettes")).expect("seed cassettes load");
    ReplayServer::start_blocking(
        set,
        ReplayOptions {
            port: 0,
            speed: 1.0,
            label: LAB.into(),
            ..ReplayOptions::default()
        },
    )
    .expect("server")
}

fn page() -> LabPage {
    LabPage::read(&repo().join(LAB).join("lab.md")).expect("seed page")
}

/// Runs `script` (a python file's text) with the provisioned boto3 python.
fn run_python(
    server: &ReplayServer,
    file: &str,
    script: &str,
) -> (ProcessOutput, tempfile::TempDir) {
    let ws = tempfile::tempdir().expect("workspace");
    let boto3 = labcheck::settings::clients(&labcheck::settings::Vars::capture())
        .ensure(ClientId::Boto3, &StderrProgress)
        .expect("boto3 provisioned");
    let env = ChildEnv {
        workspace: ws.path().to_path_buf(),
        endpoint: server.endpoint(),
        region: "us-east-1".into(),
        client_bin: Some(boto3.bin_dir),
        guard: None,
        services: None,

        // Unsandboxed: this test is about the network guard alone.
        sandbox: labcheck::sandbox::Guard::None,
        read_only: Vec::new(),
    };
    env.prepare().expect("prepare");
    process::write_file(ws.path(), Path::new(file), script).expect("write script");
    let out = process::run_bash(
        &format!("python3 {file}\n"),
        0,
        &env,
        Duration::from_secs(60),
    )
    .expect("run");
    (out, ws)
}

fn recorded_text(interaction: &str) -> String {
    let set = CassetteSet::load_dir(repo().join(LAB).join("cassettes")).expect("load");
    set.interactions()
        .find(|(_, _, i)| i.name == interaction)
        .map(|(_, _, i)| serde_json::to_string(&i.response).expect("json"))
        .expect("interaction exists")
}

#[test]
fn boto3_runs_the_invoke_script_and_prints_the_recorded_text() {
    let server = server();
    let block = page()
        .block("Bước 3: Invoke qua Python SDK", 1)
        .expect("script block")
        .text
        .clone();
    assert!(
        !block.contains("endpoint_url"),
        "the endpoint must come from the environment only"
    );
    let (out, _ws) = run_python(&server, "invoke_bedrock.py", &block);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    let served = server.served();
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].operation, Some(Operation::InvokeModel));
    assert!(
        served[0].user_agent.starts_with("Boto3/1.43.11"),
        "{}",
        served[0].user_agent
    );
    let first_line = out.stdout.lines().next().expect("printed something");
    assert!(
        recorded_text(served[0].interaction.as_deref().expect("matched"))
            .contains(first_line.trim()),
        "{first_line}"
    );
}

#[test]
fn boto3_stream_is_read_before_the_last_frame_and_keeps_the_schedule() {
    let server = server();
    let block = page()
        .block("Bước 4: Streaming Response", 0)
        .expect("script block")
        .text
        .clone();
    let (out, _ws) = run_python(&server, "stream_bedrock.py", &block);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    let served = server.served();
    assert_eq!(served.len(), 1);
    assert_eq!(
        served[0].operation,
        Some(Operation::InvokeModelWithResponseStream)
    );
    let frames = &served[0].frames_sent;
    assert!(frames.len() >= 7, "{} frames", frames.len());

    // The client printed its first delta before the server began writing the last frame.
    let started = out.started.expect("start time");
    let first_piece = started + out.pieces.first().expect("some output").at;
    let before_last_frame = frames[frames.len() - 2];
    assert!(
        first_piece < before_last_frame,
        "first output at +{:?}, last frame begun at +{:?}",
        first_piece.duration_since(served[0].arrived),
        before_last_frame.duration_since(served[0].arrived)
    );
    assert!(
        out.pieces.len() >= 5,
        "stdout came in {} pieces",
        out.pieces.len()
    );

    // Gaps between frames are at least 0.8x the recorded delay_ms.
    let set = CassetteSet::load_dir(repo().join(LAB).join("cassettes")).expect("load");
    let (_, _, interaction) = set
        .interactions()
        .find(|(_, _, i)| Some(i.name.as_str()) == served[0].interaction.as_deref())
        .expect("served interaction");
    let delays: Vec<u64> = interaction
        .response
        .stream
        .as_ref()
        .expect("a stream")
        .iter()
        .map(|e| e.delay_ms)
        .collect();
    assert_eq!(delays.len(), frames.len());
    for i in 1..frames.len() {
        let gap = frames[i].duration_since(frames[i - 1]);
        let want = Duration::from_millis(delays[i]).mul_f64(0.8);
        assert!(
            gap >= want,
            "frame {i}: gap {gap:?} < 0.8 × {} ms",
            delays[i]
        );
    }
}

#[test]
fn boto3_shows_the_original_model_ids_error_as_bedrock_would() {
    let server = server();
    let original =
        LabPage::read(&repo().join("tests/fixtures/original/lab.md")).expect("original page");
    let block = original
        .block("Bước 3: Invoke qua Python SDK", 0)
        .expect("script")
        .text
        .clone();
    let (out, _ws) = run_python(&server, "invoke_bedrock.py", &block);
    assert_eq!(out.exit_code, Some(1));
    assert!(
        out.stderr.contains("botocore.errorfactory.ResourceNotFoundException: An error occurred (ResourceNotFoundException) when calling the InvokeModel operation: This model version has reached the end of its life."),
        "{}",
        out.stderr
    );
    assert_eq!(server.served().len(), 1, "no retries");
    assert!(server.misses().is_empty());
}
