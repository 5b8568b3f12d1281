//! # orthoproj
//!
//! Fused GPU kernels for **orthogonal residual updates** (Oh et al., 2025, "Revisiting Residual
//! Connections: Orthogonal Updates for Stable and Efficient Deep Networks"). A residual block
//! normally computes `x_next = x + f(x)`; the orthogonal update adds only the part of the block
//! output `f` that is orthogonal to the stream `x`:
//!
//! ```text
//! s      = <x, f> / (<x, x> + eps)        eps = 1e-6 by default
//! f_perp = f - s * x                      orthogonalize
//! x_next = x + f_perp                     orthogonal_residual
//! ```
//!
//! The dot products run per vector: per token over the hidden dimension ([`Axis::Last`]), per
//! spatial position over the channels of an NCHW map ([`Axis::Dim`]`(1)`), or per sample over
//! everything from a dimension on ([`Axis::From`]). Each forward and backward pass is one
//! fused kernel that reads its inputs once and writes its outputs once (very long vectors take
//! a second read; see `docs/layouts.md`), where an eager framework runs five or more passes.
//! The kernels are written in CubeCL and run on CUDA and, through wgpu, on Vulkan, Metal and
//! DX12.
//!
//! ```no_run
//! use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
//! use cubecl::Runtime;
//! use orthoproj::{orthogonal_residual, DeviceTensor, Options};
//!
//! let client = WgpuRuntime::client(&WgpuDevice::default());
//! let x = DeviceTensor::from_slice(&client, &[1.0f32, 0.0, 0.0, 1.0], &[2, 2])?;
//! let f = DeviceTensor::from_slice(&client, &[2.0f32, 3.0, 5.0, 7.0], &[2, 2])?;
//! let next = orthogonal_residual(&x, &f, &Options::default())?;
//! // Per row, the part of f along x is removed: [1 + 0, 3] and [5, 1 + 0].
//! let host: Vec<f32> = next.to_vec()?;
//! assert!((host[0] - 1.0).abs() < 1e-5 && (host[1] - 3.0).abs() < 1e-5);
//! # Ok::<(), orthoproj::OrthoError>(())
//! ```
//!
//! Numerics: dot products accumulate in `f32` whatever the storage type (f32, f16, bf16); the
//! element update is computed in `f32` and rounded once. `eps` is added to `<x, x>`; when the
//! sum is exactly 0 (x = 0 with eps = 0) the coefficient is defined as 0, so `f_perp = f`.
//! A NaN or infinity in a vector's input makes that vector's output non-finite and leaves every
//! other vector untouched. Results are bitwise reproducible: no kernel uses atomics, and the
//! launch configuration depends on the vector length, not on how many vectors there are.
//!
//! The derivation of the backward pass is in `docs/math.md`; known limits are in
//! `docs/limits.md`. [`reference`] holds the same operations on host `f64` slices.

#[doc(hidden)]
pub mod baseline;
#[cfg(feature = "burn")]
pub mod burn;
mod element;
mod error;
mod launch;
pub mod layout;
mod policy;
pub mod reference;
mod stats;
mod tensor;

/// Runs the README's example as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use element::{DType, OrthoElement};
pub use error::OrthoError;
pub use stats::{DeviceStats, VectorStats};
pub use tensor::DeviceTensor;

use cubecl::prelude::Runtime;
use launch::{launch_backward, launch_forward, ForwardKind};
use layout::{validate_options, VectorLayout};
use tensor::{check_allocation, require_dtype};

/// Which elements form one vector (the dot products run over a vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Axis {
    /// The last dimension: one vector per token (Transformers).
    #[default]
    Last,
    /// One dimension, strided: one vector per position of the other dimensions.
    /// `Dim(1)` on an NCHW map is the per-position channel vector (ResNets).
    Dim(usize),
    /// All dimensions from this one on, flattened: one vector per sample for `From(1)`.
    From(usize),
}

/// Operator options. `eps` is added to `<x, x>` and must be finite and `>= 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub eps: f32,
    pub axis: Axis,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            eps: 1e-6,
            axis: Axis::Last,
        }
    }
}

