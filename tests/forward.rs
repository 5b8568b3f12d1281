//! The fused forward kernels against the f64 reference, and the operator's properties.

mod common;

use common::*;
use orthoproj::{
    orthogonal_residual, orthogonalize, reference, Axis, DType, Options, OrthoElement, OrthoError,
};

const LENGTHS: [usize; 9] = [1, 3, 7, 64, 127, 768, 1000, 4096, 65537];
const COUNTS: [usize; 4] = [1, 2, 17, 1024];

/// Every length and count of the grid; two seeds where the tensor is small enough to keep the
/// run short, one for the large ones. A tensor past the device's largest buffer (llvmpipe:
/// 128 MiB, so 1024 x 65537 f32) must be refused with `TooLarge` instead.
fn sweep<E: OrthoElement>(client: &Client, max_elements: usize) {
    let opts = Options::default();
    let max_bytes = client.properties().memory.max_page_size;
    for &d in &LENGTHS {
        for &count in &COUNTS {
            if d * count > max_elements {
                continue;
            }
            if (d * count * E::DTYPE.size()) as u64 > max_bytes {
                let (x, _) = random::<E>(d * count, 0, 1.0);
                let err = orthoproj::DeviceTensor::from_slice(client, &x, &[count, d]).unwrap_err();
                assert!(matches!(err, OrthoError::TooLarge { .. }), "{err}");
                continue;
            }
            let seeds: &[u64] = if d * count <= 1 << 20 { &[1, 2] } else { &[3] };
            for &seed in seeds {
                forward_matches_reference::<E>(client, &[count, d], &opts, seed * 1000 + d as u64);
            }
        }
    }
}

#[test]
fn f32_forward_matches_reference_on_every_length_and_count() {
    let Some(client) = client() else { return };
    sweep::<f32>(&client, usize::MAX);
}

#[test]
fn f16_forward_matches_reference_on_every_length_and_count() {
    let Some(client) = client() else { return };
    sweep::<half::f16>(&client, usize::MAX);
}

