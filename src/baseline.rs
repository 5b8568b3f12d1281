//! Benchmark baselines: the unfused composition of the operator (one kernel per primitive, as
//! an eager framework runs it) and copies that move the fused kernels' exact bytes.
//!
//! Not for production use: they exist so the benchmarks can state what fusion buys and how
//! close the fused kernels come to the device's bandwidth. They take the same validated inputs
//! as the fused operators and return the same results (the tests check both).

use crate::element::DType;
use crate::layout::VectorLayout;
use crate::policy::{grid, DeviceLimits};
use crate::tensor::DeviceTensor;
use crate::{validate, Options, OrthoError};
use cubecl::prelude::*;
use cubecl::server::Handle;
use orthoproj_kernels::baseline as k;

/// Elementwise launches use cubes of 256 units (at most the device's limit), independent of
/// the fused kernels' policy: the fastest copy is the fair yardstick.
fn elementwise(limits: &DeviceLimits, n: usize) -> Result<(CubeCount, CubeDim), OrthoError> {
    let units = limits.max_cube_units.min(256);
    Ok((
        grid(n.div_ceil(units as usize), limits.max_cube_count)?,
        CubeDim::new_1d(units),
    ))
}

fn arg<R: Runtime>(handle: &Handle, len: usize) -> ArrayArg<R> {
    // SAFETY: every buffer here holds at least `len` elements of the kernel's type.
    unsafe { ArrayArg::from_raw_parts(handle.clone(), len.max(1)) }
}

/// The unfused chain for one dtype. `f32` scratch buffers hold per-vector scalars.
struct Chain<'a, R: Runtime> {
    client: &'a ComputeClient<R>,
    layout: VectorLayout,
    limits: DeviceLimits,
    dtype: DType,
}