/// Checks everything a launch relies on and resolves the vector layout. The first tensor is
/// `x`; the others must match it in shape and dtype.
fn validate<R: Runtime>(
    opts: &Options,
    tensors: &[(&'static str, &DeviceTensor<R>)],
) -> Result<VectorLayout, OrthoError> {
    validate_options(opts)?;
    let (x_name, x) = tensors[0];
    for &(name, t) in tensors {
        if t.shape().is_empty() {
            return Err(OrthoError::RankZero { argument: name });
        }
        if t.shape() != x.shape() {
            return Err(OrthoError::ShapeMismatch {
                left: x_name,
                left_shape: x.shape().to_vec(),
                right: name,
                right_shape: t.shape().to_vec(),
            });
        }
        if t.dtype() != x.dtype() {
            return Err(OrthoError::DTypeMismatch {
                argument: name,
                expected: x.dtype(),
                found: t.dtype(),
            });
        }
    }
    let layout = VectorLayout::resolve(x.shape(), opts.axis)?;
    require_dtype(x.client(), x.dtype())?;
    check_allocation(x.client(), layout.numel(), x.dtype())?;
    for &(name, t) in tensors {
        if !t.is_contiguous() {
            return Err(OrthoError::NonContiguous {
                argument: name,
                shape: t.shape().to_vec(),
                strides: t.strides().to_vec(),
            });
        }
    }
    Ok(layout)
}

fn forward<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    opts: &Options,
    kind: ForwardKind,
) -> Result<(DeviceTensor<R>, Option<DeviceTensor<R>>), OrthoError> {
    let layout = validate(opts, &[("x", x), ("f", f)])?;
    launch_forward(x, f, &layout, opts.eps, kind)
}

/// `f - s x` per vector, with `s = <x,f> / (<x,x> + eps)`: the part of `f` orthogonal to `x`.
///
/// `x` and `f` must have the same shape and dtype and be contiguous. The kernel is queued
/// asynchronously; errors the device reports later surface from [`DeviceTensor::to_vec`] or
/// [`DeviceTensor::sync`].
///
/// Errors: `ShapeMismatch`, `DTypeMismatch`, `RankZero`, `AxisOutOfRange`, `InvalidEps`,
/// `NonContiguous`, `UnsupportedDType`, `TooLarge`, `Runtime`.
pub fn orthogonalize<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    opts: &Options,
) -> Result<DeviceTensor<R>, OrthoError> {
    let kind = ForwardKind {
        residual: false,
        with_stats: false,
    };
    Ok(forward(x, f, opts, kind)?.0)
}

/// `x + f - s x` per vector: the orthogonal residual update, from the same single pass as
/// [`orthogonalize`] (same bytes moved). Same contract and errors.
pub fn orthogonal_residual<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    opts: &Options,
) -> Result<DeviceTensor<R>, OrthoError> {
    let kind = ForwardKind {
        residual: true,
        with_stats: false,
    };
    Ok(forward(x, f, opts, kind)?.0)
}

/// [`orthogonalize`] that also writes per-vector [`VectorStats`] from the same pass (one more
/// dot product, `<f, f>`, and 20 bytes per vector).
pub fn orthogonalize_with_stats<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    opts: &Options,
) -> Result<(DeviceTensor<R>, DeviceStats<R>), OrthoError> {
    let kind = ForwardKind {
        residual: false,
        with_stats: true,
    };
    with_stats(forward(x, f, opts, kind)?)
}

/// [`orthogonal_residual`] that also writes per-vector [`VectorStats`] from the same pass.
pub fn orthogonal_residual_with_stats<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    opts: &Options,
) -> Result<(DeviceTensor<R>, DeviceStats<R>), OrthoError> {
    let kind = ForwardKind {
        residual: true,
        with_stats: true,
    };
    with_stats(forward(x, f, opts, kind)?)
}

fn with_stats<R: Runtime>(
    (out, stats): (DeviceTensor<R>, Option<DeviceTensor<R>>),
) -> Result<(DeviceTensor<R>, DeviceStats<R>), OrthoError> {
    let tensor = stats.ok_or_else(|| OrthoError::Runtime {
        message: "the forward launch returned no statistics buffer".into(),
    })?;
    Ok((out, DeviceStats { tensor }))
}

/// Gradients `(dx, df)` of [`orthogonalize`] for the incoming gradient `grad`, in one pass:
/// `df = g - t x` and `dx = -s g - t (f - 2 s x)` with `t = <g,x> / (<x,x> + eps)`.
/// Same contract and errors as the forward; `grad` must match `x` too.
pub fn orthogonalize_backward<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    grad: &DeviceTensor<R>,
    opts: &Options,
) -> Result<(DeviceTensor<R>, DeviceTensor<R>), OrthoError> {
    let layout = validate(opts, &[("x", x), ("f", f), ("grad", grad)])?;
    launch_backward(x, f, grad, &layout, opts.eps, false)
}

/// Gradients `(dx, df)` of [`orthogonal_residual`]: as [`orthogonalize_backward`] with the
/// identity path's `g` folded into `dx` in the same pass.
pub fn orthogonal_residual_backward<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    grad: &DeviceTensor<R>,
    opts: &Options,
) -> Result<(DeviceTensor<R>, DeviceTensor<R>), OrthoError> {
    let layout = validate(opts, &[("x", x), ("f", f), ("grad", grad)])?;
    launch_backward(x, f, grad, &layout, opts.eps, true)
}
