//! Kernels for the benchmarks only: the unfused composition an eager framework runs, and copies
//! that move exactly the bytes the fused kernels must move.
//!
//! The unfused chain is one simple kernel per primitive, each reading and writing global
//! memory, as `s = (x * f).sum(axis) / ((x * x).sum(axis) + eps); out = f - s * x` runs in an
//! eager framework. Its reductions are as good as the fused kernels' own (a cube per contiguous
//! vector, sized for the device and reduced with the same plane or shared-memory code; a unit
//! per strided vector), so the comparison measures fusion, not a weak reduction.
//! Tensors are seen as `[outer, len, inner]` as everywhere in the crate.

use crate::math::{lane_sum, Dots};
use crate::reduce::sum_across_row;
use cubecl::prelude::*;

/// `out[i] = a[i] - b[i]` when `subtract`, else `a[i] * b[i]`, in the storage type as an eager
/// framework computes it.
#[cube(launch_unchecked)]
pub fn binary_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    b: &Array<Vector<F, N>>,
    out: &mut Array<Vector<F, N>>,
    len: usize,
    #[comptime] subtract: bool,
) {
    let i = ABSOLUTE_POS;
    if i < len {
        if comptime![subtract] {
            out[i] = a[i] - b[i];
        } else {
            out[i] = a[i] * b[i];
        }
    }
}

/// Sum of each contiguous vector (`inner == 1`, `lines` vector-lines of `N` elements each) into
/// `f32`: one cube of `cube_units` units per vector, reduced through planes when `plane` is set.
#[cube(launch_unchecked)]
pub fn sum_rows_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    out: &mut Array<f32>,
    vectors: usize,
    lines: usize,
    #[comptime] cube_units: usize,
    #[comptime] plane: bool,
) {
    let v = CUBE_POS;
    if v >= vectors {
        terminate!();
    }
    let mut acc = Vector::<f32, N>::new(0.0);
    let mut c = UNIT_POS as usize;
    while c < lines {
        acc += Vector::<f32, N>::cast_from(a[v * lines + c]);
        c += CUBE_DIM as usize;
    }
    let d = Dots {
        xf: lane_sum(acc),
        xx: 0.0,
        xh: 0.0,
    };
    let total = sum_across_row(d, cube_units, cube_units, plane);
    if UNIT_POS == 0 {
        out[v] = total.xf;
    }
}

/// Sum of each strided vector (`inner > 1`) into `f32`: one unit per `N` adjacent vectors,
/// reading one vector-line per step (`inner % N == 0`); `groups` is `vectors / N`.
#[cube(launch_unchecked)]
pub fn sum_columns_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    out: &mut Array<f32>,
    groups: usize,
    len: usize,
    inner_lines: usize,
) {
    let u = ABSOLUTE_POS;
    if u < groups {
        let base = (u / inner_lines) * len * inner_lines + u % inner_lines;
        let mut acc = Vector::<f32, N>::new(0.0);
        for c in 0..len {
            acc += Vector::<f32, N>::cast_from(a[base + c * inner_lines]);
        }
        #[unroll]
        for k in 0..N::value() {
            out[u * N::value() + k] = acc[k];
        }
    }
}

/// `out[v] = num[v] / (den[v] + eps)`.
#[cube(launch_unchecked)]
pub fn div_eps_kernel(
    num: &Array<f32>,
    den: &Array<f32>,
    out: &mut Array<f32>,
    vectors: usize,
    eps: f32,
) {
    let v = ABSOLUTE_POS;
    if v < vectors {
        out[v] = num[v] / (den[v] + eps);
    }
}

/// The per-vector scalars `s` for the `N` elements of vector-line `i`, as an eager framework's
/// broadcast reads them. Contiguous vectors (`rows`, `len % N == 0`): one vector owns the whole
/// line, so one scalar is broadcast. Strided vectors (`inner % N == 0`): the lanes belong to `N`
/// adjacent vectors, whose scalars are adjacent in `s`.
#[cube]
fn broadcast_scalars<N: Size>(
    s: &Array<f32>,
    i: usize,
    len: usize,
    inner: usize,
    #[comptime] rows: bool,
) -> Vector<f32, N> {
    let e = i * N::value();
    let mut out = Vector::<f32, N>::new(0.0);
    if comptime![rows] {
        out = Vector::new(s[e / len]);
    } else {
        let v = (e / (len * inner)) * inner + e % inner;
        #[unroll]
        for k in 0..N::value() {
            out[k] = s[v + k];
        }
    }
    out
}

/// `out = alpha * s * a`, with `s` broadcast over each vector; `lines` vector-lines.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn scale_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    s: &Array<f32>,
    out: &mut Array<Vector<F, N>>,
    lines: usize,
    len: usize,
    inner: usize,
    alpha: f32,
    #[comptime] rows: bool,
) {
    let i = ABSOLUTE_POS;
    if i < lines {
        let k = Vector::<f32, N>::new(alpha) * broadcast_scalars::<N>(s, i, len, inner, rows);
        out[i] = Vector::cast_from(k * Vector::<f32, N>::cast_from(a[i]));
    }
}

/// Same bytes as the fused forward: reads two arrays, writes one.
#[cube(launch_unchecked)]
pub fn copy2_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    b: &Array<Vector<F, N>>,
    out: &mut Array<Vector<F, N>>,
    len: usize,
) {
    let i = ABSOLUTE_POS;
    if i < len {
        out[i] = a[i] + b[i];
    }
}

/// Same bytes as the fused backward: reads three arrays, writes two.
#[cube(launch_unchecked)]
pub fn copy3_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    b: &Array<Vector<F, N>>,
    c: &Array<Vector<F, N>>,
    out1: &mut Array<Vector<F, N>>,
    out2: &mut Array<Vector<F, N>>,
    len: usize,
) {
    let i = ABSOLUTE_POS;
    if i < len {
        out1[i] = a[i] + b[i];
        out2[i] = b[i] + c[i];
    }
}
