#!/usr/bin/env bash
# Builds what scripts/gpu-check.sh runs on a GPU machine, which has the CUDA toolkit and driver but
# no Rust, no Node.js and no network: the release test binaries of the backends (conformance and
# CPU/GPU parity) and of the models (each model-level test on every device), and the training
# benchmark, all with the CUDA backend compiled in, plus a copy of the Gowalla interactions (never committed: `.gpu-check/` is ignored by git).
#
#   scripts/build-gpu-check.sh [DATA_DIR]      # DATA_DIR defaults to ../shared/data
#
# Then carry `.gpu-check` to the GPU machine and run `scripts/gpu-check.sh` there.
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${1:-../shared/data}
out=.gpu-check
rm -rf "$out/bin"
mkdir -p "$out/bin" "$out/data/gowalla"

# Prints the path of the executable cargo reports last in its JSON messages.
executable() {
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1
}

echo "building the backends and model tests (release, CUDA compiled in)..." >&2
tests=$(cargo test --release -p corml-core --features cuda --test backends --no-run \
  --message-format=json | executable)
models=$(cargo test --release -p corml-core --features cuda --test models --no-run \
  --message-format=json | executable)
echo "building the training benchmark..." >&2
bench=$(cargo bench -p corml-core --features cuda --bench training --no-run \
  --message-format=json | executable)
cp "$tests" "$out/bin/backends"
cp "$models" "$out/bin/models"
cp "$bench" "$out/bin/training"

if [ -f "$data_dir/gowalla/gowalla.inter.tsv.gz" ]; then
  cp "$data_dir/gowalla/gowalla.inter.tsv.gz" "$out/data/gowalla/"
else
  echo "warning: $data_dir/gowalla/gowalla.inter.tsv.gz not found; the check will skip Gowalla" >&2
fi

# The GPU machine's glibc must be at least the newest symbol version the binaries need.
for f in "$out"/bin/*; do
  newest=$(objdump -T "$f" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -u | tail -1)
  echo "$f: $(du -h "$f" | cut -f1), needs $newest"
done
du -sh "$out"
