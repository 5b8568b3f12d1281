//! The fused kernels on Burn's CubeCL backend (`Wgpu`, `Cuda`): Burn's buffers are wrapped as
//! [`DeviceTensor`]s, no data moves. Strided inputs are made contiguous first with Burn's own
//! copy kernel; f64 and flex32 tensors, which the kernels do not support, take the fallback.

use super::{fallback, OrthoBackend};
use crate::element::DType;
use crate::{DeviceTensor, Options, OrthoError};
use burn::tensor::DType as BurnDType;
use burn::tensor::Shape;
use burn_cubecl::element::BoolElement;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{CubeBackend, CubeRuntime, FloatElement, IntElement};

/// The crate's dtype for a Burn dtype the kernels support.
fn fused_dtype(dtype: BurnDType) -> Option<DType> {
    match dtype {
        BurnDType::F32 => Some(DType::F32),
        BurnDType::F16 => Some(DType::F16),
        BurnDType::BF16 => Some(DType::BF16),
        _ => None,
    }
}

fn wrap<R: CubeRuntime>(t: CubeTensor<R>, dtype: DType) -> Result<DeviceTensor<R>, OrthoError> {
    let t = if t.is_contiguous() {
        t
    } else {
        into_contiguous(t)
    };
    let shape = t.meta.shape().to_vec();
    let strides = t.meta.strides().to_vec();
    DeviceTensor::from_raw_parts(&t.client, t.handle, &shape, &strides, dtype)
}

fn unwrap<R: CubeRuntime>(
    t: DeviceTensor<R>,
    device: &R::Device,
    dtype: BurnDType,
) -> CubeTensor<R> {
    CubeTensor::new_contiguous(
        t.client().clone(),
        device.clone(),
        Shape::from(t.shape().to_vec()),
        t.handle().clone(),
        dtype,
    )
}

type Cube<R, F, I, BT> = CubeBackend<R, F, I, BT>;

fn forward<R, F, I, BT>(
    x: CubeTensor<R>,
    f: CubeTensor<R>,
    opts: &Options,
    residual: bool,
) -> Result<CubeTensor<R>, OrthoError>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let (burn_dtype, device) = (x.dtype, x.device.clone());
    let Some(dtype) = fused_dtype(burn_dtype) else {
        return fallback::forward::<Cube<R, F, I, BT>>(x, f, opts, residual);
    };
    let (x, f) = (wrap(x, dtype)?, wrap(f, dtype)?);
    let out = if residual {
        crate::orthogonal_residual(&x, &f, opts)?
    } else {
        crate::orthogonalize(&x, &f, opts)?
    };
    Ok(unwrap(out, &device, burn_dtype))
}

type Grads<R> = (CubeTensor<R>, CubeTensor<R>);

fn backward<R, F, I, BT>(
    x: CubeTensor<R>,
    f: CubeTensor<R>,
    grad: CubeTensor<R>,
    opts: &Options,
    residual: bool,
) -> Result<Grads<R>, OrthoError>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    let (burn_dtype, device) = (x.dtype, x.device.clone());
    let Some(dtype) = fused_dtype(burn_dtype) else {
        return fallback::backward::<Cube<R, F, I, BT>>(x, f, grad, opts, residual);
    };
    let (x, f, g) = (wrap(x, dtype)?, wrap(f, dtype)?, wrap(grad, dtype)?);
    let (dx, df) = if residual {
        crate::orthogonal_residual_backward(&x, &f, &g, opts)?
    } else {
        crate::orthogonalize_backward(&x, &f, &g, opts)?
    };
    Ok((
        unwrap(dx, &device, burn_dtype),
        unwrap(df, &device, burn_dtype),
    ))
}

impl<R, F, I, BT> OrthoBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn orthogonalize(
        x: CubeTensor<R>,
        f: CubeTensor<R>,
        opts: &Options,
    ) -> Result<CubeTensor<R>, OrthoError> {
        forward::<R, F, I, BT>(x, f, opts, false)
    }

    fn orthogonal_residual(
        x: CubeTensor<R>,
        f: CubeTensor<R>,
        opts: &Options,
    ) -> Result<CubeTensor<R>, OrthoError> {
        forward::<R, F, I, BT>(x, f, opts, true)
    }

    fn orthogonalize_backward(
        x: CubeTensor<R>,
        f: CubeTensor<R>,
        grad: CubeTensor<R>,
        opts: &Options,
    ) -> Result<Grads<R>, OrthoError> {
        backward::<R, F, I, BT>(x, f, grad, opts, false)
    }

    fn orthogonal_residual_backward(
        x: CubeTensor<R>,
        f: CubeTensor<R>,
        grad: CubeTensor<R>,
        opts: &Options,
    ) -> Result<Grads<R>, OrthoError> {
        backward::<R, F, I, BT>(x, f, grad, opts, true)
    }

    fn vector_stats(
        x: CubeTensor<R>,
        f: CubeTensor<R>,
        opts: &Options,
    ) -> Result<CubeTensor<R>, OrthoError> {
        let device = x.device.clone();
        let Some(dtype) = fused_dtype(x.dtype) else {
            return fallback::stats::<Self>(x, f, opts);
        };
        let (x, f) = (wrap(x, dtype)?, wrap(f, dtype)?);
        let (_, stats) = crate::orthogonalize_with_stats(&x, &f, opts)?;
        Ok(unwrap(stats.tensor, &device, BurnDType::F32))
    }
}
