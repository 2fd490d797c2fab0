//! Importing a Hugging Face llama-family checkpoint directory (`config.json`,
//! `*.safetensors`, `tokenizer.json`; `model_type` llama, mistral or SmolLM's llama) as the base
//! of a fine-tuning run.
//!
//! Hugging Face stores q/k projection rows in the half-split RoPE layout (dimension `i` pairs
//! with `i + head_dim/2`); this model uses the interleaved layout (`2i` with `2i+1`), so q and k
//! rows are permuted on import, as llama.cpp's converter does. The tokenizer gets the four
//! special tokens of [`crate::tokenizer`] if it lacks them; the embedding (and output) matrix
//! grows by the same number of rows, initialised to the mean embedding.

use crate::model::llama::tensor_shapes;
use crate::model::ModelConfig;
use crate::tokenizer::{Specials, SPECIAL_TOKENS};
use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use tokenizers::{AddedToken, Tokenizer};

/// The fields of a Hugging Face `config.json` that matter here.
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: Option<String>,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    intermediate_size: usize,
    vocab_size: usize,
    #[serde(default)]
    max_position_embeddings: Option<usize>,
    #[serde(default)]
    rope_theta: Option<f32>,
    #[serde(default)]
    rms_norm_eps: Option<f32>,
    #[serde(default)]
    tie_word_embeddings: Option<bool>,
    #[serde(default)]
    attention_bias: Option<bool>,
    #[serde(default)]
    mlp_bias: Option<bool>,
    #[serde(default)]
    rope_scaling: Option<serde_json::Value>,
    #[serde(default)]
    head_dim: Option<usize>,
}

/// An imported base model (`eerd import hf` or `eerd import gguf`): config, weights under this
/// crate's names, tokenizer.
pub struct HfModel {
    /// The model's hyper-parameters.
    pub config: ModelConfig,
    /// Weights under GGUF names, `(out, in)` layout, interleaved RoPE.
    pub weights: HashMap<String, Tensor>,
    /// The tokenizer, with the special tokens added if they were missing.
    pub tokenizer: Tokenizer,
}

/// Reorders q/k projection rows from the half-split RoPE layout to the interleaved one.
pub fn half_split_to_interleaved(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (rows, cols) = w.dims2()?;
    let hd = rows / heads;
    Ok(w.reshape((heads, 2, hd / 2, cols))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((rows, cols))?)
}

/// The inverse of [`half_split_to_interleaved`].
pub fn interleaved_to_half_split(w: &Tensor, heads: usize) -> Result<Tensor> {
    let (rows, cols) = w.dims2()?;
    let hd = rows / heads;
    Ok(w.reshape((heads, hd / 2, 2, cols))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((rows, cols))?)
}

/// The Hugging Face name of each of this crate's tensor names (for `n_layers` layers).
pub fn hf_names(n_layers: usize) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "token_embd.weight".to_string(),
            "model.embed_tokens.weight".to_string(),
        ),
        (
            "output_norm.weight".to_string(),
            "model.norm.weight".to_string(),
        ),
        ("output.weight".to_string(), "lm_head.weight".to_string()),
    ];
    for i in 0..n_layers {
        for (ours, theirs) in [
            ("attn_norm", "input_layernorm"),
            ("attn_q", "self_attn.q_proj"),
            ("attn_k", "self_attn.k_proj"),
            ("attn_v", "self_attn.v_proj"),
            ("attn_output", "self_attn.o_proj"),
            ("ffn_norm", "post_attention_layernorm"),
            ("ffn_gate", "mlp.gate_proj"),
            ("ffn_up", "mlp.up_proj"),
            ("ffn_down", "mlp.down_proj"),
        ] {
            out.push((
                format!("blk.{i}.{ours}.weight"),
                format!("model.layers.{i}.{theirs}.weight"),
            ));
        }
    }
    out
}

/// Reads a Hugging Face checkpoint directory.
pub fn load(dir: &Path, device: &Device) -> Result<HfModel> {
    let config_path = dir.join("config.json");
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("cannot read {}", config_path.display()))?;
    let hf: HfConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a llama-style config", config_path.display()))?;
    let kind = hf.model_type.as_deref().unwrap_or("llama");
    if !matches!(kind, "llama" | "mistral") {
        bail!(
            "{}: model_type `{kind}` is not supported (llama and mistral are; qwen2 has attention biases this model lacks)",
            config_path.display()
        );
    }
    if hf.attention_bias == Some(true) || hf.mlp_bias == Some(true) {
        bail!("{}: biases are not supported", config_path.display());
    }
    if hf.rope_scaling.as_ref().is_some_and(|v| !v.is_null()) {
        bail!("{}: rope_scaling is not supported", config_path.display());
    }
    if hf
        .head_dim
        .is_some_and(|h| h * hf.num_attention_heads != hf.hidden_size)
    {
        bail!(
            "{}: head_dim × heads must equal hidden_size",
            config_path.display()
        );
    }
    let mut config = ModelConfig {
        vocab_size: hf.vocab_size,
        dim: hf.hidden_size,
        n_layers: hf.num_hidden_layers,
        n_heads: hf.num_attention_heads,
        n_kv_heads: hf.num_key_value_heads.unwrap_or(hf.num_attention_heads),
        ffn_dim: hf.intermediate_size,
        max_seq_len: hf.max_position_embeddings.unwrap_or(2048).min(4096),
        rope_theta: hf.rope_theta.unwrap_or(10_000.0),
        norm_eps: hf.rms_norm_eps.unwrap_or(1e-5),
        tie_embeddings: hf.tie_word_embeddings.unwrap_or(false),
    };
    config.validate()?;

    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no *.safetensors files", dir.display());
    }
    let mut hf_tensors = HashMap::new();
    for f in &files {
        hf_tensors.extend(
            candle_core::safetensors::load(f, device)
                .with_context(|| format!("cannot read {}", f.display()))?,
        );
    }
    if !hf_tensors.contains_key("lm_head.weight") {
        config.tie_embeddings = true;
    }
    let mut weights = HashMap::new();
    for (ours, theirs) in hf_names(config.n_layers) {
        if ours == "output.weight" && config.tie_embeddings {
            continue;
        }
        let t = hf_tensors
            .remove(&theirs)
            .with_context(|| format!("{}: missing tensor `{theirs}`", dir.display()))?
            .to_dtype(DType::F32)?;
        let t = if ours.ends_with("attn_q.weight") {
            half_split_to_interleaved(&t, config.n_heads)?
        } else if ours.ends_with("attn_k.weight") {
            half_split_to_interleaved(&t, config.n_kv_heads)?
        } else {
            t
        };
        weights.insert(ours, t);
    }

    let tok_path = dir.join("tokenizer.json");
    let tokenizer = crate::tokenizer::load(&tok_path)?;
    complete_base(config, weights, tokenizer, &dir.display().to_string())
}

