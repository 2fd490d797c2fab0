//! GGUF export: a checkpoint's weights (F16, Q8_0 or Q4_K) with the `llama` metadata
//! `quantized_llama` and llama.cpp read, and the tokenizer both embedded as `tokenizer.ggml.*`
//! metadata (GPT-2 style byte-level BPE) and written as `tokenizer.json` beside the file.
//!
//! Quantization falls back per tensor when a row length does not fit the block size: Q4_K and
//! Q6_K need multiples of 256, Q8_0 multiples of 32; otherwise F16. Norm weights stay F32. With
//! Q4_K the embedding and output matrices use Q6_K (as llama.cpp's Q4_K_M does).

use crate::checkpoint;
use crate::model::llama::tensor_shapes;
use crate::model::ModelConfig;
use crate::tokenizer::{Specials, SPECIAL_TOKENS};
use anyhow::{bail, Context, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// The weight format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quant {
    /// Unquantized 32-bit floats.
    F32,
    /// 16-bit floats.
    F16,
    /// 8-bit blocks of 32.
    Q8_0,
    /// 4-bit k-quant super-blocks of 256.
    Q4K,
}

impl std::str::FromStr for Quant {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "f32" => Self::F32,
            "f16" => Self::F16,
            "q8_0" | "q8" => Self::Q8_0,
            "q4_k" | "q4k" | "q4_k_m" => Self::Q4K,
            _ => bail!("unknown quantization `{s}` (expected f32, f16, q8_0 or q4_k)"),
        })
    }
}

impl Quant {
    fn file_type(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 7,
            Self::Q4K => 15,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct ExportReport {
    /// The GGUF file.
    pub path: PathBuf,
    /// The tokenizer written beside it.
    pub tokenizer_path: PathBuf,
    /// Size of the GGUF file in bytes.
    pub bytes: u64,
    /// Each tensor's name and stored type.
    pub tensors: Vec<(String, GgmlDType)>,
    /// Tensors stored in another type than requested, with the reason.
    pub fallbacks: Vec<String>,
}

fn block_fits(dtype: GgmlDType, row: usize) -> bool {
    row.is_multiple_of(dtype.block_size())
}

/// The stored type of tensor `name` with row length `row` for `quant`, and a note if it falls
/// back.
fn choose(name: &str, row: usize, rank: usize, quant: Quant) -> (GgmlDType, Option<String>) {
    if rank == 1 || quant == Quant::F32 {
        return (GgmlDType::F32, None);
    }
    let wanted = match quant {
        Quant::F32 => GgmlDType::F32,
        Quant::F16 => return (GgmlDType::F16, None),
        Quant::Q8_0 => GgmlDType::Q8_0,
        Quant::Q4K if name == "token_embd.weight" || name == "output.weight" => GgmlDType::Q6K,
        Quant::Q4K => GgmlDType::Q4K,
    };
    for dtype in [wanted, GgmlDType::Q8_0] {
        if block_fits(dtype, row) {
            let note = (dtype != wanted && !(quant == Quant::Q4K && dtype == GgmlDType::Q6K))
                .then(|| {
                    format!(
                        "{name}: row length {row} is not a multiple of {}; stored as {dtype:?} instead of {wanted:?}",
                        wanted.block_size()
                    )
                });
            return (dtype, note);
        }
    }
    (
        GgmlDType::F16,
        Some(format!(
            "{name}: row length {row} is not a multiple of 32; stored as F16"
        )),
    )
}

/// The GGUF tokenizer metadata (`tokenizer.ggml.*`) of a byte-level BPE tokenizer, padded to
/// `vocab_size` entries.
pub fn tokenizer_metadata(
    tokenizer: &Tokenizer,
    vocab_size: usize,
) -> Result<Vec<(String, gguf_file::Value)>> {
    use gguf_file::Value;
    let vocab = tokenizer.get_vocab(true);
    if vocab.len() > vocab_size {
        bail!(
            "the tokenizer has {} tokens but the model only {vocab_size}",
            vocab.len()
        );
    }
    let mut tokens: Vec<Option<String>> = vec![None; vocab_size];
    for (token, id) in vocab {
        let slot = tokens
            .get_mut(id as usize)
            .with_context(|| format!("token id {id} outside the model's vocabulary"))?;
        *slot = Some(token);
    }
    let mut types = Vec::with_capacity(vocab_size);
    let mut strings = Vec::with_capacity(vocab_size);
    for (i, t) in tokens.into_iter().enumerate() {
        match t {
            Some(t) => {
                let special = SPECIAL_TOKENS.contains(&t.as_str());
                types.push(Value::I32(if special { 3 } else { 1 }));
                strings.push(Value::String(t));
            }
            None => {
                types.push(Value::I32(5));
                strings.push(Value::String(format!("[UNUSED_{i}]")));
            }
        }
    }
    let json: serde_json::Value = serde_json::from_str(
        &tokenizer
            .to_string(false)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?,
    )?;
    if json["model"]["type"] != "BPE" {
        bail!("only BPE tokenizers can be exported to GGUF");
    }
    let merges = json["model"]["merges"]
        .as_array()
        .context("tokenizer has no BPE merges")?
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => Ok(Value::String(s.clone())),
            serde_json::Value::Array(pair) if pair.len() == 2 => Ok(Value::String(format!(
                "{} {}",
                pair[0].as_str().unwrap_or_default(),
                pair[1].as_str().unwrap_or_default()
            ))),
            other => bail!("unexpected merge entry {other}"),
        })
        .collect::<Result<Vec<_>>>()?;
    let specials = Specials::of(tokenizer)?;
    Ok(vec![
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String("gpt-2".into())),
        ("tokenizer.ggml.tokens".into(), Value::Array(strings)),
        ("tokenizer.ggml.token_type".into(), Value::Array(types)),
        ("tokenizer.ggml.merges".into(), Value::Array(merges)),
        (
            "tokenizer.ggml.bos_token_id".into(),
            Value::U32(specials.bos),
        ),
        (
            "tokenizer.ggml.eos_token_id".into(),
            Value::U32(specials.eos),
        ),
        (
            "tokenizer.ggml.padding_token_id".into(),
            Value::U32(specials.pad),
        ),
        ("tokenizer.ggml.add_bos_token".into(), Value::Bool(true)),
        ("tokenizer.ggml.add_eos_token".into(), Value::Bool(false)),
    ])
}

