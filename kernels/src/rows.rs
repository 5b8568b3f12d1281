//! Contiguous vectors (`Axis::Last`, and `Axis::From` up to the split threshold): one row of
//! `CUBE_DIM_X` units per vector, `CUBE_DIM_Y` vectors per cube.
//!
//! With `cached > 0` each unit keeps its `cached` vector-width slices of x and f (and g) in
//! registers between the reduction and the write, so every element is read from memory once.
//! `unroll` unrolls the cache loops so the slices live in registers (GPUs); without it the
//! cache is a local array indexed at run time, which costs nothing extra on a CPU device and
//! keeps kernel compilation fast for deep caches.
//! With `cached == 0` the unit streams the row twice: once to reduce, once to write; the
//! second read usually hits cache for rows of a few KiB.

use crate::math::{backward_store, forward_value, lane_sum, ratio_over_norm, write_stats, Dots};
use crate::reduce::sum_across_row;
use cubecl::prelude::*;

/// Which vector this cube row owns, and whether it exists (the last cube may be partial).
#[cube]
fn row_index(rows: usize) -> (usize, bool) {
    let row = CUBE_POS * CUBE_DIM_Y as usize + UNIT_POS_Y as usize;
    (row, row < rows)
}

/// Forward pass. `row_len` counts vectors of width `N`. `stats` holds 5 floats per row when
/// `with_stats`, and is ignored otherwise (a 1-element placeholder).
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn orthogonalize_rows_fwd_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    out: &mut Array<Vector<F, N>>,
    stats: &mut Array<f32>,
    rows: usize,
    row_len: usize,
    eps: f32,
    #[comptime] cached: usize,
    #[comptime] unroll: bool,
    #[comptime] cube_units: usize,
    #[comptime] row_units: usize,
    #[comptime] plane: bool,
    #[comptime] residual: bool,
    #[comptime] with_stats: bool,
) {
    let (row, active) = row_index(rows);
    let lane = UNIT_POS_X as usize;
    let width = CUBE_DIM_X as usize;
    let base = row * row_len;
    let zero = Vector::<f32, N>::new(0.0);
    let mut xf = zero;
    let mut xx = zero;
    let mut ff = zero;
    let mut xs = Array::<Vector<F, N>>::new(comptime![usize::max(cached, 1)]);
    let mut fs = Array::<Vector<F, N>>::new(comptime![usize::max(cached, 1)]);

    if comptime![cached > 0] {
        #[unroll(unroll)]
        for k in 0..cached {
            let i = lane + k * width;
            let mut xv = Vector::<F, N>::new(F::new(0.0));
            let mut fv = Vector::<F, N>::new(F::new(0.0));
            if active && i < row_len {
                xv = x[base + i];
                fv = f[base + i];
            }
            xs[k] = xv;
            fs[k] = fv;
            let xc = Vector::<f32, N>::cast_from(xv);
            let fc = Vector::<f32, N>::cast_from(fv);
            xf += xc * fc;
            xx += xc * xc;
            if comptime![with_stats] {
                ff += fc * fc;
            }
        }
    } else if active {
        let mut i = lane;
        while i < row_len {
            let xc = Vector::<f32, N>::cast_from(x[base + i]);
            let fc = Vector::<f32, N>::cast_from(f[base + i]);
            xf += xc * fc;
            xx += xc * xc;
            if comptime![with_stats] {
                ff += fc * fc;
            }
            i += width;
        }
    }

    let local = Dots {
        xf: lane_sum::<N>(xf),
        xx: lane_sum::<N>(xx),
        xh: lane_sum::<N>(ff),
    };
    let d = sum_across_row(local, cube_units, row_units, plane);
    let s = Vector::<f32, N>::new(ratio_over_norm(d.xf, d.xx, eps));

    if active {
        if comptime![cached > 0] {
            #[unroll(unroll)]
            for k in 0..cached {
                let i = lane + k * width;
                if i < row_len {
                    out[base + i] = forward_value::<F, N>(xs[k], fs[k], s, residual);
                }
            }
        } else {
            let mut i = lane;
            while i < row_len {
                out[base + i] = forward_value::<F, N>(x[base + i], f[base + i], s, residual);
                i += width;
            }
        }
        // Kept nested: the outer test is resolved when the kernel is expanded, the inner one
        // at run time.
        #[allow(clippy::collapsible_if)]
        if comptime![with_stats] {
            if lane == 0 {
                write_stats(stats, row, d, eps);
            }
        }
    }
}

