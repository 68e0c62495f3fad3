#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU from the repository root, after
# scripts/build-gpu-check.sh has filled `.gpu-check/` (carried there; the GPU machine has no Rust,
# Node.js or network). It needs bash and the usual system tools (coreutils, ldconfig, timeout).
#
# Device time is short (a command may run 10 minutes, a session 15 in all, the machine's start
# included), so the check is two calls, each well under 540 s, and either can be rerun alone. The
# step limits cut a hang short; they add up to 690 s, which with a start of 2–3 minutes stays
# inside 15 minutes even if every step ran to its limit:
#
#   scripts/gpu-check.sh quick       # what is there, the probe with its self-test, the backend
#                                    #   and model tests on the GPU (step limits: 300 s in all)
#   scripts/gpu-check.sh train       # the training timings: ML-20M-shaped fp32 and tf32, and
#                                    #   Gowalla with the paper's settings (step limits: 390 s)
#   scripts/gpu-check.sh dry-run     # here, without a GPU: everything up to the first step that
#                                    #   needs one, printing what it found
#
# quick:
# 1. What is there: GPU, driver, and every CUDA library the loader, the toolkit directories or
#    Python's nvidia-* wheels (asked of python3 itself) hold. Found directories go into
#    CORML_CUDA_LIB_DIR, which the CUDA backend preloads from.
# 2. The probe (`training --probe`): the library versions, then cuda:0 opened, the kernels
#    compiled (a cubin for the device's sm_XY) and loaded, and each operation run once against
#    the CPU in fp32 and tf32. If this fails, nothing after it can work, and it stops here.
# 3. The backends test binary: each Backend operation on the GPU against the CPU, and the
#    CPU/GPU training parity (H to 1e-4 relative Frobenius, NDCG@20 to 1e-3, tf32 measured) on
#    an ML-20M-shaped problem at 1/10 scale and on Gowalla's top 4,000 items.
# 4. The models test binary: every model-level test on the CPU and on cuda:0 (the withheld item
#    ranks first, no seen items, the ADMM invariants, GPU iterates against the CPU's).
# train:
# 5. The training benchmark: CoRML on the ML-20M-shaped problem (13,680 items, ~10M
#    interactions, partitionRatio 1) in fp32 and tf32, and on Gowalla with the paper's settings:
#    seconds per stage, and the ADMM loop's TFLOP/s beside a plain sgemm measured in the same run.
#
# Logs and JSON go to $OUT when set (the device tool's output folder), else .gpu-check/out:
# gpu-check-<step>.log and the benchmark's JSON files.
set -u -o pipefail
step_name=${1:-}
case "$step_name" in
  quick | train | dry-run) ;;
  *)
    echo "usage: scripts/gpu-check.sh quick | train | dry-run" >&2
    exit 2
    ;;
esac
# $OUT may be relative to where the command started: resolve it before changing directory.
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  out=$(cd "$OUT" && pwd -P)
fi
cd "$(dirname "$0")/.."
check=.gpu-check
out=${out:-$PWD/$check/out}
mkdir -p "$out"

section() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
status=0
# Runs a step with a time limit; a failure is recorded and the check goes on.
step() {
  local limit=$1
  shift
  timeout "$limit" "$@"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "!! FAILED (exit $rc$([ $rc -eq 124 ] && echo ', timed out after '"$limit"' s')): $*"
    status=1
  fi
  return $rc
}

dirs=()
# Adds a directory to CORML_CUDA_LIB_DIR's list; fails (status 1) when it is there already.
add_dir() {
  local d existing
  [ -d "$1" ] || return 1
  d=$(cd "$1" && pwd -P)
  for existing in "${dirs[@]}"; do [ "$existing" = "$d" ] && return 1; done
  dirs+=("$d")
}

