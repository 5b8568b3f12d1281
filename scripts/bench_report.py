#!/usr/bin/env python3
"""Turns criterion's output (and optionally torch_bench.py's) into the tables and the plot of
docs/benchmarks.md. Standard library only.

    python3 scripts/bench_report.py [--criterion target/criterion] [--torch torch.txt]
                                    [--svg docs/benchmarks-throughput.svg]

Prints, per group (<fwd|bwd>/<dtype>/<shape>): median time of each variant, GB/s over the
bytes the fused kernel must move, fused/copy (the fraction of achievable bandwidth; lower is
better, 1.0 is a perfect memory-bound kernel) and unfused/fused (what fusion buys).
"""
import argparse
import json
import os
import sys


def load_criterion(root):
    """{group: {function: (median_seconds, bytes)}} from criterion's JSON files."""
    groups = {}
    for dirpath, _, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as fh:
            meta = json.load(fh)
        with open(os.path.join(dirpath, "estimates.json")) as fh:
            est = json.load(fh)
        seconds = est["median"]["point_estimate"] / 1e9
        nbytes = (meta.get("throughput") or {}).get("Bytes", 0)
        groups.setdefault(meta["group_id"], {})[meta["function_id"]] = (seconds, nbytes)
    return groups


def load_torch(path):
    """torch_bench.py prints one JSON object per line: group, variant, seconds, bytes."""
    groups = {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                groups.setdefault(r["group"], {})[r["variant"]] = (r["seconds"], r["bytes"])
    return groups


def shape_key(group):
    direction, dtype, shape = group.split("/", 2)
    return (direction != "fwd", dtype, shape)


def table(groups):
    variants = ["fused", "fused_residual", "orthogonalize+add", "unfused", "copy",
                "torch_eager", "torch_compile", "torch_copy"]
    present = [v for v in variants if any(v in g for g in groups.values())]
    head = ["group"] + [f"{v} GB/s" for v in present] + ["fused/copy", "unfused/fused"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in sorted(groups, key=shape_key):
        g = groups[name]
        row = [name]
        for v in present:
            if v in g and g[v][0] > 0:
                seconds, nbytes = g[v]
                row.append(f"{nbytes / seconds / 1e9:.2f}")
            else:
                row.append("")
        ratio = lambda a, b: f"{g[a][0] / g[b][0]:.2f}" if a in g and b in g else ""
        row += [ratio("fused", "copy"), ratio("unfused", "fused")]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def svg_plot(groups, path, direction="fwd", dtype="f32"):
    """GB/s against D for the token-vector shapes (rows x D), one line per variant."""
    series = {}
    for name, g in groups.items():
        d_, t_, shape = name.split("/", 2)
        if d_ != direction or t_ != dtype or "x" not in shape or "-" in shape:
            continue
        d = int(shape.split("x")[1])
        for variant in ("fused", "unfused", "copy"):
            if variant in g:
                seconds, nbytes = g[variant]
                series.setdefault(variant, []).append((d, nbytes / seconds / 1e9))
    if not series:
        return False
    import math
    width, height, pad = 640, 400, 60
    xs = [d for pts in series.values() for d, _ in pts]
    ys = [v for pts in series.values() for _, v in pts]
    x0, x1 = math.log2(min(xs)) - 0.5, math.log2(max(xs)) + 0.5
    y1 = max(ys) * 1.15
    px = lambda d: pad + (math.log2(d) - x0) / (x1 - x0) * (width - 2 * pad)
    py = lambda v: height - pad - v / y1 * (height - 2 * pad)
    colors = {"fused": "#1f77b4", "unfused": "#d62728", "copy": "#2ca02c"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle">{direction} {dtype}: '
           f'throughput against vector length D (bytes the fused kernel moves / time)</text>',
           f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
           f'stroke="black"/>',
           f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
           f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">D (log scale)</text>',
           f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" '
           f'text-anchor="middle">GB/s</text>']
    for d in sorted(set(xs)):
        out.append(f'<text x="{px(d)}" y="{height - pad + 16}" text-anchor="middle">{d}</text>')
    for k in range(5):
        v = y1 * k / 4
        out.append(f'<text x="{pad - 6}" y="{py(v) + 4}" text-anchor="end">{v:.2f}</text>')
    for i, (variant, pts) in enumerate(sorted(series.items())):
        pts.sort()
        path_d = " ".join(f"{'M' if j == 0 else 'L'}{px(d):.1f},{py(v):.1f}"
                          for j, (d, v) in enumerate(pts))
        c = colors.get(variant, "black")
        out.append(f'<path d="{path_d}" fill="none" stroke="{c}" stroke-width="2"/>')
        out += [f'<circle cx="{px(d):.1f}" cy="{py(v):.1f}" r="3" fill="{c}"/>' for d, v in pts]
        out.append(f'<text x="{width - pad - 90}" y="{pad + 16 * i}" fill="{c}">{variant}</text>')
    out.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--criterion", default="target/criterion")
    ap.add_argument("--torch")
    ap.add_argument("--svg")
    args = ap.parse_args()
    groups = load_criterion(args.criterion) if os.path.isdir(args.criterion) else {}
    if args.torch:
        for name, g in load_torch(args.torch).items():
            groups.setdefault(name, {}).update(g)
    if not groups:
        sys.exit(f"no criterion results under {args.criterion}")
    print(table(groups))
    if args.svg and not svg_plot(groups, args.svg):
        print("no token-vector results to plot", file=sys.stderr)


if __name__ == "__main__":
    main()
