//! Helpers shared by the integration tests: the device, seeded data, tolerances, comparison.
#![allow(dead_code)]

use cubecl::prelude::ComputeClient;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use cubecl::Runtime;
use orthoproj::layout::VectorLayout;
use orthoproj::{
    orthogonal_residual, orthogonal_residual_backward, orthogonalize, orthogonalize_backward,
    reference, DType, DeviceTensor, Options, OrthoElement,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub type Client = ComputeClient<WgpuRuntime>;

/// The wgpu device, or `None` when the machine has none. With `ORTHOPROJ_REQUIRE_DEVICE=1`
/// (set by `.ci/run`) a missing device fails the test instead of skipping it.
pub fn client() -> Option<Client> {
    let found = std::panic::catch_unwind(|| WgpuRuntime::client(&WgpuDevice::default())).ok();
    if found.is_none() {
        assert!(
            std::env::var("ORTHOPROJ_REQUIRE_DEVICE").as_deref() != Ok("1"),
            "no wgpu device found and ORTHOPROJ_REQUIRE_DEVICE=1: install a Vulkan driver \
             (Debian: mesa-vulkan-drivers)"
        );
        eprintln!("skipping: no wgpu device (set ORTHOPROJ_REQUIRE_DEVICE=1 to fail instead)");
    }
    found
}

/// Error bound per storage type, relative to the norm of the terms each output sums (see
/// [`forward_terms`], [`backward_terms`]): `|got - want|_2 / |terms|_2`.
///
/// The reference runs in f64 on the same (already rounded) inputs, so the error is the
/// kernel's own: f32 accumulation of the dot products (relative error about `D/units * 6e-8`,
/// under 1e-6 for the lengths tested) plus one rounding of each output to the storage type.
/// Measuring against the terms rather than the result matters where they cancel: for D = 1,
/// `f_perp = f eps / (x^2 + eps)` is nearly 0 while `f` and `s x` are not.
/// - f32: 1e-5, ten times the accumulated error at D = 65537.
/// - f16: 2e-3, four times the unit roundoff of the output (2^-11 = 4.9e-4).
/// - bf16: 1e-2, 2.5 times its unit roundoff (2^-8 = 3.9e-3).
pub fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => 1e-5,
        DType::F16 => 2e-3,
        DType::BF16 => 1e-2,
    }
}

/// Uniform values in `[-scale, scale)`, rounded to `E`, returned both as `E` and as the exact
/// `f64` value of each rounded element.
pub fn random<E: OrthoElement>(n: usize, seed: u64, scale: f64) -> (Vec<E>, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let data: Vec<E> = (0..n)
        .map(|_| E::round_from_f64(rng.random_range(-1.0..1.0) * scale))
        .collect();
    let exact = data.iter().map(|v| v.as_f64()).collect();
    (data, exact)
}

pub fn upload<E: OrthoElement>(
    client: &Client,
    data: &[E],
    shape: &[usize],
) -> DeviceTensor<WgpuRuntime> {
    DeviceTensor::from_slice(client, data, shape).expect("upload")
}

pub fn download<E: OrthoElement>(t: &DeviceTensor<WgpuRuntime>) -> Vec<f64> {
    t.to_vec::<E>()
        .expect("download")
        .iter()
        .map(|v| v.as_f64())
        .collect()
}

/// Relative-norm error of `got` against `want`.
pub fn rel_error(got: &[f64], want: &[f64]) -> f64 {
    let diff: f64 = got.iter().zip(want).map(|(g, w)| (g - w) * (g - w)).sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    if norm == 0.0 {
        diff.sqrt()
    } else {
        (diff / norm).sqrt()
    }
}

/// Fails with a report (error, count of elements off by more than `tol` of the largest
/// magnitude, first indices, NaN/Inf count) when the relative-norm error exceeds `tol`.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    let abs: Vec<f64> = want.iter().map(|w| w.abs()).collect();
    assert_close_to_terms(what, got, want, &abs, tol);
}

/// Per vector `(s, t)` in f64: `s = <x,f>/D`, `t = <g,x>/D` (`g` may be `f` when unused).
fn coefficients(
    x: &[f64],
    f: &[f64],
    g: &[f64],
    layout: &VectorLayout,
    eps: f64,
) -> Vec<(f64, f64)> {
    (0..layout.vectors())
        .map(|v| {
            let (mut xf, mut xx, mut gx) = (0.0, 0.0, 0.0);
            for c in 0..layout.len {
                let i = layout.index(v, c);
                xf += x[i] * f[i];
                xx += x[i] * x[i];
                gx += g[i] * x[i];
            }
            let d = xx + eps;
            if d == 0.0 {
                (0.0, 0.0)
            } else {
                (xf / d, gx / d)
            }
        })
        .collect()
}

/// Magnitude of the terms of each forward output: `|f| + |s x|` (plus `|x|` for the residual).
pub fn forward_terms(
    x: &[f64],
    f: &[f64],
    shape: &[usize],
    opts: &Options,
    residual: bool,
) -> Vec<f64> {
    let layout = VectorLayout::resolve(shape, opts.axis).unwrap();
    let st = coefficients(x, f, f, &layout, opts.eps as f64);
    let mut out = vec![0.0; x.len()];
    for (v, &(s, _)) in st.iter().enumerate() {
        for c in 0..layout.len {
            let i = layout.index(v, c);
            out[i] = f[i].abs() + (s * x[i]).abs() + if residual { x[i].abs() } else { 0.0 };
        }
    }
    out
}

