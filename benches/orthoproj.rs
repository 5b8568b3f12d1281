//! Fused kernels against the unfused composition and against copies of the same bytes.
//!
//! Groups are named `<fwd|bwd>/<dtype>/<shape>`; each has `fused`, `unfused` and `copy`
//! (forward groups also `orthogonalize+add`, the residual done as two launches). Throughput is
//! the bytes the fused kernel must move: forward reads x and f and writes one tensor
//! (3 x elements x size), backward reads x, f, g and writes dx, df (5 x elements x size).
//! `copy / fused` time is the fraction of achievable bandwidth the fused kernel reaches.
//!
//! `cargo bench --bench orthoproj` runs on the default wgpu device. With `--features cuda` and
//! `ORTHOPROJ_BENCH_RUNTIME=cuda` it runs on CUDA device 0, and adds the shape of the H200
//! bandwidth target (16384 x 4096). `-- fwd/f32` filters by name.
//!
//! Sampling is flat with 10 samples (criterion's minimum), 0.5 s warm-up and 1 s measurement
//! per benchmark, and no plots, so the whole suite (f32 and f16) fits in 10 minutes on a
//! 2-core CPU Vulkan device, where one sample is a single launch of 20 ms to 2 s. On a GPU
//! the same settings give thousands of launches per sample. Inputs are made, and fused results
//! checked against the unfused chain, only for benchmarks that pass the name filter. Shapes
//! past the device's largest buffer are skipped with a message (llvmpipe allows 128 MiB:
//! 16384 x 8192 in f32 and f16, and the NCHW map in f32, do not fit).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use cubecl::prelude::{ComputeClient, Runtime};
use orthoproj::baseline::{
    copy_backward_bytes, copy_forward_bytes, unfused_orthogonalize, unfused_orthogonalize_backward,
};
use orthoproj::{
    orthogonal_residual, orthogonal_residual_backward, orthogonalize, orthogonalize_backward, Axis,
    DeviceTensor, Options, OrthoElement,
};
use std::cell::OnceCell;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

type Shape = (&'static str, &'static [usize], Axis);

/// Token vectors, an NCHW map (channel mode), per-sample vectors.
const SHAPES: [Shape; 6] = [
    ("8192x768", &[8192, 768], Axis::Last),
    ("4096x4096", &[4096, 4096], Axis::Last),
    ("65536x64", &[65536, 64], Axis::Last),
    ("16384x8192", &[16384, 8192], Axis::Last),
    ("nchw-64x256x56x56", &[64, 256, 56, 56], Axis::Dim(1)),
    ("sample-32x512x28x28", &[32, 512, 28, 28], Axis::From(1)),
];

/// The shape of the H200 target (at least 3.8 TB/s forward). Timed on CUDA only: on the
/// software Vulkan device its f16 form would add minutes to a suite that must stay short.
#[cfg(feature = "cuda")]
const CUDA_TARGET_SHAPE: Shape = ("16384x4096", &[16384, 4096], Axis::Last);

/// Random values in [-1, 1): zeros can run faster on some hardware.
fn random<E: OrthoElement>(n: usize, seed: u64) -> Vec<E> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            E::round_from_f64((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        })
        .collect()
}

/// Times `iters` launches between two device syncs.
fn timed<R: Runtime, T>(t: &DeviceTensor<R>, iters: u64, mut op: impl FnMut() -> T) -> Duration {
    t.sync().expect("sync");
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(op());
    }
    t.sync().expect("sync");
    start.elapsed()
}

/// Relative-norm difference of two device tensors, for the pre-timing correctness check.
fn rel_diff<R: Runtime, E: OrthoElement>(a: &DeviceTensor<R>, b: &DeviceTensor<R>) -> f64 {
    let (a, b) = (
        a.to_vec::<E>().expect("read"),
        b.to_vec::<E>().expect("read"),
    );
    let (mut diff, mut norm) = (0.0, 0.0);
    for (x, y) in a.iter().zip(&b) {
        let (x, y) = (x.as_f64(), y.as_f64());
        diff += (x - y) * (x - y);
        norm += y * y;
    }
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}

/// One shape's device inputs, made on first use so that benchmarks filtered out by name cost
/// nothing, and checked once (fused against unfused) before anything is timed.
struct Case<'a, R: Runtime, E: OrthoElement> {
    client: &'a ComputeClient<R>,
    name: &'static str,
    shape: &'static [usize],
    opts: Options,
    inputs: OnceCell<[DeviceTensor<R>; 3]>,
    _dtype: PhantomData<E>,
}

impl<R: Runtime, E: OrthoElement> Case<'_, R, E> {
    /// x, f and g, uploaded and verified on first call.
    fn inputs(&self) -> &[DeviceTensor<R>; 3] {
        self.inputs.get_or_init(|| {
            let n: usize = self.shape.iter().product();
            let upload = |seed| {
                DeviceTensor::from_slice(self.client, &random::<E>(n, seed), self.shape)
                    .expect("upload")
            };
            let [x, f, g] = [upload(1), upload(2), upload(3)];
            let tol = if E::DTYPE.size() == 4 { 1e-5 } else { 1e-2 };
            let opts = &self.opts;
            let fused = orthogonalize(&x, &f, opts).expect("fused");
            let unfused = unfused_orthogonalize(&x, &f, opts).expect("unfused");
            let err = rel_diff::<R, E>(&unfused, &fused);
            assert!(
                err < tol,
                "fwd {}: fused and unfused differ by {err:e}",
                self.name
            );
            let (dx, df) = orthogonalize_backward(&x, &f, &g, opts).expect("fused bwd");
            let (udx, udf) = unfused_orthogonalize_backward(&x, &f, &g, opts).expect("unfused bwd");
            let err = rel_diff::<R, E>(&udx, &dx).max(rel_diff::<R, E>(&udf, &df));
            assert!(
                err < tol,
                "bwd {}: fused and unfused differ by {err:e}",
                self.name
            );
            [x, f, g]
        })
    }
}

