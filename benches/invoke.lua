-- wrk script: the same Bedrock InvokeModel request for every server under test.
-- The body is the seed lab's Bước 2 request (cassette `invoke.json`,
-- interaction `cli-what-is-bedrock`); the Authorization header looks like a
-- SigV4 signature for the `bedrock` service (the labcheck replay server
-- requires one; moto routes on its credential scope). Nothing verifies it.
wrk.method = "POST"
wrk.path = "/model/us.anthropic.claude-sonnet-4-6/invoke"
wrk.body = '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"What is Amazon Bedrock? Answer in 2 sentences."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"

-- One machine-readable line for benches/replay.sh: requests/s, latency
-- percentiles in microseconds, and the count of non-2xx/3xx answers and
-- socket errors (a server that answers errors fast must not look fast).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d sock_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
