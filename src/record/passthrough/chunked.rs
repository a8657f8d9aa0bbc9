//! S3's `aws-chunked` request bodies, undone: the pass-through re-sends an
//! upload as plain bytes with its payload hash, so the client's chunk
//! signatures (made with dummy credentials) never need re-signing.
//!
//! Format (after HTTP's own transfer coding is removed): chunks of
//! `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n`, a last chunk of size 0,
//! then trailer lines `<name>:<value>\r\n` (e.g. `x-amz-checksum-crc32:…`,
//! `x-amz-trailer-signature:…`) and an empty line.

/// The payload and its trailing headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dechunked {
    pub payload: Vec<u8>,
    /// Trailer headers, names lower-case, `x-amz-trailer-signature` left out.
    pub trailers: Vec<(String, String)>,
}

/// Why a body is not valid `aws-chunked`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    #[error("malformed aws-chunked body at byte {at}: {what}")]
    Malformed { at: usize, what: &'static str },
    #[error("aws-chunked payload is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

fn line(body: &[u8], at: usize) -> Result<(&[u8], usize), ChunkError> {
    let end = body[at.min(body.len())..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or(ChunkError::Malformed {
            at,
            what: "a line does not end in CRLF",
        })?;
    Ok((&body[at..at + end], at + end + 2))
}

/// Decodes `body`, refusing a payload over `limit` bytes.
pub fn dechunk(body: &[u8], limit: usize) -> Result<Dechunked, ChunkError> {
    let mut payload = Vec::new();
    let mut at = 0;
    loop {
        let (head, next) = line(body, at)?;
        let size = head.split(|&c| c == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size)
            .ok()
            .filter(|s| !s.is_empty() && s.len() <= 16)
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or(ChunkError::Malformed {
                at,
                what: "a chunk size is not hexadecimal",
            })?;
        at = next;
        if size == 0 {
            break;
        }
        if payload.len().saturating_add(size) > limit {
            return Err(ChunkError::TooLarge { limit });
        }
        let data = body.get(at..at + size).ok_or(ChunkError::Malformed {
            at,
            what: "a chunk is shorter than its size",
        })?;
        payload.extend_from_slice(data);
        at += size;
        if body.get(at..at + 2) != Some(b"\r\n") {
            return Err(ChunkError::Malformed {
                at,
                what: "a chunk does not end in CRLF",
            });
        }
        at += 2;
    }
    let mut trailers = Vec::new();
    // Trailers, then an empty line; a body that simply ends after the last
    // chunk (no trailer section) is accepted too.
    while at < body.len() {
        let (l, next) = line(body, at)?;
        if l.is_empty() {
            at = next;
            break;
        }
        let text = std::str::from_utf8(l).map_err(|_| ChunkError::Malformed {
            at,
            what: "a trailer is not text",
        })?;
        let (name, value) = text.split_once(':').ok_or(ChunkError::Malformed {
            at,
            what: "a trailer has no `:`",
        })?;
        let name = name.trim().to_ascii_lowercase();
        if name != "x-amz-trailer-signature" {
            trailers.push((name, value.trim().to_string()));
        }
        at = next;
    }
    if at != body.len() {
        return Err(ChunkError::Malformed {
            at,
            what: "bytes after the last chunk",
        });
    }
    Ok(Dechunked { payload, trailers })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &[u8] = b"# Returns\nCustomers may return an item within 30 days.\n";

    /// Bytes botocore 1.43.11 sent for `put_object` over HTTPS
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): see the fixture's README.
    fn botocore() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/record-setup/botocore-1.43.11-put-object.aws-chunked"
        );
        std::fs::read(path).expect("fixture")
    }

    #[test]
    fn botocore_trailer_upload_gives_the_payload_and_its_checksum() {
        let d = dechunk(&botocore(), 1 << 20).expect("valid");
        assert_eq!(d.payload, TEXT);
        assert_eq!(
            d.trailers,
            [("x-amz-checksum-crc32".to_string(), "Zt5kAA==".to_string())]
        );
    }

    #[test]
    fn signed_chunks_with_a_trailer_signature() {
        let sig = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
        let body = format!(
            "10;chunk-signature={sig}\r\n0123456789abcdef\r\n3;chunk-signature={sig}\r\nxyz\r\n0;chunk-signature={sig}\r\nx-amz-checksum-sha256:abc=\r\nx-amz-trailer-signature:{sig}\r\n\r\n"
        );
        let d = dechunk(body.as_bytes(), 100).expect("valid");
        assert_eq!(d.payload, b"0123456789abcdefxyz");
        assert_eq!(
            d.trailers,
            [("x-amz-checksum-sha256".to_string(), "abc=".to_string())]
        );
        // No trailer section at all (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
        let plain = format!("3;chunk-signature={sig}\r\nxyz\r\n0;chunk-signature={sig}\r\n\r\n");
        assert_eq!(
            dechunk(plain.as_bytes(), 100).expect("valid").payload,
            b"xyz"
        );
    }

    #[test]
    fn malformed_and_oversized_bodies_are_refused() {
        let what = |b: &[u8]| match dechunk(b, 8) {
            Err(ChunkError::Malformed { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            what(b"zz\r\nab\r\n0\r\n\r\n"),
            "a chunk size is not hexadecimal"
        );
        assert_eq!(what(b"5\r\nab\r\n"), "a chunk is shorter than its size");
        assert_eq!(what(b"2\r\nabX\n0\r\n\r\n"), "a chunk does not end in CRLF");
        assert_eq!(what(b"2\r\nab\r\n0"), "a line does not end in CRLF");
        assert_eq!(
            what(b"2\r\nab\r\n0\r\n\r\nextra"),
            "bytes after the last chunk"
        );
        assert_eq!(what(b"0\r\nno-colon\r\n\r\n"), "a trailer has no `:`");
        assert_eq!(
            dechunk(b"9\r\n123456789\r\n0\r\n\r\n", 8),
            Err(ChunkError::TooLarge { limit: 8 })
        );
    }
}
