//! The operator as a drop-in op for [Burn](https://burn.dev) 0.21 (feature `burn`).
//!
//! [`OrthoBackend`] extends Burn's `Backend` with the operator on float primitives:
//! - Burn's CubeCL backend (`Wgpu`, `Cuda`) runs this crate's fused kernels on Burn's own
//!   buffers, with no host round trip and no copy for contiguous inputs;
//! - `Autodiff<B>` records one backward step that calls `B`'s fused backward (one pass, not
//!   Burn's graph of the composed formula);
//! - any other backend (NdArray, ...) uses [`fallback`], the formula written with Burn tensor
//!   ops, so the same model code runs everywhere.
//!
//! Model code calls [`orthogonalize`], [`orthogonal_residual`] or the [`OrthoResidual`] helper
//! on `Tensor`s:
//!
//! ```no_run
//! use burn::backend::{Autodiff, Wgpu};
//! use burn::tensor::{Distribution, Tensor};
//! use orthoproj::burn::OrthoResidual;
//!
//! type B = Autodiff<Wgpu>;
//! let device = Default::default();
//! let x = Tensor::<B, 3>::random([2, 16, 64], Distribution::Default, &device).require_grad();
//! let f = x.clone().tanh(); // a block's output
//! let next = OrthoResidual::orthogonal(Default::default()).forward(x.clone(), f)?;
//! let grads = next.sum().backward();
//! assert!(x.grad(&grads).is_some());
//! # Ok::<(), orthoproj::OrthoError>(())
//! ```

mod autodiff;
mod cube;
pub mod fallback;

use crate::layout::{validate_options, VectorLayout};
use crate::{Options, OrthoError, VectorStats};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// A Burn backend that can run the orthogonal residual operator. Every method takes validated
/// inputs (same shape and dtype, a resolvable axis, a valid eps): call the `Tensor` functions
/// of this module, which check them.
///
/// The default methods are the portable [`fallback`]; backends with a fused path override them.
pub trait OrthoBackend: Backend {
    /// `f - s x` per vector.
    fn orthogonalize(
        x: FloatTensor<Self>,
        f: FloatTensor<Self>,
        opts: &Options,
    ) -> Result<FloatTensor<Self>, OrthoError> {
        fallback::forward::<Self>(x, f, opts, false)
    }

    /// `x + f - s x` per vector.
    fn orthogonal_residual(
        x: FloatTensor<Self>,
        f: FloatTensor<Self>,
        opts: &Options,
    ) -> Result<FloatTensor<Self>, OrthoError> {
        fallback::forward::<Self>(x, f, opts, true)
    }

    /// `(dx, df)` of [`OrthoBackend::orthogonalize`] for the incoming gradient `grad`.
    fn orthogonalize_backward(
        x: FloatTensor<Self>,
        f: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        opts: &Options,
    ) -> Result<(FloatTensor<Self>, FloatTensor<Self>), OrthoError> {
        fallback::backward::<Self>(x, f, grad, opts, false)
    }

    /// `(dx, df)` of [`OrthoBackend::orthogonal_residual`].
    fn orthogonal_residual_backward(
        x: FloatTensor<Self>,
        f: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        opts: &Options,
    ) -> Result<(FloatTensor<Self>, FloatTensor<Self>), OrthoError> {
        fallback::backward::<Self>(x, f, grad, opts, true)
    }

    /// Per-vector statistics as a `[vectors, 5]` tensor, columns in the field order of
    /// [`VectorStats`]. Not differentiable.
    fn vector_stats(
        x: FloatTensor<Self>,
        f: FloatTensor<Self>,
        opts: &Options,
    ) -> Result<FloatTensor<Self>, OrthoError> {
        fallback::stats::<Self>(x, f, opts)
    }
}

impl<E, I, Q> OrthoBackend for burn::backend::NdArray<E, I, Q>
where
    burn::backend::NdArray<E, I, Q>: Backend,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<E>>,
    burn::backend::ndarray::NdArrayTensor: From<burn::backend::ndarray::SharedArray<I>>,
{
}

