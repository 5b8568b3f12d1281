//! Every axis mode, both operations, forward and backward, against the reference; statistics.

mod common;

use common::*;
use orthoproj::layout::VectorLayout;
use orthoproj::{
    orthogonal_residual, orthogonal_residual_with_stats, orthogonalize, orthogonalize_with_stats,
    reference, Axis, Options, OrthoElement, OrthoError, VectorStats,
};

/// Forward (both forms) and backward (both forms) against the reference.
fn check_all<E: OrthoElement>(client: &Client, shape: &[usize], axis: Axis, seed: u64) {
    let opts = Options { eps: 1e-6, axis };
    forward_matches_reference::<E>(client, shape, &opts, seed);
    backward_matches_reference::<E>(client, shape, &opts, seed);
}

#[test]
fn nchw_channel_vectors_match_reference() {
    let Some(client) = client() else { return };
    for &c in &[1usize, 3, 64, 257] {
        for &(h, w) in &[(1usize, 1usize), (7, 7), (56, 56)] {
            check_all::<f32>(&client, &[3, c, h, w], Axis::Dim(1), (c * 131 + h) as u64);
        }
    }
    check_all::<half::f16>(&client, &[3, 64, 7, 7], Axis::Dim(1), 9);
    check_all::<half::f16>(&client, &[5, 3, 56, 56], Axis::Dim(1), 10);
}

#[test]
fn per_sample_vectors_match_reference() {
    let Some(client) = client() else { return };
    check_all::<f32>(&client, &[3, 1], Axis::From(1), 1);
    check_all::<f32>(&client, &[5, 10, 10, 10], Axis::From(1), 2);
    check_all::<f32>(&client, &[3, 3, 1000, 1000], Axis::From(1), 3);
    check_all::<half::f16>(&client, &[3, 40, 25], Axis::From(1), 4);
    // Whole tensor as one vector.
    check_all::<f32>(&client, &[7, 11, 13], Axis::From(0), 5);
}

#[test]
fn other_strided_dimensions_match_reference() {
    let Some(client) = client() else { return };
    check_all::<f32>(&client, &[9, 6], Axis::Dim(0), 11);
    check_all::<f32>(&client, &[2, 3, 5, 8], Axis::Dim(2), 12);
    check_all::<f32>(&client, &[2, 3, 5, 8], Axis::Dim(3), 13);
}

#[test]
fn residual_minus_x_is_f_perp_and_f_perp_is_orthogonal_in_every_mode() {
    let Some(client) = client() else { return };
    let shape = [3, 17, 6, 5];
    let n: usize = shape.iter().product();
    for axis in [Axis::Last, Axis::Dim(1), Axis::From(1), Axis::Dim(0)] {
        let opts = Options { eps: 1e-6, axis };
        let (x, xr) = random::<f32>(n, 70, 1.0);
        let (f, fr) = random::<f32>(n, 71, 1.0);
        let (xt, ft) = (upload(&client, &x, &shape), upload(&client, &f, &shape));
        let perp = download::<f32>(&orthogonalize(&xt, &ft, &opts).unwrap());
        let res = download::<f32>(&orthogonal_residual(&xt, &ft, &opts).unwrap());
        let diff: Vec<f64> = res.iter().zip(&xr).map(|(r, x)| r - x).collect();
        assert_close(&format!("residual - x {axis:?}"), &diff, &perp, 1e-6);
        let layout = VectorLayout::resolve(&shape, axis).unwrap();
        for v in 0..layout.vectors() {
            let (mut dot, mut xf, mut nx, mut nf) = (0.0, 0.0, 0.0, 0.0);
            for c in 0..layout.len {
                let i = layout.index(v, c);
                dot += perp[i] * xr[i];
                xf += xr[i] * fr[i];
                nx += xr[i] * xr[i];
                nf += fr[i] * fr[i];
            }
            // Exactly, <x, f_perp> = s * eps (docs/math.md): eps leaves a small residue.
            let residue = xf / (nx + 1e-6) * 1e-6;
            let off = (dot - residue).abs();
            assert!(
                off <= 1e-5 * (nx * nf).sqrt(),
                "{axis:?} vector {v}: {dot:e} vs {residue:e}"
            );
        }
    }
}

