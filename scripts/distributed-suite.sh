#!/usr/bin/env bash
# The distributed suite on every GPU of this machine: the distributed tests
# (interpreted worlds, loopback ranks on one GPU), then benchmarks/distributed_suite.py
# under torchrun, one rank a GPU, whose table (tile against torch + NCCL, checked)
# is printed last. NVLink multicast stays off, here and in every child process.
# Usage: bash scripts/distributed-suite.sh [--quick]   (OUT=dir keeps the logs and JSON)
set -uo pipefail
source "$(dirname "$0")/device-env.sh"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
out=${OUT:-/tmp/tile-distributed-suite}
mkdir -p "$out"
gpus=$(nvidia-smi -L | wc -l)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1
echo "GPUs: $gpus"
python3 -m pytest -q -p no:cacheprovider test/python/test_distributed.py 2>&1 \
  | tee "$out/pytest.log" | tail -n 5
tests=${PIPESTATUS[0]}
if [ "$gpus" -lt 2 ]; then
  echo "distributed-suite: one GPU here; the torchrun benchmarks need two or more"
  exit "$tests"
fi
torchrun --nproc-per-node="$gpus" -m benchmarks.distributed_suite --json "$out/distributed.json" "$@" \
  2>&1 | tee "$out/bench.log" | grep -E "^\||x [0-9]+$|Error|error" | tail -n 20
bench=${PIPESTATUS[0]}
exit $(( tests != 0 || bench != 0 ))
