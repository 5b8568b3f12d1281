//! The main job: runs the fused orthogonal residual update on the default device, checks it
//! against the f64 reference and prints the error and the throughput.
//!
//! `cargo run --example quickstart` (wgpu: a GPU, or Mesa's software Vulkan on a CPU).
//! Shape: `--vectors N --dim D` (default 8192 x 768, a ViT-B activation batch).

use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use cubecl::Runtime;
use orthoproj::{orthogonal_residual, reference, DeviceTensor, Options, OrthoError};
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), OrthoError> {
    let (vectors, dim) = (arg("--vectors", 8192), arg("--dim", 768));
    let client = WgpuRuntime::client(&WgpuDevice::default());
    println!(
        "device: {} ({:?})",
        WgpuRuntime::name(&client),
        client.info()
    );

    // Deterministic pseudo-random data in [-1, 1): a small LCG keeps the example dependency-free.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    let n = vectors * dim;
    let x: Vec<f32> = (0..n).map(|_| next()).collect();
    let f: Vec<f32> = (0..n).map(|_| next()).collect();
    let shape = [vectors, dim];
    let xt = DeviceTensor::from_slice(&client, &x, &shape)?;
    let ft = DeviceTensor::from_slice(&client, &f, &shape)?;
    let opts = Options::default();

    // Warm up (compiles the kernel), then time a batch of launches between two syncs.
    orthogonal_residual(&xt, &ft, &opts)?.sync()?;
    let runs = 20;
    let start = Instant::now();
    let mut out = orthogonal_residual(&xt, &ft, &opts)?;
    for _ in 1..runs {
        out = orthogonal_residual(&xt, &ft, &opts)?;
    }
    out.sync()?;
    let seconds = start.elapsed().as_secs_f64() / runs as f64;

    let got: Vec<f32> = out.to_vec()?;
    let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let fd: Vec<f64> = f.iter().map(|&v| v as f64).collect();
    let want = reference::orthogonal_residual(&xd, &fd, &shape, &opts)?;
    let diff: f64 = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (*g as f64 - w).powi(2))
        .sum();
    let norm: f64 = want.iter().map(|w| w * w).sum();
    let bytes = 3 * n * std::mem::size_of::<f32>();
    println!("orthogonal_residual f32 {vectors} x {dim}");
    println!(
        "  relative error vs f64 reference: {:.2e}",
        (diff / norm).sqrt()
    );
    println!("  time per call: {:.3} ms", seconds * 1e3);
    println!(
        "  throughput: {:.2} GB/s (reads x and f, writes x_next)",
        bytes as f64 / seconds / 1e9
    );
    Ok(())
}
