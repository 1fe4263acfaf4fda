#!/usr/bin/env bash
# Contract check of the REST API against its own OpenAPI document: starts the built
# `weaver serve` on a throwaway copy of demo-vault (127.0.0.1, a free port) and runs
# schemathesis (PyPI) over every documented operation, write methods included, with a bounded
# number of examples per operation so the run takes a minute or two.
#
#   bash .ci/schemathesis.sh [path/to/weaver]     (default: the workspace's target/debug/weaver)
#
# Needs python3 (>= 3.10, with venv) and PyPI. SCHEMATHESIS_MAX_EXAMPLES overrides the examples
# per operation (default 15), SCHEMATHESIS_PHASES the phases (default examples,coverage,fuzzing;
# add stateful for a longer run). Exits non-zero when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
weaver="${1:-$target_dir/debug/weaver}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-15}"

venv="$target_dir/schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv" || {
    # Debian's python3 ships venv separately.
    apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv "$venv"
  }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.*'
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cp -a demo-vault "$work/vault"
log="$work/serve.log"
env -u RUST_LOG -u WEAVER_CONFIG -u WEAVER_VAULT \
  "$weaver" serve --vault "$work/vault" --cache-dir "$work/cache" \
  --listen 127.0.0.1:0 --log-json 2>"$log" &
server_pid=$!

# The bound address is in the JSON log line `listening`; then wait for `/readyz`.
addr=""
for _ in $(seq 1 300); do
  addr="$(python3 - "$log" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        fields = json.loads(line).get("fields", {})
    except ValueError:
        continue
    if fields.get("message") == "listening":
        print(fields["addr"])
        break
EOF
)"
  [ -n "$addr" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log"; echo "weaver serve exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { cat "$log"; echo "weaver serve did not listen" >&2; exit 1; }
base="http://$addr"
for _ in $(seq 1 300); do
  if python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "$base/readyz" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "schemathesis against $base ($max_examples examples per operation)"
# Its example cache (`.schemathesis/`) goes to the scratch folder, not the work tree.
config="$(pwd)/.ci/schemathesis.toml"
cd "$work"
status=0
# The checks are in .ci/schemathesis.toml (status codes, content types, response schemas and
# headers, no 5xx, invalid input rejected, 405 with a true `Allow` for other methods).
# `events` is an endless Server-Sent Events stream: no response ever completes.
"$venv/bin/schemathesis" --config-file "$config" run "$base/api/v1/openapi.json" \
  --exclude-path '/api/v1/vaults/{vault}/events' \
  --phases "${SCHEMATHESIS_PHASES:-examples,coverage,fuzzing}" \
  --max-examples "$max_examples" \
  --seed 1 \
  --workers 2 \
  --request-timeout 10 \
  --suppress-health-check all \
  --warnings off \
  || status=$?
if [ "$status" -ne 0 ]; then
  echo "== the server's warnings and errors during the run" >&2
  grep -E '"level":"(WARN|ERROR)"' "$log" | tail -20 >&2 || true
fi
exit "$status"
