//! Setup services emulated offline (docs/setup-services.md): every trial has
//! its own empty moto, also when trials run at once; `state` expectations
//! name what is missing; an unemulated call fails fast with its name; the
//! network guard lets a step reach the emulator and nothing off loopback.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use labcheck::clients::StderrProgress;
use labcheck::grade::{self, GradeOptions, GradeState};
use labcheck::ids::ClientId;
use labcheck::netguard::{NetGuard, Policy};
use labcheck::report::Status;
use labcheck::setup::MotoServer;
use labcheck::setup::http::{Call, send};
use labcheck::steps::env::ChildEnv;
use labcheck::steps::process;

use common::{config, failures, repo, run};

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/services")
}

fn s3_put(server: &MotoServer, path: &str, body: &[u8]) -> u16 {
    let call = Call {
        service: "s3",
        method: "PUT",
        path,
        headers: &[],
        body,
    };
    send(server.addr(), "us-east-1", &call)
        .expect("moto answers")
        .status
}

fn s3_get(server: &MotoServer, path: &str) -> String {
    let call = Call {
        service: "s3",
        method: "GET",
        path,
        headers: &[],
        body: b"",
    };
    send(server.addr(), "us-east-1", &call)
        .expect("moto answers")
        .body
}

#[test]
fn servers_handed_out_at_once_are_separate_and_start_empty() {
    let install = common::clients()
        .ensure_moto(&StderrProgress)
        .expect("moto provisioned");
    let barrier = Arc::new(Barrier::new(2));
    let listings: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = ["first", "second"]
            .into_iter()
            .map(|who| {
                let barrier = barrier.clone();
                let install = &install;
                s.spawn(move || {
                    let server = MotoServer::start(install).expect("a server");
                    let empty = s3_get(&server, "/");
                    // Both create the same bucket while both servers live.
                    barrier.wait();
                    assert_eq!(s3_put(&server, "/same-bucket-name", b""), 200);
                    let key = format!("/same-bucket-name/{who}.txt");
                    assert_eq!(s3_put(&server, &key, who.as_bytes()), 200);
                    barrier.wait();
                    (empty, s3_get(&server, "/same-bucket-name?list-type=2"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for ((empty, listing), who) in listings.iter().zip(["first", "second"]) {
        assert!(
            !empty.contains("<Name>"),
            "a fresh server has no bucket: {empty}"
        );
        assert!(
            listing.contains(&format!("<Key>{who}.txt</Key>")),
            "{listing}"
        );
        let other = if who == "first" { "second" } else { "first" };
        assert!(!listing.contains(&format!("{other}.txt")), "{listing}");
    }
}

#[test]
fn two_trials_creating_the_same_bucket_at_once_both_pass_and_seeds_apply() {
    let results = tempfile::tempdir().expect("tempdir");
    let cfg = config(&fixture(), results.path());
    // `run` starts the matching trials on threads of their own, at once.
    let outcomes = run(&cfg, "s");
    let outcomes: Vec<_> = outcomes
        .iter()
        .filter(|o| o.step.starts_with("same-bucket") || o.step == "seeded")
        .collect();
    assert_eq!(outcomes.len(), 3);
    for o in outcomes {
        assert_eq!(o.status, Status::Passed, "{}: {}", o.trial, failures(o));
    }
}

#[test]
fn an_unemulated_call_fails_fast_naming_it() {
    let results = tempfile::tempdir().expect("tempdir");
    let cfg = config(&fixture(), results.path());
    let start = Instant::now();
    let outcomes = run(&cfg, "invoke-lambda");
    let elapsed = start.elapsed();
    let o = &outcomes[0];
    assert_eq!(o.status, Status::Failed);
    let why = failures(o);
    assert!(
        why.contains("not emulated offline: run it live (`lambda Invoke`)"),
        "{why}"
    );
    // The step's limit is 120 s: a hang would show as a timeout, far above this.
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    assert!(!why.contains("timed out"), "{why}");
}

#[test]
fn the_emulator_reports_an_unemulated_call_on_its_own() {
    let install = common::clients()
        .ensure_moto(&StderrProgress)
        .expect("moto provisioned");
    let server = MotoServer::start(&install).expect("a server");
    let call = Call {
        service: "lambda",
        method: "POST",
        path: "/2015-03-31/functions/kb-sync/invocations",
        headers: &[],
        body: b"{}",
    };
    let r = send(server.addr(), "us-east-1", &call).expect("answer");
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("not emulated offline: run it live (lambda Invoke)"),
        "{}",
        r.body
    );
    assert_eq!(server.unemulated(), ["lambda Invoke"]);
    // Emulated calls are not reported.
    assert_eq!(s3_put(&server, "/a-bucket", b""), 200);
    assert!(server.unemulated().is_empty());
}

#[test]
fn a_student_who_skips_the_upload_loses_the_item_naming_the_object() {
    let options = GradeOptions {
        workspace: repo().join("tests/fixtures/grade-kb/skipped-upload"),
        speed: 0.0,
        netguard: Default::default(),
        clients: common::clients(),
        sandbox: Default::default(),
    };
    let r = grade::grade(&repo().join("labs/5.1-knowledge-base-setup"), &options).expect("graded");
    let item = &r.items[0];
    assert_eq!(item.state, GradeState::Unticked, "{r:#?}");
    let why = item.reasons.join("\n");
    assert!(
        why.contains("S3 object `s3://kb-lab-documents/docs/returns-policy.md` is missing"),
        "{why}"
    );
    assert!(why.contains("holds `docs/shipping.md`"), "{why}");
}

#[test]
fn the_guard_lets_a_step_reach_the_emulator_and_refuses_other_hosts() {
    let clients = common::clients();
    let install = clients
        .ensure_moto(&StderrProgress)
        .expect("moto provisioned");
    let python = clients
        .ensure(ClientId::Boto3, &StderrProgress)
        .expect("boto3");
    let server = MotoServer::start(&install).expect("a server");
    for policy in [Policy::ProxyOnly, Policy::Auto] {
        let guard =
            NetGuard::start_with("http://127.0.0.1:9", Some(server.addr()), policy).expect("guard");
        let dir = tempfile::tempdir().expect("tempdir");
        let child = guard.child();
        assert!(child.services.is_some());
        let env = ChildEnv {
            workspace: dir.path().to_path_buf(),
            endpoint: child.endpoint.clone(),
            region: "us-east-1".into(),
            client_bin: Some(python.bin_dir.clone()),
            guard: Some(child),
            services: None,
            sandbox: labcheck::sandbox::Guard::None,
            read_only: Vec::new(),
        };
        let script = r#"python3 - <<'PY'
import os, urllib.request
url = os.environ["AWS_ENDPOINT_URL"]
print("emulator:", urllib.request.urlopen(url + "/moto-api/data.json", timeout=20).status)
for host in ("http://s3.eu-west-1.amazonaws.com/", "http://192.0.2.1/"):
    try:
        urllib.request.urlopen(host, timeout=20)
        print("reached", host)
    except Exception:
        print("refused", host)
PY
"#;
        let out = process::run_bash(script, 0, &env, Duration::from_secs(60)).expect("run");
        assert_eq!(
            out.stdout,
            "emulator: 200\nrefused http://s3.eu-west-1.amazonaws.com/\nrefused http://192.0.2.1/\n",
            "{policy:?} {}",
            out.stderr
        );
        let hosts: Vec<String> = guard.attempts().into_iter().map(|a| a.host).collect();
        assert!(
            hosts
                .iter()
                .any(|h| h.starts_with("s3.eu-west-1.amazonaws.com")),
            "{hosts:?}"
        );
    }
}