# Every directory of CUDA libraries: the toolkit's, and the lib/ folders of Python's nvidia-*
# wheels as python3 itself locates the `nvidia` package (site-packages or dist-packages, any
# virtual environment on its path), without crawling the file system.
find_libraries() {
  section "CUDA libraries"
  # Directories the caller named come first.
  local given dir
  IFS=: read -r -a given <<<"${CORML_CUDA_LIB_DIR:-}"
  for dir in "${given[@]}"; do
    [ -n "$dir" ] && add_dir "$dir" && echo "-- given in CORML_CUDA_LIB_DIR: $dir"
  done
  echo "-- known to the loader (ldconfig -p):"
  ldconfig -p 2>/dev/null |
    grep -E 'lib(cuda|cublas|cublasLt|cusolver|cusparse|nvrtc|nvrtc-builtins|nvJitLink)\.so' |
    sed 's/^[[:space:]]*/   /' || echo "   (none)"
  echo "-- toolkit directories:"
  local d libs
  for d in ${CUDA_HOME:+$CUDA_HOME/lib64} ${CUDA_PATH:+$CUDA_PATH/lib64} /usr/local/cuda/lib64 \
    /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 \
    /usr/local/cuda-*/targets/x86_64-linux/lib; do
    [ -d "$d" ] || continue
    libs=$(ls "$d" 2>/dev/null | grep -E '^lib(cublas|cusolver|nvrtc)\.so\.[0-9]+$' | tr '\n' ' ')
    [ -n "$libs" ] || continue
    add_dir "$d" && echo "   $d: $libs"
  done
  echo "-- Python wheels (python3's nvidia package):"
  local python
  for python in python3 /usr/bin/python3 /usr/local/bin/python3; do
    command -v "$python" >/dev/null 2>&1 || continue
    while IFS= read -r d; do
      [ -n "$d" ] || continue
      libs=$(ls "$d" 2>/dev/null | grep -E '^lib(cublas|cusolver|nvrtc)\.so\.[0-9]+$' | tr '\n' ' ')
      [ -n "$libs" ] || continue
      add_dir "$d" && echo "   $d: $libs"
    done < <("$python" - 2>/dev/null <<'PY'
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit
# CUDA 12 wheels: nvidia/<library>/lib; CUDA 13 wheels: nvidia/cu13/lib.
for root in getattr(nvidia, "__path__", []):
    for lib in sorted(glob.glob(os.path.join(root, "*", "lib"))):
        print(lib)
PY
)
  done
  CORML_CUDA_LIB_DIR=$(
    IFS=:
    echo "${dirs[*]}"
  )
  export CORML_CUDA_LIB_DIR
  echo "CORML_CUDA_LIB_DIR=$CORML_CUDA_LIB_DIR"
}

machine() {
  section "machine"
  uname -srm
  echo "CPU threads: $(nproc)"
  ldd --version 2>/dev/null | head -1
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used,clocks.max.sm \
      --format=csv
  else
    echo "nvidia-smi: not found"
  fi
}

quick() {
  machine
  find_libraries
  section "probe and self-test (what corml-native sees, and cuda:0 opened)"
  if ! step 60 "$check/bin/training" --probe; then
    echo "!! the probe's self-test failed: the GPU steps cannot work; stopping here"
    return 1
  fi
  if [ -f "$check/data/gowalla/gowalla.inter.tsv.gz" ]; then
    export CORML_PARITY_DATA=$check/data/gowalla/gowalla.inter.tsv.gz
    export CORML_PARITY_TOP_ITEMS=4000
  fi
  export CORML_REQUIRE_CUDA=1
  section "backend operations and CPU/GPU parity"
  step 180 "$check/bin/backends" --nocapture --test-threads 1
  section "model tests on every device (withheld item first, no seen items, ADMM invariants, solver agreement)"
  step 60 "$check/bin/models" --nocapture --test-threads 1
}

train() {
  machine
  find_libraries
  section "training: ML-20M-shaped, fp32"
  step 120 "$check/bin/training" --dataset ml20m --device cuda --json "$out/ml20m-fp32.json"
  section "training: ML-20M-shaped, tf32"
  step 90 "$check/bin/training" --dataset ml20m --device cuda --precision tf32 \
    --json "$out/ml20m-tf32.json"
  if [ -f "$check/data/gowalla/gowalla.inter.tsv.gz" ]; then
    section "training: Gowalla, paper settings (partitionRatio 0.35), fp32"
    step 180 "$check/bin/training" --dataset gowalla --data-dir "$check/data" --device cuda \
      --evaluate --json "$out/gowalla-fp32.json"
  fi
}

dry_run() {
  machine
  find_libraries
  section "probe (dry run: no GPU needed)"
  "$check/bin/training" --probe
  echo "dry run: the next step opens cuda:0; stopping before it"
}

main() {
  for bin in backends models training; do
    if [ ! -x "$check/bin/$bin" ]; then
      echo "missing $check/bin/$bin: run scripts/build-gpu-check.sh on the build machine first"
      return 2
    fi
  done
  case "$step_name" in
    quick) quick || status=1 ;;
    train) train || status=1 ;;
    dry-run) dry_run || status=1 ;;
  esac
  section "done"
  if [ $status -eq 0 ]; then echo "gpu-check $step_name: all steps passed"; else echo "gpu-check $step_name: FAILED steps above"; fi
  return $status
}

# Through a pipe rather than `exec > >(tee …)`: the shell waits for tee, so the log keeps its
# last lines.
main 2>&1 | tee "$out/gpu-check-$step_name.log"
exit "${PIPESTATUS[0]}"
