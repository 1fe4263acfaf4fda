#!/usr/bin/env bash
# The gateway's cost, side by side in one run: the same wrk load sent straight to `weaver serve`
# and through `weaver gateway` (API key checked, vault and role authorised, rate limits off,
# request forwarded over pooled upstream connections).
#
#   scripts/bench-gateway.sh [VAULT] [NOTES]
#
# Two regimes per endpoint, each run direct then through the gateway, twice, interleaved
# (D G D G), and the better run of each kept:
# - latency: one connection, one request at a time (wrk -t1 -c1): p50 and p99, and the p50 the
#   gateway adds;
# - throughput: wrk -t2 -c32: requests/s, and the share the gateway costs.
# All three processes (wrk, weaver, gateway) share this machine's cores: under saturation the
# gateway's CPU comes out of weaver's, which a deployment (gateway pods on their own CPU) avoids.
# A third table pins weaver to one core and wrk and the gateway to the other (taskset), so that
# weaver has the same CPU with and without the gateway in front.
# Prints a Markdown report for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

notes=${2:-10000}
vault=${1:-/tmp/weaver-bench-http-$notes}
api_port=${API_PORT:-3927}
gw_port=${GATEWAY_PORT:-8927}
duration=${DURATION:-10s}
bin=target/release/weaver
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
[ -x "$bin" ] || cargo build --release -p weaver
[ -d "$vault" ] || "$bin" bench gen --notes "$notes" --seed 42 --out "$vault"
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin" --vault "$vault" --cache-dir "$work/c" index >/dev/null
cat > "$work/weaver.toml" <<EOF
[server]
listen = "127.0.0.1:$api_port"
[log]
level = "warn"
[vaults.default]
path = "$vault"
cache_dir = "$work/c"
EOF
key=$("$bin" gateway keys create --name bench --role write --vaults default --file "$work/keys.toml" 2>/dev/null | sed -n 's/^key: //p')
cat > "$work/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$gw_port"
[upstreams]
api = "http://127.0.0.1:$api_port"
mcp = "http://127.0.0.1:1"
[limits]
identity_per_second = 0
address_per_second = 0
[auth]
api_keys_file = "$work/keys.toml"
[log]
level = "warn"
EOF

"$bin" serve --config "$work/weaver.toml" 2>"$work/serve.log" &
serve_pid=$!
pids+=($serve_pid)
until curl -sf "http://127.0.0.1:$api_port/readyz" >/dev/null; do sleep 0.01; done
"$bin" gateway --config "$work/gateway.toml" 2>"$work/gateway.log" &
gw_pid=$!
pids+=($gw_pid)
until curl -sf -o /dev/null "http://127.0.0.1:$gw_port/livez"; do sleep 0.01; done
sleep 1

direct="http://127.0.0.1:$api_port/api/v1/vaults/default"
gateway="http://127.0.0.1:$gw_port/api/v1/vaults/default"
auth="Authorization: Bearer $key"
listing=$(curl -s -H "$auth" "$gateway/notes?limit=1&offset=100")
note=$(sed -E 's/.*"path":"([^"]+)".*/\1/' <<<"$listing")
note_path="notes/$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$note")"
word=$(sed -E 's/.*"title":"([^" ]+).*/\1/' <<<"$listing")
# Sanity: both ways answer the same bytes.
cmp <(curl -sf "$direct/$note_path" -H 'Accept: text/markdown') \
    <(curl -sf -H "$auth" "$gateway/$note_path" -H 'Accept: text/markdown')

# wrk's latency figures in milliseconds.
ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.3f", v }' <<<"$1"; }

# CPU time (user + system) of a process, in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# `WRK_PREFIX` runs wrk under another command (taskset, below).
WRK_PREFIX=()

# One wrk run: prints "rps p50_ms p99_ms weaver_us_per_request gateway_us_per_request" (the CPU
# time each process spent per request answered).
load() { # threads connections url [wrk options...]
  local out t=$1 c=$2 url=$3
  shift 3
  local s0 g0
  s0=$(ticks "$serve_pid")
  g0=$(ticks "$gw_pid")
  out=$("${WRK_PREFIX[@]}" wrk -t"$t" -c"$c" -d"$duration" --latency "$@" "$url")
  local n
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  printf '%s %s %s %s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(ms "$(awk '$1=="50%" {print $2}' <<<"$out")")" "$(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")" \
    "$(( ($(ticks "$serve_pid") - s0) * 1000000 / hz / n ))" "$(( ($(ticks "$gw_pid") - g0) * 1000000 / hz / n ))"
}

