#!/usr/bin/env python3
"""PyTorch baselines for the benchmark shapes: the reference formula in eager mode and under
torch.compile, forward and backward, timed with CUDA events (median of 20 runs after warm-up).

Prints one JSON object per line: {"group", "variant", "seconds", "bytes"}, with the same byte
accounting as the Rust benchmarks (forward 3 x elements x size, backward 5 x elements x size),
for scripts/bench_report.py to merge. Needs a CUDA device.
"""
import json
import torch

SHAPES = [
    ("8192x768", (8192, 768), (-1,)),
    ("4096x4096", (4096, 4096), (-1,)),
    ("65536x64", (65536, 64), (-1,)),
    ("16384x8192", (16384, 8192), (-1,)),
    ("nchw-64x256x56x56", (64, 256, 56, 56), (1,)),
    ("sample-32x512x28x28", (32, 512, 28, 28), (1, 2, 3)),
]
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def orthogonalize(x, f, dims, eps=1e-6):
    # Accumulate in f32 like the fused kernels, whatever the storage type.
    xf32, ff32 = x.float(), f.float()
    s = (xf32 * ff32).sum(dims, keepdim=True) / ((xf32 * xf32).sum(dims, keepdim=True) + eps)
    return (ff32 - s * xf32).to(x.dtype)


def median_seconds(fn, runs=20):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    compiled = torch.compile(orthogonalize, dynamic=False)
    for dname, dtype in DTYPES.items():
        for name, shape, dims in SHAPES:
            n = 1
            for s in shape:
                n *= s
            size = torch.tensor([], dtype=dtype).element_size()
            x = torch.rand(shape, device="cuda", dtype=dtype) * 2 - 1
            f = torch.rand(shape, device="cuda", dtype=dtype) * 2 - 1
            g = torch.rand(shape, device="cuda", dtype=dtype) * 2 - 1
            for variant, op in (("torch_eager", orthogonalize), ("torch_compile", compiled)):
                sec = median_seconds(lambda: op(x, f, dims))
                print(json.dumps({"group": f"fwd/{dname}/{name}", "variant": variant,
                                  "seconds": sec, "bytes": 3 * n * size}), flush=True)
                xr, fr = x.clone().requires_grad_(), f.clone().requires_grad_()
                out = op(xr, fr, dims)

                def backward():
                    torch.autograd.grad(out, (xr, fr), g, retain_graph=True)

                sec = median_seconds(backward)
                print(json.dumps({"group": f"bwd/{dname}/{name}", "variant": variant,
                                  "seconds": sec, "bytes": 5 * n * size}), flush=True)
                del xr, fr, out
            del x, f, g
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
