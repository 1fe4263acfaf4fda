#!/usr/bin/env bash
# Cluster mode against the local mode, on one machine (docs/benchmarks.md, "Cluster mode"):
#
#   scripts/bench-cluster.sh [NOTES...]        # default: 10000 50000
#
# For each size: a PostgreSQL 15 server in a temporary folder (initdb/pg_ctl, as the `postgres`
# user under root), the generated vault imported with `weaver cluster import` (timed), a first
# replica and a second one started on empty data folders (time until /readyz is 200: bootstrap
# from the database plus a cold index), then a write load (PATCH appends, 4 threads, 15 s) on
# replica A with replica B watched for its applied entry (replication lag), and the same load on
# `weaver serve` in the local mode over a copy of the vault. Prints Markdown.
# Needs the PostgreSQL server binaries (`apt-get install postgresql-15`) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ $# -gt 0 ] || sizes=(10000 50000)
seconds=${SECONDS_PER_LOAD:-15}
threads=${THREADS:-4}
bin=${WEAVER_BIN:-target/release/weaver}
[ -x "$bin" ] || cargo build --release -p weaver >&2
pg_bin=${WEAVER_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$pg_bin/postgres" ] || { echo "PostgreSQL binaries not found (apt-get install postgresql-15)" >&2; exit 2; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
work=$(mktemp -d /tmp/weaver-bench-cluster.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # url -> ms until 200
  local t0; t0=$(date +%s%N)
  until curl -sf "$1/readyz" >/dev/null; do sleep 0.02; done
  echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

mkdir -p "$work/pg" && [ "$(id -u)" != 0 ] || chown postgres "$work/pg"
as_pg "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres --no-sync >/dev/null
pg_port=$(free_port)
as_pg "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w \
  -o "-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c synchronous_commit=on" start >/dev/null

echo "### Cluster mode: $("$bin" --version), PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), one machine (2 cores shared by everything)"
echo
echo "| notes | import | replica ready (bootstrap + cold index) | 2nd replica ready | mode | writes/s | write p50 / p99 | lag p50 / p99 | CPU s / 1000 writes |"
echo "|---:|---:|---:|---:|---|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  vault="$work/gen-$n"
  "$bin" bench gen --notes "$n" --seed 42 --out "$vault" >/dev/null 2>&1
  db="w$n"
  as_pg psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE $db" >/dev/null
  url="postgresql://postgres@127.0.0.1:$pg_port/$db"
  t0=$(date +%s%N)
  "$bin" cluster import "$vault" --postgres-url "$url" >/dev/null
  import_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  ports=()
  for r in a b; do
    port=$(free_port); ports+=("$port")
    printf '[server]\nlisten = "127.0.0.1:%s"\n[log]\nlevel = "warn"\n[cluster]\npostgres_url = "%s"\nreplica_id = "%s"\ndata_dir = "%s"\n' \
      "$port" "$url" "$r" "$work/data-$n-$r" > "$work/$r.toml"
    "$bin" serve --config "$work/$r.toml" 2>"$work/$r-$n.log" &
    pids+=($!)
    eval "pid_$r=$!"
    eval "ready_$r=\$(wait_ready http://127.0.0.1:$port)"
  done
  a="http://127.0.0.1:${ports[0]}"; b="http://127.0.0.1:${ports[1]}"
  # shellcheck disable=SC2154
  cluster=$(python3 scripts/cluster_load.py "$a" "$b" "$seconds" "$threads" "$pid_a" "$pid_b")
  # The local mode over a copy of the same vault.
  cp -r "$vault" "$work/local-$n"
  port=$(free_port)
  printf '[server]\nlisten = "127.0.0.1:%s"\n[log]\nlevel = "warn"\n[vaults.default]\npath = "%s"\ncache_dir = "%s"\n' \
    "$port" "$work/local-$n" "$work/cache-$n" > "$work/local.toml"
  "$bin" serve --config "$work/local.toml" 2>"$work/local-$n.log" &
  pids+=($!); pid_l=$!
  wait_ready "http://127.0.0.1:$port" >/dev/null
  local=$(python3 scripts/cluster_load.py "http://127.0.0.1:$port" "http://127.0.0.1:$port" "$seconds" "$threads" "$pid_l")
  for p in "$pid_a" "$pid_b" "$pid_l"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  row() { python3 scripts/cluster_load.py --row "$1"; }
  echo "| $n | ${import_ms} ms | ${ready_a} ms | ${ready_b} ms | cluster (2 replicas) $(row "$cluster")"
  echo "| $n | | | | local $(row "$local")"
done