/// Finishes an imported base (from a Hugging Face directory or a GGUF file, named `source` in
/// errors): the tokenizer gets the special tokens it lacks, the embedding (and output) matrix
/// grows to match, and every weight's shape is checked against `config`.
pub fn complete_base(
    mut config: ModelConfig,
    mut weights: HashMap<String, Tensor>,
    mut tokenizer: Tokenizer,
    source: &str,
) -> Result<HfModel> {
    let missing: Vec<AddedToken> = SPECIAL_TOKENS
        .iter()
        .filter(|t| tokenizer.token_to_id(t).is_none())
        .map(|t| AddedToken::from(t.to_string(), true))
        .collect();
    if !missing.is_empty() {
        tokenizer
            .add_special_tokens(missing)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
    }
    Specials::of(&tokenizer)?;
    let needed = tokenizer.get_vocab_size(true).max(config.vocab_size);
    if needed > config.vocab_size {
        let extra = needed - config.vocab_size;
        for name in ["token_embd.weight", "output.weight"] {
            if let Some(w) = weights.get(name) {
                let mean = w.mean_keepdim(0)?;
                let rows = mean.broadcast_as((extra, config.dim))?.contiguous()?;
                let grown = Tensor::cat(&[w, &rows], 0)?;
                weights.insert(name.to_string(), grown);
            }
        }
        config.vocab_size = needed;
    }
    for (name, shape) in tensor_shapes(&config) {
        let t = weights
            .get(&name)
            .with_context(|| format!("missing `{name}`"))?;
        if t.dims() != shape.as_slice() {
            bail!(
                "{source}: `{name}` has shape {:?}, expected {shape:?}",
                t.dims()
            );
        }
    }
    Ok(HfModel {
        config,
        weights,
        tokenizer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half-split RoPE (Hugging Face `rotate_half`) on HF-layout q rows equals interleaved RoPE
    /// on the permuted rows, up to the same permutation of dimensions, which leaves q·k
    /// unchanged.
    #[test]
    fn permutation_matches_rope_layouts() {
        let (heads, hd, dim) = (2, 8, 5);
        let mut rng = crate::rng::Rng::new(3);
        let w: Vec<f32> = (0..heads * hd * dim).map(|_| rng.normal() as f32).collect();
        let x: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
        let hf = Tensor::from_vec(w, (heads * hd, dim), &Device::Cpu).unwrap();
        let ours = half_split_to_interleaved(&hf, heads).unwrap();
        assert_eq!(
            interleaved_to_half_split(&ours, heads)
                .unwrap()
                .to_vec2::<f32>()
                .unwrap(),
            hf.to_vec2::<f32>().unwrap()
        );
        let project = |w: &Tensor| -> Vec<f32> {
            w.to_vec2::<f32>()
                .unwrap()
                .iter()
                .map(|r| r.iter().zip(&x).map(|(a, b)| a * b).sum())
                .collect()
        };
        let (qh, qo) = (project(&hf), project(&ours));
        let pos = 7.0f32;
        let half = hd / 2;
        for h in 0..heads {
            let a = &qh[h * hd..(h + 1) * hd];
            let b = &qo[h * hd..(h + 1) * hd];
            for i in 0..half {
                let ang = pos / 10_000f32.powf((2 * i) as f32 / hd as f32);
                let (c, s) = (ang.cos(), ang.sin());
                // HF: out[i] = a[i]·c − a[i+half]·s; out[i+half] = a[i+half]·c + a[i]·s
                let hf0 = a[i] * c - a[i + half] * s;
                let hf1 = a[i + half] * c + a[i] * s;
                // Interleaved: out[2i] = b[2i]·c − b[2i+1]·s; out[2i+1] = b[2i]·s + b[2i+1]·c
                let o0 = b[2 * i] * c - b[2 * i + 1] * s;
                let o1 = b[2 * i] * s + b[2 * i + 1] * c;
                assert!((hf0 - o0).abs() < 1e-5 && (hf1 - o1).abs() < 1e-5);
            }
        }
    }
}
