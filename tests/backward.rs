//! Backward: the f64 reference against central finite differences, and the fused kernels
//! against the reference.

mod common;

use common::*;
use orthoproj::{orthogonal_residual_backward, reference, Axis, Options};

type Forward = fn(&[f64], &[f64], &[usize], &Options) -> Result<Vec<f64>, orthoproj::OrthoError>;
type Backward = fn(
    &[f64],
    &[f64],
    &[f64],
    &[usize],
    &Options,
) -> Result<(Vec<f64>, Vec<f64>), orthoproj::OrthoError>;

/// Central differences of `L(x, f) = <g, forward(x, f)>` with respect to every element of `x`
/// and of `f`.
fn finite_differences(
    fwd: Forward,
    x: &[f64],
    f: &[f64],
    g: &[f64],
    shape: &[usize],
    opts: &Options,
) -> (Vec<f64>, Vec<f64>) {
    let loss = |x: &[f64], f: &[f64]| -> f64 {
        fwd(x, f, shape, opts)
            .unwrap()
            .iter()
            .zip(g)
            .map(|(a, b)| a * b)
            .sum()
    };
    let h = 1e-6;
    let grad_of = |which: usize| -> Vec<f64> {
        (0..x.len())
            .map(|i| {
                let (mut xp, mut fp) = (x.to_vec(), f.to_vec());
                let (mut xm, mut fm) = (x.to_vec(), f.to_vec());
                if which == 0 {
                    xp[i] += h;
                    xm[i] -= h;
                } else {
                    fp[i] += h;
                    fm[i] -= h;
                }
                (loss(&xp, &fp) - loss(&xm, &fm)) / (2.0 * h)
            })
            .collect()
    };
    (grad_of(0), grad_of(1))
}

#[test]
fn reference_backward_matches_finite_differences_in_every_axis_mode() {
    let cases: [(&[usize], Axis); 5] = [
        (&[3, 5], Axis::Last),
        (&[1, 1], Axis::Last),
        (&[2, 3, 2, 2], Axis::Dim(1)),
        (&[2, 3, 4], Axis::From(1)),
        (&[4, 3], Axis::Dim(0)),
    ];
    let ops: [(&str, Forward, Backward); 2] = [
        (
            "orthogonalize",
            reference::orthogonalize,
            reference::orthogonalize_backward,
        ),
        (
            "residual",
            reference::orthogonal_residual,
            reference::orthogonal_residual_backward,
        ),
    ];
    for (seed, (shape, axis)) in cases.into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let opts = Options { eps: 1e-3, axis };
        let (_, x) = random::<f32>(n, 100 + seed as u64, 1.0);
        let (_, f) = random::<f32>(n, 200 + seed as u64, 1.0);
        let (_, g) = random::<f32>(n, 300 + seed as u64, 1.0);
        for (name, fwd, bwd) in ops {
            let (dx, df) = bwd(&x, &f, &g, shape, &opts).unwrap();
            let (nx, nf) = finite_differences(fwd, &x, &f, &g, shape, &opts);
            // Central differences with h = 1e-6 carry about 1e-9 relative error from rounding.
            assert_close(&format!("{name} dx {shape:?} {axis:?}"), &dx, &nx, 1e-6);
            assert_close(&format!("{name} df {shape:?} {axis:?}"), &df, &nf, 1e-6);
        }
    }
}

#[test]
fn fused_backward_matches_reference_on_token_vectors() {
    let Some(client) = client() else { return };
    for &d in &[1usize, 3, 7, 64, 127, 768, 1000, 4096, 9000, 65537] {
        for &count in &[1usize, 17, 1024] {
            // 1024 x 65537 f32 is past llvmpipe's 128 MiB buffer limit (see tests/forward.rs).
            if d * count > 1 << 24 {
                continue;
            }
            backward_matches_reference::<f32>(
                &client,
                &[count, d],
                &Options::default(),
                d as u64 * 31 + count as u64,
            );
            backward_matches_reference::<half::f16>(
                &client,
                &[count, d],
                &Options::default(),
                d as u64 * 37 + count as u64,
            );
        }
    }
}

#[test]
fn zero_x_gives_identity_gradient_for_f() {
    let Some(client) = client() else { return };
    let shape = [2, 768];
    let x = vec![0.0f32; 2 * 768];
    let (f, _) = random::<f32>(2 * 768, 5, 1.0);
    let (g, _) = random::<f32>(2 * 768, 6, 1.0);
    let (xt, ft, gt) = (
        upload(&client, &x, &shape),
        upload(&client, &f, &shape),
        upload(&client, &g, &shape),
    );
    let (dx, df) = orthogonal_residual_backward(&xt, &ft, &gt, &Options::default()).unwrap();
    assert_eq!(df.to_vec::<f32>().unwrap(), g);
    // dx = -s g - t (f - 2 s x) + g with s = t = 0.
    assert_eq!(dx.to_vec::<f32>().unwrap(), g);
}
