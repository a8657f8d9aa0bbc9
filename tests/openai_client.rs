//! Bedrock's OpenAI-compatible endpoint, replayed for the real `openai`
//! python client (pinned in clients.lock.toml, provisioned by labcheck): the
//! client is configured by `OPENAI_BASE_URL` / `OPENAI_API_KEY` alone (as a
//! trial sets them), and runs a chat completion, a streamed chat completion
//! (judged incremental), `responses.create` and `models.list`; an error has
//! OpenAI's shape, so the client raises its own class.

mod common;

use std::path::Path;
use std::time::Duration;

use labcheck::cassette::CassetteSet;
use labcheck::clients::StderrProgress;
use labcheck::expect::judge_pieces;
use labcheck::ids::ClientId;
use labcheck::replay::{ReplayOptions, ReplayServer};
use labcheck::steps::env::ChildEnv;
use labcheck::steps::process::{self, ProcessOutput};

use common::repo;

const CASSETTES: &str = "tests/fixtures/openai/cassettes";

fn server() -> ReplayServer {
    server_at(1.0)
}

/// A server whose streams run at `speed` (1 = recorded timing, 0 = no delays).
fn server_at(speed: f64) -> ReplayServer {
    let set = CassetteSet::load_dir(repo().join(CASSETTES)).expect("openai cassettes load");
    ReplayServer::start_blocking(
        set,
        ReplayOptions {
            label: CASSETTES.into(),
            speed,
            ..ReplayOptions::default()
        },
    )
    .expect("server")
}

/// One python at a time: each run imports `openai` and builds its pydantic
/// validators cold (CPU-bound, tenths of a second), and the tests here that
/// judge stdout timing must not have that CPU taken by a sibling test's
/// python on a small machine.
static PYTHON: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `script` with the provisioned venv's python (which has `openai`).
fn run_python(server: &ReplayServer, script: &str) -> (ProcessOutput, tempfile::TempDir) {
    let ws = tempfile::tempdir().expect("workspace");
    let python = labcheck::settings::clients(&labcheck::settings::Vars::capture())
        .ensure(ClientId::Boto3, &StderrProgress)
        .expect("python venv provisioned");
    let env = ChildEnv {
        workspace: ws.path().to_path_buf(),
        endpoint: server.endpoint(),
        region: "us-west-2".into(),
        client_bin: Some(python.bin_dir),
        guard: None,
        services: None,
        sandbox: labcheck::sandbox::Guard::None,
        read_only: Vec::new(),
    };
    env.prepare().expect("prepare");
    process::write_file(ws.path(), Path::new("step.py"), script).expect("write script");
    let _one_at_a_time = PYTHON.lock().unwrap_or_else(|p| p.into_inner());
    let out =
        process::run_bash("python3 -u step.py\n", 0, &env, Duration::from_secs(60)).expect("run");
    (out, ws)
}

const PREAMBLE: &str = "from openai import OpenAI\nclient = OpenAI()\nMESSAGES = [\n    {\"role\": \"developer\", \"content\": \"You are a concise assistant.\"},\n    {\"role\": \"user\", \"content\": \"Say hello in five words.\"},\n]\n";

#[test]
fn chat_completion_responses_and_models_list_come_from_the_cassette() {
    let server = server();
    let script = format!(
        "{PREAMBLE}\
import os
assert os.environ['OPENAI_BASE_URL'].endswith('/openai/v1'), os.environ['OPENAI_BASE_URL']
c = client.chat.completions.create(model='openai.gpt-oss-20b-1:0', messages=MESSAGES)
print('chat:', c.choices[0].message.content, c.choices[0].finish_reason, c.usage.total_tokens)
r = client.responses.create(model='openai.gpt-oss-20b-1:0', input='What does Bedrock serve?')
print('responses:', r.output_text, r.status)
print('models:', ','.join(m.id for m in client.models.list()))
"
    );
    let (out, _ws) = run_python(&server, &script);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "chat: Hello! Nice to meet you. stop 31",
            "responses: Bedrock serves OpenAI-compatible APIs. completed",
            "models: openai.gpt-oss-20b-1:0,openai.gpt-oss-120b-1:0",
        ]
    );
    let served = server.served();
    let names: Vec<_> = served
        .iter()
        .map(|s| s.interaction.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(names, ["chat-hello", "responses-hello", "models"]);
    assert!(
        served[0].user_agent.starts_with("OpenAI/Python 3.51.0"),
        "{}",
        served[0].user_agent
    );
    assert_eq!(served[0].model_id, "openai.gpt-oss-20b-1:0");
    assert!(server.openai_misses().is_empty());
}

