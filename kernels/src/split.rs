//! Very long contiguous vectors (per-sample `Axis::From`, or any row past the split
//! threshold): each vector is cut into `chunks` pieces of `chunk_len` vector-width elements,
//! one cube per piece, so a single vector can occupy the whole device.
//!
//! Three launches, no atomics:
//! 1. `split_partials_kernel`: each cube reduces its piece and writes three partial sums;
//! 2. `split_finish_kernel`: one unit per vector adds its partials in chunk order (a fixed
//!    order, so results are bitwise reproducible) and writes `s` and `t` (and the statistics);
//! 3. `split_fwd_apply_kernel` / `split_bwd_apply_kernel`: each cube writes its piece.
//!
//! Inputs are read twice from memory (stages 1 and 3): forward moves 5 elements per element
//! of the vector instead of 3, backward 8 instead of 5.

use crate::math::{backward_store, forward_value, lane_sum, ratio_over_norm, write_stats, Dots};
use crate::reduce::sum_across_row;
use cubecl::prelude::*;

/// The `(vector, piece)` this cube owns, the piece's element range, and whether it exists.
#[cube]
fn piece(
    rows: usize,
    row_len: usize,
    chunks: usize,
    chunk_len: usize,
) -> (usize, usize, usize, bool) {
    let c = CUBE_POS;
    let row = c / chunks;
    let begin = row * row_len + (c % chunks) * chunk_len;
    let end = usize::min(begin + chunk_len, (row + 1) * row_len);
    (row, begin, end, c < rows * chunks)
}

/// Stage 1. With `backward`, the third sum is `<g, x>`; otherwise it is `<f, f>` (0 unless
/// `with_stats`) and `g` is a placeholder. Writes `partials[3 * cube ..]`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn split_partials_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    g: &Array<Vector<F, N>>,
    partials: &mut Array<f32>,
    rows: usize,
    row_len: usize,
    chunks: usize,
    chunk_len: usize,
    #[comptime] cube_units: usize,
    #[comptime] plane: bool,
    #[comptime] backward: bool,
    #[comptime] with_stats: bool,
) {
    let (_row, begin, end, active) = piece(rows, row_len, chunks, chunk_len);
    if !active {
        // Uniform across the cube, so no unit is left waiting at a barrier.
        terminate!();
    }
    let zero = Vector::<f32, N>::new(0.0);
    let mut xf = zero;
    let mut xx = zero;
    let mut xh = zero;
    let mut i = begin + UNIT_POS as usize;
    while i < end {
        let xc = Vector::<f32, N>::cast_from(x[i]);
        let fc = Vector::<f32, N>::cast_from(f[i]);
        xf += xc * fc;
        xx += xc * xc;
        if comptime![backward] {
            xh += xc * Vector::<f32, N>::cast_from(g[i]);
        } else if comptime![with_stats] {
            xh += fc * fc;
        }
        i += CUBE_DIM as usize;
    }

    let local = Dots {
        xf: lane_sum::<N>(xf),
        xx: lane_sum::<N>(xx),
        xh: lane_sum::<N>(xh),
    };
    let d = sum_across_row(local, cube_units, cube_units, plane);
    if UNIT_POS == 0 {
        let at = CUBE_POS * 3;
        partials[at] = d.xf;
        partials[at + 1] = d.xx;
        partials[at + 2] = d.xh;
    }
}

/// Stage 2: one unit per vector. Writes `coefs[2 * row] = s` and `coefs[2 * row + 1] =
/// third / (<x,x> + eps)` (that is `t` in the backward pass), and the statistics if asked.
#[cube(launch_unchecked)]
pub fn split_finish_kernel(
    partials: &Array<f32>,
    coefs: &mut Array<f32>,
    stats: &mut Array<f32>,
    rows: usize,
    chunks: usize,
    eps: f32,
    #[comptime] with_stats: bool,
) {
    let row = CUBE_POS * CUBE_DIM as usize + UNIT_POS as usize;
    if row >= rows {
        terminate!();
    }
    let mut d = Dots {
        xf: 0.0,
        xx: 0.0,
        xh: 0.0,
    };
    for k in 0..chunks {
        let at = (row * chunks + k) * 3;
        d.xf += partials[at];
        d.xx += partials[at + 1];
        d.xh += partials[at + 2];
    }
    coefs[row * 2] = ratio_over_norm(d.xf, d.xx, eps);
    coefs[row * 2 + 1] = ratio_over_norm(d.xh, d.xx, eps);
    if comptime![with_stats] {
        write_stats(stats, row, d, eps);
    }
}

/// Stage 3, forward: writes `f - s x` (plus `x` for the residual form) over the cube's piece.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn split_fwd_apply_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    coefs: &Array<f32>,
    out: &mut Array<Vector<F, N>>,
    rows: usize,
    row_len: usize,
    chunks: usize,
    chunk_len: usize,
    #[comptime] residual: bool,
) {
    let (row, begin, end, active) = piece(rows, row_len, chunks, chunk_len);
    if !active {
        terminate!();
    }
    let s = Vector::<f32, N>::new(coefs[row * 2]);
    let mut i = begin + UNIT_POS as usize;
    while i < end {
        out[i] = forward_value::<F, N>(x[i], f[i], s, residual);
        i += CUBE_DIM as usize;
    }
}

/// Stage 3, backward: writes `dx` and `df` over the cube's piece.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn split_bwd_apply_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    g: &Array<Vector<F, N>>,
    coefs: &Array<f32>,
    dx: &mut Array<Vector<F, N>>,
    df: &mut Array<Vector<F, N>>,
    rows: usize,
    row_len: usize,
    chunks: usize,
    chunk_len: usize,
    #[comptime] residual: bool,
) {
    let (row, begin, end, active) = piece(rows, row_len, chunks, chunk_len);
    if !active {
        terminate!();
    }
    let s = Vector::<f32, N>::new(coefs[row * 2]);
    let t = Vector::<f32, N>::new(coefs[row * 2 + 1]);
    let mut i = begin + UNIT_POS as usize;
    while i < end {
        backward_store::<F, N>(dx, df, i, x[i], f[i], g[i], s, t, residual);
        i += CUBE_DIM as usize;
    }
}
