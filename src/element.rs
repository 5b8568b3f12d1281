//! Storage element types: `f32`, `f16` and `bf16`. Arithmetic is always `f32` inside kernels.

use core::fmt;
use cubecl::ir::features::TypeUsage;
use cubecl::prelude::{ComputeClient, CubePrimitive, Float, Runtime};

/// Storage type of a [`DeviceTensor`](crate::DeviceTensor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    BF16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        })
    }
}

/// A host element type the operators accept: `f32`, [`half::f16`] and [`half::bf16`].
///
/// Sealed: the kernels are instantiated for exactly these three.
pub trait OrthoElement:
    Float + CubePrimitive + bytemuck::Pod + Copy + Send + Sync + 'static + private::Sealed
{
    /// The matching [`DType`].
    const DTYPE: DType;
    /// Widening conversion, exact for all three types.
    fn as_f64(self) -> f64;
    /// Rounding conversion (round to nearest even).
    fn round_from_f64(v: f64) -> Self;
}

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}
}

impl OrthoElement for f32 {
    const DTYPE: DType = DType::F32;
    fn as_f64(self) -> f64 {
        self as f64
    }
    fn round_from_f64(v: f64) -> Self {
        v as f32
    }
}

impl OrthoElement for half::f16 {
    const DTYPE: DType = DType::F16;
    fn as_f64(self) -> f64 {
        half::f16::to_f64(self)
    }
    fn round_from_f64(v: f64) -> Self {
        half::f16::from_f64(v)
    }
}

impl OrthoElement for half::bf16 {
    const DTYPE: DType = DType::BF16;
    fn as_f64(self) -> f64 {
        half::bf16::to_f64(self)
    }
    fn round_from_f64(v: f64) -> Self {
        half::bf16::from_f64(v)
    }
}

/// Whether the device can store `dtype` in buffers, convert it and compute with it.
pub(crate) fn dtype_supported<R: Runtime>(client: &ComputeClient<R>, dtype: DType) -> bool {
    let uses = match dtype {
        DType::F32 => f32::supported_uses(client),
        DType::F16 => half::f16::supported_uses(client),
        DType::BF16 => half::bf16::supported_uses(client),
    };
    uses.contains(TypeUsage::Buffer) && uses.contains(TypeUsage::Conversion)
}