/// Checks what every entry point needs and returns the vector layout.
fn validate<B: Backend, const D: usize>(
    x: &Tensor<B, D>,
    f: &Tensor<B, D>,
    opts: &Options,
) -> Result<VectorLayout, OrthoError> {
    validate_options(opts)?;
    let (xs, fs) = (x.dims(), f.dims());
    if xs != fs {
        return Err(OrthoError::ShapeMismatch {
            left: "x",
            left_shape: xs.to_vec(),
            right: "f",
            right_shape: fs.to_vec(),
        });
    }
    if x.dtype() != f.dtype() {
        return Err(OrthoError::InvalidLayout {
            reason: format!("x is {:?} but f is {:?}", x.dtype(), f.dtype()),
        });
    }
    VectorLayout::resolve(&xs, opts.axis)
}

fn float<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

fn tensor<B: Backend, const D: usize>(p: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

/// `f - s x` per vector, differentiable under `Autodiff`. See [`crate::orthogonalize`].
pub fn orthogonalize<B: OrthoBackend, const D: usize>(
    x: Tensor<B, D>,
    f: Tensor<B, D>,
    opts: &Options,
) -> Result<Tensor<B, D>, OrthoError> {
    validate(&x, &f, opts)?;
    B::orthogonalize(float(x), float(f), opts).map(tensor)
}

/// `x + f - s x` per vector, differentiable under `Autodiff`. See
/// [`crate::orthogonal_residual`].
pub fn orthogonal_residual<B: OrthoBackend, const D: usize>(
    x: Tensor<B, D>,
    f: Tensor<B, D>,
    opts: &Options,
) -> Result<Tensor<B, D>, OrthoError> {
    validate(&x, &f, opts)?;
    B::orthogonal_residual(float(x), float(f), opts).map(tensor)
}

/// Per-vector statistics, `[vectors, 5]` (see [`VectorStats`]), from the fused kernel where
/// the backend has one.
pub fn vector_stats<B: OrthoBackend, const D: usize>(
    x: Tensor<B, D>,
    f: Tensor<B, D>,
    opts: &Options,
) -> Result<Tensor<B, 2>, OrthoError> {
    validate(&x, &f, opts)?;
    B::vector_stats(float(x), float(f), opts).map(tensor)
}

/// Means of the statistics over all vectors, read back to the host: what a training loop logs.
pub fn stats_mean<B: OrthoBackend, const D: usize>(
    x: Tensor<B, D>,
    f: Tensor<B, D>,
    opts: &Options,
) -> Result<VectorStats, OrthoError> {
    let stats = vector_stats(x, f, opts)?;
    let values: Vec<f32> =
        stats
            .into_data()
            .convert::<f32>()
            .into_vec()
            .map_err(|e| OrthoError::Runtime {
                message: format!("{e:?}"),
            })?;
    let rows = VectorStats::from_rows(&values);
    Ok(VectorStats::mean(&rows))
}

/// How a block adds its output `f` to the stream `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidualKind {
    /// `x + f`: the ordinary residual connection.
    Linear,
    /// `x + f_perp`: the orthogonal residual update.
    Orthogonal,
}

/// The residual connection of a block, in place of `x + f`. Holds no parameters: in a Burn
/// `#[derive(Module)]` struct, mark the field `#[module(skip)]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrthoResidual {
    pub kind: ResidualKind,
    pub options: Options,
}

impl OrthoResidual {
    /// The ordinary `x + f`.
    pub fn linear() -> Self {
        Self {
            kind: ResidualKind::Linear,
            options: Options::default(),
        }
    }

    /// The orthogonal update with the given options (axis, eps).
    pub fn orthogonal(options: Options) -> Self {
        Self {
            kind: ResidualKind::Orthogonal,
            options,
        }
    }

    /// `x + f` or `x + f_perp`. Errors as [`orthogonal_residual`] (for both kinds, so that
    /// switching kinds never turns an error into a silent broadcast).
    pub fn forward<B: OrthoBackend, const D: usize>(
        &self,
        x: Tensor<B, D>,
        f: Tensor<B, D>,
    ) -> Result<Tensor<B, D>, OrthoError> {
        match self.kind {
            ResidualKind::Linear => {
                validate(&x, &f, &self.options)?;
                Ok(x + f)
            }
            ResidualKind::Orthogonal => orthogonal_residual(x, f, &self.options),
        }
    }
}
