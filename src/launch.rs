//! `launch_*` functions: turn a validated problem and its [`Plan`] into kernel launches.
//!
//! Everything here assumes the caller validated shapes, dtypes, contiguity, eps and sizes
//! (see `ops.rs`). A panic raised while CubeCL expands or queues a kernel is caught and
//! returned as `OrthoError::Runtime`.

use crate::element::DType;
use crate::layout::VectorLayout;
use crate::policy::{grid, DeviceLimits, Plan};
use crate::tensor::DeviceTensor;
use crate::OrthoError;
use cubecl::prelude::*;
use cubecl::server::Handle;
use orthoproj_kernels::{columns, rows, split, STATS_PER_VECTOR};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Which forward output and whether statistics are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForwardKind {
    pub residual: bool,
    pub with_stats: bool,
}

/// Runs `body`, turning a panic from the runtime into an error.
fn guarded<T>(body: impl FnOnce() -> T) -> Result<T, OrthoError> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a kernel launch panicked".to_string());
        OrthoError::Runtime { message }
    })
}

fn array<R: Runtime>(handle: &Handle, len: usize) -> ArrayArg<R> {
    // SAFETY: every handle passed here was allocated for at least `len` elements of the
    // kernel's element type (validated shapes, or a placeholder of one element).
    unsafe { ArrayArg::from_raw_parts(handle.clone(), len.max(1)) }
}

/// Forward pass over dense `x` and `f`. Returns the output and, with `with_stats`, an `f32`
/// tensor of `[vectors, 5]` statistics.
pub(crate) fn launch_forward<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    layout: &VectorLayout,
    eps: f32,
    kind: ForwardKind,
) -> Result<(DeviceTensor<R>, Option<DeviceTensor<R>>), OrthoError> {
    let client = x.client();
    let out = DeviceTensor::empty(client, x.shape(), x.dtype());
    let stats = kind
        .with_stats
        .then(|| DeviceTensor::empty(client, &[layout.vectors(), STATS_PER_VECTOR], DType::F32));
    if layout.numel() == 0 {
        return Ok((out, stats));
    }
    let stats_handle = stats
        .as_ref()
        .map(|s| s.handle().clone())
        .unwrap_or_else(|| client.empty(4));
    let limits = DeviceLimits::of(client, x.dtype())?;
    let plan = Plan::new(layout, &limits);
    let args = Buffers {
        inputs: [x.handle().clone(), f.handle().clone(), client.empty(4)],
        outputs: [out.handle().clone(), stats_handle],
    };
    match x.dtype() {
        DType::F32 => forward_typed::<R, f32>(client, &args, layout, &plan, &limits, eps, kind),
        DType::F16 => {
            forward_typed::<R, half::f16>(client, &args, layout, &plan, &limits, eps, kind)
        }
        DType::BF16 => {
            forward_typed::<R, half::bf16>(client, &args, layout, &plan, &limits, eps, kind)
        }
    }?;
    Ok((out, stats))
}

/// Backward pass. Returns `(dx, df)`.
pub(crate) fn launch_backward<R: Runtime>(
    x: &DeviceTensor<R>,
    f: &DeviceTensor<R>,
    g: &DeviceTensor<R>,
    layout: &VectorLayout,
    eps: f32,
    residual: bool,
) -> Result<(DeviceTensor<R>, DeviceTensor<R>), OrthoError> {
    let client = x.client();
    let dx = DeviceTensor::empty(client, x.shape(), x.dtype());
    let df = DeviceTensor::empty(client, x.shape(), x.dtype());
    if layout.numel() == 0 {
        return Ok((dx, df));
    }
    let limits = DeviceLimits::of(client, x.dtype())?;
    let plan = Plan::new(layout, &limits);
    let args = Buffers {
        inputs: [x.handle().clone(), f.handle().clone(), g.handle().clone()],
        outputs: [dx.handle().clone(), df.handle().clone()],
    };
    match x.dtype() {
        DType::F32 => {
            backward_typed::<R, f32>(client, &args, layout, &plan, &limits, eps, residual)
        }
        DType::F16 => {
            backward_typed::<R, half::f16>(client, &args, layout, &plan, &limits, eps, residual)
        }
        DType::BF16 => {
            backward_typed::<R, half::bf16>(client, &args, layout, &plan, &limits, eps, residual)
        }
    }?;
    Ok((dx, df))
}

