#!/usr/bin/env bash
# compute-sanitizer's four tools over scripts/sanitize.py (every example and benchmark
# kernel once per configuration, small and ragged shapes, checked against torch).
#
#   scripts/sanitize.sh [--tools memcheck,racecheck,synccheck,initcheck] [--quick]
#                       [--out DIR] [--timeout SECONDS]
#
# First a run without a tool: it compiles every kernel into the disk cache and
# checks the results, so the tools find the kernels compiled and a wrong result
# is told apart from a tool's report. Then one run per tool; racecheck, the
# slowest, runs sanitize.py --quick (--quick gives every tool that subset).
# Prints one line per tool ("memcheck: 0 errors ...") and exits 1 if a tool
# reported an error, a case failed under it, or a run did not finish. Logs go to
# --out, else $SANITIZE_OUT, else $OUT/sanitize, else /tmp/tile-sanitize:
# plain.log (versions and the run without a tool) and TOOL.log.
#
# cuda-bindings resolves its whole table of driver entry points at its first
# call, and the entry points newer than the driver fail there (about 34
# CUDA_ERROR_INVALID_VALUE reports of cuGetProcAddress_v2 with driver 580). The
# tool has no per-API filter (--report-api-errors is all, explicit or no), so
# these reports, and only these, are subtracted from the tool's count here; the
# line says how many. The reason is in scripts/sanitize.py's docstring.
set -uo pipefail
cd "$(dirname "$0")/.."

tools="memcheck,racecheck,synccheck,initcheck"
quick=""
out="${SANITIZE_OUT:-}"
limit=600
while [ $# -gt 0 ]; do
  case "$1" in
    --tools) tools="$2"; shift 2 ;;
    --tools=*) tools="${1#*=}"; shift ;;
    --quick) quick="--quick"; shift ;;
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --timeout) limit="$2"; shift 2 ;;
    --timeout=*) limit="${1#*=}"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "sanitize.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in ${tools//,/ }; do
  case "$tool" in
    memcheck|racecheck|synccheck|initcheck) ;;
    *) echo "sanitize.sh: unknown tool $tool (memcheck, racecheck, synccheck, initcheck)" >&2
       exit 2 ;;
  esac
done
if [ -z "$out" ]; then
  if [ -n "${OUT:-}" ]; then out="$OUT/sanitize"; else out=/tmp/tile-sanitize; fi
fi
mkdir -p "$out"

if ! python3 -c "import mlir.ir" 2>/dev/null && [ -f .mlir-bundle/mlir-py312.tar.xz ]; then
  mkdir -p /tmp/site && tar xJf .mlir-bundle/mlir-py312.tar.xz -C /tmp/site
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
sanitizer=$(command -v compute-sanitizer || true)
if [ -z "$sanitizer" ]; then
  for candidate in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [ -x "$candidate" ] && sanitizer=$candidate && break
  done
fi

status=0
{
  echo "driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -n 1)"
  echo "cuda-bindings: $(python3 -m pip show cuda-bindings 2>/dev/null | sed -n 's/^Version: //p')"
  echo "compute-sanitizer: ${sanitizer:-not found} $([ -n "$sanitizer" ] && "$sanitizer" --version | tail -n 1)"
} > "$out/plain.log" 2>&1
cat "$out/plain.log"

start=$SECONDS
timeout "$limit" python3 scripts/sanitize.py $quick >> "$out/plain.log" 2>&1
plain=$?
echo "without a tool: $(tail -n 1 "$out/plain.log") (exit $plain, $((SECONDS - start)) s)"
[ $plain -ne 0 ] && status=1
if [ -z "$sanitizer" ]; then
  echo "sanitize.sh: compute-sanitizer not found" >&2
  exit 1
fi

# One tool's log -> "ERRORS FILTERED": the tool's error count (every process's ERROR
# SUMMARY, or racecheck's error count where it prints no ERROR SUMMARY) and the
# cuda-bindings start-up lookups among them; -1 where the log has no summary.
count_errors() {
  awk '
    /Program hit .* on CUDA API call to cuGetProcAddress/ { filtered++ }
    /ERROR SUMMARY: [0-9]+ error/ && !/were not printed/ {
      for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") { errors += $(i + 1); found = 1 }
    }
    /RACECHECK SUMMARY:/ && match($0, /\([0-9]+ error/) {
      race += substr($0, RSTART + 1, RLENGTH - 7); race_found = 1
    }
    END {
      if (!found && race_found) { errors = race; found = 1 }
      print (found ? errors + 0 : -1), filtered + 0
    }' "$1"
}

for tool in ${tools//,/ }; do
  log="$out/$tool.log"
  args=$quick
  [ "$tool" = racecheck ] && args="--quick"
  start=$SECONDS
  timeout "$limit" "$sanitizer" --tool "$tool" --error-exitcode 1 --print-limit 100 \
    --target-processes all python3 scripts/sanitize.py $args > "$log" 2>&1
  code=$?
  seconds=$((SECONDS - start))
  read -r errors filtered < <(count_errors "$log")
  cases=$(grep -Eo 'sanitize: (all [0-9]+ cases match torch|[0-9]+ of [0-9]+ cases FAILED)' "$log" | tail -n 1)
  if [ "$code" -eq 124 ]; then
    echo "$tool: TIMED OUT after ${limit} s (log $log)"; status=1; continue
  fi
  if [ "$errors" -lt 0 ]; then
    echo "$tool: no ERROR SUMMARY in the log (exit $code; log $log)"; status=1; continue
  fi
  filtered=$(( filtered < errors ? filtered : errors ))  # only reports the tool counted
  real=$(( errors - filtered ))
  note=""
  [ "$filtered" -gt 0 ] && note=", $filtered cuGetProcAddress reports from cuda-bindings' start-up filtered"
  echo "$tool: $real errors ($errors reported$note; ${cases:-sanitize.py did not finish}; ${seconds} s)"
  if [ "$real" -ne 0 ] || [[ "$cases" != *"match torch"* ]]; then
    status=1
  fi
done
echo "sanitize.sh: $([ $status -eq 0 ] && echo PASS || echo FAIL) (logs in $out)"
exit $status
