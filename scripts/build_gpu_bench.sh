#!/usr/bin/env bash
# Builds the release benchmark binary with the CUDA backend on this x86-64 machine (no GPU or
# CUDA toolkit needed) and packs it with the PyTorch comparison into gpu-bench/, ready to copy
# to a machine with an NVIDIA GPU. There: `bash gpu-bench/run.sh` (see docs/benchmarks.md).
#
# cudarc (under cubecl-cuda) picks the CUDA API version at build time from `nvcc --version`;
# with no nvcc it assumes the newest it knows, which can call driver entry points an older
# driver lacks. A stand-in nvcc pins the version: CUDA_VERSION=13.0 by default (the H200
# machines: CUDA 13.0, driver 580).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${CUDA_VERSION:-13.0}"
shim="$(mktemp -d)"
cat >"$shim/nvcc" <<NVCC
#!/bin/sh
echo "nvcc: NVIDIA (R) Cuda compiler driver"
echo "Copyright (c) 2005-2025 NVIDIA Corporation"
echo "Built on (stand-in for the cudarc build script)"
echo "Cuda compilation tools, release ${version}, V${version}.0"
NVCC
chmod +x "$shim/nvcc"

# A separate target directory: the pinned cudarc build must not invalidate the normal one.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/gpu}"
bin=$(PATH="$shim:$PATH" cargo bench --bench orthoproj --features cuda --no-run \
    --message-format=json |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "orthoproj" \
            and "bench" in m["target"]["kind"] and m.get("executable"):
        print(m["executable"])')
rm -rf "$shim"
if [ -z "$bin" ]; then
    echo "build_gpu_bench.sh: cargo built no orthoproj bench executable" >&2
    exit 1
fi
mkdir -p gpu-bench
cp "$bin" gpu-bench/orthoproj-bench
cp scripts/torch_bench.py scripts/bench_report.py scripts/run_gpu_bench.sh gpu-bench/
mv gpu-bench/run_gpu_bench.sh gpu-bench/run.sh
echo "packed gpu-bench/ ($(du -sh gpu-bench | cut -f1)); on the GPU machine: bash gpu-bench/run.sh"