/// Magnitudes of the terms of `(dx, df)`: `|s g| + |t f| + 2 |s t x|` (plus `|g|` for the
/// residual) and `|g| + |t x|`.
pub fn backward_terms(
    x: &[f64],
    f: &[f64],
    g: &[f64],
    shape: &[usize],
    opts: &Options,
    residual: bool,
) -> (Vec<f64>, Vec<f64>) {
    let layout = VectorLayout::resolve(shape, opts.axis).unwrap();
    let st = coefficients(x, f, g, &layout, opts.eps as f64);
    let (mut dx, mut df) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    for (v, &(s, t)) in st.iter().enumerate() {
        for c in 0..layout.len {
            let i = layout.index(v, c);
            dx[i] = (s * g[i]).abs()
                + (t * f[i]).abs()
                + 2.0 * (s * t * x[i]).abs()
                + if residual { g[i].abs() } else { 0.0 };
            df[i] = g[i].abs() + (t * x[i]).abs();
        }
    }
    (dx, df)
}

/// Fails with a report when `|got - want|_2 > tol * |terms|_2` or any output is NaN/Inf: the
/// error, how many elements are off by more than `tol` times their own terms, the first of
/// them, and the NaN/Inf count.
pub fn assert_close_to_terms(what: &str, got: &[f64], want: &[f64], terms: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|a| a * a).sum::<f64>().sqrt();
    let diff = norm(&mut got.iter().zip(want).map(|(g, w)| g - w));
    let scale = norm(&mut terms.iter().copied());
    let non_finite = got.iter().filter(|v| !v.is_finite()).count();
    if diff <= tol * scale && non_finite == 0 {
        return;
    }
    let bad: Vec<usize> = (0..got.len())
        // NaN differences count as off.
        .filter(|&i| (got[i] - want[i]).abs().is_nan() || (got[i] - want[i]).abs() > tol * terms[i])
        .collect();
    let first: Vec<String> = bad
        .iter()
        .take(5)
        .map(|&i| format!("[{i}] got {} want {}", got[i], want[i]))
        .collect();
    panic!(
        "{what}: error {:.3e} of the terms' norm > {tol:.1e}; {} of {} elements off, \
         {non_finite} NaN/Inf; first: {}",
        diff / scale,
        bad.len(),
        got.len(),
        first.join(", ")
    );
}

/// Both forward forms on random data (seeds `seed`, `seed + 1`) against the reference.
pub fn forward_matches_reference<E: OrthoElement>(
    client: &Client,
    shape: &[usize],
    opts: &Options,
    seed: u64,
) {
    let n: usize = shape.iter().product();
    let (x, xr) = random::<E>(n, seed, 1.0);
    let (f, fr) = random::<E>(n, seed + 1, 1.0);
    let (xt, ft) = (upload(client, &x, shape), upload(client, &f, shape));
    for residual in [false, true] {
        let (got, want) = if residual {
            (
                orthogonal_residual(&xt, &ft, opts),
                reference::orthogonal_residual(&xr, &fr, shape, opts),
            )
        } else {
            (
                orthogonalize(&xt, &ft, opts),
                reference::orthogonalize(&xr, &fr, shape, opts),
            )
        };
        let terms = forward_terms(&xr, &fr, shape, opts, residual);
        let what = format!(
            "fwd {} {shape:?} {:?} seed {seed} residual={residual}",
            E::DTYPE,
            opts.axis
        );
        assert_close_to_terms(
            &what,
            &download::<E>(&got.unwrap()),
            &want.unwrap(),
            &terms,
            tolerance(E::DTYPE),
        );
    }
}

/// Both backward forms on random data (seeds `seed` to `seed + 2`) against the reference.
pub fn backward_matches_reference<E: OrthoElement>(
    client: &Client,
    shape: &[usize],
    opts: &Options,
    seed: u64,
) {
    let n: usize = shape.iter().product();
    let (x, xr) = random::<E>(n, seed, 1.0);
    let (f, fr) = random::<E>(n, seed + 1, 1.0);
    let (g, gr) = random::<E>(n, seed + 2, 1.0);
    let (xt, ft, gt) = (
        upload(client, &x, shape),
        upload(client, &f, shape),
        upload(client, &g, shape),
    );
    for residual in [false, true] {
        let ((dx, df), (rdx, rdf)) = if residual {
            (
                orthogonal_residual_backward(&xt, &ft, &gt, opts).unwrap(),
                reference::orthogonal_residual_backward(&xr, &fr, &gr, shape, opts).unwrap(),
            )
        } else {
            (
                orthogonalize_backward(&xt, &ft, &gt, opts).unwrap(),
                reference::orthogonalize_backward(&xr, &fr, &gr, shape, opts).unwrap(),
            )
        };
        let (tdx, tdf) = backward_terms(&xr, &fr, &gr, shape, opts, residual);
        let what = format!(
            "{} {shape:?} {:?} seed {seed} residual={residual}",
            E::DTYPE,
            opts.axis
        );
        let tol = tolerance(E::DTYPE);
        assert_close_to_terms(&format!("dx {what}"), &download::<E>(&dx), &rdx, &tdx, tol);
        assert_close_to_terms(&format!("df {what}"), &download::<E>(&df), &rdf, &tdf, tol);
    }
}
