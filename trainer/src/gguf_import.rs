//! Importing a llama GGUF file (F32, F16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, … — every type candle
//! dequantizes) as the f32 base of a fine-tuning run, with the tokenizer from its metadata.
//!
//! GGUF stores q/k rows in the interleaved RoPE layout, this crate's own, so they are taken as
//! they are; grouped-query attention and a tied output layer (no `output.weight`) are read from
//! the shapes. The shape is read by the runtime's [`Config::read`], the tokenizer by its
//! [`tokenizer_from_gguf`]: one reading of a GGUF for the runtime and the trainer.

use crate::hf::{complete_base, HfModel};
use crate::model::llama::tensor_shapes;
use crate::model::ModelConfig;
use anyhow::{Context, Result};
use candle_core::quantized::gguf_file;
use candle_core::Device;
use eerd::runtime::{tokenizer_from_gguf, Config};
use std::collections::HashMap;
use std::path::Path;

/// Reads a llama GGUF file as an f32 base model.
pub fn load(path: &Path) -> Result<HfModel> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let source = path.display().to_string();
    let mut reader = std::io::Cursor::new(&bytes[..]);
    let content = gguf_file::Content::read(&mut reader)
        .map_err(|e| anyhow::anyhow!("{source}: {}", e.to_string().lines().next().unwrap_or("")))?;
    let shape = Config::read(&content).with_context(|| source.clone())?;
    let config = ModelConfig {
        vocab_size: shape.vocab,
        dim: shape.dim,
        n_layers: shape.layers,
        n_heads: shape.heads,
        n_kv_heads: shape.kv_heads,
        ffn_dim: shape.ffn,
        max_seq_len: shape.context_length.min(4096),
        rope_theta: shape.rope_base,
        norm_eps: shape.eps,
        tie_embeddings: !content.tensor_infos.contains_key("output.weight"),
    };
    config.validate()?;
    let mut weights = HashMap::new();
    for (name, _) in tensor_shapes(&config) {
        if !content.tensor_infos.contains_key(&name) {
            anyhow::bail!("{source}: no tensor `{name}`");
        }
        let t = content
            .tensor(&mut reader, &name, &Device::Cpu)
            .and_then(|q| q.dequantize(&Device::Cpu))
            .with_context(|| format!("{source}: tensor `{name}`"))?;
        weights.insert(name, t);
    }
    let tokenizer = tokenizer_from_gguf(&content).with_context(|| source.clone())?;
    complete_base(config, weights, tokenizer, &source)
}
