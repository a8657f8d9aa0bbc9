//! `labcheck models check`, end to end through the binary: offline against
//! the pinned gateway fixture (saying why Bedrock was not asked), a failed
//! download (what an offline machine sees), and the credentialed path against
//! a local server answering an authored `ListFoundationModels` body, the
//! request checked for its path prefix and SigV4 signature.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use assert_cmd::prelude::*;

const FIXTURE: &str = "tests/fixtures/models/litellm-bedrock.json";
const LIST: &str = "tests/fixtures/models/list-foundation-models.json";

/// The binary with no labcheck or AWS variable of the caller's, and no way
/// to find credentials but the ones a test gives.
fn labcheck() -> Command {
    let mut cmd = Command::cargo_bin("labcheck").expect("binary built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (var, _) in std::env::vars_os() {
        let name = var.to_string_lossy();
        if name.starts_with("LABCHECK_") || name.starts_with("AWS_") {
            cmd.env_remove(&var);
        }
    }
    let nowhere = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/models/no-such-file"
    );
    cmd.env("AWS_CONFIG_FILE", nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1");
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn snapshot(name: &str, value: String) {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn without_live_mode_it_says_so_and_compares_with_the_pinned_gateway_data() {
    let out = labcheck()
        .args([
            "models",
            "check",
            "--gateway-file",
            FIXTURE,
            "--today",
            "2026-11-27",
        ])
        .output()
        .expect("runs");
    // The one change is litellm's own error (docs/models.md): a finding.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    snapshot(
        "models-check-gateway",
        format!(
            "stderr:\n{}stdout:\n{}",
            text(&out.stderr),
            text(&out.stdout)
        ),
    );
}

#[test]
fn live_mode_without_credentials_falls_back_and_says_why() {
    let out = labcheck()
        .env("LABCHECK_MODE", "live")
        .env("LABCHECK_LIVE", "1")
        .args([
            "models",
            "check",
            "--gateway-file",
            FIXTURE,
            "--today",
            "2026-11-27",
        ])
        .output()
        .expect("runs");
    let err = text(&out.stderr);
    assert!(
        err.starts_with("labcheck: not asking Amazon Bedrock: no AWS credentials ("),
        "{err}"
    );
    assert!(
        err.contains("(hint: configure credentials as for `labcheck record`)"),
        "{err}"
    );
    assert!(
        text(&out.stdout)
            .contains("compared with litellm 1.110.2 (gateway package data from PyPI)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_failed_download_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A python whose pip cannot reach PyPI, as on an offline machine.
    let python = dir.path().join("python3");
    std::fs::write(
        &python,
        "#!/bin/sh\necho 'ERROR: Could not find a version' >&2\nexit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = labcheck()
        .env("LABCHECK_PYTHON", &python)
        .args(["models", "check", "--gateway-version", "1.110.2"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    snapshot("models-check-download-failed", text(&out.stderr));
}

/// One HTTP exchange on `listener`: the request head, then `body` as JSON.
fn answer_once(listener: TcpListener, body: String) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        head
    })
}

#[test]
fn with_credentials_in_live_mode_it_asks_list_foundation_models() {
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(LIST).expect("fixture")).expect("json");
    assert_eq!(fixture["source"], "authored");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = answer_once(listener, fixture["body"].to_string());
    let out: Output = labcheck()
        .env("LABCHECK_MODE", "live")
        .env("LABCHECK_LIVE", "1")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env(
            "AWS_ENDPOINT_URL_BEDROCK",
            format!("http://127.0.0.1:{port}/bedrock"),
        )
        .args(["models", "check", "--region", "us-east-1"])
        .output()
        .expect("runs");
    let head = server.join().expect("server");
    assert_eq!(
        head[0], "GET /bedrock/foundation-models HTTP/1.1",
        "{head:?}"
    );
    let auth = head
        .iter()
        .find(|h| h.to_ascii_lowercase().starts_with("authorization:"))
        .expect("signed");
    assert!(
        auth.contains("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/")
            && auth.contains("/us-east-1/bedrock/aws4_request"),
        "{auth}"
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // The long "unlisted" line names every other usable row: keep its head.
    let stdout: String = text(&out.stdout)
        .lines()
        .map(|l| match l.find(" (end of life, or not offered there)") {
            Some(i) => format!("{} …", &l[..i + 36]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    snapshot(
        "models-check-bedrock",
        format!("stderr:\n{}stdout:\n{stdout}\n", text(&out.stderr)),
    );
}

/// Stops `labcheck serve` when the test ends, passed or not.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The live path against labcheck's own replay: `labcheck serve` on a copy of
/// lab 7.2 (whose cassettes answer ListFoundationModels by provider) with one
/// more authored interaction answering the unfiltered ListFoundationModels
/// with the same body as the local server above. Replay routes the signed
/// `GET /bedrock/foundation-models` to that interaction, so the report is the
/// same snapshot.
#[test]
fn live_mode_against_labcheck_serve_reads_the_replayed_list() {
    use std::process::Stdio;

    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(LIST).expect("fixture")).expect("json");
    let lab = tempfile::tempdir().expect("tempdir");
    let src = std::path::Path::new("labs/7.2-guardrails-and-model-access");
    std::fs::create_dir(lab.path().join("cassettes")).expect("mkdir");
    for name in ["lab.md", "lab.toml"] {
        std::fs::copy(src.join(name), lab.path().join(name)).expect("copy");
    }
    for e in std::fs::read_dir(src.join("cassettes")).expect("cassettes") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), lab.path().join("cassettes").join(e.file_name())).expect("copy");
    }
    let cassette = serde_json::json!({
        "version": 1,
        "meta": {
            "source": "authored",
            "model": "any",
            "region": "us-east-1",
            "recorded_at": "2026-11-27T00:00:00Z",
            "client": "any",
            "note": fixture["note"],
        },
        "interactions": [{
            "name": "list-foundation-models-all",
            "request": { "service": "bedrock", "operation": "ListFoundationModels", "method": "GET" },
            "response": { "status": 200, "body": fixture["body"] },
        }],
    });
    std::fs::write(
        lab.path().join("cassettes").join("list-all.json"),
        cassette.to_string(),
    )
    .expect("write cassette");

    let mut child = labcheck()
        .arg("serve")
        .arg(lab.path())
        .args(["--speed", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let serve = Serve(child);
    // The first line is printed once the socket is bound: the readiness signal.
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a line");
    let endpoint = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
        .to_string();

    let out: Output = labcheck()
        .env("LABCHECK_MODE", "live")
        .env("LABCHECK_LIVE", "1")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("AWS_ENDPOINT_URL_BEDROCK", format!("{endpoint}/bedrock"))
        .args(["models", "check", "--region", "us-east-1"])
        .output()
        .expect("runs");
    drop(serve);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout: String = text(&out.stdout)
        .lines()
        .map(|l| match l.find(" (end of life, or not offered there)") {
            Some(i) => format!("{} …", &l[..i + 36]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    snapshot(
        "models-check-bedrock",
        format!("stderr:\n{}stdout:\n{stdout}\n", text(&out.stderr)),
    );
}