/// The `general.*` and `llama.*` metadata of a model.
pub fn model_metadata(
    config: &ModelConfig,
    name: &str,
    quant: Quant,
) -> Vec<(String, gguf_file::Value)> {
    use gguf_file::Value;
    let u = |v: usize| Value::U32(v as u32);
    vec![
        ("general.architecture".into(), Value::String("llama".into())),
        ("general.name".into(), Value::String(name.into())),
        ("general.file_type".into(), Value::U32(quant.file_type())),
        ("general.alignment".into(), Value::U32(32)),
        ("llama.context_length".into(), u(config.max_seq_len)),
        ("llama.embedding_length".into(), u(config.dim)),
        ("llama.block_count".into(), u(config.n_layers)),
        ("llama.feed_forward_length".into(), u(config.ffn_dim)),
        ("llama.attention.head_count".into(), u(config.n_heads)),
        ("llama.attention.head_count_kv".into(), u(config.n_kv_heads)),
        ("llama.rope.dimension_count".into(), u(config.head_dim())),
        ("llama.rope.freq_base".into(), Value::F32(config.rope_theta)),
        (
            "llama.attention.layer_norm_rms_epsilon".into(),
            Value::F32(config.norm_eps),
        ),
        ("llama.vocab_size".into(), u(config.vocab_size)),
    ]
}

/// Writes `weights` of a model with `config` as GGUF to `out` (atomically), and the tokenizer
/// as `tokenizer.json` in the same directory.
pub fn export(
    config: &ModelConfig,
    weights: &HashMap<String, Tensor>,
    tokenizer: &Tokenizer,
    out: &Path,
    quant: Quant,
) -> Result<ExportReport> {
    let mut metadata = model_metadata(
        config,
        out.file_stem()
            .map_or("eerd".into(), |s| s.to_string_lossy())
            .as_ref(),
        quant,
    );
    metadata.extend(tokenizer_metadata(tokenizer, config.vocab_size)?);
    let mut qtensors = Vec::new();
    let mut fallbacks = Vec::new();
    for (name, shape) in tensor_shapes(config) {
        let t = weights
            .get(&name)
            .with_context(|| format!("missing weight `{name}`"))?
            .to_device(&Device::Cpu)?
            .to_dtype(candle_core::DType::F32)?;
        if t.dims() != shape.as_slice() {
            bail!(
                "weight `{name}` has shape {:?}, expected {shape:?}",
                t.dims()
            );
        }
        let (dtype, note) = choose(&name, *shape.last().unwrap_or(&1), shape.len(), quant);
        fallbacks.extend(note);
        let q = QTensor::quantize(&t, dtype)
            .with_context(|| format!("cannot quantize `{name}` to {dtype:?}"))?;
        qtensors.push((name, q));
    }
    let md: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let (bytes, tensors) = write_gguf(out, &md, &qtensors)?;
    let tokenizer_path = out.with_file_name(checkpoint::TOKENIZER_FILE);
    crate::tokenizer::save(tokenizer, &tokenizer_path)?;
    Ok(ExportReport {
        path: out.to_path_buf(),
        tokenizer_path,
        bytes,
        tensors,
        fallbacks,
    })
}

