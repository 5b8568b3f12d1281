//! The operator written plainly on host `f64` slices: the ground truth the kernels are tested
//! against. Same shapes, axis rules, eps handling and zero-denominator rule as the kernels.
//!
//! With `D = <x,x> + eps`, `s = <x,f> / D` and `t = <g,x> / D` (both 0 when `D == 0`):
//!
//! ```text
//! orthogonalize        f - s x
//! orthogonal_residual  x + f - s x
//! backward             df = g - t x,   dx = -s g - t (f - 2 s x)   (+ g for the residual)
//! ```

use crate::layout::{validate_options, VectorLayout};
use crate::stats::VectorStats;
use crate::{Options, OrthoError};

/// `num / D` with the crate's rule that it is 0 when `D == 0`.
fn over(num: f64, denom: f64) -> f64 {
    if denom == 0.0 {
        0.0
    } else {
        num / denom
    }
}

fn check(
    shape: &[usize],
    opts: &Options,
    inputs: &[(&'static str, &[f64])],
) -> Result<VectorLayout, OrthoError> {
    validate_options(opts)?;
    let layout = VectorLayout::resolve(shape, opts.axis)?;
    for (_, data) in inputs {
        if data.len() != layout.numel() {
            return Err(OrthoError::LengthMismatch {
                shape: shape.to_vec(),
                expected: layout.numel(),
                found: data.len(),
            });
        }
    }
    Ok(layout)
}

/// `<a, b>` over vector `v`.
fn dot(layout: &VectorLayout, v: usize, a: &[f64], b: &[f64]) -> f64 {
    (0..layout.len)
        .map(|c| {
            let i = layout.index(v, c);
            a[i] * b[i]
        })
        .sum()
}

fn forward(
    x: &[f64],
    f: &[f64],
    shape: &[usize],
    opts: &Options,
    residual: bool,
) -> Result<Vec<f64>, OrthoError> {
    let layout = check(shape, opts, &[("x", x), ("f", f)])?;
    let mut out = vec![0.0; x.len()];
    for v in 0..layout.vectors() {
        let denom = dot(&layout, v, x, x) + opts.eps as f64;
        let s = over(dot(&layout, v, x, f), denom);
        for c in 0..layout.len {
            let i = layout.index(v, c);
            out[i] = f[i] - s * x[i] + if residual { x[i] } else { 0.0 };
        }
    }
    Ok(out)
}

fn backward(
    x: &[f64],
    f: &[f64],
    g: &[f64],
    shape: &[usize],
    opts: &Options,
    residual: bool,
) -> Result<(Vec<f64>, Vec<f64>), OrthoError> {
    let layout = check(shape, opts, &[("x", x), ("f", f), ("grad", g)])?;
    let mut dx = vec![0.0; x.len()];
    let mut df = vec![0.0; x.len()];
    for v in 0..layout.vectors() {
        let denom = dot(&layout, v, x, x) + opts.eps as f64;
        let s = over(dot(&layout, v, x, f), denom);
        let t = over(dot(&layout, v, g, x), denom);
        for c in 0..layout.len {
            let i = layout.index(v, c);
            df[i] = g[i] - t * x[i];
            dx[i] = -s * g[i] - t * (f[i] - 2.0 * s * x[i]) + if residual { g[i] } else { 0.0 };
        }
    }
    Ok((dx, df))
}

/// `f - s x` per vector.
pub fn orthogonalize(
    x: &[f64],
    f: &[f64],
    shape: &[usize],
    opts: &Options,
) -> Result<Vec<f64>, OrthoError> {
    forward(x, f, shape, opts, false)
}

/// `x + f - s x` per vector.
pub fn orthogonal_residual(
    x: &[f64],
    f: &[f64],
    shape: &[usize],
    opts: &Options,
) -> Result<Vec<f64>, OrthoError> {
    forward(x, f, shape, opts, true)
}

/// Gradients `(dx, df)` of `orthogonalize` for the incoming gradient `grad`.
pub fn orthogonalize_backward(
    x: &[f64],
    f: &[f64],
    grad: &[f64],
    shape: &[usize],
    opts: &Options,
) -> Result<(Vec<f64>, Vec<f64>), OrthoError> {
    backward(x, f, grad, shape, opts, false)
}

/// Gradients `(dx, df)` of `orthogonal_residual` for the incoming gradient `grad`.
pub fn orthogonal_residual_backward(
    x: &[f64],
    f: &[f64],
    grad: &[f64],
    shape: &[usize],
    opts: &Options,
) -> Result<(Vec<f64>, Vec<f64>), OrthoError> {
    backward(x, f, grad, shape, opts, true)
}

/// Per-vector statistics, in the same order and with the same definitions as the kernels'.
pub fn vector_stats(
    x: &[f64],
    f: &[f64],
    shape: &[usize],
    opts: &Options,
) -> Result<Vec<VectorStats>, OrthoError> {
    let layout = check(shape, opts, &[("x", x), ("f", f)])?;
    Ok((0..layout.vectors())
        .map(|v| {
            let (xx, xf, ff) = (
                dot(&layout, v, x, x),
                dot(&layout, v, x, f),
                dot(&layout, v, f, f),
            );
            let denom = xx + opts.eps as f64;
            let s = over(xf, denom);
            let par = s * s * xx;
            VectorStats {
                x_sq_norm: xx,
                scale: s,
                parallel_ratio: over(par, denom),
                perpendicular_ratio: over((ff - 2.0 * s * xf + par).max(0.0), denom),
                cosine: over(xf, (xx * ff).sqrt()),
            }
        })
        .collect())
}