# Best of two interleaved runs each way: "d_rps d_p50 d_p99 d_weaver_us d_gw_us g_rps g_p50
# g_p99 g_weaver_us g_gw_us".
compare() { # threads connections path [wrk options...]
  local t=$1 c=$2 path=$3
  shift 3
  local d1 g1 d2 g2
  d1=$(load "$t" "$c" "$direct/$path" "$@")
  g1=$(load "$t" "$c" "$gateway/$path" -H "$auth" "$@")
  d2=$(load "$t" "$c" "$direct/$path" "$@")
  g2=$(load "$t" "$c" "$gateway/$path" -H "$auth" "$@")
  python3 - "$d1" "$d2" "$g1" "$g2" <<'PY'
import sys
runs = [list(map(float, a.split())) for a in sys.argv[1:]]
best = lambda a, b: a if a[0] >= b[0] else b
d, g = best(runs[0], runs[1]), best(runs[2], runs[3])
print(*d, *g)
PY
}

row_latency() { # name path [wrk options...]
  local name=$1 path=$2
  shift 2
  read -r _ dp50 dp99 _ _ _ gp50 gp99 _ _ < <(compare 1 1 "$path" "$@")
  printf '| %s | %s | %s | %s | %s | **+%s** |\n' "$name" "$dp50" "$dp99" "$gp50" "$gp99" \
    "$(python3 -c "print(f'{$gp50 - $dp50:.3f}')")"
}

row_throughput() { # name path [wrk options...]
  local name=$1 path=$2
  shift 2
  read -r drps _ dp99 dweaver _ grps _ gp99 _ ggw < <(compare 2 32 "$path" "$@")
  printf '| %s | %.0f | %s | %.0f | %s | **%s%%** | %s | %s |\n' "$name" "$drps" "$dp99" "$grps" "$gp99" \
    "$(python3 -c "print(f'{(1 - $grps / $drps) * 100:.1f}')")" "$dweaver" "$ggw"
}

echo "### Gateway overhead: $("$bin" --version), $(basename "$vault") ($notes notes), wrk -d$duration, best of 2 interleaved runs"
echo
echo "Latency, one connection, one request at a time (ms):"
echo
echo "| request | direct p50 | direct p99 | gateway p50 | gateway p99 | added p50 |"
echo "|---|---:|---:|---:|---:|---:|"
row_latency "GET note (raw Markdown)" "$note_path" -H "Accept: text/markdown"
row_latency "GET note (JSON, with backlinks)" "$note_path"
row_latency "search \`$word\`" "search?q=$word&limit=10"
echo
echo "Throughput, wrk -t2 -c32 (2 cores shared by wrk, weaver and the gateway):"
echo
echo "| request | direct req/s | direct p99 ms | gateway req/s | gateway p99 ms | lost | weaver CPU µs/req | gateway CPU µs/req |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row_throughput "GET note (raw Markdown)" "$note_path" -H "Accept: text/markdown"
row_throughput "GET note (JSON, with backlinks)" "$note_path"
row_throughput "search \`$word\`" "search?q=$word&limit=10"
echo
echo
echo "Throughput with the gateway on its own core, as in a deployment where gateway pods have their"
echo "own CPU: weaver pinned to core 0 in both runs; wrk, and the gateway, pinned to core 1:"
echo
echo "| request | direct req/s | direct p99 ms | gateway req/s | gateway p99 ms | lost | weaver CPU µs/req | gateway CPU µs/req |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
taskset -a -pc 0 "$serve_pid" >/dev/null
taskset -a -pc 1 "$gw_pid" >/dev/null
WRK_PREFIX=(taskset -c 1)
row_throughput "GET note (raw Markdown)" "$note_path" -H "Accept: text/markdown"
row_throughput "GET note (JSON, with backlinks)" "$note_path"
row_throughput "search \`$word\`" "search?q=$word&limit=10"
echo
echo "(CPU µs/req: the process's user + system time over the run divided by the requests answered.)"
echo
echo "| gateway RSS after the runs | $(( $(awk '/VmRSS/ {print $2}' /proc/$gw_pid/status) / 1024 )) MB |"
echo "|---|---:|"
