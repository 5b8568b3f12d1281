//! Hardening: determinism, independence from launch size, concurrency, extreme values, no panic
//! on arbitrary input, and generated cases against the reference (proptest).

mod common;

use common::*;
use orthoproj::{
    orthogonal_residual, orthogonal_residual_backward, orthogonal_residual_with_stats,
    orthogonalize, orthogonalize_backward, reference, Axis, DType, DeviceTensor, Options,
    OrthoElement,
};
use proptest::prelude::*;

/// Shapes that reach every kernel: cached rows, streamed rows, split rows, columns.
const PATHS: [(&[usize], Axis); 4] = [
    (&[17, 768], Axis::Last),
    (&[3, 9000], Axis::Last),
    (&[2, 70_000], Axis::From(1)),
    (&[3, 64, 7, 7], Axis::Dim(1)),
];

/// Every output of the operator on `(x, f, g)`, as raw bits.
fn all_outputs(client: &Client, shape: &[usize], axis: Axis, seed: u64) -> Vec<Vec<u32>> {
    let n: usize = shape.iter().product();
    let opts = Options { eps: 1e-6, axis };
    let [x, f, g] = [0, 1, 2].map(|k| upload(client, &random::<f32>(n, seed + k, 1.0).0, shape));
    let bits = |t: &DeviceTensor<_>| {
        t.to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    };
    let (out, stats) = orthogonal_residual_with_stats(&x, &f, &opts).unwrap();
    let (dx, df) = orthogonal_residual_backward(&x, &f, &g, &opts).unwrap();
    let perp = orthogonalize(&x, &f, &opts).unwrap();
    vec![
        bits(&out),
        bits(stats.tensor()),
        bits(&dx),
        bits(&df),
        bits(&perp),
    ]
}

#[test]
fn results_are_bitwise_identical_over_20_runs() {
    let Some(client) = client() else { return };
    for (shape, axis) in PATHS {
        let first = all_outputs(&client, shape, axis, 1);
        for run in 1..20 {
            assert!(
                all_outputs(&client, shape, axis, 1) == first,
                "{shape:?} {axis:?} run {run}"
            );
        }
    }
}

#[test]
fn a_vectors_result_does_not_depend_on_how_many_vectors_share_the_launch() {
    let Some(client) = client() else { return };
    let cases: [(usize, &[usize], Axis); 4] = [
        (1024, &[768], Axis::Last),
        (5, &[9000], Axis::Last),
        (4, &[70_000], Axis::From(1)),
        (5, &[64, 7, 7], Axis::Dim(1)),
    ];
    for (count, inner, axis) in cases {
        let per: usize = inner.iter().product();
        let big: Vec<usize> = [&[count][..], inner].concat();
        let (x, _) = random::<f32>(count * per, 5, 1.0);
        let (f, _) = random::<f32>(count * per, 6, 1.0);
        let opts = Options { eps: 1e-6, axis };
        let all = orthogonal_residual(
            &upload(&client, &x, &big),
            &upload(&client, &f, &big),
            &opts,
        )
        .unwrap()
        .to_vec::<f32>()
        .unwrap();
        for (k, sub) in [1usize, 3].into_iter().enumerate() {
            let small: Vec<usize> = [&[sub][..], inner].concat();
            let part = orthogonal_residual(
                &upload(&client, &x[..sub * per], &small),
                &upload(&client, &f[..sub * per], &small),
                &opts,
            )
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
            assert!(
                part == all[..sub * per],
                "{axis:?} case {k}: {sub} of {count} vectors differ"
            );
        }
    }
}

#[test]
fn eight_threads_sharing_a_client_match_one_thread() {
    let Some(client) = client() else { return };
    let expected: Vec<Vec<Vec<u32>>> = PATHS
        .iter()
        .enumerate()
        .map(|(k, &(shape, axis))| all_outputs(&client, shape, axis, 10 + k as u64))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let (client, expected) = (client.clone(), &expected);
                scope.spawn(move || {
                    // Each thread walks the shapes in its own order.
                    for step in 0..PATHS.len() {
                        let k = (t + step) % PATHS.len();
                        let (shape, axis) = PATHS[k];
                        let got = all_outputs(&client, shape, axis, 10 + k as u64);
                        assert!(got == expected[k], "thread {t}: {shape:?} {axis:?} differs");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("worker thread");
        }
    });
}