impl<R: Runtime> Chain<'_, R> {
    fn tensor(&self) -> Handle {
        self.client
            .empty(self.layout.numel().max(1) * self.dtype.size())
    }

    fn scalars(&self) -> Handle {
        self.client.empty(self.layout.vectors().max(1) * 4)
    }

    fn dispatch<T>(
        &self,
        f32_: impl FnOnce() -> T,
        f16_: impl FnOnce() -> T,
        bf16_: impl FnOnce() -> T,
    ) -> T {
        match self.dtype {
            DType::F32 => f32_(),
            DType::F16 => f16_(),
            DType::BF16 => bf16_(),
        }
    }

    /// `out = a * b` elementwise.
    fn mul(&self, a: &Handle, b: &Handle) -> Result<Handle, OrthoError> {
        self.binary(a, b, false)
    }

    /// `out = a - b` elementwise.
    fn sub(&self, a: &Handle, b: &Handle) -> Result<Handle, OrthoError> {
        self.binary(a, b, true)
    }

    fn binary(&self, a: &Handle, b: &Handle, subtract: bool) -> Result<Handle, OrthoError> {
        let out = self.tensor();
        let vector = self.limits.vector_for(self.layout.numel());
        let n = self.layout.numel() / vector;
        let (count, dim) = elementwise(&self.limits, n)?;
        macro_rules! go {
            ($t:ty) => {
                unsafe {
                    k::binary_kernel::launch_unchecked::<$t, R>(
                        self.client,
                        count.clone(),
                        dim,
                        vector,
                        arg(a, n),
                        arg(b, n),
                        arg(&out, n),
                        n,
                        subtract,
                    )
                }
            };
        }
        self.dispatch(|| go!(f32), || go!(half::f16), || go!(half::bf16));
        Ok(out)
    }

    /// Per-vector sums of `a` into `f32`.
    fn sum(&self, a: &Handle) -> Result<Handle, OrthoError> {
        let out = self.scalars();
        let VectorLayout { len, inner, .. } = self.layout;
        let vectors = self.layout.vectors();
        let vector = self.limits.vector_for_layout(&self.layout);
        let lines = self.layout.numel() / vector;
        if inner == 1 {
            // The fused kernels' cube size for this device (8 lanes on a SIMD CPU, 256 units
            // on a GPU), narrowed to the vector: a fair reduction, not an idle-unit tree.
            // `cube_units` is a power of two, so this is at most `cube_units`.
            let units = (len / vector)
                .min(self.limits.cube_units as usize)
                .next_power_of_two() as u32;
            let plane = self.limits.plane_for(units);
            let count = grid(vectors, self.limits.max_cube_count)?;
            macro_rules! go {
                ($t:ty) => {
                    unsafe {
                        k::sum_rows_kernel::launch_unchecked::<$t, R>(
                            self.client,
                            count.clone(),
                            CubeDim::new_1d(units),
                            vector,
                            arg(a, lines),
                            arg(&out, vectors),
                            vectors,
                            len / vector,
                            units as usize,
                            plane,
                        )
                    }
                };
            }
            self.dispatch(|| go!(f32), || go!(half::f16), || go!(half::bf16));
        } else {
            let groups = vectors / vector;
            let (count, dim) = elementwise(&self.limits, groups)?;
            macro_rules! go {
                ($t:ty) => {
                    unsafe {
                        k::sum_columns_kernel::launch_unchecked::<$t, R>(
                            self.client,
                            count.clone(),
                            dim,
                            vector,
                            arg(a, lines),
                            arg(&out, vectors),
                            groups,
                            len,
                            inner / vector,
                        )
                    }
                };
            }
            self.dispatch(|| go!(f32), || go!(half::f16), || go!(half::bf16));
        }
        Ok(out)
    }

    /// `num / (den + eps)` per vector.
    fn div_eps(&self, num: &Handle, den: &Handle, eps: f32) -> Result<Handle, OrthoError> {
        let out = self.scalars();
        let vectors = self.layout.vectors();
        let (count, dim) = elementwise(&self.limits, vectors)?;
        unsafe {
            k::div_eps_kernel::launch_unchecked::<R>(
                self.client,
                count,
                dim,
                arg(num, vectors),
                arg(den, vectors),
                arg(&out, vectors),
                vectors,
                eps,
            )
        };
        Ok(out)
    }

    /// `alpha * s * a`, with `s` broadcast over each vector.
    fn scale(&self, alpha: f32, s: &Handle, a: &Handle) -> Result<Handle, OrthoError> {
        let out = self.tensor();
        let VectorLayout { len, inner, .. } = self.layout;
        let vector = self.limits.vector_for_layout(&self.layout);
        let lines = self.layout.numel() / vector;
        let (count, dim) = elementwise(&self.limits, lines)?;
        let vectors = self.layout.vectors();
        macro_rules! go {
            ($t:ty) => {
                unsafe {
                    k::scale_kernel::launch_unchecked::<$t, R>(
                        self.client,
                        count.clone(),
                        dim,
                        vector,
                        arg(a, lines),
                        arg(s, vectors),
                        arg(&out, lines),
                        lines,
                        len,
                        inner,
                        alpha,
                        inner == 1,
                    )
                }
            };
        }
        self.dispatch(|| go!(f32), || go!(half::f16), || go!(half::bf16));
        Ok(out)
    }
}

fn chain<'a, R: Runtime>(
    x: &'a DeviceTensor<R>,
    layout: VectorLayout,
) -> Result<Chain<'a, R>, OrthoError> {
    Ok(Chain {
        client: x.client(),
        layout,
        limits: DeviceLimits::of(x.client(), x.dtype())?,
        dtype: x.dtype(),
    })
}

fn wrap<R: Runtime>(x: &DeviceTensor<R>, handle: Handle) -> Result<DeviceTensor<R>, OrthoError> {
    let strides = crate::tensor::contiguous_strides(x.shape());
    DeviceTensor::from_raw_parts(x.client(), handle, x.shape(), &strides, x.dtype())
}

/// `orthogonalize` as seven kernels, as eager `f - (x*f).sum() / ((x*x).sum() + eps) * x`
/// runs: `x*f`, sum, `x*x`, sum, divide with eps, `s x`, subtract.
pub fn unfused_orthogonalize<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    opts: &Options,
) -> Result<DeviceTensor<R>, OrthoError> {
    let layout = validate(opts, &[("x", x), ("f", f)])?;
    let c = chain(x, layout)?;
    let (xh, fh) = (x.handle(), f.handle());
    let xf = c.sum(&c.mul(xh, fh)?)?;
    let xx = c.sum(&c.mul(xh, xh)?)?;
    let s = c.div_eps(&xf, &xx, opts.eps)?;
    wrap(x, c.sub(fh, &c.scale(1.0, &s, xh)?)?)
}

