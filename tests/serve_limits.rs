//! `labcheck serve` under abuse: connections that never finish their headers
//! cannot exhaust the server's descriptors nor starve a normal request, and
//! an over-long body gets a Bedrock-shaped refusal.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LAB: &str = "labs/4.1-invoke-fm-via-bedrock";
/// The body the seed lab's cassette recorded for InvokeModel.
const BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"temperature":0.7,"messages":[{"role":"user","content":"Explain RAG in 3 sentences."}]}"#;
const MODEL: &str = "us.anthropic.claude-sonnet-4-6";

/// Kills the server when the test ends, passed or not.
struct Serve {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `labcheck serve` with `args` and, when given, a descriptor limit;
/// returns once it printed its endpoint (its first line, printed once bound).
fn serve(args: &[&str], nofile: Option<u64>) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_labcheck"));
    cmd.args(["serve", LAB, "--speed", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(n) = nofile {
        // SAFETY: only an async-signal-safe syscall between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = cmd.spawn().expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a line")
        .expect("utf-8");
    let addr = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
        .parse()
        .expect("an address");
    Serve { child, addr }
}

/// One request over a fresh connection; the response head and body, or the
/// I/O error (e.g. a read timeout while the request waits to be accepted).
fn request(addr: SocketAddr, head_extra: &str, body: &[u8]) -> std::io::Result<String> {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let head = format!(
        "POST /model/{MODEL}/invoke HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer test\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n{head_extra}\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes())?;
    tcp.write_all(body)?;
    let mut out = Vec::new();
    tcp.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn slow_header_connections_beyond_the_descriptor_limit_do_not_starve_a_normal_request() {
    // 64 descriptors, 32 of them for connections, a 1 s header timeout.
    let server = serve(
        &["--header-timeout", "1", "--max-connections", "32"],
        Some(64),
    );
    let opened = Instant::now();
    // Twice the descriptor limit of connections that start a head and stall.
    let slow: Vec<TcpStream> = (0..128)
        .map(|_| {
            let mut tcp = TcpStream::connect(server.addr).expect("connect");
            tcp.write_all(b"POST /model/x/invoke HTTP/1.1\r\nHost: x\r\n")
                .expect("partial head");
            tcp
        })
        .collect();

    // A normal request queues behind them; poll it until a deadline.
    let deadline = opened + Duration::from_secs(60);
    let answer = loop {
        match request(server.addr, "", BODY.as_bytes()) {
            Ok(resp) if !resp.is_empty() => break resp,
            other => assert!(
                Instant::now() < deadline,
                "no answer within 60 s: {other:?}"
            ),
        }
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""type":"message""#), "{answer}");
    // It could only be served after slow connections were let go.
    assert!(opened.elapsed() >= Duration::from_secs(1));

    // The first stalled connection was closed by the server, not left open.
    let mut first = &slow[0];
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut buf = Vec::new();
    match first.read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "still open: {e}"
        ),
    }
}

#[test]
fn an_over_long_body_gets_a_bedrock_shaped_413() {
    let server = serve(&[], None);
    // Declared over the limit: refused before any of it is sent.
    let declared = labcheck::http::MAX_BODY_BYTES + 1;
    let mut tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "POST /model/{MODEL}/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).expect("head");
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).expect("response");
    let lower = resp.to_ascii_lowercase();
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    assert!(
        lower.contains(
            "x-amzn-errortype: validationexception:http://internal.amazon.com/coral/com.amazon.bedrock/"
        ),
        "{resp}"
    );
    assert!(
        resp.contains(&format!(
            r#"{{"message":"Request exceeds the maximum allowed size ({} bytes)"}}"#,
            labcheck::http::MAX_BODY_BYTES
        )),
        "{resp}"
    );

    // A body just under the limit is read and judged (a miss, not a refusal).
    let near = vec![b' '; labcheck::http::MAX_BODY_BYTES - 2];
    let body = [b"{}".as_slice(), &near].concat();
    let resp = request(server.addr, "", &body).expect("answer");
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("no interaction"), "{resp}");
}
