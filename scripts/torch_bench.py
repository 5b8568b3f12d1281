#!/usr/bin/env python3
"""PyTorch baselines for the benchmark shapes: the reference formula in eager mode and under
torch.compile, forward and backward, plus a PyTorch copy of the same bytes, timed with CUDA
events (median of 20 runs after 3 warm-up runs, which also absorb torch.compile's compilation).

Prints one JSON object per line: {"group", "variant", "seconds", "bytes"}, with the same byte
accounting as the Rust benchmarks (forward 3 x elements x size, backward 5 x elements x size),
for scripts/bench_report.py to merge. Progress and failures go to stderr.

    python3 torch_bench.py [--budget SECONDS] [--device cuda|cpu]

--budget stops starting new cases once that many seconds have passed (what has been measured
is printed as it goes), so the whole GPU run keeps its time limit even if compilation is slow.
--device cpu (timed with perf_counter, tiny shapes) only checks that the script runs.
"""
import argparse
import json
import sys
import time

import torch
import torch._dynamo

SHAPES = [
    ("16384x4096", (16384, 4096), (-1,)),  # the H200 target shape, first
    ("8192x768", (8192, 768), (-1,)),
    ("4096x4096", (4096, 4096), (-1,)),
    ("65536x64", (65536, 64), (-1,)),
    ("16384x8192", (16384, 8192), (-1,)),
    ("nchw-64x256x56x56", (64, 256, 56, 56), (1,)),
    ("sample-32x512x28x28", (32, 512, 28, 28), (1, 2, 3)),
]
SMOKE_SHAPES = [("smoke-64x48", (64, 48), (-1,)), ("smoke-nchw-2x8x3x3", (2, 8, 3, 3), (1,))]
# f32 and bf16 first: the H200 target names them.
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def orthogonalize(x, f, dims, eps=1e-6):
    # Accumulate in f32 like the fused kernels, whatever the storage type.
    xf32, ff32 = x.float(), f.float()
    s = (xf32 * ff32).sum(dims, keepdim=True) / ((xf32 * xf32).sum(dims, keepdim=True) + eps)
    return (ff32 - s * xf32).to(x.dtype)


def median_seconds(fn, device, runs=20):
    for _ in range(3):
        fn()
    times = []
    if device == "cuda":
        torch.cuda.synchronize()
        for _ in range(runs):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
    else:
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def emit(group, variant, seconds, nbytes):
    print(json.dumps({"group": group, "variant": variant, "seconds": seconds,
                      "bytes": nbytes}), flush=True)


def bench_case(dname, dtype, name, shape, dims, device):
    # A fresh compilation per case: dynamo caches compiled graphs per function, and past its
    # recompile limit (8 by default) it silently runs the function eagerly, which would label
    # eager timings as compiled ones for the later shapes and dtypes.
    torch._dynamo.reset()
    compiled = torch.compile(orthogonalize, dynamic=False)
    n = 1
    for s in shape:
        n *= s
    size = torch.tensor([], dtype=dtype).element_size()
    fwd_bytes, bwd_bytes = 3 * n * size, 5 * n * size
    x, f, g = (torch.rand(shape, device=device, dtype=dtype) * 2 - 1 for _ in range(3))
    fwd, bwd = f"fwd/{dname}/{name}", f"bwd/{dname}/{name}"

    # The same bytes as the fused kernels, moved by PyTorch: a cross-check of the CubeCL copy.
    o1, o2 = torch.empty_like(x), torch.empty_like(x)
    emit(fwd, "torch_copy", median_seconds(lambda: torch.add(x, f, out=o1), device), fwd_bytes)

    # Backward bytes: read x, f and g once each and write two tensors (not x + f, f + g,
    # which would read f twice).
    def copy3():
        torch.add(x, f, out=o1)
        torch.mul(g, 2, out=o2)

    emit(bwd, "torch_copy", median_seconds(copy3, device), bwd_bytes)

    for variant, op in (("torch_eager", orthogonalize), ("torch_compile", compiled)):
        emit(fwd, variant, median_seconds(lambda: op(x, f, dims), device), fwd_bytes)
        xr, fr = x.clone().requires_grad_(), f.clone().requires_grad_()
        out = op(xr, fr, dims)

        def backward():
            torch.autograd.grad(out, (xr, fr), g, retain_graph=True)

        emit(bwd, variant, median_seconds(backward, device), bwd_bytes)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--budget", type=float, default=float("inf"))
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_bench.py: no CUDA device visible to PyTorch")
    shapes = SHAPES if args.device == "cuda" else SMOKE_SHAPES
    start = time.monotonic()
    for dname, dtype in DTYPES.items():
        for name, shape, dims in shapes:
            elapsed = time.monotonic() - start
            if elapsed > args.budget:
                print(f"torch_bench.py: budget of {args.budget:.0f} s spent, stopping before "
                      f"{dname}/{name}", file=sys.stderr)
                return
            print(f"torch_bench.py: {dname}/{name} at {elapsed:.0f} s", file=sys.stderr)
            try:
                bench_case(dname, dtype, name, shape, dims, args.device)
            except Exception as err:  # one failing case must not hide the others
                print(f"torch_bench.py: {dname}/{name} failed: {err!r}", file=sys.stderr)
            if args.device == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
