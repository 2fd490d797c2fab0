//! `eerd import hf DIR --out runs/base` / `eerd import gguf FILE --out runs/base`: turn a Hugging
//! Face llama-family checkpoint or a llama GGUF file into a checkpoint that
//! `eerd train sft --init` and `eerd export` accept.

use anyhow::Result;
use candle_core::{Device, Var};
use candle_nn::VarMap;
use clap::Subcommand;
use eerd_trainer::checkpoint::{self, TrainState};
use eerd_trainer::data::OrderState;
use eerd_trainer::optim::AdamW;
use eerd_trainer::sft::SftConfig;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd import`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ImportCommand,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// A Hugging Face directory: config.json, *.safetensors, tokenizer.json (llama, mistral,
    /// SmolLM). q/k rows are permuted to the interleaved RoPE layout.
    Hf(HfArgs),
    /// A llama GGUF file (any type candle dequantizes), tokenizer from its metadata.
    Gguf(GgufArgs),
}

#[derive(clap::Args)]
struct GgufArgs {
    /// The GGUF file.
    file: PathBuf,
    /// Output run directory (gets `checkpoints/step-00000000`).
    #[arg(long, short)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct HfArgs {
    /// The checkpoint directory.
    dir: PathBuf,
    /// Output run directory (gets `checkpoints/step-00000000`).
    #[arg(long, short)]
    out: PathBuf,
}

/// Runs `eerd import`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (model, out) = match args.command {
        ImportCommand::Hf(a) => (eerd_trainer::hf::load(&a.dir, &Device::Cpu)?, a.out),
        ImportCommand::Gguf(a) => (eerd_trainer::gguf_import::load(&a.file)?, a.out),
    };
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().expect("varmap lock");
        for (name, t) in &model.weights {
            data.insert(name.clone(), Var::from_tensor(t)?);
        }
    }
    let optimizer = AdamW::new(&varmap, Default::default());
    let state = TrainState {
        format: checkpoint::FORMAT,
        step: 0,
        model: model.config.clone(),
        train: SftConfig::default(),
        order: OrderState {
            epoch: 0,
            cursor: 0,
        },
        tokens_seen: 0,
        data_fingerprint: 0,
    };
    let json = model
        .tokenizer
        .to_string(false)
        .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
    let dir = checkpoint::save(&out, &state, &varmap, None, &optimizer, &json, 0)?;
    eprintln!(
        "imported {} parameters ({} layers, dim {}, vocab {}) into {}",
        eerd_trainer::model::llama::count_params(&varmap),
        model.config.n_layers,
        model.config.dim,
        model.config.vocab_size,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
