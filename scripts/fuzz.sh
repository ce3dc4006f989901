#!/usr/bin/env bash
# Fuzzes every parser and envelope decoder (fuzz/fuzz_targets/) with cargo-fuzz, each for SECONDS
# (default 300), starting from its committed corpus in fuzz/corpus/<target>/; inputs that reach new
# code are added there, and a crash is saved under fuzz/artifacts/<target>/ and fails the script.
#
#     bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# No sanitizer: the crate forbids unsafe code, and what the targets look for (panics, endless
# loops, runaway memory) libFuzzer catches itself (-timeout, -rss_limit_mb), at twice the speed.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-300}
shift || true
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz@0.13.2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
