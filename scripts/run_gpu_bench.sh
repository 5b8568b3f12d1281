#!/usr/bin/env bash
# Runs on a machine with an NVIDIA GPU, from the folder build_gpu_bench.sh packed: the fused
# kernels, the unfused chain and the copies through CubeCL's CUDA backend, then the same shapes
# in PyTorch (eager and torch.compile), and prints one table in GB/s. Under 8 minutes on an
# H200: criterion runs 10 flat samples of 1 s each per benchmark.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
# A first launch proves the driver accepts the binary's CUDA version before anything is timed.
export CRITERION_HOME="$out/criterion"
ORTHOPROJ_BENCH_RUNTIME=cuda timeout 420 "$here/orthoproj-bench" --bench \
    --warm-up-time 0.5 --measurement-time 1 --noplot "${@:-}" 2>&1 |
    tee "$out/cubecl.txt"
timeout 180 python3 "$here/torch_bench.py" | tee "$out/torch.txt"
python3 "$here/bench_report.py" --criterion "$out/criterion" --torch "$out/torch.txt" |
    tee "$out/table.md"
