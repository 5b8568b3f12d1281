#!/usr/bin/env bash
# Runs on a machine with an NVIDIA GPU, from the folder build_gpu_bench.sh packed: the fused
# kernels, the unfused chain and the copies through CubeCL's CUDA backend, then the same shapes
# in PyTorch (eager, torch.compile and a copy), and prints one table in GB/s.
#
# Time limit: under 8 minutes in all. The CubeCL part runs 189 benchmarks (7 shapes, 3 dtypes,
# 9 variants) at about 1 s each and is cut at 300 s; the PyTorch part stops starting new
# cases after 120 s (compilation dominates it) and is cut at 150 s. Results written before a
# cut are kept and reported. Both parts start with the H200 target shape (16384 x 4096) and run
# f32, then bf16, then f16, so a cut drops f16 first. Extra arguments go to the benchmark binary
# (a name filter, say).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
date -u +"%Y-%m-%d %H:%M UTC" | tee -a "$out/gpu.txt"
export CRITERION_HOME="$out/criterion"
ORTHOPROJ_BENCH_RUNTIME=cuda timeout 300 "$here/orthoproj-bench" --bench \
    --warm-up-time 0.3 --measurement-time 0.6 "$@" 2>&1 | tee "$out/cubecl.txt"
echo "cubecl part: exit ${PIPESTATUS[0]}" | tee -a "$out/gpu.txt"
timeout 150 python3 "$here/torch_bench.py" --budget 120 2>"$out/torch.err" | tee "$out/torch.txt"
echo "torch part: exit ${PIPESTATUS[0]}" | tee -a "$out/gpu.txt"
python3 "$here/bench_report.py" --criterion "$out/criterion" --torch "$out/torch.txt" |
    tee "$out/table.md"