fn assert_stats_close(what: &str, got: &[VectorStats], want: &[VectorStats], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: vector count");
    for (v, (g, w)) in got.iter().zip(want).enumerate() {
        let pairs = [
            ("x_sq_norm", g.x_sq_norm, w.x_sq_norm, w.x_sq_norm.abs()),
            ("scale", g.scale, w.scale, 1.0),
            ("parallel_ratio", g.parallel_ratio, w.parallel_ratio, 1.0),
            (
                "perpendicular_ratio",
                g.perpendicular_ratio,
                w.perpendicular_ratio,
                w.perpendicular_ratio.max(1.0),
            ),
            ("cosine", g.cosine, w.cosine, 1.0),
        ];
        for (name, a, b, scale) in pairs {
            assert!(
                (a - b).abs() <= tol * scale.max(1e-30),
                "{what} vector {v} {name}: got {a} want {b}"
            );
        }
    }
}

#[test]
fn statistics_match_reference_in_every_mode() {
    let Some(client) = client() else { return };
    let cases: [(&[usize], Axis); 5] = [
        (&[17, 768], Axis::Last),
        (&[3, 9000], Axis::Last),
        (&[3, 64, 7, 7], Axis::Dim(1)),
        (&[3, 70_000], Axis::From(1)),
        (&[2, 5, 4], Axis::From(1)),
    ];
    for (seed, (shape, axis)) in cases.into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let opts = Options { eps: 1e-6, axis };
        let (x, xr) = random::<f32>(n, 80 + seed as u64, 1.0);
        let (f, fr) = random::<f32>(n, 90 + seed as u64, 1.0);
        let (xt, ft) = (upload(&client, &x, shape), upload(&client, &f, shape));
        let want = reference::vector_stats(&xr, &fr, shape, &opts).unwrap();
        let (out, stats) = orthogonalize_with_stats(&xt, &ft, &opts).unwrap();
        let got = stats.to_vec().unwrap();
        assert_stats_close(&format!("{shape:?} {axis:?}"), &got, &want, 1e-5);
        let mean = stats.mean().unwrap();
        let want_mean = VectorStats::mean(&want);
        assert!(
            (mean.cosine - want_mean.cosine).abs() < 1e-5,
            "{mean:?} vs {want_mean:?}"
        );
        // The statistics option does not change the output.
        let plain = orthogonalize(&xt, &ft, &opts).unwrap();
        assert_eq!(out.to_vec::<f32>().unwrap(), plain.to_vec::<f32>().unwrap());
        let (res, _) = orthogonal_residual_with_stats(&xt, &ft, &opts).unwrap();
        let want = reference::orthogonal_residual(&xr, &fr, shape, &opts).unwrap();
        assert_close("residual with stats", &download::<f32>(&res), &want, 1e-5);
    }
}

