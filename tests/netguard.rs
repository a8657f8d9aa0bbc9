//! No unexpected network in replay: step processes that reach for a real AWS
//! host fail naming it, under both guards; inside the namespace only the
//! trial endpoint (relayed) is reachable. Nothing here leaves loopback: the
//! guard refuses before a connection to AWS is made.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use labcheck::grade::{self, GradeOptions, GradeState};
use labcheck::netguard::{GuardKind, NetGuard, Policy};
use labcheck::steps::env::ChildEnv;
use labcheck::steps::process;

use common::repo;

fn boto3_to_default_endpoint_fails_naming_the_host(policy: Policy) -> Vec<String> {
    let options = GradeOptions {
        workspace: repo().join("tests/fixtures/grade/reaches-aws"),
        speed: 0.0,
        netguard: policy,
        clients: labcheck::settings::clients(&labcheck::settings::Vars::capture()),
        sandbox: Default::default(),
    };
    let r = grade::grade(&repo().join("labs/4.1-invoke-fm-via-bedrock"), &options).expect("graded");
    let item = &r.items[2];
    assert_eq!(item.state, GradeState::Unticked, "{r:#?}");
    let why = item.reasons.join("\n");
    assert!(
        why.contains("network: the step tried to reach `bedrock-runtime.us-east-1.amazonaws.com:443` (CONNECT)"),
        "{why}"
    );
    r.network_guard
}

#[test]
fn default_endpoint_is_refused_under_the_proxy_guard() {
    let guards = boto3_to_default_endpoint_fails_naming_the_host(Policy::ProxyOnly);
    assert_eq!(guards, ["proxy"]);
}

#[test]
fn default_endpoint_is_refused_under_the_automatic_guard() {
    let guards = boto3_to_default_endpoint_fails_naming_the_host(Policy::Auto);
    assert_eq!(guards.len(), 1, "{guards:?}");
    eprintln!("automatic guard here: {}", guards[0]);
}

/// A one-shot HTTP server on the host's loopback standing in for a trial endpoint.
fn host_endpoint() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[test]
fn in_the_namespace_only_the_relayed_endpoint_is_reachable() {
    let (listener, port) = host_endpoint();
    let guard = NetGuard::start(&format!("http://127.0.0.1:{port}"), Policy::Auto).expect("guard");
    if guard.kind() == GuardKind::Proxy {
        // Not permitted here (no CAP_SYS_ADMIN): the fallback must say why.
        let why = guard.fallback.clone().unwrap_or_default();
        assert!(why.contains("no network namespace"), "{why}");
        eprintln!("netns unavailable, proxy guard only: {why}");
        return;
    }
    // Two connections: through the runtime's variable and through the agent
    // runtime's (same port, path prefix), both relayed to the one listener.
    let server = std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..2 {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).expect("read");
            conn.write_all(b"pong").expect("write");
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got.join(",")
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let child = guard.child();
    let env = ChildEnv {
        workspace: dir.path().to_path_buf(),
        endpoint: child.endpoint.clone(),
        region: "us-east-1".into(),
        client_bin: None,
        guard: Some(child),
        services: None,

        // Unsandboxed: this test is about the network guard alone.
        sandbox: labcheck::sandbox::Guard::None,
        read_only: Vec::new(),
    };
    // The relayed endpoint answers; the host's own port does not exist in
    // here; the only interface is lo.
    let script = format!(
        r#"ep="${{AWS_ENDPOINT_URL_BEDROCK_RUNTIME#http://}}"
exec 3<>"/dev/tcp/${{ep%:*}}/${{ep##*:}}"; printf ping >&3; echo "relay: $(cat <&3)"
ag="${{AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME#http://}}"; ag="${{ag%%/*}}"
exec 5<>"/dev/tcp/${{ag%:*}}/${{ag##*:}}"; printf agent >&5; echo "agent relay: $(cat <&5)"
if (exec 4<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo "host port: reachable"; else echo "host port: unreachable"; fi
tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '
"#
    );
    let out = process::run_bash(&script, 0, &env, Duration::from_secs(20)).expect("run");
    assert_eq!(out.exit_code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout, "relay: pong\nagent relay: pong\nhost port: unreachable\nlo\n",
        "{}",
        out.stderr
    );
    assert_eq!(server.join().expect("server"), "ping,agent");
}