#[test]
fn bf16_runs_where_supported_and_is_refused_by_name_elsewhere() {
    let Some(client) = client() else { return };
    let (x, _) = random::<half::bf16>(8, 1, 1.0);
    match orthoproj::DeviceTensor::from_slice(&client, &x, &[2, 4]) {
        Ok(_) => sweep::<half::bf16>(&client, 1 << 22),
        Err(OrthoError::UnsupportedDType { dtype, device }) => {
            assert_eq!(dtype, DType::BF16);
            assert!(!device.is_empty());
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn higher_rank_token_tensors_use_the_last_dimension() {
    let Some(client) = client() else { return };
    forward_matches_reference::<f32>(&client, &[3, 5, 96], &Options::default(), 7);
}

#[test]
fn output_is_orthogonal_to_x() {
    let Some(client) = client() else { return };
    for &d in &[3usize, 768, 65537] {
        let shape = [5, d];
        let (x, xr) = random::<f32>(5 * d, 11, 1.0);
        let (f, fr) = random::<f32>(5 * d, 12, 1.0);
        let out = download::<f32>(
            &orthogonalize(
                &upload(&client, &x, &shape),
                &upload(&client, &f, &shape),
                &Options::default(),
            )
            .unwrap(),
        );
        for v in 0..5 {
            let r = v * d..(v + 1) * d;
            let dot: f64 = out[r.clone()]
                .iter()
                .zip(&xr[r.clone()])
                .map(|(a, b)| a * b)
                .sum();
            let xf: f64 = fr[r.clone()]
                .iter()
                .zip(&xr[r.clone()])
                .map(|(a, b)| a * b)
                .sum();
            let xx: f64 = xr[r.clone()].iter().map(|a| a * a).sum::<f64>();
            let nf: f64 = fr[r].iter().map(|a| a * a).sum::<f64>().sqrt();
            // Exactly, <x, f_perp> = s * eps (docs/math.md).
            let residue = xf / (xx + 1e-6) * 1e-6;
            let off = (dot - residue).abs();
            assert!(
                off <= 1e-5 * xx.sqrt() * nf,
                "d={d} vector {v}: <x, f_perp> = {dot:e}"
            );
        }
    }
}

#[test]
fn projecting_twice_changes_nothing() {
    let Some(client) = client() else { return };
    let shape = [17, 1000];
    let (x, _) = random::<f32>(17_000, 21, 1.0);
    let (f, _) = random::<f32>(17_000, 22, 1.0);
    let xt = upload(&client, &x, &shape);
    let once = orthogonalize(&xt, &upload(&client, &f, &shape), &Options::default()).unwrap();
    let twice = orthogonalize(&xt, &once, &Options::default()).unwrap();
    assert_close(
        "second projection",
        &download::<f32>(&twice),
        &download::<f32>(&once),
        1e-6,
    );
}

#[test]
fn f_parallel_to_x_leaves_nothing() {
    let Some(client) = client() else { return };
    let shape = [4, 768];
    let (x, xr) = random::<f32>(4 * 768, 31, 1.0);
    let f: Vec<f32> = x.iter().map(|v| -2.5 * v).collect();
    let out = download::<f32>(
        &orthogonalize(
            &upload(&client, &x, &shape),
            &upload(&client, &f, &shape),
            &Options::default(),
        )
        .unwrap(),
    );
    let nf: f64 = xr.iter().map(|v| 6.25 * v * v).sum::<f64>().sqrt();
    let residue: f64 = out.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(
        residue <= 1e-6 * nf,
        "|f_perp| = {residue:e} for |f| = {nf:e}"
    );
}

#[test]
fn f_orthogonal_to_x_comes_back_unchanged() {
    let Some(client) = client() else { return };
    // x lives on the even coordinates, f on the odd ones: exactly orthogonal in any precision.
    let d = 1000;
    let shape = [3, d];
    let (r1, _) = random::<f32>(3 * d, 41, 1.0);
    let (r2, _) = random::<f32>(3 * d, 42, 1.0);
    let x: Vec<f32> = (0..3 * d)
        .map(|i| if i % 2 == 0 { r1[i] } else { 0.0 })
        .collect();
    let f: Vec<f32> = (0..3 * d)
        .map(|i| if i % 2 == 1 { r2[i] } else { 0.0 })
        .collect();
    let out = orthogonalize(
        &upload(&client, &x, &shape),
        &upload(&client, &f, &shape),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(out.to_vec::<f32>().unwrap(), f);
}

#[test]
fn zero_x_returns_f_exactly_even_with_zero_eps() {
    let Some(client) = client() else { return };
    for eps in [1e-6f32, 0.0] {
        let opts = Options {
            eps,
            axis: Axis::Last,
        };
        for &d in &[1usize, 768, 65537] {
            let shape = [2, d];
            let x = vec![0.0f32; 2 * d];
            let (f, _) = random::<f32>(2 * d, 51, 3.0);
            let (xt, ft) = (upload(&client, &x, &shape), upload(&client, &f, &shape));
            assert_eq!(
                orthogonalize(&xt, &ft, &opts)
                    .unwrap()
                    .to_vec::<f32>()
                    .unwrap(),
                f
            );
            assert_eq!(
                orthogonal_residual(&xt, &ft, &opts)
                    .unwrap()
                    .to_vec::<f32>()
                    .unwrap(),
                f
            );
        }
    }
}

#[test]
fn nan_and_inf_stay_in_their_own_vector() {
    let Some(client) = client() else { return };
    for &d in &[7usize, 768, 65537] {
        let shape = [3, d];
        let (mut x, _) = random::<f32>(3 * d, 61, 1.0);
        let (f, _) = random::<f32>(3 * d, 62, 1.0);
        x[d + 2] = f32::NAN;
        let mut f_inf = f.clone();
        f_inf[2 * d + 1] = f32::INFINITY;
        let out = download::<f32>(
            &orthogonalize(
                &upload(&client, &x, &shape),
                &upload(&client, &f_inf, &shape),
                &Options::default(),
            )
            .unwrap(),
        );
        let xr: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let fr: Vec<f64> = f.iter().map(|&v| v as f64).collect();
        let want =
            reference::orthogonalize(&xr[..d], &fr[..d], &[1, d], &Options::default()).unwrap();
        assert_close("untouched vector 0", &out[..d], &want, 1e-5);
        assert!(
            out[d..2 * d].iter().any(|v| v.is_nan()),
            "d={d}: NaN vector stays NaN"
        );
        assert!(
            out[2 * d..].iter().any(|v| !v.is_finite()),
            "d={d}: Inf vector is non-finite"
        );
    }
}

#[test]
fn tensors_with_no_vectors_or_empty_vectors_return_empty_results() {
    let Some(client) = client() else { return };
    for shape in [[0usize, 8], [4, 0]] {
        let t = upload::<f32>(&client, &[], &shape);
        let out = orthogonal_residual(&t, &t, &Options::default()).unwrap();
        assert_eq!(out.shape(), &shape);
        assert!(out.to_vec::<f32>().unwrap().is_empty());
    }
}

#[test]
fn grids_past_65535_cubes_spill_into_a_second_dimension() {
    let Some(client) = client() else { return };
    // D = 1: 256 vectors per cube, so 2^24 + 1 vectors need 65,537 cubes.
    let rows = (1 << 24) + 1;
    let opts = Options::default();
    let (x, xr) = random::<f32>(rows, 1, 1.0);
    let (f, fr) = random::<f32>(rows, 2, 1.0);
    let got = download::<f32>(
        &orthogonal_residual(
            &upload(&client, &x, &[rows, 1]),
            &upload(&client, &f, &[rows, 1]),
            &opts,
        )
        .unwrap(),
    );
    let want = reference::orthogonal_residual(&xr, &fr, &[rows, 1], &opts).unwrap();
    assert_close_to_terms(
        "rows grid",
        &got,
        &want,
        &forward_terms(&xr, &fr, &[rows, 1], &opts, true),
        1e-5,
    );
    // Columns: one unit per position, 2^24 + 1 positions of odd stride (scalar loads).
    let shape = [1, 2, (1 << 24) + 1];
    let opts = Options {
        eps: 1e-6,
        axis: Axis::Dim(1),
    };
    let n = 2 * ((1 << 24) + 1);
    let (x, xr) = random::<half::f16>(n, 3, 1.0);
    let (f, fr) = random::<half::f16>(n, 4, 1.0);
    let got = download::<half::f16>(
        &orthogonalize(
            &upload(&client, &x, &shape),
            &upload(&client, &f, &shape),
            &opts,
        )
        .unwrap(),
    );
    let want = reference::orthogonalize(&xr, &fr, &shape, &opts).unwrap();
    assert_close_to_terms(
        "columns grid",
        &got,
        &want,
        &forward_terms(&xr, &fr, &shape, &opts, false),
        2e-3,
    );
}
