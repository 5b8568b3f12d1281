//! Trains a small pre-LayerNorm Vision Transformer twice on a synthetic image task, once with
//! ordinary residual updates (`x + f`) and once with orthogonal ones (`x + f_perp`), and
//! compares them.
//!
//! `cargo run --release --example train --features burn [-- --steps 150 --svg train-loss.svg]`
//!
//! The task: 16 x 16 grey images holding one bar (horizontal, vertical, or either diagonal) at
//! a random place, plus noise; the class is the bar's orientation. Both runs start from the
//! same weights and see the same batches. Runs on the default wgpu device (a GPU, or Mesa's
//! software Vulkan on a CPU), where the orthogonal updates use the fused kernels.

use burn::backend::{Autodiff, Wgpu};
use burn::module::{AutodiffModule, Module};
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{
    Embedding, EmbeddingConfig, Gelu, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use orthoproj::burn::{stats_mean, OrthoBackend, OrthoResidual};
use orthoproj::{Options, OrthoError, VectorStats};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;

const IMAGE: usize = 16;
const PATCH: usize = 4;
const TOKENS: usize = (IMAGE / PATCH) * (IMAGE / PATCH);
const CLASSES: usize = 4;
const DIM: usize = 48;
const HEADS: usize = 4;
const BLOCKS: usize = 2;
const BATCH: usize = 32;
const LEARNING_RATE: f64 = 2e-3;

/// One pre-LN block: `x + attn(ln(x))` then `x + mlp(ln(x))`, each sum through `residual`.
#[derive(Module, Debug)]
struct Block<B: Backend> {
    norm1: LayerNorm<B>,
    attn: MultiHeadAttention<B>,
    norm2: LayerNorm<B>,
    fc1: Linear<B>,
    fc2: Linear<B>,
    gelu: Gelu,
    #[module(skip)]
    residual: OrthoResidual,
}

/// Statistics of one residual connection: mean cos(x, f), mean |f_par| / |x|, mean |x|.
#[derive(Debug, Clone, Copy, Default)]
struct BlockStats {
    cosine: f64,
    parallel: f64,
    stream: f64,
}

impl From<VectorStats> for BlockStats {
    fn from(s: VectorStats) -> Self {
        Self {
            cosine: s.cosine,
            parallel: s.parallel_ratio.sqrt(),
            stream: s.x_sq_norm.sqrt(),
        }
    }
}

impl<B: OrthoBackend> Block<B> {
    fn forward(
        &self,
        x: Tensor<B, 3>,
        stats: Option<&mut Vec<BlockStats>>,
    ) -> Result<Tensor<B, 3>, OrthoError> {
        let f = self
            .attn
            .forward(MhaInput::self_attn(self.norm1.forward(x.clone())))
            .context;
        let mut log = stats;
        if let Some(log) = log.as_deref_mut() {
            log.push(stats_mean(x.clone(), f.clone(), &Options::default())?.into());
        }
        let x = self.residual.forward(x, f)?;
        let f = self.fc2.forward(
            self.gelu
                .forward(self.fc1.forward(self.norm2.forward(x.clone()))),
        );
        if let Some(log) = log {
            log.push(stats_mean(x.clone(), f.clone(), &Options::default())?.into());
        }
        self.residual.forward(x, f)
    }
}

#[derive(Module, Debug)]
struct Vit<B: Backend> {
    embed: Linear<B>,
    position: Embedding<B>,
    blocks: Vec<Block<B>>,
    norm: LayerNorm<B>,
    head: Linear<B>,
}

impl<B: OrthoBackend> Vit<B> {
    fn new(residual: OrthoResidual, device: &B::Device) -> Self {
        let block = || Block {
            norm1: LayerNormConfig::new(DIM).init(device),
            attn: MultiHeadAttentionConfig::new(DIM, HEADS).init(device),
            norm2: LayerNormConfig::new(DIM).init(device),
            fc1: LinearConfig::new(DIM, 4 * DIM).init(device),
            fc2: LinearConfig::new(4 * DIM, DIM).init(device),
            gelu: Gelu::new(),
            residual,
        };
        Self {
            embed: LinearConfig::new(PATCH * PATCH, DIM).init(device),
            // Small positional embeddings, as in ViT: with unit-variance ones (|p| ~ 7 here) the
            // patch signal starts swamped and neither run left chance level in 150 steps.
            position: EmbeddingConfig::new(TOKENS, DIM)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 0.02,
                })
                .init(device),
            blocks: (0..BLOCKS).map(|_| block()).collect(),
            norm: LayerNormConfig::new(DIM).init(device),
            head: LinearConfig::new(DIM, CLASSES).init(device),
        }
    }

    /// `patches`: `[batch, tokens, patch pixels]`. Returns logits and, when asked, the
    /// statistics of every residual connection in order.
    fn forward(
        &self,
        patches: Tensor<B, 3>,
        mut stats: Option<&mut Vec<BlockStats>>,
    ) -> Result<Tensor<B, 2>, OrthoError> {
        let [batch, _, _] = patches.dims();
        let device = patches.device();
        let ids = Tensor::<B, 1, Int>::arange(0..TOKENS as i64, &device)
            .reshape([1, TOKENS])
            .repeat_dim(0, batch);
        let mut x = self.embed.forward(patches) + self.position.forward(ids);
        for block in &self.blocks {
            x = block.forward(x, stats.as_deref_mut())?;
        }
        let pooled = self.norm.forward(x).mean_dim(1).reshape([batch, DIM]);
        Ok(self.head.forward(pooled))
    }
}

