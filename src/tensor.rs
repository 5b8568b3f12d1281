//! [`DeviceTensor`]: a buffer on a CubeCL device with a shape, strides and an element type.

use crate::element::{dtype_supported, DType, OrthoElement};
use crate::layout::checked_numel;
use crate::OrthoError;
use cubecl::prelude::*;
use cubecl::server::Handle;

/// A tensor in device memory: handle, shape, strides (in elements), dtype, and the client of
/// the device that holds it.
///
/// Tensors made by this crate are dense and row-major. [`DeviceTensor::from_raw_parts`] and
/// [`DeviceTensor::permute`] can describe strided views; the operators reject those with
/// [`OrthoError::NonContiguous`] and [`DeviceTensor::to_contiguous`] makes a dense copy.
#[derive(Clone)]
pub struct DeviceTensor<R: Runtime> {
    client: ComputeClient<R>,
    handle: Handle,
    shape: Vec<usize>,
    strides: Vec<usize>,
    dtype: DType,
}

impl<R: Runtime> core::fmt::Debug for DeviceTensor<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceTensor")
            .field("shape", &self.shape)
            .field("strides", &self.strides)
            .field("dtype", &self.dtype)
            .finish()
    }
}

/// Row-major strides of `shape`.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    strides
}

/// Largest single buffer this crate asks the device for: the device's page limit, and at most
/// `u32::MAX` elements so that 32-bit kernel indexing cannot wrap.
pub(crate) fn check_allocation<R: Runtime>(
    client: &ComputeClient<R>,
    numel: usize,
    dtype: DType,
) -> Result<(), OrthoError> {
    if numel as u64 > u32::MAX as u64 {
        return Err(OrthoError::TooLarge {
            what: "elements in one tensor",
            requested: numel as u64,
            limit: u32::MAX as u64,
        });
    }
    let bytes = numel as u64 * dtype.size() as u64;
    let limit = client.properties().memory.max_page_size;
    if bytes > limit {
        return Err(OrthoError::TooLarge {
            what: "bytes in one device buffer",
            requested: bytes,
            limit,
        });
    }
    Ok(())
}

pub(crate) fn require_dtype<R: Runtime>(
    client: &ComputeClient<R>,
    dtype: DType,
) -> Result<(), OrthoError> {
    if dtype_supported(client, dtype) {
        Ok(())
    } else {
        Err(OrthoError::UnsupportedDType {
            dtype,
            device: R::name(client).to_string(),
        })
    }
}

impl<R: Runtime> DeviceTensor<R> {
    /// Copies `data` to the device as a dense row-major tensor of `shape`.
    ///
    /// Errors: `LengthMismatch` if `data.len()` is not the element count of `shape`,
    /// `ShapeOverflow`, `UnsupportedDType` if the device cannot hold `E`, `TooLarge` past the
    /// device's buffer limit.
    pub fn from_slice<E: OrthoElement>(
        client: &ComputeClient<R>,
        data: &[E],
        shape: &[usize],
    ) -> Result<Self, OrthoError> {
        let numel = checked_numel(shape)?;
        if numel != data.len() {
            return Err(OrthoError::LengthMismatch {
                shape: shape.to_vec(),
                expected: numel,
                found: data.len(),
            });
        }
        require_dtype(client, E::DTYPE)?;
        check_allocation(client, numel, E::DTYPE)?;
        // Zero-sized buffers are not valid bindings on every backend: keep one element.
        let bytes: &[u8] = if data.is_empty() {
            &[0u8; 4][..E::DTYPE.size()]
        } else {
            bytemuck::cast_slice(data)
        };
        Ok(Self {
            client: client.clone(),
            handle: client.create_from_slice(bytes),
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            dtype: E::DTYPE,
        })
    }

    /// An uninitialized dense tensor. Assumes `numel` was validated with `check_allocation`.
    pub(crate) fn empty(client: &ComputeClient<R>, shape: &[usize], dtype: DType) -> Self {
        let numel = shape.iter().product::<usize>().max(1);
        Self {
            client: client.clone(),
            handle: client.empty(numel * dtype.size()),
            shape: shape.to_vec(),
            strides: contiguous_strides(shape),
            dtype,
        }
    }

