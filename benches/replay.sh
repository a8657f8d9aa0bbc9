#!/usr/bin/env bash
# Replay server throughput vs its peers, then stream frame timing.
#
#   bash benches/replay.sh            # from the repository root
#
# Sets itself up: wrk (Debian), moto[server] (PyPI, pinned, into a venv) and
# @copilotkit/aimock (npm, pinned, into a local prefix) under
# $LABCHECK_BENCH_CACHE (default ~/.cache/labcheck/bench), and a release build
# of labcheck. Then, one server at a time on 127.0.0.1, the same InvokeModel
# request (benches/invoke.lua) with the same wrk load: 16 connections,
# 2 threads, a warm-up run, then the measured run. Prints requests/s, p50,
# p99 and the ratios; finally runs `cargo bench --bench stream_gaps`.
#
# Knobs (env): BENCH_DURATION (10s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (16),
# BENCH_THREADS (2), BENCH_SKIP_GAPS=1 to skip the stream timing part,
# BENCH_LABCHECK_BIN to use another labcheck binary (no build).
set -euo pipefail

MOTO_VERSION=5.2.5
AIMOCK_VERSION=1.43.0
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-3s}
CONNS=${BENCH_CONNECTIONS:-16}
THREADS=${BENCH_THREADS:-2}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cache=${LABCHECK_BENCH_CACHE:-$HOME/.cache/labcheck/bench}
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d -t labcheck-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }

# ---- setup -----------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  say "setup: installing wrk (apt-get)"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi
mkdir -p "$cache"
moto_venv=$cache/moto-$MOTO_VERSION
if [ ! -x "$moto_venv/bin/moto_server" ]; then
  say "setup: installing moto[server]==$MOTO_VERSION into $moto_venv"
  python3 -m venv "$moto_venv"
  "$moto_venv/bin/pip" install -q "moto[server]==$MOTO_VERSION"
fi
aimock_dir=$cache/aimock-$AIMOCK_VERSION
aimock_cli=$aimock_dir/node_modules/@copilotkit/aimock/dist/cli.js
if [ ! -f "$aimock_cli" ]; then
  say "setup: installing @copilotkit/aimock@$AIMOCK_VERSION into $aimock_dir"
  npm install --prefix "$aimock_dir" --no-audit --no-fund --silent "@copilotkit/aimock@$AIMOCK_VERSION"
fi
if [ -n "${BENCH_LABCHECK_BIN:-}" ]; then
  labcheck=$BENCH_LABCHECK_BIN   # for trying the script out; figures need release
else
  say "setup: cargo build --release --bin labcheck"
  cargo build --release --quiet --bin labcheck
  labcheck=$target/release/labcheck
fi

# aimock answers the same prompt with the same text as the cassette.
cat >"$work/aimock-fixtures.json" <<'EOF'
{"fixtures":[{"match":{"userMessage":"What is Amazon Bedrock? Answer in 2 sentences."},"response":{"content":"Amazon Bedrock is a fully managed AWS service that gives you access to high-performing foundation models from leading AI companies such as Anthropic, Meta, Mistral AI and Amazon through a single API. It lets you build and scale generative AI applications with features like knowledge bases, agents and guardrails, without having to manage any infrastructure."}}]}
EOF

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Polls until the server answers HTTP at all (any status), at most 30 s.
wait_http() {
  local url=$1 i
  for i in $(seq 300); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    sleep 0.1
  done
  say "error: no server at $url after 30 s"; return 1
}

# Starts one server ($1 = name); sets `url` and `server_pid`.
start_server() {
  local port
  port=$(free_port)
  case $1 in
    labcheck)
      "$labcheck" serve labs/4.1-invoke-fm-via-bedrock --port "$port" >"$work/labcheck.log" 2>&1 & ;;
    aimock)
      node "$aimock_cli" -p "$port" -f "$work/aimock-fixtures.json" --log-level silent >"$work/aimock.log" 2>&1 & ;;
    moto)
      "$moto_venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 & ;;
  esac
  server_pid=$!
  pids+=("$server_pid")
  url="http://127.0.0.1:$port"
}

# ---- one server after the other --------------------------------------------
declare -A rps p50 p99
for name in labcheck aimock moto; do
  start_server "$name"
  wait_http "$url/"
  # Correctness check first: the request must be answered with 200.
  code=$(curl -s -o "$work/$name.body" -w '%{http_code}' -X POST "$url/model/us.anthropic.claude-sonnet-4-6/invoke" \
    -H 'Content-Type: application/json' -H 'Accept: application/json' -H 'X-Amz-Date: 20260101T000000Z' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date, Signature=00' \
    --data '{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"What is Amazon Bedrock? Answer in 2 sentences."}]}')
  say "$name: $url answers $code with $(wc -c <"$work/$name.body") bytes"
  [ "$code" = 200 ] || { say "error: $name did not answer 200"; cat "$work/$name.body" >&2; exit 1; }
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s benches/invoke.lua "$url" >/dev/null
  line=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s benches/invoke.lua "$url" | grep '^RESULT')
  say "$name: $line"
  eval "$(sed -E 's/^RESULT //; s/([a-z0-9_]+)=/local_\1=/g' <<<"$line")"
  # shellcheck disable=SC2154 # set by the eval above
  if [ "$local_non2xx" != 0 ] || [ "$local_sock_errors" != 0 ]; then
    say "warning: $name had $local_non2xx non-2xx answers and $local_sock_errors socket errors"
  fi
  rps[$name]=$local_rps; p50[$name]=$local_p50_us; p99[$name]=$local_p99_us
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
done

# ---- report ----------------------------------------------------------------
echo
echo "InvokeModel throughput, $CONNS connections, $THREADS wrk threads, $DURATION each (after $WARMUP warm-up), $(nproc) cores, $(date -u +%Y-%m-%d)"
printf '%-10s %12s %10s %10s\n' server 'requests/s' 'p50 ms' 'p99 ms'
for name in labcheck aimock moto; do
  awk -v n="$name" -v r="${rps[$name]}" -v a="${p50[$name]}" -v b="${p99[$name]}" \
    'BEGIN { printf "%-10s %12.0f %10.3f %10.3f\n", n, r, a/1000, b/1000 }'
done
awk -v l="${rps[labcheck]}" -v a="${rps[aimock]}" -v m="${rps[moto]}" \
    -v lp99="${p99[labcheck]}" -v ap50="${p50[aimock]}" 'BEGIN {
  printf "ratio labcheck/aimock %.2fx (target >= 3x: %s)\n", l/a, (l/a >= 3 ? "met" : "NOT met")
  printf "ratio labcheck/moto   %.2fx\n", l/m
  printf "labcheck p99 %.3f ms vs aimock p50 %.3f ms (target p99 < p50: %s)\n", lp99/1000, ap50/1000, (lp99 < ap50 ? "met" : "NOT met")
}'

if [ "${BENCH_SKIP_GAPS:-0}" != 1 ]; then
  echo
  cargo bench --quiet --bench stream_gaps
fi
