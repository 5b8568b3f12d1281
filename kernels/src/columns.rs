//! Vectors along a strided dimension (`Axis::Dim(k)` with trailing elements, such as the
//! channel vector of an NCHW map). The tensor is viewed as `[outer, len, inner]` and each
//! vector is `x[o, 0..len, i]`, with stride `inner` between its elements.
//!
//! One unit owns `N` adjacent positions `i..i+N` and walks the `len` axis: adjacent units read
//! adjacent addresses (coalesced), each vector lane is a different vector, and no cross-unit
//! reduction is needed. `inner_len` counts vectors of width `N` (the policy picks `N` dividing
//! `inner`). The unit reads its elements twice: once to reduce, once to write.

use crate::math::{backward_store, forward_value, ratio_over_norm, write_stats, Dots};
use cubecl::prelude::*;

/// Per-lane `num / (xx + eps)` with the zero-denominator rule of `ratio_over_norm`.
#[cube]
fn lane_ratio<N: Size>(num: Vector<f32, N>, xx: Vector<f32, N>, eps: f32) -> Vector<f32, N> {
    let mut out = Vector::<f32, N>::new(0.0);
    #[unroll]
    for k in 0..N::value() {
        out[k] = ratio_over_norm(num[k], xx[k], eps);
    }
    out
}

/// The first vector-index of the unit's column, or `None`-like `active = false` past the end.
#[cube]
fn column_start(positions: usize, len: usize, inner_len: usize) -> (usize, bool) {
    let p = CUBE_POS * CUBE_DIM as usize + UNIT_POS as usize;
    let o = p / inner_len;
    let i = p % inner_len;
    (o * len * inner_len + i, p < positions)
}

/// Forward pass over `positions = outer * inner_len` columns.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn orthogonalize_columns_fwd_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    out: &mut Array<Vector<F, N>>,
    stats: &mut Array<f32>,
    positions: usize,
    len: usize,
    inner_len: usize,
    eps: f32,
    #[comptime] residual: bool,
    #[comptime] with_stats: bool,
) {
    let (start, active) = column_start(positions, len, inner_len);
    if !active {
        terminate!();
    }
    let zero = Vector::<f32, N>::new(0.0);
    let mut xf = zero;
    let mut xx = zero;
    let mut ff = zero;
    for c in 0..len {
        let idx = start + c * inner_len;
        let xc = Vector::<f32, N>::cast_from(x[idx]);
        let fc = Vector::<f32, N>::cast_from(f[idx]);
        xf += xc * fc;
        xx += xc * xc;
        if comptime![with_stats] {
            ff += fc * fc;
        }
    }

    let s = lane_ratio::<N>(xf, xx, eps);

    for c in 0..len {
        let idx = start + c * inner_len;
        out[idx] = forward_value::<F, N>(x[idx], f[idx], s, residual);
    }
    if comptime![with_stats] {
        // Vector index of this unit's first column in [outer, inner] order.
        let p = CUBE_POS * CUBE_DIM as usize + UNIT_POS as usize;
        let o = p / inner_len;
        let first = o * inner_len * N::value() + (p % inner_len) * N::value();
        #[unroll]
        for k in 0..N::value() {
            let d = Dots {
                xf: xf[k],
                xx: xx[k],
                xh: ff[k],
            };
            write_stats(stats, first + k, d, eps);
        }
    }
}

/// Backward pass over `positions = outer * inner_len` columns.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn orthogonalize_columns_bwd_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    g: &Array<Vector<F, N>>,
    dx: &mut Array<Vector<F, N>>,
    df: &mut Array<Vector<F, N>>,
    positions: usize,
    len: usize,
    inner_len: usize,
    eps: f32,
    #[comptime] residual: bool,
) {
    let (start, active) = column_start(positions, len, inner_len);
    if !active {
        terminate!();
    }
    let zero = Vector::<f32, N>::new(0.0);
    let mut xf = zero;
    let mut xx = zero;
    let mut gx = zero;
    for c in 0..len {
        let idx = start + c * inner_len;
        let xc = Vector::<f32, N>::cast_from(x[idx]);
        xf += xc * Vector::<f32, N>::cast_from(f[idx]);
        xx += xc * xc;
        gx += xc * Vector::<f32, N>::cast_from(g[idx]);
    }

    let s = lane_ratio::<N>(xf, xx, eps);
    let t = lane_ratio::<N>(gx, xx, eps);

    for c in 0..len {
        let idx = start + c * inner_len;
        backward_store::<F, N>(dx, df, idx, x[idx], f[idx], g[idx], s, t, residual);
    }
}