    /// Wraps an existing device buffer, for code that owns its own allocations (a framework's
    /// tensors). `strides` are in elements. The buffer must hold every element the shape and
    /// strides address; that is checked against the handle's size.
    pub fn from_raw_parts(
        client: &ComputeClient<R>,
        handle: Handle,
        shape: &[usize],
        strides: &[usize],
        dtype: DType,
    ) -> Result<Self, OrthoError> {
        if shape.len() != strides.len() {
            return Err(OrthoError::InvalidLayout {
                reason: format!(
                    "shape has {} dimensions but strides has {}",
                    shape.len(),
                    strides.len()
                ),
            });
        }
        let numel = checked_numel(shape)?;
        if numel > 0 {
            let last = shape
                .iter()
                .zip(strides)
                .try_fold(0usize, |acc, (&d, &s)| {
                    (d - 1).checked_mul(s)?.checked_add(acc)
                })
                .ok_or_else(|| OrthoError::ShapeOverflow {
                    shape: shape.to_vec(),
                })?;
            let needed = (last as u64 + 1) * dtype.size() as u64;
            if needed > handle.size_in_used() {
                return Err(OrthoError::InvalidLayout {
                    reason: format!(
                        "the layout addresses {needed} bytes but the buffer holds {}",
                        handle.size_in_used()
                    ),
                });
            }
        }
        require_dtype(client, dtype)?;
        Ok(Self {
            client: client.clone(),
            handle,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            dtype,
        })
    }

    /// Copies the tensor to the host in logical row-major order (strided views are gathered).
    ///
    /// Waits for every queued kernel first and turns a failure the runtime reported into
    /// `OrthoError::Runtime`. Errors with `DTypeMismatch` if `E` is not the tensor's dtype.
    pub fn to_vec<E: OrthoElement>(&self) -> Result<Vec<E>, OrthoError> {
        if E::DTYPE != self.dtype {
            return Err(OrthoError::DTypeMismatch {
                argument: "to_vec::<E>",
                expected: self.dtype,
                found: E::DTYPE,
            });
        }
        self.sync()?;
        let numel = self.numel();
        if numel == 0 {
            return Ok(Vec::new());
        }
        let bytes = self
            .client
            .read_one(self.handle.clone())
            .map_err(|e| OrthoError::Runtime {
                message: format!("{e:?}"),
            })?;
        let raw: Vec<E> = bytemuck::pod_collect_to_vec(&bytes[..]);
        if self.is_contiguous() {
            let mut raw = raw;
            raw.truncate(numel);
            return Ok(raw);
        }
        let mut out = Vec::with_capacity(numel);
        let mut index = vec![0usize; self.shape.len()];
        for _ in 0..numel {
            let at: usize = index.iter().zip(&self.strides).map(|(i, s)| i * s).sum();
            out.push(raw[at]);
            for k in (0..index.len()).rev() {
                index[k] += 1;
                if index[k] < self.shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        Ok(out)
    }

    /// Waits for all queued work on the tensor's device and reports a runtime failure.
    pub fn sync(&self) -> Result<(), OrthoError> {
        cubecl::future::block_on(self.client.sync()).map_err(|e| OrthoError::Runtime {
            message: format!("{e:?}"),
        })
    }

    /// A dense row-major copy (the same tensor when already dense).
    pub fn to_contiguous(&self) -> Result<Self, OrthoError> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let client = &self.client;
        match self.dtype {
            DType::F32 => Self::from_slice(client, &self.to_vec::<f32>()?, &self.shape),
            DType::F16 => Self::from_slice(client, &self.to_vec::<half::f16>()?, &self.shape),
            DType::BF16 => Self::from_slice(client, &self.to_vec::<half::bf16>()?, &self.shape),
        }
    }

    /// A view with the dimensions reordered: dimension `k` of the result is dimension
    /// `order[k]` of `self`. No data moves.
    pub fn permute(&self, order: &[usize]) -> Result<Self, OrthoError> {
        let rank = self.shape.len();
        let mut seen = vec![false; rank];
        if order.len() != rank
            || order
                .iter()
                .any(|&k| k >= rank || std::mem::replace(&mut seen[k], true))
        {
            return Err(OrthoError::InvalidLayout {
                reason: format!("{order:?} is not a permutation of 0..{rank}"),
            });
        }
        let mut view = self.clone();
        view.shape = order.iter().map(|&k| self.shape[k]).collect();
        view.strides = order.iter().map(|&k| self.strides[k]).collect();
        Ok(view)
    }

    /// Whether the strides are the dense row-major strides of the shape (dimensions of size 1
    /// may have any stride).
    pub fn is_contiguous(&self) -> bool {
        let dense = contiguous_strides(&self.shape);
        self.shape
            .iter()
            .zip(self.strides.iter().zip(&dense))
            .all(|(&d, (&s, &c))| d == 1 || s == c)
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn client(&self) -> &ComputeClient<R> {
        &self.client
    }

    /// The device buffer. For a view, this is the whole underlying buffer.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}
