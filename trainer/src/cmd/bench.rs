//! `eerd bench train --preset 8m`: measure training throughput (tokens per second) on
//! synthetic data with the same code path as `eerd train sft`; `eerd bench generate`: the
//! runtime's speed ([`super::bench_generate`]).

use anyhow::Result;
use candle_core::{Device, Tensor};
use clap::Subcommand;
use eerd_trainer::model::llama::{count_params, init_varmap};
use eerd_trainer::model::lora::{init_adapters, LoraConfig};
use eerd_trainer::model::{Llama, ModelConfig};
use eerd_trainer::optim::{AdamW, AdamWConfig};
use eerd_trainer::rng::Rng;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `eerd bench`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time forward + cross-entropy + backward + AdamW steps on random tokens.
    Train(TrainArgs),
    /// Prefill and decode speed of the runtime on a GGUF, beside llama.cpp's.
    Generate(super::bench_generate::GenerateArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Model size: tiny, 2m, 8m or 24m.
    #[arg(long, default_value = "8m")]
    preset: String,
    /// Vocabulary size.
    #[arg(long, default_value_t = 4096)]
    vocab: usize,
    /// Sequences per step.
    #[arg(long, default_value_t = 4)]
    batch_size: usize,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 256)]
    seq_len: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Untimed warmup steps.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// CPU threads (default: `CANDLE_NUM_THREADS`, else 1).
    #[arg(long)]
    threads: Option<usize>,
    /// Train rank-R LoRA adapters on frozen weights instead of all weights.
    #[arg(long)]
    lora_rank: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Also print the median time of each phase of a step (the JSON always has them).
    #[arg(long)]
    phases: bool,
}

/// The median of `xs` (0 when empty).
fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs `eerd bench`.
pub fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        BenchCommand::Train(a) => bench_train(a),
        BenchCommand::Generate(a) => super::bench_generate::bench_generate(a),
    }
}

fn bench_train(a: TrainArgs) -> Result<ExitCode> {
    let threads = eerd_trainer::threads::configure(a.threads);
    let device = Device::Cpu;
    let mut config = ModelConfig::preset(&a.preset, a.vocab)?;
    config.max_seq_len = config.max_seq_len.max(a.seq_len);
    let varmap = init_varmap(&config, 1, &device)?;
    let lora = a.lora_rank.filter(|&r| r > 0).map(|rank| LoraConfig {
        rank,
        alpha: 2.0 * rank as f64,
    });
    let adapters = match &lora {
        Some(l) => Some(init_adapters(&config, l, 1, &device)?),
        None => None,
    };
    let model = match (&adapters, &lora) {
        (Some(ad), Some(l)) => Llama::with_lora(config.clone(), &varmap, ad, l, &device)?,
        _ => Llama::new(config.clone(), &varmap, &device)?,
    };
    let mut opt = AdamW::new(adapters.as_ref().unwrap_or(&varmap), AdamWConfig::default());
    let mut rng = Rng::new(7);
    let n = a.batch_size * a.seq_len;
    // Seconds of each phase of every step: forward + loss, backward, gradient accumulation,
    // optimizer update.
    let mut phases: [Vec<f64>; 4] = Default::default();
    let mut step = |phases: &mut [Vec<f64>; 4]| -> Result<()> {
        let ids: Vec<u32> = (0..n).map(|_| rng.below(a.vocab) as u32).collect();
        let targets: Vec<u32> = (0..n).map(|_| rng.below(a.vocab) as u32).collect();
        let shape = (a.batch_size, a.seq_len);
        let ids = Tensor::from_vec(ids, shape, &device)?;
        let targets = Tensor::from_vec(targets, shape, &device)?;
        let weights = Tensor::ones(shape, candle_core::DType::F32, &device)?;
        let mut clock = Instant::now();
        let mut lap = |phase: usize| {
            let now = Instant::now();
            phases[phase].push((now - clock).as_secs_f64());
            clock = now;
        };
        let loss = model.loss_sum(&ids, &targets, &weights)?;
        lap(0);
        let grads = loss.backward()?;
        lap(1);
        opt.accumulate(&grads)?;
        lap(2);
        opt.step(1e-4, 1.0 / n as f64, 1.0)?;
        lap(3);
        Ok(())
    };
    for _ in 0..a.warmup {
        step(&mut phases)?;
    }
    phases.iter_mut().for_each(Vec::clear);
    let started = Instant::now();
    for _ in 0..a.steps {
        step(&mut phases)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let tps = (a.steps * n) as f64 / secs;
    let medians: Vec<f64> = phases.iter_mut().map(|p| median(p)).collect();
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "framework": "candle",
                "preset": a.preset,
                "params": count_params(&varmap),
                "batch_size": a.batch_size,
                "seq_len": a.seq_len,
                "threads": threads,
                "lora_rank": a.lora_rank,
                "steps": a.steps,
                "seconds": secs,
                "tokens_per_s": tps,
                "kernels": format!("{:?}", model.kernels()).to_lowercase(),
                "phase_median_s": {
                    "forward": medians[0],
                    "backward": medians[1],
                    "accumulate": medians[2],
                    "update": medians[3],
                },
            })
        );
    } else {
        println!(
            "candle: preset {}{} ({} params), batch {}×{}, {threads} thread(s): {:.0} tok/s ({:.3} s/step)",
            a.preset,
            a.lora_rank.map_or(String::new(), |r| format!(" LoRA r={r}")),
            count_params(&varmap),
            a.batch_size,
            a.seq_len,
            tps,
            secs / a.steps as f64
        );
        if a.phases {
            let names = ["forward + loss", "backward", "accumulate", "AdamW update"];
            for (name, m) in names.iter().zip(&medians) {
                println!("  {name:<15} {:>9.1} ms (median)", m * 1e3);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
