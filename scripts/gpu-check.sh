#!/usr/bin/env bash
# The GPU check: run on a machine with an NVIDIA GPU, from the repository root, after
# scripts/build-gpu-check.sh has filled `.gpu-check/` (carried there; the GPU machine has no Rust,
# Node.js or network). It needs bash and the usual system tools (coreutils, find, ldconfig).
#
#   scripts/gpu-check.sh            # everything (estimated 2-4 minutes on an H200; not yet run on one)
#   scripts/gpu-check.sh --quick    # probe and parity only
#
# 1. What is there: GPU, driver, and every CUDA library the loader or the usual install
#    locations (the toolkit, Python's nvidia-* wheels) hold. Found directories go into
#    CORML_CUDA_LIB_DIR, which the CUDA backend preloads from.
# 2. The backends test binary: each Backend operation on the GPU against the CPU, and the
#    CPU/GPU training parity (H to 1e-4 relative Frobenius, NDCG@20 to 1e-3, tf32 measured) on an
#    ML-20M-shaped problem at 1/10 scale and on Gowalla's top 4,000 items.
# 3. The models test binary: every model-level test on the CPU and on cuda:0 (the withheld item
#    ranks first, no seen items, the ADMM invariants, GPU iterates against the CPU's).
# 4. The training benchmark: CoRML on the ML-20M-shaped problem (13,680 items, ~10M
#    interactions, partitionRatio 1) in fp32 and tf32, and on Gowalla with the paper's settings:
#    seconds per stage, and the ADMM loop's TFLOP/s beside a plain sgemm measured in the same run.
#
# Logs and JSON go to $OUT when set (the device tool's output folder), else .gpu-check/out.
set -u -o pipefail
cd "$(dirname "$0")/.."
check=.gpu-check
out=${OUT:-$check/out}
mkdir -p "$out"
exec > >(tee "$out/gpu-check.log") 2>&1
quick=${1:-}
status=0

section() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
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
}

for bin in backends models training; do
  if [ ! -x "$check/bin/$bin" ]; then
    echo "missing $check/bin/$bin: run scripts/build-gpu-check.sh on the build machine first"
    exit 2
  fi
done

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

section "CUDA libraries"
echo "-- known to the loader (ldconfig -p):"
ldconfig -p 2>/dev/null |
  grep -E 'lib(cuda|cublas|cublasLt|cusolver|cusparse|nvrtc|nvrtc-builtins|nvJitLink)\.so' |
  sed 's/^[[:space:]]*/   /' || echo "   (none)"
dirs=()
add_dir() {
  local d
  for d in "${dirs[@]}"; do [ "$d" = "$1" ] && return; done
  dirs+=("$1")
}
echo "-- toolkit directories:"
for d in ${CUDA_HOME:+$CUDA_HOME/lib64} ${CUDA_PATH:+$CUDA_PATH/lib64} /usr/local/cuda/lib64 \
  /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib; do
  [ -d "$d" ] || continue
  libs=$(ls "$d" 2>/dev/null | grep -E '^lib(cublas|cusolver|nvrtc)\.so\.[0-9]+$' | tr '\n' ' ')
  [ -n "$libs" ] || continue
  echo "   $d: $libs"
  add_dir "$(cd "$d" && pwd -P)"
done
echo "-- Python wheels (site-packages/nvidia):"
while IFS= read -r f; do
  d=$(dirname "$f")
  echo "   $d: $(ls "$d" | grep -E '^lib(cublas|cusolver|nvrtc)\.so\.[0-9]+$' | tr '\n' ' ')"
  add_dir "$d"
done < <(find /opt /usr/local/lib /usr/lib /root /home -maxdepth 9 -path '*site-packages/nvidia*' \
  \( -name 'libcublas.so.1[123]' -o -name 'libcusolver.so.1[123]' -o -name 'libnvrtc.so.1[123]' \) \
  2>/dev/null | sort -u)
CORML_CUDA_LIB_DIR=$(
  IFS=:
  echo "${dirs[*]}"
)
export CORML_CUDA_LIB_DIR
echo "CORML_CUDA_LIB_DIR=$CORML_CUDA_LIB_DIR"

section "probe (what corml-native sees)"
step 60 "$check/bin/training" --probe

section "backend operations and CPU/GPU parity"
if [ -f "$check/data/gowalla/gowalla.inter.tsv.gz" ]; then
  export CORML_PARITY_DATA=$check/data/gowalla/gowalla.inter.tsv.gz
  export CORML_PARITY_TOP_ITEMS=4000
fi
export CORML_REQUIRE_CUDA=1
step 240 "$check/bin/backends" --nocapture --test-threads 1

section "model tests on every device (withheld item first, no seen items, ADMM invariants, solver agreement)"
step 120 "$check/bin/models" --nocapture --test-threads 1

if [ "$quick" != "--quick" ]; then
  section "training: ML-20M-shaped, fp32"
  step 180 "$check/bin/training" --dataset ml20m --device cuda --json "$out/ml20m-fp32.json"
  section "training: ML-20M-shaped, tf32"
  step 120 "$check/bin/training" --dataset ml20m --device cuda --precision tf32 \
    --json "$out/ml20m-tf32.json"
  if [ -f "$check/data/gowalla/gowalla.inter.tsv.gz" ]; then
    section "training: Gowalla, paper settings (partitionRatio 0.35), fp32"
    step 240 "$check/bin/training" --dataset gowalla --data-dir "$check/data" --device cuda \
      --evaluate --json "$out/gowalla-fp32.json"
  fi
fi

section "done"
if [ $status -eq 0 ]; then echo "gpu-check: all steps passed"; else echo "gpu-check: FAILED steps above"; fi
exit $status
