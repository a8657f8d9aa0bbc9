//! Stream frame timing against the recorded schedule.
//!
//! `cargo bench --bench stream_gaps` starts the replay server in process on
//! the seed lab's cassettes (speed 1), streams its InvokeModelWithResponseStream
//! interaction `BENCH_STREAMS` times (default 24, `BENCH_STREAM_PARALLEL` = 3 at
//! a time) with a plain HTTP/1.1 client over `std::net` that timestamps the
//! moment each event-stream frame is complete in its read buffer, and prints
//! the spread of (actual gap − recorded `delay_ms`) in ms. The first frame's
//! gap is measured from the end of writing the request.
//!
//! Prints only; asserts nothing about time (it is a benchmark, not a test).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use labcheck::cassette::CassetteSet;
use labcheck::ids::Operation;
use labcheck::replay::{ReplayOptions, ReplayServer};

const LAB_CASSETTES: &str = "labs/4.1-invoke-fm-via-bedrock/cassettes";
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The stream interaction: model id, compact request body, recorded delays.
struct Recorded {
    model: String,
    body: String,
    delays_ms: Vec<u64>,
}

fn recorded(set: &CassetteSet) -> BenchResult<Recorded> {
    for f in set.files() {
        for it in &f.cassette.interactions {
            if it.request.operation == Operation::InvokeModelWithResponseStream
                && let Some(events) = &it.response.stream
            {
                return Ok(Recorded {
                    model: it.request.model_id.clone(),
                    body: serde_json::to_string(&it.request.body)?,
                    delays_ms: events.iter().map(|e| e.delay_ms).collect(),
                });
            }
        }
    }
    Err("no InvokeModelWithResponseStream interaction in the seed lab".into())
}

/// Streams once; returns each frame's gap minus its recorded delay, in ms.
fn stream_once(addr: SocketAddr, rec: &Recorded) -> BenchResult<Vec<f64>> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let path = format!(
        "/model/{}/invoke-with-response-stream",
        rec.model.replace(':', "%3A")
    );
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/vnd.amazon.eventstream\r\nX-Amz-Date: 20260101T000000Z\r\n\
         Authorization: {AUTH}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        rec.body.len(),
        rec.body
    );
    tcp.write_all(request.as_bytes())?;
    let sent = Instant::now();

    let mut raw: Vec<u8> = Vec::new(); // bytes not yet de-chunked
    let mut payload: Vec<u8> = Vec::new(); // de-chunked bytes not yet framed
    let mut headers_done = false;
    let mut arrivals: Vec<Instant> = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = tcp.read(&mut buf)?;
        let now = Instant::now();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if !headers_done {
            let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&raw[..end]).into_owned();
            if !head.starts_with("HTTP/1.1 200") {
                return Err(format!("unexpected response: {head}").into());
            }
            raw.drain(..end + 4);
            headers_done = true;
        }
        // De-chunk every complete chunk.
        let mut last_chunk = false;
        while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
            let size_text = String::from_utf8_lossy(&raw[..eol]).into_owned();
            let size = usize::from_str_radix(size_text.trim(), 16)?;
            if raw.len() < eol + 2 + size + 2 {
                break;
            }
            payload.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
            raw.drain(..eol + 2 + size + 2);
            if size == 0 {
                last_chunk = true;
                break;
            }
        }
        // Every complete event-stream message arrived at `now`.
        while payload.len() >= 4 {
            let total = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
            let total = total as usize;
            if payload.len() < total {
                break;
            }
            payload.drain(..total);
            arrivals.push(now);
        }
        if last_chunk {
            break;
        }
    }
    if arrivals.len() != rec.delays_ms.len() {
        return Err(format!(
            "got {} frames, the cassette has {}",
            arrivals.len(),
            rec.delays_ms.len()
        )
        .into());
    }
    let mut prev = sent;
    let mut deviations = Vec::with_capacity(arrivals.len());
    for (at, delay) in arrivals.iter().zip(&rec.delays_ms) {
        let gap = at.duration_since(prev).as_secs_f64() * 1000.0;
        deviations.push(gap - *delay as f64);
        prev = *at;
    }
    Ok(deviations)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p / 100.0).round() as usize;
    sorted[i]
}

fn summary(label: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        println!("{label}: no samples");
        return;
    }
    let within = v.iter().filter(|d| d.abs() <= 5.0).count();
    println!(
        "{label:<28} n={:<5} min {:+7.2}  median {:+7.2}  p99 {:+7.2}  max {:+7.2} ms   within ±5 ms: {:.1}%",
        v.len(),
        v[0],
        percentile(&v, 50.0),
        percentile(&v, 99.0),
        v[v.len() - 1],
        100.0 * within as f64 / v.len() as f64
    );
}

fn main() -> BenchResult<()> {
    let streams = env_usize("BENCH_STREAMS", 24).max(1);
    let parallel = env_usize("BENCH_STREAM_PARALLEL", 3).clamp(1, streams);
    let set = CassetteSet::load_dir(LAB_CASSETTES)?;
    let rec = recorded(&set)?;
    let server = ReplayServer::start_blocking(set, ReplayOptions::default())?;
    let addr = server.addr();
    println!(
        "Stream frame gaps vs recorded delay_ms: {} frames per stream (recorded total {} ms), \
         {streams} streams, {parallel} at a time, speed 1",
        rec.delays_ms.len(),
        rec.delays_ms.iter().sum::<u64>()
    );
    stream_once(addr, &rec)?; // warm-up
    let mut first = Vec::new();
    let mut rest = Vec::new();
    let mut done = 0;
    while done < streams {
        let batch = parallel.min(streams - done);
        let results: Vec<BenchResult<Vec<f64>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..batch)
                .map(|_| s.spawn(|| stream_once(addr, &rec)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("client panicked".into())))
                .collect()
        });
        for r in results {
            let d = r?;
            first.push(d[0]);
            rest.extend_from_slice(&d[1..]);
        }
        done += batch;
    }
    server.shutdown();
    summary("frame 0 (from request sent)", first);
    let mut all = rest.clone();
    summary("frames 1.. (gap - delay_ms)", rest);
    all.sort_by(f64::total_cmp);
    let worst = all
        .first()
        .copied()
        .unwrap_or(0.0)
        .abs()
        .max(all.last().copied().unwrap_or(0.0).abs());
    println!(
        "target: every gap within ±5 ms of delay_ms: {}",
        if worst <= 5.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
