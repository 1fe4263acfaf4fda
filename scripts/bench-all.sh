#!/usr/bin/env bash
# Every benchmark behind docs/benchmarks.md, in one run: the engine on generated 10k and 50k
# vaults and on the public obsidian-hub vault (when ../shared is present), then the HTTP service.
# Run it on an otherwise idle machine; it prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p weaver >&2
bin=target/release/weaver
work=${WORK:-/tmp/weaver-bench}
mkdir -p "$work"
for n in 10000 50000; do
  [ -d "$work/gen-$n" ] || "$bin" bench gen --notes "$n" --seed 42 --out "$work/gen-$n" >&2
  "$bin" --vault "$work/gen-$n" bench run --label "gen-$((n / 1000))k" --scratch "$work/scratch" --live-rounds 20
done
hub=../shared/vaults/obsidian-hub
if [ -d "$hub" ]; then
  "$bin" --vault "$hub" bench run --label obsidian-hub --scratch "$work/scratch" --live-rounds 20
fi
scripts/bench-http.sh "$work/gen-10000" 10000
scripts/bench-gateway.sh "$work/gen-10000" 10000
