#!/usr/bin/env bash
# Reproduces the figures in docs/linear-algebra.md.
#   needs: Rust toolchain, Debian packages libopenblas-dev liblapack-dev (gfortran runtime comes with them)
#   usage: bench/linalg-choice/run.sh [TAG]      (results go to bench/linalg-choice/results/TAG-*.txt)
#   env:   N (4000), REPS (5). Before each configuration wait, 30 s at a time up to WAIT_TRIES (40)
#          times, for a quiet machine: 1-minute load average < MAX_LOAD (0.5), or other processes using
#          < MAX_BUSY (10) % of all CPUs over a 5 s window (the load average lags our own previous run).
set -euo pipefail
cd "$(dirname "$0")"
TAG=${1:-run}
TD=${CARGO_TARGET_DIR:-../../target/linalg-choice}
cargo build --release --target-dir "$TD"
B=$TD/release/linalg-choice
mkdir -p results
N=${N:-4000}; REPS=${REPS:-5}; MAX_LOAD=${MAX_LOAD:-0.5}; MAX_BUSY=${MAX_BUSY:-10}; WAIT_TRIES=${WAIT_TRIES:-40}

# percentage of all CPU time that was busy (not idle/iowait) over 5 s
busy_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep 5; b=($(head -1 /proc/stat))
  local tot=0 idle i
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $(( (100 * (tot - idle)) / (tot > 0 ? tot : 1) ))
}

wait_quiet() {
  local l p
  for _ in $(seq "$WAIT_TRIES"); do
    l=$(cut -d' ' -f1 /proc/loadavg); p=$(busy_pct)
    if awk "BEGIN{exit !($l < $MAX_LOAD || $p < $MAX_BUSY)}"; then
      echo "# quiet: loadavg1=$l  cpu busy over 5 s=${p}%"; return 0
    fi
    sleep 25
  done
  echo "# warning: not quiet (loadavg1=$l, cpu busy over 5 s=${p}%), measuring anyway"
}

run() {
  local name=$1; shift
  local f="results/$TAG-$name.txt"
  { wait_quiet; echo "# uptime before: $(uptime)"; "$@"; echo "# uptime after: $(uptime)"; } 2>&1 | tee "$f"
}

# 1. OpenBLAS with this environment's settings (older OpenBLAS builds misbehave on this CPU without them)
run haswell env OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512 "$B" --n "$N" --reps "$REPS"
# 2. Both variables unset: OpenBLAS 0.3.21 autodetects the kernel itself (Cooperlake = AVX-512 + BF16 here)
run autodetect env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$B" --n "$N" --reps "$REPS" --skip-matrixmultiply
# 3. AVX-512 kernels without BF16 (SkylakeX), for completeness
run skylakex env OPENBLAS_CORETYPE=SkylakeX OPENBLAS_L2_SIZE=512 "$B" --n "$N" --reps "$REPS" --skip-matrixmultiply
