//! `labcheck serve` memory under a long run with many misses.
//!
//! `cargo bench --bench serve_memory` starts the `labcheck serve` binary on
//! the seed lab (`--speed 0`) and drives it over loopback with a hyper
//! client, `BENCH_CONCURRENCY` (default 16) requests in flight, for
//! `BENCH_REQUESTS` (default 1 000 000) requests: one in ten matches no
//! interaction (a different prompt), and one in a hundred of those carries a
//! ~2 MB body. Every answer's status is checked (200 for a hit, 400 for a
//! miss). It prints the server's resident memory (`VmRSS` of
//! `/proc/PID/status`) before, every 10% of the way, and after; the target
//! after is under 64 MB. The run stops at `BENCH_DEADLINE_SECS` (default
//! 1800) if not done, and says so.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const LAB: &str = "labs/4.1-invoke-fm-via-bedrock";
const MODEL: &str = "us.anthropic.claude-sonnet-4-6";
/// The body the seed lab's cassette recorded for InvokeModel.
const HIT: &str = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"temperature":0.7,"messages":[{"role":"user","content":"Explain RAG in 3 sentences."}]}"#;
const TARGET_MB: u64 = 64;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_num(name: &str, default: u64) -> BenchResult<u64> {
    match std::env::var(name) {
        Ok(v) => Ok(v.parse().map_err(|_| format!("{name}={v}: not a number"))?),
        Err(_) => Ok(default),
    }
}

/// Resident memory of `pid` in kB.
fn rss_kb(pid: u32) -> BenchResult<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS line")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("no VmRSS value")?
        .parse()?)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// The body of request `i` and the status it must get.
fn body_of(i: u64, big: &Bytes) -> (Bytes, u16) {
    if !i.is_multiple_of(10) {
        return (Bytes::from_static(HIT.as_bytes()), 200);
    }
    if i.is_multiple_of(1000) {
        return (big.clone(), 400);
    }
    let miss = HIT.replace("Explain RAG", &format!("Explain RAG #{i}"));
    (Bytes::from(miss), 400)
}

fn main() -> BenchResult<()> {
    let total = env_num("BENCH_REQUESTS", 1_000_000)?;
    let concurrency = env_num("BENCH_CONCURRENCY", 16)? as usize;
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 1800)?);

    let mut child = Command::new(env!("CARGO_BIN_EXE_labcheck"))
        .args(["serve", LAB, "--speed", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let server = Serve(child);
    let pid = server.0.id();
    let first = BufReader::new(stdout).lines().next().ok_or("no line")??;
    let endpoint = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .ok_or_else(|| format!("no endpoint in {first:?}"))?
        .to_string();
    let url = format!("{endpoint}/model/{MODEL}/invoke");

    // ~2 MB: a prompt of 2 000 000 characters.
    let big = Bytes::from(HIT.replace("Explain RAG in 3 sentences.", &"x".repeat(2_000_000)));
    let before = rss_kb(pid)?;
    println!(
        "serve_memory: {total} requests ({} unmatched, {} of ~2 MB), {concurrency} in flight, pid {pid}",
        total.div_ceil(10),
        total.div_ceil(1000)
    );
    println!("  RSS before: {}", mb(before));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let (done, wrong, peak) = runtime.block_on(async {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let mut results = futures_util::stream::iter(0..total)
            .map(|i| {
                let (body, want) = body_of(i, &big);
                let req = http::Request::post(&url)
                    .header("authorization", "Bearer bench")
                    .header("content-type", "application/json")
                    .body(Full::new(body));
                let client = client.clone();
                async move {
                    let resp = client.request(req?).await?;
                    let status = resp.status().as_u16();
                    resp.into_body().collect().await?;
                    Ok::<_, Box<dyn std::error::Error>>(status == want)
                }
            })
            .buffer_unordered(concurrency);
        let (mut done, mut wrong, mut peak) = (0u64, 0u64, before);
        while let Some(r) = results.next().await {
            done += 1;
            if !r.unwrap_or(false) {
                wrong += 1;
            }
            if done.is_multiple_of((total / 10).max(1)) {
                let now = rss_kb(pid).unwrap_or(0);
                peak = peak.max(now);
                println!(
                    "  {done:>8} requests, {:>6.0} s: RSS {}",
                    started.elapsed().as_secs_f64(),
                    mb(now)
                );
            }
            if started.elapsed() > deadline {
                println!("  stopped at the {} s deadline", deadline.as_secs());
                break;
            }
        }
        (done, wrong, peak)
    });
    let after = rss_kb(pid)?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "  RSS after: {} (peak sampled {}; target < {TARGET_MB} MB: {})",
        mb(after),
        mb(peak),
        if after < TARGET_MB * 1024 {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "  {done} requests in {secs:.0} s ({:.0}/s), {wrong} with an unexpected answer",
        done as f64 / secs
    );
    if wrong > 0 || done < total {
        return Err(format!("{wrong} unexpected answers, {done}/{total} done").into());
    }
    Ok(())
}
