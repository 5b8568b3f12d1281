//! The crate's one error type. Every public function validates its input before launching and
//! returns one of these instead of panicking.

use crate::element::DType;
use crate::Axis;

/// Everything that can go wrong in `orthoproj`, with the values needed to understand it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrthoError {
    /// Two tensors that must match element for element have different shapes.
    #[error(
        "shape mismatch: `{left}` has shape {left_shape:?} but `{right}` has shape {right_shape:?}"
    )]
    ShapeMismatch {
        left: &'static str,
        left_shape: Vec<usize>,
        right: &'static str,
        right_shape: Vec<usize>,
    },
    /// A tensor has a different element type from the one expected.
    #[error("dtype mismatch: `{argument}` is {found} but {expected} was expected")]
    DTypeMismatch {
        argument: &'static str,
        expected: DType,
        found: DType,
    },
    /// The operation needs at least one dimension to run along.
    #[error("`{argument}` is a rank-0 tensor; the operator needs at least one dimension")]
    RankZero { argument: &'static str },
    /// The axis names a dimension the tensor does not have.
    #[error("axis {axis:?} is out of range for a tensor of rank {rank}")]
    AxisOutOfRange { axis: Axis, rank: usize },
    /// `eps` must be finite and non-negative: it is added to a squared norm.
    #[error("eps must be finite and >= 0, got {eps}")]
    InvalidEps { eps: f32 },
    /// The product of the dimensions does not fit in `usize`.
    #[error("the element count of shape {shape:?} overflows usize")]
    ShapeOverflow { shape: Vec<usize> },
    /// Host data has a different length from the element count of its shape.
    #[error("data has {found} elements but shape {shape:?} needs {expected}")]
    LengthMismatch {
        shape: Vec<usize>,
        expected: usize,
        found: usize,
    },
    /// The device cannot store or compute with this element type.
    #[error("dtype {dtype} is not supported on device `{device}`")]
    UnsupportedDType { dtype: DType, device: String },
    /// The operators read their inputs as dense row-major buffers.
    #[error(
        "`{argument}` is not contiguous (shape {shape:?}, strides {strides:?}); \
         call `.to_contiguous()` first"
    )]
    NonContiguous {
        argument: &'static str,
        shape: Vec<usize>,
        strides: Vec<usize>,
    },
    /// A tensor or launch exceeds a limit of the device or of 32-bit kernel indexing.
    #[error("{what}: {requested} exceeds the limit of {limit}")]
    TooLarge {
        what: &'static str,
        requested: u64,
        limit: u64,
    },
    /// Raw parts given to `DeviceTensor::from_raw_parts` or a view do not describe a valid
    /// tensor.
    #[error("invalid tensor layout: {reason}")]
    InvalidLayout { reason: String },
    /// The device runtime reported a failure (a rejected launch, a lost device, a failed read).
    #[error("device runtime error: {message}")]
    Runtime { message: String },
}
