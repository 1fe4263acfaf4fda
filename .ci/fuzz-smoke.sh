#!/usr/bin/env bash
# Bounded fuzz smoke run (docs/fuzzing.md): builds the cargo-fuzz targets in fuzz/ and runs each
# for FUZZ_SECONDS (default 20) on its committed corpus. A crash, panic or property failure
# fails the run; the input that caused it is left in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
# Only a stable toolchain is installed: RUSTC_BOOTSTRAP lets cargo-fuzz pass its nightly
# flags (sanitizer coverage). `-s none` drops AddressSanitizer: the code under test is safe
# Rust (`unsafe_code = "forbid"`), and the targets look for panics and broken properties.
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo fuzz list); do
  echo "== fuzz $target (${seconds}s)"
  mkdir -p "$scratch/$target"
  # New inputs go to the scratch folder: the committed corpus is only read.
  if ! cargo fuzz run "$target" -s none "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=30 -print_final_stats=1 >"$scratch/$target.log" 2>&1; then
    tail -n 40 "$scratch/$target.log"
    echo "fuzz target \`$target\` failed; its input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' "$scratch/$target.log" || true
done
