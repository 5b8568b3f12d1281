//! Kernels for the benchmarks only: the unfused composition an eager framework runs, and copies
//! that move exactly the bytes the fused kernels must move.
//!
//! The unfused chain is one simple kernel per primitive, each reading and writing global
//! memory, as `s = (x * f).sum(axis) / ((x * x).sum(axis) + eps); out = f - s * x` runs in an
//! eager framework. Its reductions are reasonable ones (a cube per contiguous vector with a
//! tree, a unit per strided vector), so the comparison measures fusion, not a weak reduction.
//! Tensors are seen as `[outer, len, inner]` as everywhere in the crate.

use crate::math::Dots;
use crate::reduce::sum_across_row;
use cubecl::prelude::*;

/// `out[i] = a[i] * b[i]`.
#[cube(launch_unchecked)]
pub fn mul_kernel<F: Float, N: Size>(
    a: &Array<Vector<F, N>>,
    b: &Array<Vector<F, N>>,
    out: &mut Array<Vector<F, N>>,
    len: usize,
) {
    let i = ABSOLUTE_POS;
    if i < len {
        out[i] = a[i] * b[i];
    }
}

/// Sum of each contiguous vector (`inner == 1`) into `f32`: one cube per vector.
#[cube(launch_unchecked)]
pub fn sum_rows_kernel<F: Float>(
    a: &Array<F>,
    out: &mut Array<f32>,
    vectors: usize,
    len: usize,
    #[comptime] cube_units: usize,
) {
    let v = CUBE_POS;
    if v >= vectors {
        terminate!();
    }
    let mut acc = 0.0f32;
    let mut c = UNIT_POS as usize;
    while c < len {
        acc += f32::cast_from(a[v * len + c]);
        c += CUBE_DIM as usize;
    }
    let d = Dots {
        xf: acc,
        xx: 0.0,
        xh: 0.0,
    };
    let total = sum_across_row(d, cube_units, cube_units, false);
    if UNIT_POS == 0 {
        out[v] = total.xf;
    }
}

/// Sum of each strided vector (`inner > 1`) into `f32`: one unit per vector.
#[cube(launch_unchecked)]
pub fn sum_columns_kernel<F: Float>(
    a: &Array<F>,
    out: &mut Array<f32>,
    vectors: usize,
    len: usize,
    inner: usize,
) {
    let v = ABSOLUTE_POS;
    if v < vectors {
        let base = (v / inner) * len * inner + v % inner;
        let mut acc = 0.0f32;
        for c in 0..len {
            acc += f32::cast_from(a[base + c * inner]);
        }
        out[v] = acc;
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

/// `out[e] = a[e] + alpha * s[v(e)] * b[e]`, with `v(e)` the vector of element `e`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn axpy_kernel<F: Float>(
    a: &Array<F>,
    s: &Array<f32>,
    b: &Array<F>,
    out: &mut Array<F>,
    numel: usize,
    len: usize,
    inner: usize,
    alpha: f32,
) {
    let e = ABSOLUTE_POS;
    if e < numel {
        let v = (e / (len * inner)) * inner + e % inner;
        let k = alpha * s[v];
        out[e] = F::cast_from(f32::cast_from(a[e]) + k * f32::cast_from(b[e]));
    }
}

/// `out[e] = alpha * s[v(e)] * a[e]`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn scale_kernel<F: Float>(
    a: &Array<F>,
    s: &Array<f32>,
    out: &mut Array<F>,
    numel: usize,
    len: usize,
    inner: usize,
    alpha: f32,
) {
    let e = ABSOLUTE_POS;
    if e < numel {
        let v = (e / (len * inner)) * inner + e % inner;
        out[e] = F::cast_from(alpha * s[v] * f32::cast_from(a[e]));
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
