//! Device code for `orthoproj`: the `#[cube]` kernels and nothing else.
//!
//! Every kernel computes, for each vector `x` and block output `f` of the same length,
//!
//! ```text
//! s      = <x, f> / (<x, x> + eps)      (s = 0 when the denominator is exactly 0)
//! f_perp = f - s * x                    (orthogonalize)
//! out    = x + f_perp                   (orthogonal residual)
//! ```
//!
//! and the matching backward pass. Dot products are accumulated in `f32` whatever the storage
//! type. No kernel uses atomics, so every result is bitwise reproducible for a given launch
//! configuration. Launch policy (cube sizes, vector widths, which kernel for which shape) lives
//! in the host crate, `orthoproj`; the kernels assume their arguments were validated there.
//!
//! Three mappings of vectors to hardware:
//! - [`rows`]: contiguous vectors, one row of units per vector (several rows per cube when the
//!   vectors are short), with an optional register cache so each element is read once;
//! - [`columns`]: vectors along a strided dimension (NCHW channels), one unit per vector and
//!   one vector lane per adjacent position, so loads stay coalesced and no reduction is needed;
//! - [`split`]: very long contiguous vectors, split over many cubes with a fixed-order second
//!   stage.

pub mod baseline;
pub mod columns;
pub mod math;
pub mod reduce;
pub mod rows;
pub mod split;

/// Number of `f32` values written per vector by the statistics option, in this order:
/// `<x,x>`, `s`, `|f_par|^2 / (|x|^2 + eps)`, `|f_perp|^2 / (|x|^2 + eps)`, `cos(x, f)`.
pub const STATS_PER_VECTOR: usize = 5;