/// `orthogonalize_backward` as fifteen kernels, one per primitive of
/// `df = g - t x` and `dx = -s g - t (f - 2 s x)` with `t = <g,x> / (<x,x> + eps)`.
pub fn unfused_orthogonalize_backward<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    grad: &DeviceTensor<R>,
    opts: &Options,
) -> Result<(DeviceTensor<R>, DeviceTensor<R>), OrthoError> {
    let layout = validate(opts, &[("x", x), ("f", f), ("grad", grad)])?;
    let c = chain(x, layout)?;
    let (xh, fh, gh) = (x.handle(), f.handle(), grad.handle());
    let xf = c.sum(&c.mul(xh, fh)?)?;
    let xx = c.sum(&c.mul(xh, xh)?)?;
    let s = c.div_eps(&xf, &xx, opts.eps)?;
    let gx = c.sum(&c.mul(gh, xh)?)?;
    let t = c.div_eps(&gx, &xx, opts.eps)?;
    let df = c.sub(gh, &c.scale(1.0, &t, xh)?)?;
    let h = c.sub(fh, &c.scale(2.0, &s, xh)?)?;
    let u = c.scale(-1.0, &s, gh)?;
    let dx = c.sub(&u, &c.scale(1.0, &t, &h)?)?;
    Ok((wrap(x, dx)?, wrap(x, df)?))
}

fn copy_setup<R: Runtime>(
    x: &DeviceTensor<R>,
) -> Result<(usize, usize, CubeCount, CubeDim), OrthoError> {
    let limits = DeviceLimits::of(x.client(), x.dtype())?;
    let numel = x.numel();
    let vector = limits.vector_for(numel);
    let (count, dim) = elementwise(&limits, numel / vector)?;
    Ok((vector, numel / vector, count, dim))
}

/// Reads `a` and `b`, writes one tensor: the fused forward's bytes, with no reduction.
pub fn copy_forward_bytes<R: Runtime>(
    a: &DeviceTensor<R>,
    b: &DeviceTensor<R>,
) -> Result<DeviceTensor<R>, OrthoError> {
    validate(&Options::default(), &[("a", a), ("b", b)])?;
    let (vector, n, count, dim) = copy_setup(a)?;
    let out = DeviceTensor::empty(a.client(), a.shape(), a.dtype());
    let (ah, bh, oh) = (a.handle(), b.handle(), out.handle());
    macro_rules! go {
        ($t:ty) => {
            unsafe {
                k::copy2_kernel::launch_unchecked::<$t, R>(
                    a.client(),
                    count.clone(),
                    dim,
                    vector,
                    arg(ah, n),
                    arg(bh, n),
                    arg(oh, n),
                    n,
                )
            }
        };
    }
    match a.dtype() {
        DType::F32 => go!(f32),
        DType::F16 => go!(half::f16),
        DType::BF16 => go!(half::bf16),
    }
    Ok(out)
}

/// Reads `a`, `b` and `c`, writes two tensors: the fused backward's bytes.
pub fn copy_backward_bytes<R: Runtime>(
    a: &DeviceTensor<R>,
    b: &DeviceTensor<R>,
    c: &DeviceTensor<R>,
) -> Result<(DeviceTensor<R>, DeviceTensor<R>), OrthoError> {
    validate(&Options::default(), &[("a", a), ("b", b), ("c", c)])?;
    let (vector, n, count, dim) = copy_setup(a)?;
    let o1 = DeviceTensor::empty(a.client(), a.shape(), a.dtype());
    let o2 = DeviceTensor::empty(a.client(), a.shape(), a.dtype());
    let (ah, bh, ch) = (a.handle(), b.handle(), c.handle());
    macro_rules! go {
        ($t:ty) => {
            unsafe {
                k::copy3_kernel::launch_unchecked::<$t, R>(
                    a.client(),
                    count.clone(),
                    dim,
                    vector,
                    arg(ah, n),
                    arg(bh, n),
                    arg(ch, n),
                    arg(o1.handle(), n),
                    arg(o2.handle(), n),
                    n,
                )
            }
        };
    }
    match a.dtype() {
        DType::F32 => go!(f32),
        DType::F16 => go!(half::f16),
        DType::BF16 => go!(half::bf16),
    }
    Ok((o1, o2))
}