/// Backward pass: reduces `<x,f>`, `<x,x>` and `<g,x>`, then writes `dx` and `df`.
#[cube(launch_unchecked)]
#[allow(clippy::too_many_arguments)]
pub fn orthogonalize_rows_bwd_kernel<F: Float, N: Size>(
    x: &Array<Vector<F, N>>,
    f: &Array<Vector<F, N>>,
    g: &Array<Vector<F, N>>,
    dx: &mut Array<Vector<F, N>>,
    df: &mut Array<Vector<F, N>>,
    rows: usize,
    row_len: usize,
    eps: f32,
    #[comptime] cached: usize,
    #[comptime] unroll: bool,
    #[comptime] cube_units: usize,
    #[comptime] row_units: usize,
    #[comptime] plane: bool,
    #[comptime] residual: bool,
) {
    let (row, active) = row_index(rows);
    let lane = UNIT_POS_X as usize;
    let width = CUBE_DIM_X as usize;
    let base = row * row_len;
    let zero = Vector::<f32, N>::new(0.0);
    let mut xf = zero;
    let mut xx = zero;
    let mut gx = zero;
    let mut xs = Array::<Vector<F, N>>::new(comptime![usize::max(cached, 1)]);
    let mut fs = Array::<Vector<F, N>>::new(comptime![usize::max(cached, 1)]);
    let mut gs = Array::<Vector<F, N>>::new(comptime![usize::max(cached, 1)]);

    if comptime![cached > 0] {
        #[unroll(unroll)]
        for k in 0..cached {
            let i = lane + k * width;
            let mut xv = Vector::<F, N>::new(F::new(0.0));
            let mut fv = Vector::<F, N>::new(F::new(0.0));
            let mut gv = Vector::<F, N>::new(F::new(0.0));
            if active && i < row_len {
                xv = x[base + i];
                fv = f[base + i];
                gv = g[base + i];
            }
            xs[k] = xv;
            fs[k] = fv;
            gs[k] = gv;
            let xc = Vector::<f32, N>::cast_from(xv);
            xf += xc * Vector::<f32, N>::cast_from(fv);
            xx += xc * xc;
            gx += xc * Vector::<f32, N>::cast_from(gv);
        }
    } else if active {
        let mut i = lane;
        while i < row_len {
            let xc = Vector::<f32, N>::cast_from(x[base + i]);
            xf += xc * Vector::<f32, N>::cast_from(f[base + i]);
            xx += xc * xc;
            gx += xc * Vector::<f32, N>::cast_from(g[base + i]);
            i += width;
        }
    }

    let local = Dots {
        xf: lane_sum::<N>(xf),
        xx: lane_sum::<N>(xx),
        xh: lane_sum::<N>(gx),
    };
    let d = sum_across_row(local, cube_units, row_units, plane);
    let s = Vector::<f32, N>::new(ratio_over_norm(d.xf, d.xx, eps));
    let t = Vector::<f32, N>::new(ratio_over_norm(d.xh, d.xx, eps));

    if active {
        if comptime![cached > 0] {
            #[unroll(unroll)]
            for k in 0..cached {
                let i = lane + k * width;
                if i < row_len {
                    backward_store::<F, N>(dx, df, base + i, xs[k], fs[k], gs[k], s, t, residual);
                }
            }
        } else {
            let mut i = lane;
            while i < row_len {
                let idx = base + i;
                backward_store::<F, N>(dx, df, idx, x[idx], f[idx], g[idx], s, t, residual);
                i += width;
            }
        }
    }
}