/// Kernel buffers: `inputs` are x, f, and g (or a placeholder); `outputs` are the forward
/// output and statistics (or placeholder), or dx and df.
struct Buffers {
    inputs: [Handle; 3],
    outputs: [Handle; 2],
}

fn forward_typed<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    b: &Buffers,
    layout: &VectorLayout,
    plan: &Plan,
    limits: &DeviceLimits,
    eps: f32,
    kind: ForwardKind,
) -> Result<(), OrthoError> {
    let [x, f, _] = &b.inputs;
    let [out, stats] = &b.outputs;
    let stats_len = if kind.with_stats {
        layout.vectors() * STATS_PER_VECTOR
    } else {
        1
    };
    match *plan {
        Plan::Rows {
            vector,
            row_len,
            width,
            rows_per_cube,
            cached,
            plane,
        } => {
            let rows = layout.vectors();
            let count = grid(rows.div_ceil(rows_per_cube as usize), limits.max_cube_count)?;
            let n = rows * row_len;
            guarded(|| unsafe {
                rows::orthogonalize_rows_fwd_kernel::launch_unchecked::<F, R>(
                    client,
                    count,
                    CubeDim::new_2d(width, rows_per_cube),
                    vector,
                    array(x, n),
                    array(f, n),
                    array(out, n),
                    array(stats, stats_len),
                    rows,
                    row_len,
                    eps,
                    cached,
                    limits.tuning.unroll,
                    (width * rows_per_cube) as usize,
                    width as usize,
                    plane,
                    kind.residual,
                    kind.with_stats,
                )
            })
        }
        Plan::Columns {
            vector,
            inner_len,
            cube_units,
        } => {
            let positions = layout.outer * inner_len;
            let count = grid(
                positions.div_ceil(cube_units as usize),
                limits.max_cube_count,
            )?;
            let n = layout.numel() / vector;
            guarded(|| unsafe {
                columns::orthogonalize_columns_fwd_kernel::launch_unchecked::<F, R>(
                    client,
                    count,
                    CubeDim::new_1d(cube_units),
                    vector,
                    array(x, n),
                    array(f, n),
                    array(out, n),
                    array(stats, stats_len),
                    positions,
                    layout.len,
                    inner_len,
                    eps,
                    kind.residual,
                    kind.with_stats,
                )
            })
        }
        Plan::Split {
            vector,
            row_len,
            chunks,
            chunk_len,
            width,
            ..
        } => {
            let coefs = split_coefficients::<R, F>(
                client,
                b,
                layout,
                plan,
                limits,
                eps,
                kind.with_stats,
                false,
            )?;
            let rows = layout.vectors();
            let count = grid(rows * chunks, limits.max_cube_count)?;
            let n = rows * row_len;
            guarded(|| unsafe {
                split::split_fwd_apply_kernel::launch_unchecked::<F, R>(
                    client,
                    count,
                    CubeDim::new_1d(width),
                    vector,
                    array(x, n),
                    array(f, n),
                    array(&coefs, rows * 2),
                    array(out, n),
                    rows,
                    row_len,
                    chunks,
                    chunk_len,
                    kind.residual,
                )
            })
        }
    }
}

