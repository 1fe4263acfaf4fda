#!/usr/bin/env bash
# HTTP load benchmark of `weaver serve` with wrk (Debian package `wrk`), from a second process.
#
#   scripts/bench-http.sh [VAULT] [NOTES]
#
# Generates a vault of NOTES notes (default 10000) unless VAULT exists, starts the release
# binary on 127.0.0.1 with a warm cache, and measures: time to ready with a warm cache, idle RSS,
# note reads and searches under load (2 wrk threads, 32 connections, 15 s each), and how long an
# external edit takes to reach the SSE stream. Prints a Markdown report for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

notes=${2:-10000}
vault=${1:-/tmp/weaver-bench-http-$notes}
port=${PORT:-3917}
duration=${DURATION:-15s}
bin=target/release/weaver
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -x "$bin" ] || cargo build --release -p weaver
[ -d "$vault" ] || "$bin" bench gen --notes "$notes" --seed 42 --out "$vault"
cache=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$cache"' EXIT

# A first run builds the cache; the measured start is warm.
"$bin" --vault "$vault" --cache-dir "$cache/c" index >/dev/null
cat > "$cache/weaver.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
[log]
level = "warn"
[vaults.default]
path = "$vault"
cache_dir = "$cache/c"
EOF

start=$(date +%s%N)
"$bin" serve --config "$cache/weaver.toml" 2>"$cache/log" &
pid=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.01; done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 2
idle_rss_mb=$(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 ))

base="http://127.0.0.1:$port/api/v1/vaults/default"
note=$(curl -s "$base/notes?limit=1&offset=100" | sed -E 's/.*"path":"([^"]+)".*/\1/')
note_url="$base/notes/$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$note")"
word=$(curl -s "$base/notes?limit=1&offset=100" | sed -E 's/.*"title":"([^" ]+).*/\1/')

run() { # name url [wrk options...]
  local out name=$1 url=$2
  shift 2
  out=$(wrk -t2 -c32 -d"$duration" --latency "$@" "$url")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '| %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99"
}

echo "### HTTP: $("$bin" --version), $(basename "$vault") ($notes notes), 2 cores shared by server and wrk"
echo
echo "| measure | value |"
echo "|---|---:|"
echo "| ready after start, warm cache | ${ready_ms} ms |"
echo "| idle RSS | ${idle_rss_mb} MB |"
echo
echo "| load (wrk -t2 -c32 -d$duration) | requests/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
run "GET note (JSON, with backlinks)" "$note_url"
run "GET note (raw Markdown)" "$note_url" -H "Accept: text/markdown"
run "search \`$word\`" "$base/search?q=$word&limit=10"
run "backlinks" "$note_url/backlinks"

# External edit -> SSE event latency.
curl -sN "$base/events" > "$cache/events" &
sse=$!
sleep 1
file="$vault/$note"
lat=()
for i in 1 2 3 4 5 6 7 8 9 10; do
  before=$(grep -c '^event: note.updated' "$cache/events" || true)
  t0=$(date +%s%N)
  printf '\nsse probe %s\n' "$i" >> "$file"
  until [ "$(grep -c '^event: note.updated' "$cache/events" || true)" -gt "$before" ]; do sleep 0.002; done
  lat+=($(( ($(date +%s%N) - t0) / 1000000 )))
  sleep 0.2
done
kill $sse 2>/dev/null || true
sorted=$(printf '%s\n' "${lat[@]}" | sort -n | tr '\n' ' ')
echo
echo "| external edit -> SSE event (10 edits) | ms, sorted: $sorted|"
