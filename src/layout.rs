//! How an [`Axis`] turns a shape into vectors. Shared by the reference and the kernels so both
//! agree on which elements form a vector and in which order vectors are numbered.

use crate::{Axis, Options, OrthoError};

/// A tensor seen as `[outer, len, inner]` (row-major): vector `(o, i)` is the `len` elements
/// `o * len * inner + c * inner + i` for `c` in `0..len`. Vectors are numbered `o * inner + i`,
/// which is also the order of the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorLayout {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
}

impl VectorLayout {
    /// Resolves `axis` against `shape`. Fails on rank 0, an axis out of range, or an element
    /// count that overflows.
    pub fn resolve(shape: &[usize], axis: Axis) -> Result<Self, OrthoError> {
        let rank = shape.len();
        if rank == 0 {
            return Err(OrthoError::RankZero { argument: "x" });
        }
        let (start, end) = match axis {
            Axis::Last => (rank - 1, rank),
            Axis::Dim(k) if k < rank => (k, k + 1),
            Axis::From(k) if k < rank => (k, rank),
            _ => return Err(OrthoError::AxisOutOfRange { axis, rank }),
        };
        let product = |dims: &[usize]| {
            dims.iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| OrthoError::ShapeOverflow {
                    shape: shape.to_vec(),
                })
        };
        checked_numel(shape)?;
        Ok(Self {
            outer: product(&shape[..start])?,
            len: product(&shape[start..end])?,
            inner: product(&shape[end..])?,
        })
    }

    /// Number of vectors.
    pub fn vectors(&self) -> usize {
        self.outer * self.inner
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.outer * self.len * self.inner
    }

    /// Flat index of component `c` of vector `v`.
    pub fn index(&self, v: usize, c: usize) -> usize {
        let (o, i) = (v / self.inner, v % self.inner);
        (o * self.len + c) * self.inner + i
    }
}

/// The element count of `shape`, or `ShapeOverflow`.
pub fn checked_numel(shape: &[usize]) -> Result<usize, OrthoError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| OrthoError::ShapeOverflow {
            shape: shape.to_vec(),
        })
}

/// Checks the options that do not depend on a tensor.
pub fn validate_options(opts: &Options) -> Result<(), OrthoError> {
    if !opts.eps.is_finite() || opts.eps < 0.0 {
        return Err(OrthoError::InvalidEps { eps: opts.eps });
    }
    Ok(())
}