/// A batch of images cut into patches, `[batch, tokens, 16]`, and their labels.
fn batch(rng: &mut StdRng, n: usize) -> (Vec<f32>, Vec<i64>) {
    let mut pixels = vec![0.0f32; n * IMAGE * IMAGE];
    let mut labels = Vec::with_capacity(n);
    for b in 0..n {
        let class = rng.random_range(0..CLASSES);
        let (r0, c0) = (
            rng.random_range(3..IMAGE - 3) as i64,
            rng.random_range(3..IMAGE - 3) as i64,
        );
        let (dr, dc) = [(0, 1), (1, 0), (1, 1), (1, -1)][class];
        let image = &mut pixels[b * IMAGE * IMAGE..(b + 1) * IMAGE * IMAGE];
        for p in image.iter_mut() {
            *p = rng.random_range(-0.3..0.3);
        }
        for k in -3i64..=3 {
            let (r, c) = (r0 + k * dr, c0 + k * dc);
            image[r as usize * IMAGE + c as usize] += 1.0;
        }
        labels.push(class as i64);
    }
    // Reorder pixels so each token's 4 x 4 patch is contiguous.
    let mut patches = vec![0.0f32; pixels.len()];
    let per_row = IMAGE / PATCH;
    for b in 0..n {
        for t in 0..TOKENS {
            for k in 0..PATCH * PATCH {
                let (r, c) = (
                    (t / per_row) * PATCH + k / PATCH,
                    (t % per_row) * PATCH + k % PATCH,
                );
                patches[(b * TOKENS + t) * PATCH * PATCH + k] =
                    pixels[b * IMAGE * IMAGE + r * IMAGE + c];
            }
        }
    }
    (patches, labels)
}

fn tensors<B: Backend>(
    data: (Vec<f32>, Vec<i64>),
    device: &B::Device,
) -> (Tensor<B, 3>, Tensor<B, 1, Int>) {
    let n = data.1.len();
    let x = Tensor::from_data(TensorData::new(data.0, [n, TOKENS, PATCH * PATCH]), device);
    let y = Tensor::from_data(TensorData::new(data.1, [n]), device);
    (x, y)
}

struct RunResult {
    name: &'static str,
    losses: Vec<f32>,
    accuracy: f64,
    stats: Vec<BlockStats>,
}

fn train<B: AutodiffBackend + OrthoBackend>(
    name: &'static str,
    residual: OrthoResidual,
    steps: usize,
    device: &B::Device,
) -> Result<RunResult, OrthoError>
where
    B::InnerBackend: OrthoBackend,
{
    B::seed(device, 7);
    let mut model = Vit::<B>::new(residual, device);
    let mut optim = AdamWConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut rng = StdRng::seed_from_u64(11);
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let (x, y) = tensors::<B>(batch(&mut rng, BATCH), device);
        let loss = loss_fn.forward(model.forward(x, None)?, y);
        let value: f32 = loss.clone().into_scalar().elem();
        losses.push(value);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(LEARNING_RATE, model, grads);
        let done = (step + 1) * 30 / steps;
        eprint!(
            "\r{name:>10} [{}{}] {:>4}/{steps} loss {value:.3}",
            "#".repeat(done),
            ".".repeat(30 - done),
            step + 1
        );
        std::io::stderr().flush().ok();
    }
    eprintln!();
    // Held-out accuracy and statistics on 512 fresh images, without autodiff.
    let valid = model.valid();
    let mut eval_rng = StdRng::seed_from_u64(99);
    let (x, y) = tensors::<B::InnerBackend>(batch(&mut eval_rng, 512), device);
    let mut stats = Vec::new();
    let logits = valid.forward(x, Some(&mut stats))?;
    let correct: i64 = logits
        .argmax(1)
        .reshape([512])
        .equal(y)
        .int()
        .sum()
        .into_scalar()
        .elem();
    Ok(RunResult {
        name,
        losses,
        accuracy: correct as f64 / 512.0,
        stats,
    })
}

