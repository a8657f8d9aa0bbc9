//! A local HTTP proxy that refuses every request and remembers where it was
//! going: steps get it as `HTTP(S)_PROXY`, so a client that tries to leave
//! loopback (boto3 with its default endpoint, `sts`, `pip install`) is stopped
//! and the host it wanted is named in the trial's failure.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::accept::Acceptor;

/// One refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// `CONNECT`, `GET`, `POST`…
    pub method: String,
    /// `host:port` the client wanted.
    pub host: String,
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} `{}`", self.method, self.host)
    }
}

/// The refusing proxy; stops when dropped.
pub struct RefusingProxy {
    acceptor: Acceptor,
    log: Arc<Mutex<Vec<Attempt>>>,
}

impl RefusingProxy {
    /// Serves on `listener` (bound by the caller: on the host's loopback, or
    /// inside a trial's network namespace).
    pub fn serve(listener: TcpListener) -> std::io::Result<RefusingProxy> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let acceptor = {
            let log = Arc::clone(&log);
            Acceptor::serve(listener, move |conn| refuse(conn, &log))?
        };
        Ok(RefusingProxy { acceptor, log })
    }

    /// Starts on `127.0.0.1:0` of the current network namespace.
    pub fn start() -> std::io::Result<RefusingProxy> {
        RefusingProxy::serve(TcpListener::bind("127.0.0.1:0")?)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.acceptor.addr)
    }

    /// Every request refused so far, in arrival order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Reads the request head, logs its target, answers 403 and closes.
fn refuse(mut conn: TcpStream, log: &Mutex<Vec<Attempt>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let Some(attempt) = parse_head(&String::from_utf8_lossy(&head)) else {
        return;
    };
    let body = format!(
        "labcheck: network access to `{}` refused (replay runs offline; only the trial's endpoint is reachable)\n",
        attempt.host
    );
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(attempt);
    let _ = write!(
        conn,
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.shutdown(Shutdown::Both);
}

/// The method and `host:port` of a proxy request head.
pub fn parse_head(head: &str) -> Option<Attempt> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?;
    let host_header = || {
        head.split("\r\n")
            .skip(1)
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown host".to_string())
    };
    let host = if method == "CONNECT" {
        target.to_string()
    } else if let Some((scheme, rest)) = target.split_once("://") {
        let authority = rest.split('/').next().unwrap_or(rest);
        if authority.contains(':') {
            authority.to_string()
        } else {
            let port = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            format!("{authority}:{port}")
        }
    } else {
        host_header()
    };
    Some(Attempt { method, host })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_and_absolute_forms_name_the_host() {
        let a = parse_head(
            "CONNECT sts.amazonaws.com:443 HTTP/1.1\r\nHost: sts.amazonaws.com:443\r\n\r\n",
        )
        .expect("parsed");
        assert_eq!(a.method, "CONNECT");
        assert_eq!(a.host, "sts.amazonaws.com:443");
        let b = parse_head("GET http://example.org/x HTTP/1.1\r\nHost: example.org\r\n\r\n")
            .expect("parsed");
        assert_eq!(b.host, "example.org:80");
        assert!(parse_head("").is_none());
    }

    #[test]
    fn a_request_is_refused_and_logged() {
        let proxy = RefusingProxy::start().expect("start");
        let addr = proxy.url().trim_start_matches("http://").to_string();
        let mut conn = TcpStream::connect(&addr).expect("connect");
        conn.write_all(b"CONNECT bedrock-runtime.us-east-1.amazonaws.com:443 HTTP/1.1\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        conn.read_to_string(&mut answer).expect("read");
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        assert!(
            answer.contains("`bedrock-runtime.us-east-1.amazonaws.com:443`"),
            "{answer}"
        );
        // The log is written before the answer, so it is complete once we have read it.
        assert_eq!(
            proxy.attempts(),
            [Attempt {
                method: "CONNECT".into(),
                host: "bedrock-runtime.us-east-1.amazonaws.com:443".into()
            }]
        );
    }
}
