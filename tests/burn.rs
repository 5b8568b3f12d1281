//! The Burn integration: fused op and gradients against Burn's autodiff of the composed
//! formula, the NdArray fallback against the fused path, and a model step on both backends.
#![cfg(feature = "burn")]

mod common;

use burn::backend::{Autodiff, NdArray, Wgpu};
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use common::{assert_close, client, random};
use orthoproj::burn::{
    orthogonal_residual, orthogonalize, vector_stats, OrthoBackend, OrthoResidual,
};
use orthoproj::{Axis, Options, OrthoError};

type Fused = Autodiff<Wgpu>;
type Portable = Autodiff<NdArray>;

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n = shape.iter().product();
    let (data, _) = random::<f32>(n, seed, 1.0);
    Tensor::from_data(TensorData::new(data, shape), &Default::default())
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect()
}

/// The formula with Burn ops over `dim`, differentiated by Burn's autodiff op by op.
fn composed<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    f: Tensor<B, D>,
    dim: usize,
    residual: bool,
) -> Tensor<B, D> {
    let s = (x.clone() * f.clone()).sum_dim(dim) / ((x.clone() * x.clone()).sum_dim(dim) + 1e-6);
    let out = f - s * x.clone();
    if residual {
        out + x
    } else {
        out
    }
}

/// Output, dx and df of `op` for the loss `<w, op(x, f)>`.
fn run<B: AutodiffBackend, const D: usize>(
    shape: [usize; D],
    op: impl Fn(Tensor<B, D>, Tensor<B, D>) -> Tensor<B, D>,
) -> [Vec<f64>; 3] {
    let x = tensor::<B, D>(shape, 1).require_grad();
    let f = tensor::<B, D>(shape, 2).require_grad();
    let w = tensor::<B, D>(shape, 3);
    let out = op(x.clone(), f.clone());
    let grads = (out.clone() * w).sum().backward();
    let dx = x.grad(&grads).expect("x is tracked");
    let df = f.grad(&grads).expect("f is tracked");
    [values(out), values(dx), values(df)]
}

fn check<const D: usize>(shape: [usize; D], axis: Axis, dim: usize) {
    let opts = Options { eps: 1e-6, axis };
    for residual in [false, true] {
        let fused = run::<Fused, D>(shape, |x, f| {
            if residual {
                orthogonal_residual(x, f, &opts).unwrap()
            } else {
                orthogonalize(x, f, &opts).unwrap()
            }
        });
        let want = run::<Fused, D>(shape, |x, f| composed(x, f, dim, residual));
        for (name, got, want) in [
            ("out", &fused[0], &want[0]),
            ("dx", &fused[1], &want[1]),
            ("df", &fused[2], &want[2]),
        ] {
            assert_close(
                &format!("{name} {shape:?} {axis:?} residual={residual}"),
                got,
                want,
                1e-5,
            );
        }
    }
}

#[test]
fn fused_op_and_gradients_match_burn_autodiff_of_the_formula() {
    if client().is_none() {
        return;
    }
    check([4, 8, 96], Axis::Last, 2);
    check([2, 16, 5, 5], Axis::Dim(1), 1);
}

/// Output, gradients and statistics on NdArray (fallback) against Wgpu (fused).
fn compare_backends<const D: usize>(shape: [usize; D], axis: Axis) {
    let opts = Options { eps: 1e-6, axis };
    let fused = run::<Fused, D>(shape, |x, f| orthogonal_residual(x, f, &opts).unwrap());
    let portable = run::<Portable, D>(shape, |x, f| orthogonal_residual(x, f, &opts).unwrap());
    for (k, name) in ["out", "dx", "df"].iter().enumerate() {
        assert_close(&format!("{name} {axis:?}"), &portable[k], &fused[k], 1e-5);
    }
    let stats_fused = vector_stats::<Wgpu, D>(tensor(shape, 1), tensor(shape, 2), &opts).unwrap();
    let stats_portable =
        vector_stats::<NdArray, D>(tensor(shape, 1), tensor(shape, 2), &opts).unwrap();
    assert_close(
        &format!("stats {axis:?}"),
        &values(stats_portable),
        &values(stats_fused),
        1e-5,
    );
}

