//! The few AWS calls labcheck itself makes to a setup-service endpoint — a
//! trial's moto server (reading state back, creating seed state) or the
//! record/live pass-through (the cleanup): plain HTTP/1.1 over a loopback
//! socket, one request per connection. Requests are SigV4-signed with the
//! dummy credentials: moto ignores the signature and routes by the
//! credential scope; the pass-through reads signing name and region from
//! that scope and signs again with the author's credentials.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

use crate::steps::env::{DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY};

/// An endpoint URL that is not `http://host:port` on a reachable address.
#[derive(Debug, thiserror::Error)]
#[error("setup endpoint `{url}`: {message}")]
pub struct EndpointError {
    pub url: String,
    pub message: String,
}

/// The socket address of an `http://host:port` endpoint URL (a trial's
/// `AWS_ENDPOINT_URL`); a path after it is ignored.
pub fn endpoint_addr(url: &str) -> Result<SocketAddr, EndpointError> {
    let err = |message: &str| EndpointError {
        url: url.to_string(),
        message: message.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| err("only plain `http://` endpoints are supported"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    if !authority.contains(':') || authority.ends_with(']') {
        return Err(err("the URL names no port"));
    }
    authority
        .to_socket_addrs()
        .map_err(|e| err(&e.to_string()))?
        .next()
        .ok_or_else(|| err("the host resolves to no address"))
}

/// What moto answered.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A request to one service of the emulator.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The signing name moto routes by (`s3`, `iam`, `dynamodb`).
    pub service: &'a str,
    pub method: &'a str,
    /// Path and query, already encoded.
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// Sends `call` to the server at `addr` and reads the whole answer.
pub fn send(addr: SocketAddr, region: &str, call: &Call<'_>) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let host = addr.to_string();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        call.method,
        call.path,
        call.body.len(),
    );
    for (k, v) in call.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    for (k, v) in signature(&host, region, call)? {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(call.body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw)
}

/// The SigV4 headers (`authorization`, `x-amz-date`, for S3
/// `x-amz-content-sha256`) of `call` signed with the dummy credentials.
/// IAM is global: its scope is always `us-east-1`, as AWS requires.
fn signature(host: &str, region: &str, call: &Call<'_>) -> std::io::Result<Vec<(String, String)>> {
    let bad = |e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("signing: {e}"))
    };
    let region = if call.service == "iam" {
        "us-east-1"
    } else {
        region
    };
    let mut settings = SigningSettings::default();
    if call.service == "s3" {
        // S3's own rules: the payload hash as a header, the path as given.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let identity = aws_credential_types::Credentials::new(
        DUMMY_ACCESS_KEY_ID,
        DUMMY_SECRET_ACCESS_KEY,
        None,
        None,
        "labcheck-dummy",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(call.service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| bad(&e))?
        .into();
    let url = format!("http://{host}{}", call.path);
    let mut headers: Vec<(&str, &str)> = vec![("host", host)];
    headers.extend(call.headers.iter().copied());
    let signable = SignableRequest::new(
        call.method,
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(call.body),
    )
    .map_err(|e| bad(&e))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| bad(&e))?.into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut body = raw[split + 4..].to_vec();
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Percent-encodes an S3 key for a path (keeps `/`).
pub fn encode_key(key: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(key, SET).to_string()
}

/// Form-encodes query parameters (IAM, STS).
pub fn form(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_bodies_parse() {
        let r = parse(b"HTTP/1.1 404 NOT FOUND\r\nContent-Length: 2\r\n\r\nno").unwrap();
        assert_eq!((r.status, r.body.as_str(), r.ok()), (404, "no", false));
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "abcde"));
        assert!(parse(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn calls_are_signed_in_the_services_scope() {
        let call = Call {
            service: "iam",
            method: "POST",
            path: "/",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: b"Action=ListRoles",
        };
        let h = signature("127.0.0.1:9", "eu-west-1", &call).unwrap();
        let auth = &h.iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert!(auth.contains("/us-east-1/iam/aws4_request"), "{auth}");
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date"),
            "{auth}"
        );
        let s3 = Call {
            service: "s3",
            body: b"",
            ..call
        };
        let h = signature("127.0.0.1:9", "eu-west-1", &s3).unwrap();
        assert!(h.iter().any(|(k, _)| k == "x-amz-content-sha256"), "{h:?}");
        assert!(h.iter().any(|(_, v)| v.contains("/eu-west-1/s3/")), "{h:?}");
    }

    /// What goes on the wire is what was signed: a listener captures the
    /// request, and the signature is computed again from the captured
    /// method, path, headers and body with the dummy credentials.
    #[test]
    fn the_request_on_the_wire_carries_a_valid_signature() {
        use aws_smithy_types::date_time::{DateTime, Format};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            loop {
                let n = conn.read(&mut buf).unwrap();
                raw.extend_from_slice(&buf[..n]);
                if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .unwrap()
                        .trim()
                        .parse()
                        .unwrap();
                    if raw.len() >= end + 4 + len || n == 0 {
                        break;
                    }
                }
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            raw
        });
        let call = Call {
            service: "s3",
            method: "DELETE",
            path: "/kb-lab-documents/docs/a%20b.md?versionId=v%2B1",
            headers: &[],
            body: b"",
        };
        assert_eq!(send(addr, "eu-west-1", &call).unwrap().status, 204);
        let raw = server.join().unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let request_line: Vec<&str> = lines.next().unwrap().split(' ').collect();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let get = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        let auth = get("authorization");
        let signed: Vec<&str> = auth
            .split("SignedHeaders=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .split(';')
            .collect();
        let given = auth.split("Signature=").nth(1).unwrap();
        let d = get("x-amz-date");
        let rfc = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[9..11],
            &d[11..13],
            &d[13..15]
        );
        let time =
            SystemTime::try_from(DateTime::from_str(&rfc, Format::DateTime).unwrap()).unwrap();
        let pairs = headers
            .iter()
            .filter(|(k, _)| signed.contains(&k.as_str()) && k != "x-amz-date")
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let url = format!("http://{}{}", get("host"), request_line[1]);
        let signable = SignableRequest::new(
            request_line[0],
            url.as_str(),
            pairs,
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let identity = aws_credential_types::Credentials::new(
            DUMMY_ACCESS_KEY_ID,
            DUMMY_SECRET_ACCESS_KEY,
            None,
            None,
            "t",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let expected = sign(signable, &params).unwrap();
        assert_eq!(expected.signature(), given, "{head}");
        assert!(auth.contains("/eu-west-1/s3/aws4_request"), "{auth}");
    }

    #[test]
    fn endpoints_are_http_with_a_port() {
        assert_eq!(
            endpoint_addr("http://127.0.0.1:4566/").unwrap(),
            "127.0.0.1:4566".parse().unwrap()
        );
        assert!(endpoint_addr("https://127.0.0.1:4566").is_err());
        assert!(endpoint_addr("http://127.0.0.1").is_err());
    }

    #[test]
    fn keys_keep_slashes_and_forms_encode_json() {
        assert_eq!(encode_key("docs/a b.md"), "docs/a%20b.md");
        assert_eq!(form(&[("A", "{\"x\"}")]), "A=%7B%22x%22%7D");
    }
}