/// Fused against the reference on given data, all outputs finite where the reference is.
/// Results below the dtype's smallest normal have no relative precision to keep (and llvmpipe
/// flushes denormals), so each element's terms are floored at that normal divided by the
/// tolerance: an absolute error of one smallest normal is accepted there.
fn check_extreme<E: OrthoElement>(
    client: &Client,
    x: Vec<E>,
    f: Vec<E>,
    shape: &[usize],
    what: &str,
) {
    let opts = Options::default();
    let smallest_normal = match E::DTYPE {
        DType::F16 => 6.103_515_625e-5,
        DType::BF16 | DType::F32 => f32::MIN_POSITIVE as f64,
    };
    let floor = |terms: Vec<f64>| -> Vec<f64> {
        terms
            .iter()
            .map(|t| t.max(smallest_normal / tolerance(E::DTYPE)))
            .collect()
    };
    let xr: Vec<f64> = x.iter().map(|v| v.as_f64()).collect();
    let fr: Vec<f64> = f.iter().map(|v| v.as_f64()).collect();
    let (xt, ft) = (upload(client, &x, shape), upload(client, &f, shape));
    let tol = tolerance(E::DTYPE);
    for residual in [false, true] {
        let (got, want) = if residual {
            (
                orthogonal_residual(&xt, &ft, &opts),
                reference::orthogonal_residual(&xr, &fr, shape, &opts),
            )
        } else {
            (
                orthogonalize(&xt, &ft, &opts),
                reference::orthogonalize(&xr, &fr, shape, &opts),
            )
        };
        let (got, want) = (download::<E>(&got.unwrap()), want.unwrap());
        let what = format!("{what} residual={residual}");
        // Past the dtype's range (f16 rounds to infinity from 65520 on) overflow is correct;
        // clearly inside it the result must be finite and close; the band between, within the
        // kernel's error of the threshold, may go either way.
        let (largest, overflow) = match E::DTYPE {
            DType::F16 => (65504.0, 65520.0),
            DType::BF16 | DType::F32 => (f32::MAX as f64, f32::MAX as f64),
        };
        for (i, w) in want.iter().enumerate() {
            if w.abs() > overflow * (1.0 + tol) {
                assert!(
                    got[i].is_infinite(),
                    "{what}: [{i}] is {} past the range",
                    got[i]
                );
            }
        }
        let inside: Vec<bool> = want
            .iter()
            .map(|w| w.abs() < largest * (1.0 - tol))
            .collect();
        let keep = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .zip(&inside)
                .filter(|(_, &k)| k)
                .map(|(a, _)| *a)
                .collect()
        };
        let terms = floor(forward_terms(&xr, &fr, shape, &opts, residual));
        assert_close_to_terms(&what, &keep(&got), &keep(&want), &keep(&terms), tol);
    }
    let (dx, df) = orthogonalize_backward(&xt, &ft, &ft, &opts).unwrap();
    let (rdx, rdf) = reference::orthogonalize_backward(&xr, &fr, &fr, shape, &opts).unwrap();
    let (tdx, tdf) = backward_terms(&xr, &fr, &fr, shape, &opts, false);
    let (tdx, tdf) = (floor(tdx), floor(tdf));
    assert_close_to_terms(&format!("{what} dx"), &download::<E>(&dx), &rdx, &tdx, tol);
    assert_close_to_terms(&format!("{what} df"), &download::<E>(&df), &rdf, &tdf, tol);
}

#[test]
fn extreme_values_do_not_overflow_where_the_reference_is_finite() {
    let Some(client) = client() else { return };
    let shape = [4, 768];
    let n = 4 * 768;
    let max = half::f16::MAX;
    check_extreme(
        &client,
        vec![max; n],
        vec![max; n],
        &shape,
        "f16 all at max",
    );
    let (f, _) = random::<half::f16>(n, 1, 60000.0);
    check_extreme(&client, vec![max; n], f, &shape, "f16 x at max");
    let denormal = f32::from_bits(1); // 1.4e-45
    let (f, _) = random::<f32>(n, 2, 1.0);
    check_extreme(&client, vec![denormal; n], f, &shape, "f32 denormal x");
    let (x, _) = random::<f32>(n, 3, 1e-20);
    let (f, _) = random::<f32>(n, 4, 1e15);
    check_extreme(&client, x, f, &shape, "x tiny, f large");
    let (x, _) = random::<f32>(n, 5, 1e15);
    let (f, _) = random::<f32>(n, 6, 1e-15);
    check_extreme(&client, x, f, &shape, "x huge, f tiny");
}

/// A small deterministic generator for the no-panic driver.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound.max(1) as u64) as usize
    }
}

