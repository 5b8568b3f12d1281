//! Every kind of bad input gets its own `OrthoError`, never a panic.

mod common;

use common::*;
use orthoproj::{
    orthogonal_residual, orthogonal_residual_backward, orthogonalize, orthogonalize_backward,
    reference, Axis, DType, DeviceTensor, Options, OrthoError,
};

#[test]
fn mismatched_shapes_are_refused() {
    let Some(client) = client() else { return };
    let x = upload::<f32>(&client, &[0.0; 6], &[2, 3]);
    let f = upload::<f32>(&client, &[0.0; 6], &[3, 2]);
    let err = orthogonalize(&x, &f, &Options::default()).unwrap_err();
    assert!(
        matches!(err, OrthoError::ShapeMismatch { right: "f", .. }),
        "{err}"
    );
    let err = orthogonalize_backward(&x, &x, &f, &Options::default()).unwrap_err();
    assert!(
        matches!(err, OrthoError::ShapeMismatch { right: "grad", .. }),
        "{err}"
    );
}

#[test]
fn mismatched_dtypes_are_refused() {
    let Some(client) = client() else { return };
    let x = upload::<f32>(&client, &[0.0; 4], &[4]);
    let f = upload(&client, &[half::f16::ZERO; 4], &[4]);
    let err = orthogonal_residual(&x, &f, &Options::default()).unwrap_err();
    assert_eq!(
        err,
        OrthoError::DTypeMismatch {
            argument: "f",
            expected: DType::F32,
            found: DType::F16
        }
    );
    let err = x.to_vec::<half::f16>().unwrap_err();
    assert!(matches!(err, OrthoError::DTypeMismatch { .. }), "{err}");
}

#[test]
fn rank_zero_tensors_are_refused() {
    let Some(client) = client() else { return };
    let x = upload::<f32>(&client, &[1.0], &[]);
    let err = orthogonalize(&x, &x, &Options::default()).unwrap_err();
    assert_eq!(err, OrthoError::RankZero { argument: "x" });
    let err = reference::orthogonalize(&[1.0], &[1.0], &[], &Options::default()).unwrap_err();
    assert!(matches!(err, OrthoError::RankZero { .. }), "{err}");
}

#[test]
fn axes_out_of_range_are_refused() {
    let Some(client) = client() else { return };
    let x = upload::<f32>(&client, &[0.0; 6], &[2, 3]);
    for axis in [Axis::Dim(2), Axis::From(2), Axis::Dim(usize::MAX)] {
        let err = orthogonal_residual(&x, &x, &Options { eps: 1e-6, axis }).unwrap_err();
        assert_eq!(err, OrthoError::AxisOutOfRange { axis, rank: 2 });
    }
}

#[test]
fn negative_or_non_finite_eps_is_refused() {
    let Some(client) = client() else { return };
    let x = upload::<f32>(&client, &[1.0; 4], &[4]);
    for eps in [-1e-6f32, f32::NAN, f32::INFINITY] {
        let opts = Options {
            eps,
            axis: Axis::Last,
        };
        assert!(matches!(
            orthogonalize(&x, &x, &opts),
            Err(OrthoError::InvalidEps { .. })
        ));
        assert!(matches!(
            orthogonal_residual_backward(&x, &x, &x, &opts),
            Err(OrthoError::InvalidEps { .. })
        ));
    }
}

#[test]
fn overflowing_shapes_and_wrong_lengths_are_refused() {
    let Some(client) = client() else { return };
    let err = DeviceTensor::from_slice::<f32>(&client, &[1.0], &[usize::MAX, 2]).unwrap_err();
    assert!(matches!(err, OrthoError::ShapeOverflow { .. }), "{err}");
    let err = DeviceTensor::from_slice::<f32>(&client, &[1.0; 5], &[2, 3]).unwrap_err();
    assert_eq!(
        err,
        OrthoError::LengthMismatch {
            shape: vec![2, 3],
            expected: 6,
            found: 5
        }
    );
    let err =
        reference::orthogonalize(&[1.0; 5], &[1.0; 6], &[2, 3], &Options::default()).unwrap_err();
    assert!(matches!(err, OrthoError::LengthMismatch { .. }), "{err}");
}

#[test]
fn strided_views_are_refused_until_made_contiguous() {
    let Some(client) = client() else { return };
    let (data, _) = random::<f32>(24, 3, 1.0);
    let x = upload(&client, &data, &[2, 3, 4]);
    let view = x.permute(&[0, 2, 1]).unwrap();
    let err = orthogonalize(&view, &view, &Options::default()).unwrap_err();
    assert!(
        matches!(err, OrthoError::NonContiguous { argument: "x", .. }),
        "{err}"
    );
    let dense = view.to_contiguous().unwrap();
    assert_eq!(
        dense.to_vec::<f32>().unwrap(),
        view.to_vec::<f32>().unwrap()
    );
    let want: Vec<f32> = (0..24)
        .map(|i| {
            let (a, c, b) = (i / 12, (i / 3) % 4, i % 3);
            data[a * 12 + b * 4 + c]
        })
        .collect();
    assert_eq!(dense.to_vec::<f32>().unwrap(), want);
    assert!(orthogonalize(&dense, &dense, &Options::default()).is_ok());
    assert!(matches!(
        x.permute(&[0, 0, 1]),
        Err(OrthoError::InvalidLayout { .. })
    ));
}

#[test]
fn raw_parts_that_overrun_the_buffer_are_refused() {
    let Some(client) = client() else { return };
    let x = upload::<f32>(&client, &[0.0; 6], &[2, 3]);
    let err =
        DeviceTensor::from_raw_parts(&client, x.handle().clone(), &[3, 3], &[3, 1], DType::F32)
            .unwrap_err();
    assert!(matches!(err, OrthoError::InvalidLayout { .. }), "{err}");
    let err = DeviceTensor::from_raw_parts(&client, x.handle().clone(), &[2, 3], &[1], DType::F32)
        .unwrap_err();
    assert!(matches!(err, OrthoError::InvalidLayout { .. }), "{err}");
}

#[test]
fn tensors_past_the_device_buffer_limit_are_refused() {
    let Some(client) = client() else { return };
    // A raw buffer claiming more elements than 32-bit indexing allows is refused at validation,
    // before any launch.
    let x = upload::<f32>(&client, &[0.0; 4], &[4]);
    let huge =
        DeviceTensor::from_raw_parts(&client, x.handle().clone(), &[1 << 33], &[0], DType::F32)
            .unwrap();
    let err = orthogonalize(&huge, &huge, &Options::default()).unwrap_err();
    assert!(matches!(err, OrthoError::TooLarge { .. }), "{err}");
}