/// Writes `metadata` and `tensors` as a GGUF file at `out` (atomically); returns the file's
/// size and each tensor's stored type.
fn write_gguf(
    out: &Path,
    metadata: &[(&str, &gguf_file::Value)],
    tensors: &[(String, QTensor)],
) -> Result<(u64, Vec<(String, GgmlDType)>)> {
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut bytes, metadata, &ts)?;
    let bytes = bytes.into_inner();
    crate::fsutil::write_atomic(out, &bytes)?;
    let types = tensors
        .iter()
        .map(|(n, q)| (n.clone(), q.dtype()))
        .collect();
    Ok((bytes.len() as u64, types))
}

/// Exports a checkpoint (a checkpoint directory or a run directory's latest checkpoint),
/// merging LoRA adapters into the base weights.
pub fn export_checkpoint(checkpoint_path: &Path, out: &Path, quant: Quant) -> Result<ExportReport> {
    let dir = checkpoint::resolve(checkpoint_path)?;
    let (state, weights) = checkpoint::merged_weights(&dir, &Device::Cpu)?;
    let tokenizer = crate::tokenizer::load(&dir.join(checkpoint::TOKENIZER_FILE))?;
    export(&state.model, &weights, &tokenizer, out, quant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_rules() {
        assert_eq!(
            choose("blk.0.attn_q.weight", 64, 2, Quant::Q4K).0,
            GgmlDType::Q8_0
        );
        assert!(choose("blk.0.attn_q.weight", 64, 2, Quant::Q4K).1.is_some());
        assert_eq!(
            choose("blk.0.attn_q.weight", 512, 2, Quant::Q4K),
            (GgmlDType::Q4K, None)
        );
        assert_eq!(
            choose("token_embd.weight", 512, 2, Quant::Q4K),
            (GgmlDType::Q6K, None)
        );
        assert_eq!(
            choose("blk.0.ffn_down.weight", 48, 2, Quant::Q8_0).0,
            GgmlDType::F16
        );
        assert_eq!(
            choose("output_norm.weight", 64, 1, Quant::Q8_0).0,
            GgmlDType::F32
        );
        assert_eq!(choose("x", 64, 2, Quant::F16), (GgmlDType::F16, None));
        assert!("q4_k".parse::<Quant>().is_ok() && "q3".parse::<Quant>().is_err());
    }
}

/// What [`requantize_gguf`] wrote: the file, its size and each tensor's stored type.
#[derive(Clone, Debug)]
pub struct RequantizeReport {
    /// The GGUF file.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Each tensor's name and stored type.
    pub tensors: Vec<(String, GgmlDType)>,
    /// Tensors stored in another type than requested, with the reason.
    pub fallbacks: Vec<String>,
}

/// Rewrites the GGUF file `input` with its weights in `quant` (each tensor dequantized, then
/// quantized as [`export`] would; metadata, the tokenizer included, kept except
/// `general.file_type`). For example a Q8_0 copy of a Q4_1 model, to compare runtimes on it.
pub fn requantize_gguf(input: &Path, out: &Path, quant: Quant) -> Result<RequantizeReport> {
    let bytes = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let mut reader = std::io::Cursor::new(&bytes[..]);
    let content = gguf_file::Content::read(&mut reader)
        .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort_by_key(|n| content.tensor_infos[*n].offset);
    let mut qtensors = Vec::new();
    let mut fallbacks = Vec::new();
    for name in names {
        let t = content
            .tensor(&mut reader, name, &Device::Cpu)
            .with_context(|| format!("{}: tensor `{name}`", input.display()))?
            .dequantize(&Device::Cpu)?;
        let dims = t.dims().to_vec();
        let (dtype, note) = choose(name, *dims.last().unwrap_or(&1), dims.len(), quant);
        fallbacks.extend(note);
        let q = QTensor::quantize(&t, dtype)
            .with_context(|| format!("cannot quantize `{name}` to {dtype:?}"))?;
        qtensors.push((name.clone(), q));
    }
    let file_type = gguf_file::Value::U32(quant.file_type());
    let mut md: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != "general.file_type")
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    md.sort_by_key(|(k, _)| *k);
    md.push(("general.file_type", &file_type));
    let (bytes, tensors) = write_gguf(out, &md, &qtensors)?;
    Ok(RequantizeReport {
        path: out.to_path_buf(),
        bytes,
        tensors,
        fallbacks,
    })
}
