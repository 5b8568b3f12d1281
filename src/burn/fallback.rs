//! The operator written with Burn tensor ops, for backends without a fused kernel (NdArray and
//! any other). Same definitions as the kernels: `s = <x,f> / (<x,x> + eps)`, 0 when the
//! denominator is exactly 0, and the statistics of [`crate::VectorStats`].
//!
//! Each vector layout is handled by viewing the tensor as `[outer, len, inner]` and reducing
//! over the middle dimension, as in [`VectorLayout`]. Public so a custom backend can call it.

use crate::layout::VectorLayout;
use crate::{Options, OrthoError};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Shape, Tensor, TensorMetadata, TensorPrimitive};

/// `x` seen as `[outer, len, inner]`, and its original dimensions.
fn view<B: Backend>(
    x: FloatTensor<B>,
    opts: &Options,
) -> Result<(Tensor<B, 3>, Vec<usize>, VectorLayout), OrthoError> {
    let dims: Vec<usize> = x.shape().to_vec();
    let l = VectorLayout::resolve(&dims, opts.axis)?;
    let p = B::float_reshape(x, Shape::from([l.outer, l.len, l.inner]));
    Ok((Tensor::from_primitive(TensorPrimitive::Float(p)), dims, l))
}

fn same_view<B: Backend>(t: FloatTensor<B>, l: &VectorLayout) -> Tensor<B, 3> {
    let p = B::float_reshape(t, Shape::from([l.outer, l.len, l.inner]));
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

fn back<B: Backend, const D: usize>(t: Tensor<B, D>, dims: &[usize]) -> FloatTensor<B> {
    B::float_reshape(t.into_primitive().tensor(), Shape::from(dims.to_vec()))
}

/// `<a, b>` per vector, `[outer, 1, inner]`.
fn dot<B: Backend>(a: &Tensor<B, 3>, b: &Tensor<B, 3>) -> Tensor<B, 3> {
    (a.clone() * b.clone()).sum_dim(1)
}

/// `(<x,x> + eps, its zero mask, the denominator with zeros replaced by 1)`.
fn denominator<B: Backend>(
    x: &Tensor<B, 3>,
    eps: f32,
) -> (Tensor<B, 3>, Tensor<B, 3, burn::tensor::Bool>, Tensor<B, 3>) {
    let denom = dot(x, x) + eps;
    let zero = denom.clone().equal_elem(0.0);
    let safe = denom.clone().mask_fill(zero.clone(), 1.0);
    (denom, zero, safe)
}

/// `f - s x` (plus `x` for the residual form).
pub fn forward<B: Backend>(
    x: FloatTensor<B>,
    f: FloatTensor<B>,
    opts: &Options,
    residual: bool,
) -> Result<FloatTensor<B>, OrthoError> {
    let (x, dims, l) = view::<B>(x, opts)?;
    let f = same_view::<B>(f, &l);
    let (_, _, safe) = denominator(&x, opts.eps);
    // Where the denominator is 0, x = 0 and so <x,f> = 0: s is 0 as the crate defines it.
    let s = dot(&x, &f) / safe;
    let mut out = f - s * x.clone();
    if residual {
        out = out + x;
    }
    Ok(back(out, &dims))
}

/// `(dx, df)`: `df = g - t x`, `dx = -s g - t (f - 2 s x)` (plus `g` for the residual form).
pub fn backward<B: Backend>(
    x: FloatTensor<B>,
    f: FloatTensor<B>,
    grad: FloatTensor<B>,
    opts: &Options,
    residual: bool,
) -> Result<(FloatTensor<B>, FloatTensor<B>), OrthoError> {
    let (x, dims, l) = view::<B>(x, opts)?;
    let f = same_view::<B>(f, &l);
    let g = same_view::<B>(grad, &l);
    let (_, _, safe) = denominator(&x, opts.eps);
    let s = dot(&x, &f) / safe.clone();
    let t = dot(&g, &x) / safe;
    let df = g.clone() - t.clone() * x.clone();
    let mut dx = (s.clone() * g.clone()).neg() - t * (f - s * x * 2.0);
    if residual {
        dx = dx + g;
    }
    Ok((back(dx, &dims), back(df, &dims)))
}

/// Per-vector statistics as `[vectors, 5]`.
pub fn stats<B: Backend>(
    x: FloatTensor<B>,
    f: FloatTensor<B>,
    opts: &Options,
) -> Result<FloatTensor<B>, OrthoError> {
    let (x, _, l) = view::<B>(x, opts)?;
    let f = same_view::<B>(f, &l);
    let (xf, xx, ff) = (dot(&x, &f), dot(&x, &x), dot(&f, &f));
    let (_, zero, safe) = denominator(&x, opts.eps);
    let s = xf.clone() / safe.clone();
    let par = s.clone() * s.clone() * xx.clone();
    let perp = (ff.clone() - s.clone() * xf.clone() * 2.0 + par.clone()).clamp_min(0.0);
    let norms = xx.clone() * ff;
    let norms_zero = norms.clone().equal_elem(0.0);
    let cos = (xf / norms.mask_fill(norms_zero.clone(), 1.0).sqrt()).mask_fill(norms_zero, 0.0);
    let columns = [
        xx,
        s,
        par / safe.clone(),
        (perp / safe).mask_fill(zero, 0.0),
        cos,
    ]
    .map(|c| c.reshape([l.outer * l.inner, 1]));
    Ok(Tensor::cat(columns.to_vec(), 1).into_primitive().tensor())
}