#[test]
fn fallback_backend_matches_the_fused_one() {
    if client().is_none() {
        return;
    }
    compare_backends([3, 5, 64], Axis::Last);
    compare_backends([2, 24, 3, 3], Axis::Dim(1));
    compare_backends([3, 7, 4, 5], Axis::From(1));
}

#[derive(Module, Debug)]
struct Block<B: Backend> {
    linear: Linear<B>,
    #[module(skip)]
    residual: OrthoResidual,
}

/// One Adam step of `x -> block(x)` with a squared loss; returns the loss before and after.
fn model_step<B: AutodiffBackend + OrthoBackend>(residual: OrthoResidual) -> (f32, f32) {
    let device = Default::default();
    // The same weights on every backend (each backend's own RNG would differ).
    let mut linear: Linear<B> = LinearConfig::new(32, 32).init(&device);
    linear.weight = Param::from_tensor(tensor::<B, 2>([32, 32], 7) * 0.2);
    linear.bias = Some(Param::from_tensor(tensor::<B, 1>([32], 8) * 0.1));
    let mut block = Block::<B> { linear, residual };
    let mut optim = AdamConfig::new().init();
    let x = tensor::<B, 2>([8, 32], 5);
    let target = tensor::<B, 2>([8, 32], 6);
    let loss = |block: &Block<B>| {
        let f = block.linear.forward(x.clone()).tanh();
        let y = block.residual.forward(x.clone(), f).unwrap();
        (y - target.clone()).powf_scalar(2.0).mean()
    };
    let before = loss(&block);
    let grads = GradientsParams::from_grads(before.backward(), &block);
    block = optim.step(1e-2, block, grads);
    let after = loss(&block);
    (before.into_scalar().elem(), after.into_scalar().elem())
}

#[test]
fn a_model_step_runs_and_learns_on_both_backends() {
    if client().is_none() {
        return;
    }
    let opts = Options::default();
    let fused = model_step::<Fused>(OrthoResidual::orthogonal(opts));
    let portable = model_step::<Portable>(OrthoResidual::orthogonal(opts));
    for (name, (before, after)) in [("wgpu", fused), ("ndarray", portable)] {
        assert!(
            before.is_finite() && after.is_finite(),
            "{name}: {before} -> {after}"
        );
        assert!(
            after < before,
            "{name}: one step should lower the loss: {before} -> {after}"
        );
    }
    assert!(
        (fused.0 - portable.0).abs() < 1e-4,
        "same model, same data: {fused:?} vs {portable:?}"
    );
    let linear = model_step::<Portable>(OrthoResidual::linear());
    assert!(linear.1 < linear.0);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = tensor::<NdArray, 2>([2, 3], 1);
    let f = tensor::<NdArray, 2>([3, 2], 2);
    let err = orthogonalize(x.clone(), f.clone(), &Options::default()).unwrap_err();
    assert!(matches!(err, OrthoError::ShapeMismatch { .. }), "{err}");
    let err = OrthoResidual::linear().forward(x.clone(), f).unwrap_err();
    assert!(matches!(err, OrthoError::ShapeMismatch { .. }), "{err}");
    let err = orthogonalize(
        x.clone(),
        x.clone(),
        &Options {
            eps: -1.0,
            axis: Axis::Last,
        },
    )
    .unwrap_err();
    assert!(matches!(err, OrthoError::InvalidEps { .. }), "{err}");
    let err = orthogonal_residual(
        x.clone(),
        x,
        &Options {
            eps: 1e-6,
            axis: Axis::Dim(5),
        },
    )
    .unwrap_err();
    assert!(matches!(err, OrthoError::AxisOutOfRange { .. }), "{err}");
}
