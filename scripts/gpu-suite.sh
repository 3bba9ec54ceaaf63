#!/usr/bin/env bash
# The whole GPU suite in one call, for the device machine (or any CUDA box):
# GPU + CPU pytest, then compute-sanitizer's four tools over every example and
# benchmark kernel (scripts/sanitize.sh; logs in $out/sanitize), then the
# benchmarks, whose table is printed last.
# On the device: carry [".mlir-bundle", "python/tile/_lib"] (make device-stage).
set -uo pipefail
source "$(dirname "$0")/device-env.sh"
out=${OUT:-/tmp/tile-gpu-suite}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader
python3 -m pytest -q -p no:cacheprovider test/python 2>&1 | tee "$out/pytest.log" | tail -n 25
tests=${PIPESTATUS[0]}
bash scripts/sanitize.sh --out "$out/sanitize" 2>&1 | tee /tmp/tile-sanitize-summary.txt
sanitize=${PIPESTATUS[0]}
for ex in softmax gemm gemm_epilogue; do python3 examples/$ex.py 2>&1 | tail -n 3; done
python3 benchmarks/run.py --json "$out/bench.json" 2>&1 | tee "$out/bench.log"
bench=${PIPESTATUS[0]}
grep -E '^(memcheck|racecheck|synccheck|initcheck|sanitize.sh):' /tmp/tile-sanitize-summary.txt
echo "pytest exit $tests, sanitize exit $sanitize, benchmarks exit $bench"
exit $(( tests || sanitize || bench ))
