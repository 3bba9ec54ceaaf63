#!/usr/bin/env bash
# The distributed suite on the GPUs of this machine: the distributed tests
# (interpreted worlds, loopback ranks on one GPU, the benchmark's CPU tests), then
# benchmarks/distributed_suite.py, whose table (tile against torch, checked) is
# printed last: with two GPUs or more under torchrun, one rank a GPU, against torch +
# NCCL; with one GPU in loopback mode, 2 then 4 ranks on it (--quick), a smoke test
# whose times are not communication figures. NVLink multicast stays off, here and in
# every child process.
# Usage: bash scripts/distributed-suite.sh [--quick]   (OUT=dir keeps the logs and JSON)
set -uo pipefail
source "$(dirname "$0")/device-env.sh"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
out=${OUT:-/tmp/tile-distributed-suite}
mkdir -p "$out"
gpus=$(nvidia-smi -L | wc -l)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1
echo "GPUs: $gpus"
# The end-to-end loopback test is what the loopback runs below do.
python3 -m pytest -q -p no:cacheprovider test/python/test_distributed.py \
  test/python/test_distributed_suite.py -k "not test_loopback_suite_on_one_gpu" 2>&1 \
  | tee "$out/pytest.log" | tail -n 5
tests=${PIPESTATUS[0]}
bench=0
if [ "$gpus" -lt 2 ]; then
  # A kernel's tile.wait stops it after 10 s; the time limit guards the rest.
  for ranks in 2 4; do
    timeout -k 30 900 python3 -m benchmarks.distributed_suite --loopback "$ranks" --quick \
      --json "$out/loopback-$ranks.json" "$@" 2>&1 | tee "$out/loopback-$ranks.log" \
      | grep -E "^\||loopback ranks|Error|error" | tail -n 20
    status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || bench=$status
  done
else
  torchrun --nproc-per-node="$gpus" -m benchmarks.distributed_suite --json "$out/distributed.json" \
    "$@" 2>&1 | tee "$out/bench.log" | grep -E "^\||x [0-9]+, one rank|Error|error" | tail -n 20
  bench=${PIPESTATUS[0]}
fi
exit $(( tests != 0 || bench != 0 ))
