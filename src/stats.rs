//! Per-vector training statistics written by the forward kernels in the same pass.

use crate::tensor::DeviceTensor;
use crate::OrthoError;
use cubecl::prelude::Runtime;
use orthoproj_kernels::STATS_PER_VECTOR;

/// Statistics of one vector pair `(x, f)`, with `D = <x,x> + eps` and `s = <x,f> / D`.
///
/// When `D == 0` (x = 0 with eps = 0) `s` and both ratios are 0; `cosine` is 0 when `x` or
/// `f` is zero.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VectorStats {
    /// `<x, x>`.
    pub x_sq_norm: f64,
    /// The projection coefficient `s`.
    pub scale: f64,
    /// `|f_par|^2 / D` with `f_par = s x`.
    pub parallel_ratio: f64,
    /// `|f_perp|^2 / D`, computed as `<f,f> - 2 s <x,f> + s^2 <x,x>` clamped at 0.
    pub perpendicular_ratio: f64,
    /// `cos(x, f) = <x,f> / (|x| |f|)`.
    pub cosine: f64,
}

impl VectorStats {
    /// Reads one row of the `[vectors, 5]` layout the kernels write.
    pub fn from_row(row: &[f32]) -> VectorStats {
        VectorStats {
            x_sq_norm: row[0] as f64,
            scale: row[1] as f64,
            parallel_ratio: row[2] as f64,
            perpendicular_ratio: row[3] as f64,
            cosine: row[4] as f64,
        }
    }

    /// Every row of a flat `[vectors, 5]` buffer.
    pub fn from_rows(flat: &[f32]) -> Vec<VectorStats> {
        flat.chunks_exact(STATS_PER_VECTOR)
            .map(Self::from_row)
            .collect()
    }

    /// Component-wise mean. An empty slice gives all zeros.
    pub fn mean(stats: &[VectorStats]) -> VectorStats {
        let n = stats.len().max(1) as f64;
        let sum = |get: fn(&VectorStats) -> f64| stats.iter().map(get).sum::<f64>() / n;
        VectorStats {
            x_sq_norm: sum(|s| s.x_sq_norm),
            scale: sum(|s| s.scale),
            parallel_ratio: sum(|s| s.parallel_ratio),
            perpendicular_ratio: sum(|s| s.perpendicular_ratio),
            cosine: sum(|s| s.cosine),
        }
    }
}

/// The statistics a fused forward wrote: an `f32` device tensor of shape `[vectors, 5]`,
/// vectors numbered as in [`VectorLayout`](crate::layout::VectorLayout).
#[derive(Debug, Clone)]
pub struct DeviceStats<R: Runtime> {
    pub(crate) tensor: DeviceTensor<R>,
}

impl<R: Runtime> DeviceStats<R> {
    /// The raw `[vectors, 5]` tensor (columns in the field order of [`VectorStats`]).
    pub fn tensor(&self) -> &DeviceTensor<R> {
        &self.tensor
    }

    /// Copies every vector's statistics to the host.
    pub fn to_vec(&self) -> Result<Vec<VectorStats>, OrthoError> {
        Ok(VectorStats::from_rows(&self.tensor.to_vec::<f32>()?))
    }

    /// Means over all vectors, accumulated in `f64` on the host: what a training loop logs.
    pub fn mean(&self) -> Result<VectorStats, OrthoError> {
        Ok(VectorStats::mean(&self.to_vec()?))
    }
}