#[test]
fn statistics_of_exact_cases_in_every_mode() {
    let Some(client) = client() else { return };
    // Three vectors in each layout: f = 2x (parallel); x on even components and f on odd ones
    // (orthogonal); x = 0. Rows, columns and split kernels in turn.
    let cases: [(&[usize], Axis); 3] = [
        (&[3, 768], Axis::Last),
        (&[1, 768, 3], Axis::Dim(1)),
        (&[3, 70_000], Axis::From(1)),
    ];
    for (shape, axis) in cases {
        let layout = VectorLayout::resolve(shape, axis).unwrap();
        let d = layout.len;
        let (r, _) = random::<f32>(2 * d, 95, 1.0);
        let mut x = vec![0.0f32; layout.numel()];
        let mut f = vec![0.0f32; layout.numel()];
        for c in 0..d {
            x[layout.index(0, c)] = r[c];
            f[layout.index(0, c)] = 2.0 * r[c];
            if c % 2 == 0 {
                x[layout.index(1, c)] = r[d + c];
            } else {
                f[layout.index(1, c)] = r[d + c];
            }
            f[layout.index(2, c)] = r[c];
        }
        let opts = Options { eps: 1e-6, axis };
        let (xt, ft) = (upload(&client, &x, shape), upload(&client, &f, shape));
        let (_, stats) = orthogonal_residual_with_stats(&xt, &ft, &opts).unwrap();
        let s = stats.to_vec().unwrap();
        let what = format!("{shape:?} {axis:?}");
        // Parallel: cos = 1, s = 2 (up to eps / |x|^2), |f_par|^2/D = 4, nothing perpendicular.
        assert!((s[0].cosine - 1.0).abs() < 1e-6, "{what}: {:?}", s[0]);
        assert!((s[0].scale - 2.0).abs() < 1e-5, "{what}: {:?}", s[0]);
        assert!(
            (s[0].parallel_ratio - 4.0).abs() < 1e-4,
            "{what}: {:?}",
            s[0]
        );
        assert!(s[0].perpendicular_ratio < 1e-4, "{what}: {:?}", s[0]);
        // Orthogonal: cos = 0 and s = 0 exactly, everything perpendicular.
        assert_eq!(
            (s[1].cosine, s[1].scale, s[1].parallel_ratio),
            (0.0, 0.0, 0.0),
            "{what}"
        );
        let sq = |v: &[f32], k: usize| -> f64 {
            (0..d).map(|c| (v[layout.index(k, c)] as f64).powi(2)).sum()
        };
        let (ff, xx) = (sq(&f, 1), sq(&x, 1));
        let want = ff / (xx + 1e-6);
        assert!(
            (s[1].perpendicular_ratio - want).abs() < 1e-5 * want,
            "{what}: {:?}",
            s[1]
        );
        // Zero stream: |x|^2 = 0, s = 0, cos = 0.
        assert_eq!(
            (s[2].x_sq_norm, s[2].scale, s[2].cosine),
            (0.0, 0.0, 0.0),
            "{what}"
        );
    }
}

#[test]
fn permuted_inputs_are_refused_and_their_contiguous_copy_matches() {
    let Some(client) = client() else { return };
    // An NHWC buffer viewed as NCHW: the natural strided input of Axis::Dim(1).
    let nhwc = [2usize, 7, 7, 64];
    let n: usize = nhwc.iter().product();
    let (x, _) = random::<f32>(n, 99, 1.0);
    let (f, _) = random::<f32>(n, 98, 1.0);
    let (xv, fv) = (
        upload(&client, &x, &nhwc).permute(&[0, 3, 1, 2]).unwrap(),
        upload(&client, &f, &nhwc).permute(&[0, 3, 1, 2]).unwrap(),
    );
    let opts = Options {
        eps: 1e-6,
        axis: Axis::Dim(1),
    };
    assert!(matches!(
        orthogonalize(&xv, &fv, &opts),
        Err(OrthoError::NonContiguous { .. })
    ));
    let (xc, fc) = (xv.to_contiguous().unwrap(), fv.to_contiguous().unwrap());
    let got = download::<f32>(&orthogonalize(&xc, &fc, &opts).unwrap());
    let xr = download::<f32>(&xc);
    let fr = download::<f32>(&fc);
    let want = reference::orthogonalize(&xr, &fr, xc.shape(), &opts).unwrap();
    assert_close("NHWC viewed as NCHW", &got, &want, 1e-5);
    // Same vectors as Axis::Last on the NHWC buffer itself.
    let direct = download::<f32>(
        &orthogonalize(
            &upload(&client, &x, &nhwc),
            &upload(&client, &f, &nhwc),
            &Options::default(),
        )
        .unwrap(),
    );
    let back = upload(
        &client,
        &got.iter().map(|&v| v as f32).collect::<Vec<_>>(),
        xc.shape(),
    )
    .permute(&[0, 2, 3, 1])
    .unwrap();
    assert_close(
        "same vectors as Axis::Last",
        &download::<f32>(&back),
        &direct,
        1e-6,
    );
}
