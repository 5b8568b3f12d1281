//! Scalar formulas shared by every kernel, written once so the mappings cannot drift apart.

use cubecl::prelude::*;

/// The three dot products a kernel reduces per vector. `xh` is `<x, f>`'s companion: `<f, f>`
/// in the forward pass (for the statistics) and `<g, x>` in the backward pass.
#[derive(CubeType, Clone, Copy)]
pub struct Dots {
    pub xf: f32,
    pub xx: f32,
    pub xh: f32,
}

/// `num / (xx + eps)`, defined as 0 when the denominator is exactly 0 (x = 0 with eps = 0), so
/// that a zero stream vector leaves `f` unchanged instead of producing NaN.
#[cube]
pub fn ratio_over_norm(num: f32, xx: f32, eps: f32) -> f32 {
    let denom = xx + eps;
    let safe = select(denom == 0.0, 1.0, denom);
    select(denom == 0.0, 0.0, num / safe)
}

/// Writes the five per-vector statistics (see `STATS_PER_VECTOR`) at `stats[row * 5 ..]`.
/// `ff` is `<f, f>`. `|f_perp|^2` is expanded as `ff - 2 s xf + s^2 xx`, clamped at 0.
#[cube]
pub fn write_stats(stats: &mut Array<f32>, row: usize, d: Dots, eps: f32) {
    let s = ratio_over_norm(d.xf, d.xx, eps);
    let par = s * s * d.xx;
    let perp = f32::max(d.xh - 2.0 * s * d.xf + par, 0.0);
    let norms = d.xx * d.xh;
    let safe_norms = select(norms == 0.0, 1.0, norms);
    let cos = select(norms == 0.0, 0.0, d.xf / f32::sqrt(safe_norms));
    let base = row * 5;
    stats[base] = d.xx;
    stats[base + 1] = s;
    stats[base + 2] = ratio_over_norm(par, d.xx, eps);
    stats[base + 3] = ratio_over_norm(perp, d.xx, eps);
    stats[base + 4] = cos;
}

/// Sum of the lanes of an `f32` vector.
#[cube]
pub fn lane_sum<N: Size>(v: Vector<f32, N>) -> f32 {
    let mut acc = 0.0f32;
    #[unroll]
    for k in 0..N::value() {
        acc += v[k];
    }
    acc
}

/// Forward element update: `f - s x`, plus `x` for the residual form. Computed in `f32` and
/// rounded once to the storage type.
#[cube]
pub fn forward_value<F: Float, N: Size>(
    xv: Vector<F, N>,
    fv: Vector<F, N>,
    s: Vector<f32, N>,
    #[comptime] residual: bool,
) -> Vector<F, N> {
    let x = Vector::<f32, N>::cast_from(xv);
    let f = Vector::<f32, N>::cast_from(fv);
    let mut o = f - s * x;
    if comptime![residual] {
        o += x;
    }
    Vector::cast_from(o)
}

/// Backward element update, with `s = <x,f>/D` and `t = <g,x>/D`:
/// `df = g - t x` and `dx = -s g - t (f - 2 s x)`, plus `g` in `dx` for the residual form.
/// Returns `(dx, df)` through the two output arrays at `index`.
#[cube]
#[allow(clippy::too_many_arguments)]
pub fn backward_store<F: Float, N: Size>(
    dx: &mut Array<Vector<F, N>>,
    df: &mut Array<Vector<F, N>>,
    index: usize,
    xv: Vector<F, N>,
    fv: Vector<F, N>,
    gv: Vector<F, N>,
    s: Vector<f32, N>,
    t: Vector<f32, N>,
    #[comptime] residual: bool,
) {
    let x = Vector::<f32, N>::cast_from(xv);
    let f = Vector::<f32, N>::cast_from(fv);
    let g = Vector::<f32, N>::cast_from(gv);
    let two = Vector::<f32, N>::new(2.0);
    let mut gx = Vector::<f32, N>::new(0.0) - s * g - t * (f - two * s * x);
    if comptime![residual] {
        gx += g;
    }
    dx[index] = Vector::cast_from(gx);
    df[index] = Vector::cast_from(g - t * x);
}