#[test]
fn streamed_chat_completion_arrives_incrementally_on_the_recorded_schedule() {
    let server = server();
    let script = format!(
        "{PREAMBLE}\
stream = client.chat.completions.create(model='openai.gpt-oss-20b-1:0', messages=MESSAGES, stream=True)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end='', flush=True)
print()
"
    );
    let (out, _ws) = run_python(&server, &script);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "Hello! Nice to meet you.\n");
    let served = server.served();
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].interaction.as_deref(), Some("chat-hello-stream"));
    let frames = &served[0].frames_sent;
    assert_eq!(frames.len(), 10, "role chunk, 7 deltas, stop chunk, [DONE]");
    // The server kept the recorded gaps (60 ms between deltas, at least 0.8x).
    for i in 2..8 {
        let gap = frames[i].duration_since(frames[i - 1]);
        assert!(gap >= Duration::from_millis(48), "frame {i}: gap {gap:?}");
    }
    // And the client printed as it read: the incremental expectation passes
    // on its stdout against the stream's span.
    let span = frames[frames.len() - 1].duration_since(frames[0]);
    judge_pieces(&out.pieces, 4, Some(span)).expect("incremental output");
}

/// The Responses stream of `responses-hello-stream`, as a student's script
/// prints it: each text delta as it is read, then the completed response.
const RESPONSES_STREAM_SCRIPT: &str = "\
stream = client.responses.create(model='openai.gpt-oss-20b-1:0', input='What does Bedrock serve?', stream=True)
for event in stream:
    if event.type == 'response.output_text.delta':
        print(event.delta, end='', flush=True)
    elif event.type == 'response.completed':
        print()
        print('completed:', event.response.output_text, event.response.usage.total_tokens)
";

const RESPONSES_STREAM_STDOUT: &str = "Bedrock serves OpenAI-compatible APIs.\ncompleted: Bedrock serves OpenAI-compatible APIs. 27\n";

/// The named events are parsed by the client into its `ResponseStreamEvent`
/// union. Every event in the cassette must validate strictly against the
/// pinned client's types (`logprobs` on text deltas, the full `usage`): an
/// event that does not sends the client down its lenient fallback, which
/// builds the schema of every variant of the union on first use (about a
/// second of CPU) while the server keeps sending, and the deltas are then
/// printed in one burst. See docs/openai-compatible.md, "Streams and the
/// client's parsing cost".
#[test]
fn a_streamed_response_sends_named_events_the_client_reads_by_type() {
    let server = server();
    let script = format!("{PREAMBLE}{RESPONSES_STREAM_SCRIPT}");
    let (out, _ws) = run_python(&server, &script);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, RESPONSES_STREAM_STDOUT);
    let served = server.served();
    assert_eq!(
        served[0].interaction.as_deref(),
        Some("responses-hello-stream")
    );
    let frames = &served[0].frames_sent;
    assert_eq!(frames.len(), 10);
    let span = frames[frames.len() - 1].duration_since(frames[0]);
    judge_pieces(&out.pieces, 3, Some(span)).expect("incremental output");
}

/// The same Responses stream served without its delays reaches the client
/// at once, and the same script's output is then judged not incremental:
/// the positive test above passes because of the schedule, not despite it.
#[test]
fn the_same_responses_stream_served_without_delays_is_not_judged_incremental() {
    let server = server_at(0.0);
    let script = format!("{PREAMBLE}{RESPONSES_STREAM_SCRIPT}");
    let (out, _ws) = run_python(&server, &script);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, RESPONSES_STREAM_STDOUT);
    let frames = &server.served()[0].frames_sent;
    assert_eq!(frames.len(), 10);
    let span = frames[frames.len() - 1].duration_since(frames[0]);
    assert!(
        span < Duration::from_millis(100),
        "served at once: {span:?}"
    );
    // Judged against the stream's recorded span (920 ms in the cassette):
    // output that came all at once covers none of it.
    let err = judge_pieces(&out.pieces, 3, Some(Duration::from_millis(920)))
        .expect_err("output of an undelayed stream judged incremental");
    assert!(
        matches!(
            err,
            labcheck::expect::NotIncremental::TooFewPieces { .. }
                | labcheck::expect::NotIncremental::Squeezed { .. }
        ),
        "{err:?}"
    );
}