/// Split stages 1 and 2: returns a buffer of `(s, third / D)` per vector, and writes the
/// statistics into `b.outputs[1]` when asked.
#[allow(clippy::too_many_arguments)]
fn split_coefficients<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    b: &Buffers,
    layout: &VectorLayout,
    plan: &Plan,
    limits: &DeviceLimits,
    eps: f32,
    with_stats: bool,
    backward: bool,
) -> Result<Handle, OrthoError> {
    let Plan::Split {
        vector,
        row_len,
        chunks,
        chunk_len,
        width,
        plane,
    } = *plan
    else {
        unreachable!("only called with a split plan")
    };
    let [x, f, g] = &b.inputs;
    let rows = layout.vectors();
    let n = rows * row_len;
    let partials = client.empty(rows * chunks * 3 * 4);
    let coefs = client.empty(rows * 2 * 4);
    let count = grid(rows * chunks, limits.max_cube_count)?;
    let g_len = if backward { n } else { 1 };
    guarded(|| unsafe {
        split::split_partials_kernel::launch_unchecked::<F, R>(
            client,
            count,
            CubeDim::new_1d(width),
            vector,
            array(x, n),
            array(f, n),
            array(g, g_len),
            array(&partials, rows * chunks * 3),
            rows,
            row_len,
            chunks,
            chunk_len,
            width as usize,
            plane,
            backward,
            with_stats,
        )
    })?;
    let stats_len = if with_stats {
        rows * STATS_PER_VECTOR
    } else {
        1
    };
    let units = limits.cube_units;
    let count = grid(rows.div_ceil(units as usize), limits.max_cube_count)?;
    guarded(|| unsafe {
        split::split_finish_kernel::launch_unchecked::<R>(
            client,
            count,
            CubeDim::new_1d(units),
            array(&partials, rows * chunks * 3),
            array(&coefs, rows * 2),
            array(&b.outputs[1], stats_len),
            rows,
            chunks,
            eps,
            with_stats,
        )
    })?;
    Ok(coefs)
}

fn backward_typed<R: Runtime, F: Float + CubeElement>(
    client: &ComputeClient<R>,
    b: &Buffers,
    layout: &VectorLayout,
    plan: &Plan,
    limits: &DeviceLimits,
    eps: f32,
    residual: bool,
) -> Result<(), OrthoError> {
    let [x, f, g] = &b.inputs;
    let [dx, df] = &b.outputs;
    match *plan {
        Plan::Rows {
            vector,
            row_len,
            width,
            rows_per_cube,
            cached,
            plane,
        } => {
            let rows = layout.vectors();
            let count = grid(rows.div_ceil(rows_per_cube as usize), limits.max_cube_count)?;
            let n = rows * row_len;
            guarded(|| unsafe {
                rows::orthogonalize_rows_bwd_kernel::launch_unchecked::<F, R>(
                    client,
                    count,
                    CubeDim::new_2d(width, rows_per_cube),
                    vector,
                    array(x, n),
                    array(f, n),
                    array(g, n),
                    array(dx, n),
                    array(df, n),
                    rows,
                    row_len,
                    eps,
                    cached,
                    limits.tuning.unroll,
                    (width * rows_per_cube) as usize,
                    width as usize,
                    plane,
                    residual,
                )
            })
        }
        Plan::Columns {
            vector,
            inner_len,
            cube_units,
        } => {
            let positions = layout.outer * inner_len;
            let count = grid(
                positions.div_ceil(cube_units as usize),
                limits.max_cube_count,
            )?;
            let n = layout.numel() / vector;
            guarded(|| unsafe {
                columns::orthogonalize_columns_bwd_kernel::launch_unchecked::<F, R>(
                    client,
                    count,
                    CubeDim::new_1d(cube_units),
                    vector,
                    array(x, n),
                    array(f, n),
                    array(g, n),
                    array(dx, n),
                    array(df, n),
                    positions,
                    layout.len,
                    inner_len,
                    eps,
                    residual,
                )
            })
        }
        Plan::Split {
            vector,
            row_len,
            chunks,
            chunk_len,
            width,
            ..
        } => {
            let coefs =
                split_coefficients::<R, F>(client, b, layout, plan, limits, eps, false, true)?;
            let rows = layout.vectors();
            let count = grid(rows * chunks, limits.max_cube_count)?;
            let n = rows * row_len;
            guarded(|| unsafe {
                split::split_bwd_apply_kernel::launch_unchecked::<F, R>(
                    client,
                    count,
                    CubeDim::new_1d(width),
                    vector,
                    array(x, n),
                    array(f, n),
                    array(g, n),
                    array(&coefs, rows * 2),
                    array(dx, n),
                    array(df, n),
                    rows,
                    row_len,
                    chunks,
                    chunk_len,
                    residual,
                )
            })
        }
    }
}
