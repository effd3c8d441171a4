#!/bin/sh
# Runs one libFuzzer binary for a bounded time, seeded from the committed
# corpus, writing new inputs and crash artifacts into the build tree only.
# usage: run-fuzzer.sh BINARY SEED_CORPUS WORK_DIR SECONDS
# libFuzzer exits 77 on a finding by default, which meson reads as SKIP;
# exit 1 instead so a crash, leak or timeout fails the test.
set -eu
bin=$1 seed=$2 work=$3 secs=$4
mkdir -p "$work/corpus" "$work/artifacts"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" "$seed"
