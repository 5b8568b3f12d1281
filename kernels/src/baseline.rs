//! Kernels for the benchmarks only: the unfused composition an eager framework would run, and
//! a copy that moves exactly the bytes the fused kernels must move.
//!
//! The unfused chain is deliberately one simple kernel per primitive, each reading and writing
//! global memory, as `(x * f).sum(-1) / ((x * x).sum(-1) + eps)` then `f - s * x` runs in an
//! eager framework. It is the baseline the fused kernels are measured against, not an API.

use cubecl::prelude::*;

/// `out[i] = a[i] * b[i]`.
#[cube(launch_unchecked)]
pub fn mul_kernel<F: Float>(a: &Array<F>, b: &Array<F>, out: &mut Array<F>, len: usize) {
    let i = ABSOLUTE_POS;
    if i < len {
        out[i] = a[i] * b[i];
    }
}

/// `out[r] = sum(a[r * row_len .. (r + 1) * row_len])`, one unit per row, in `f32`.
#[cube(launch_unchecked)]
pub fn row_sum_kernel<F: Float>(a: &Array<F>, out: &mut Array<f32>, rows: usize, row_len: usize) {
    let r = ABSOLUTE_POS;
    if r < rows {
        let mut acc = 0.0f32;
        for j in 0..row_len {
            acc += f32::cast_from(a[r * row_len + j]);
        }
        out[r] = acc;
    }
}

/// `out[r] = num[r] / (den[r] + eps)`.
#[cube(launch_unchecked)]
pub fn div_eps_kernel(num: &Array<f32>, den: &Array<f32>, out: &mut Array<f32>, rows: usize, eps: f32) {
    let r = ABSOLUTE_POS;
    if r < rows {
        out[r] = num[r] / (den[r] + eps);
    }
}

/// `out[i] = a[i] - s[i / row_len] * b[i]`, or `a[i] + s * b[i]` with `add`.
#[cube(launch_unchecked)]
pub fn axpy_rows_kernel<F: Float>(
    a: &Array<F>,
    s: &Array<f32>,
    b: &Array<F>,
    out: &mut Array<F>,
    len: usize,
    row_len: usize,
    #[comptime] add: bool,
) {
    let i = ABSOLUTE_POS;
    if i < len {
        let k = F::cast_from(s[i / row_len]);
        if comptime![add] {
            out[i] = a[i] + k * b[i];
        } else {
            out[i] = a[i] - k * b[i];
        }
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