/// Both loss curves (smoothed over 10 steps) as an SVG.
fn plot(runs: &[RunResult], path: &str) -> std::io::Result<()> {
    let (w, h, pad) = (640.0, 360.0, 50.0);
    let smooth = |l: &[f32]| -> Vec<f32> {
        (0..l.len())
            .map(|i| {
                let s = &l[i.saturating_sub(9)..=i];
                s.iter().sum::<f32>() / s.len() as f32
            })
            .collect()
    };
    let curves: Vec<Vec<f32>> = runs.iter().map(|r| smooth(&r.losses)).collect();
    let top = curves.iter().flatten().fold(0.0f32, |m, &v| m.max(v)) * 1.05;
    let n = curves[0].len().max(2) as f32;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\"><rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n<text x=\"{}\" y=\"20\" text-anchor=\"middle\">training loss (10-step mean) against step</text>\n<line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>\n<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{top:.2}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n", w / 2.0, h - pad, w - pad, h - pad, h - pad, w - pad - 20.0, h - pad + 16.0, n as usize, pad - 4.0, pad + 4.0, pad - 4.0, h - pad);
    for (i, (run, c)) in runs.iter().zip(&curves).enumerate() {
        let color = ["#d62728", "#1f77b4"][i % 2];
        let pts: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                format!(
                    "{:.1},{:.1}",
                    pad + k as f32 / (n - 1.0) * (w - 2.0 * pad),
                    h - pad - v / top * (h - 2.0 * pad)
                )
            })
            .collect();
        svg += &format!("<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>\n<text x=\"{}\" y=\"{}\" fill=\"{color}\">{}</text>\n", pts.join(" "), w - pad - 120.0, pad + 16.0 * i as f32, run.name);
    }
    svg += "</svg>\n";
    std::fs::write(path, svg)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), OrthoError> {
    let steps: usize = arg("--steps").and_then(|s| s.parse().ok()).unwrap_or(150);
    let svg = arg("--svg").unwrap_or_else(|| "train-loss.svg".into());
    type B = Autodiff<Wgpu>;
    let device = Default::default();
    println!("ViT: {BLOCKS} blocks, width {DIM}, {HEADS} heads, {TOKENS} patches of {PATCH}x{PATCH}; {steps} steps of {BATCH} images; AdamW lr {LEARNING_RATE}");
    let runs = [
        train::<B>("linear", OrthoResidual::linear(), steps, &device)?,
        train::<B>(
            "orthogonal",
            OrthoResidual::orthogonal(Options::default()),
            steps,
            &device,
        )?,
    ];
    println!(
        "\n{:>10} | final loss (mean of last 20) | held-out accuracy (512 images)",
        "residual"
    );
    for r in &runs {
        let tail = &r.losses[r.losses.len().saturating_sub(20)..];
        println!(
            "{:>10} | {:>28.4} | {:>6.1}%",
            r.name,
            tail.iter().sum::<f32>() / tail.len() as f32,
            r.accuracy * 100.0
        );
    }
    println!("\nper residual connection on the held-out batch: mean cos(x,f) | mean |f_par|/|x| | mean |x|");
    for r in &runs {
        println!("{}:", r.name);
        for (k, s) in r.stats.iter().enumerate() {
            let part = if k % 2 == 0 { "attn" } else { "mlp " };
            println!(
                "  block {} {part}  {:>+7.4} | {:>7.4} | {:>8.3}",
                k / 2,
                s.cosine,
                s.parallel,
                s.stream
            );
        }
    }
    plot(&runs, &svg).map_err(|e| OrthoError::Runtime {
        message: format!("writing {svg}: {e}"),
    })?;
    println!("\nwrote {svg}");
    Ok(())
}