#[test]
fn arbitrary_calls_return_ok_or_an_error_and_never_panic() {
    let Some(client) = client() else { return };
    let mut rng = Lcg(42);
    let eps_choices = [1e-6f32, 0.0, 1.0, -1e-6, f32::NAN, f32::INFINITY];
    for case in 0..300 {
        let rank = rng.next(5);
        let shape: Vec<usize> = (0..rank).map(|_| rng.next(7)).collect();
        let numel: usize = shape.iter().product();
        // Sometimes the data length disagrees with the shape.
        let len = match rng.next(8) {
            0 => numel + 1,
            1 => numel.saturating_sub(1),
            _ => numel,
        };
        let axis = match rng.next(3) {
            0 => Axis::Last,
            1 => Axis::Dim(rng.next(6)),
            _ => Axis::From(rng.next(6)),
        };
        let opts = Options {
            eps: eps_choices[rng.next(eps_choices.len())],
            axis,
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (data, _) = random::<f32>(len, case, 1.0);
            let Ok(x) = DeviceTensor::from_slice(&client, &data, &shape) else {
                return;
            };
            // Sometimes a permuted view, sometimes f of another dtype or shape.
            let mut order: Vec<usize> = (0..rank).collect();
            order.reverse();
            let x = if rng.next(4) == 0 {
                x.permute(&order).unwrap()
            } else {
                x
            };
            let f = match rng.next(6) {
                0 => {
                    DeviceTensor::from_slice(&client, &vec![half::f16::ONE; numel], &shape).unwrap()
                }
                1 => DeviceTensor::from_slice(&client, &[1.0f32], &[1]).unwrap(),
                _ => x.clone(),
            };
            let _ = orthogonalize(&x, &f, &opts).map(|t| t.to_vec::<f32>());
            let _ = orthogonal_residual(&x, &f, &opts).map(|t| t.to_vec::<f32>());
            let _ = orthogonalize_backward(&x, &f, &x, &opts).map(|(a, _)| a.to_vec::<f32>());
            let _ = orthogonal_residual_backward(&x, &x, &f, &opts).map(|(a, _)| a.to_vec::<f32>());
            let _ = orthogonal_residual_with_stats(&x, &f, &opts).map(|(_, s)| s.mean());
            let host: Vec<f64> = data.iter().map(|&v| v as f64).collect();
            let _ = reference::orthogonalize(&host, &host, &shape, &opts);
            let _ = reference::vector_stats(&host, &host, &shape, &opts);
        }));
        assert!(
            outcome.is_ok(),
            "case {case}: shape {shape:?} len {len} {opts:?} panicked"
        );
    }
}

/// A random problem: shape, axis, eps, value scales of x and f (powers of ten), seed.
fn problem() -> impl Strategy<Value = (Vec<usize>, Axis, f32, i32, i32, u64)> {
    // Now and then a long last dimension, to reach the wider row plans.
    let shape = (
        prop::collection::vec(1usize..7, 1..5),
        prop::sample::select(vec![1usize, 1, 1, 50, 300]),
    )
        .prop_map(|(mut dims, stretch)| {
            let last = dims.len() - 1;
            dims[last] *= stretch;
            dims
        });
    (
        shape,
        0usize..3,
        0usize..4,
        -20i32..=15,
        -20i32..=15,
        any::<u64>(),
    )
        .prop_flat_map(|(shape, mode, eps_kind, sx, sf, seed)| {
            let rank = shape.len();
            (0..rank).prop_map(move |k| {
                let axis = [Axis::Last, Axis::Dim(k), Axis::From(k)][mode];
                // eps = 0 only where |x|^2 stays a normal f32 (see docs/limits.md).
                let eps = match eps_kind {
                    0 if sx >= -10 => 0.0,
                    1 => 1e-12,
                    2 => 0.5,
                    _ => 1e-6,
                };
                (shape.clone(), axis, eps, sx, sf, seed)
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn fused_equals_reference_on_generated_problems((shape, axis, eps, sx, sf, seed) in problem()) {
        let Some(client) = client() else { return Ok(()) };
        let n: usize = shape.iter().product();
        let opts = Options { eps, axis };
        let (x, xr) = random::<f32>(n, seed, 10f64.powi(sx));
        let (f, fr) = random::<f32>(n, seed ^ 1, 10f64.powi(sf));
        let (xt, ft) = (upload(&client, &x, &shape), upload(&client, &f, &shape));
        let perp = download::<f32>(&orthogonalize(&xt, &ft, &opts).unwrap());
        let res = download::<f32>(&orthogonal_residual(&xt, &ft, &opts).unwrap());
        let want = reference::orthogonalize(&xr, &fr, &shape, &opts).unwrap();
        let terms = forward_terms(&xr, &fr, &shape, &opts, false);
        assert_close_to_terms(&format!("{shape:?} {axis:?} eps {eps} 1e{sx} 1e{sf}"), &perp, &want, &terms, 1e-5);
        // The residual output minus x is f_perp (up to one rounding of each).
        let res_terms = forward_terms(&xr, &fr, &shape, &opts, true);
        let diff: Vec<f64> = res.iter().zip(&xr).map(|(r, x)| r - x).collect();
        assert_close_to_terms("residual - x", &diff, &perp, &res_terms, 1e-5);
    }
}