fn bench_dtype<R: Runtime, E: OrthoElement>(
    c: &mut Criterion,
    client: &ComputeClient<R>,
    shapes: &[Shape],
) {
    let size = E::DTYPE.size() as u64;
    let max_bytes = client.properties().memory.max_page_size;
    for &(name, shape, axis) in shapes {
        let n: usize = shape.iter().product();
        if n as u64 * size > max_bytes {
            eprintln!(
                "skipping {}/{name}: {} bytes per tensor exceed this device's largest buffer \
                 ({max_bytes} bytes)",
                E::DTYPE,
                n as u64 * size
            );
            continue;
        }
        let case = Case::<R, E> {
            client,
            name,
            shape,
            opts: Options { eps: 1e-6, axis },
            inputs: OnceCell::new(),
            _dtype: PhantomData,
        };
        let opts = &case.opts;

        let mut group = c.benchmark_group(format!("fwd/{}/{name}", E::DTYPE));
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Bytes(3 * n as u64 * size));
        group.bench_function("fused", |b| {
            let [x, f, _] = case.inputs();
            b.iter_custom(|it| timed(x, it, || orthogonalize(x, f, opts).expect("fused")))
        });
        group.bench_function("fused_residual", |b| {
            let [x, f, _] = case.inputs();
            b.iter_custom(|it| timed(x, it, || orthogonal_residual(x, f, opts).expect("fused")))
        });
        group.bench_function("orthogonalize+add", |b| {
            let [x, f, _] = case.inputs();
            b.iter_custom(|it| {
                timed(x, it, || {
                    let perp = orthogonalize(x, f, opts).expect("fused");
                    copy_forward_bytes(x, &perp).expect("add")
                })
            })
        });
        group.bench_function("unfused", |b| {
            let [x, f, _] = case.inputs();
            b.iter_custom(|it| {
                timed(x, it, || {
                    unfused_orthogonalize(x, f, opts).expect("unfused")
                })
            })
        });
        group.bench_function("copy", |b| {
            let [x, f, _] = case.inputs();
            b.iter_custom(|it| timed(x, it, || copy_forward_bytes(x, f).expect("copy")))
        });
        group.finish();

        let mut group = c.benchmark_group(format!("bwd/{}/{name}", E::DTYPE));
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Bytes(5 * n as u64 * size));
        group.bench_function("fused", |b| {
            let [x, f, g] = case.inputs();
            b.iter_custom(|it| {
                timed(x, it, || {
                    orthogonalize_backward(x, f, g, opts).expect("fused")
                })
            })
        });
        group.bench_function("fused_residual", |b| {
            let [x, f, g] = case.inputs();
            b.iter_custom(|it| {
                timed(x, it, || {
                    orthogonal_residual_backward(x, f, g, opts).expect("fused")
                })
            })
        });
        group.bench_function("unfused", |b| {
            let [x, f, g] = case.inputs();
            b.iter_custom(|it| {
                timed(x, it, || {
                    unfused_orthogonalize_backward(x, f, g, opts).expect("unfused")
                })
            })
        });
        group.bench_function("copy", |b| {
            let [x, f, g] = case.inputs();
            b.iter_custom(|it| timed(x, it, || copy_backward_bytes(x, f, g).expect("copy")))
        });
        group.finish();
    }
}

fn bench_runtime<R: Runtime>(c: &mut Criterion, client: ComputeClient<R>, shapes: &[Shape]) {
    // f32 and bf16 first: the H200 target names them, and the GPU run cuts what is left when
    // its time is up. Each dtype runs only where the device supports it (llvmpipe: f16 yes,
    // bf16 no).
    bench_dtype::<R, f32>(c, &client, shapes);
    if DeviceTensor::from_slice(&client, &[half::bf16::ZERO], &[1]).is_ok() {
        bench_dtype::<R, half::bf16>(c, &client, shapes);
    }
    if DeviceTensor::from_slice(&client, &[half::f16::ZERO], &[1]).is_ok() {
        bench_dtype::<R, half::f16>(c, &client, shapes);
    }
}

fn benches(c: &mut Criterion) {
    #[cfg(feature = "cuda")]
    if std::env::var("ORTHOPROJ_BENCH_RUNTIME").as_deref() == Ok("cuda") {
        use cubecl::cuda::{CudaDevice, CudaRuntime};
        // The target shape first, for the same reason.
        let mut shapes = vec![CUDA_TARGET_SHAPE];
        shapes.extend(SHAPES);
        return bench_runtime(c, CudaRuntime::client(&CudaDevice::new(0)), &shapes);
    }
    #[cfg(feature = "wgpu")]
    {
        use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
        bench_runtime(c, WgpuRuntime::client(&WgpuDevice::default()), &SHAPES);
    }
}

criterion_group! {
    name = orthoproj;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .without_plots();
    targets = benches
}
criterion_main!(orthoproj);