/// Every streamed event in the cassette validates strictly against the
/// pinned client's types (what `openai._models.construct_type` tries first),
/// so replay never sends the client down its slow lenient fallback (see
/// the test above): an authored event missing a required field fails here,
/// by name, rather than as a timing failure.
#[test]
fn every_streamed_event_in_the_cassette_validates_strictly_in_the_client() {
    let server = server();
    let path = repo().join(CASSETTES).join("openai.json");
    let script = format!(
        "import json
from openai._models import validate_type
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent
bad = []
for it in json.load(open({path:?}))['openai']:
    for i, ev in enumerate(it['response'].get('sse') or []):
        data = ev['data']
        if not isinstance(data, dict):
            continue
        kind = ResponseStreamEvent if 'event' in ev else ChatCompletionChunk
        try:
            validate_type(type_=kind, value=data)
        except Exception as e:
            bad.append(f\"{{it['name']}}[{{i}}] {{ev.get('event')}}: {{str(e).splitlines()[:3]}}\")
print('\\n'.join(bad) or 'all valid')
",
        path = path.display().to_string()
    );
    let (out, _ws) = run_python(&server, &script);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "all valid\n");
}

/// The workshop's fine-tuning flow: a multipart upload (its random boundary
/// normalised), a job created from the file id it returned, and the job
/// polled by its id: a recorded sequence on the OpenAI-compatible path,
/// answered in order, from the start again on a fresh server.
#[test]
fn a_fine_tuning_job_is_uploaded_created_and_polled_in_recorded_order() {
    let script = format!(
        "{PREAMBLE}\
f = client.files.create(file=('train.jsonl', b'{{\"messages\": []}}\\n'), purpose='fine-tune')
job = client.fine_tuning.jobs.create(model='openai.gpt-oss-20b-1:0', training_file=f.id)
states = [job.status]
while job.status not in ('succeeded', 'failed', 'cancelled') and len(states) < 10:
    job = client.fine_tuning.jobs.retrieve(job.id)
    states.append(job.status)
print(f.id, job.id, ','.join(states), job.fine_tuned_model)
"
    );
    for _trial in 0..2 {
        let server = server();
        let (out, _ws) = run_python(&server, &script);
        assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
        assert_eq!(
            out.stdout,
            "file-abc123 ftjob-7Kq2mZ4xR9 validating_files,running,running,succeeded ft:openai.gpt-oss-20b-1:0:labcheck:7Kq2\n"
        );
        assert!(
            server.openai_misses().is_empty(),
            "{:?}",
            server.openai_misses()
        );
    }
}

#[test]
fn errors_have_openais_shape_and_the_client_raises_its_own_classes() {
    let server = server();
    let script = format!(
        "{PREAMBLE}\
import openai
try:
    client.chat.completions.create(model='anthropic.claude-sonnet-4-6', messages=MESSAGES)
except openai.NotFoundError as e:
    print('recorded:', e.status_code, e.code, e.type)
try:
    client.chat.completions.create(model='openai.gpt-oss-20b-1:0', messages=[{{'role': 'user', 'content': 'unrecorded'}}])
except openai.BadRequestError as e:
    print('miss:', e.status_code, e.type, 'chat-hello' in e.message)
import json, os, urllib.error, urllib.request
try:
    urllib.request.urlopen(os.environ['OPENAI_BASE_URL'] + '/models')
except urllib.error.HTTPError as e:
    print('auth:', e.code, json.load(e)['error']['code'])
"
    );
    let (out, _ws) = run_python(&server, &script);
    assert_eq!(out.exit_code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "recorded: 404 model_not_found invalid_request_error",
            "miss: 400 invalid_request_error True",
            "auth: 401 invalid_api_key",
        ]
    );
    let misses = server.openai_misses();
    assert_eq!(misses.len(), 1, "{misses:?}");
    assert!(misses[0].contains("unrecorded"), "{}", misses[0]);
    assert_eq!(server.miss_count(), 1, "counted like a Bedrock miss");
    // No retries: each call reached the server once.
    assert_eq!(server.served().len(), 3);
}
