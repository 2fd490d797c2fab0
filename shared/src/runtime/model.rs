//! Loading a GGUF model and its tokenizer from bytes; prompt encoding and per-position logits.

use super::{Result, RuntimeError};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::{ModelWeights, MAX_SEQ_LEN};
use std::io::Cursor;
use tokenizers::Tokenizer;

/// A loaded model: quantized weights with their KV cache, and the tokenizer.
pub struct Model {
    pub(super) weights: ModelWeights,
    tokenizer: Tokenizer,
    pub(super) eos: Vec<u32>,
    wrap: Option<(u32, u32)>,
    pub(super) context_length: usize,
    vocab_size: usize,
}

/// A GGUF error's message (candle appends a backtrace when `RUST_BACKTRACE` is set: dropped).
fn gguf_err(e: impl std::fmt::Display) -> RuntimeError {
    let text = e.to_string();
    RuntimeError::Gguf(text.lines().next().unwrap_or_default().to_string())
}

impl Model {
    /// Loads a llama-architecture GGUF file and a `tokenizer.json`, both as bytes.
    pub fn from_bytes(gguf: &[u8], tokenizer_json: &[u8]) -> Result<Self> {
        let tokenizer = Tokenizer::from_bytes(tokenizer_json)
            .map_err(|e| RuntimeError::Tokenizer(e.to_string()))?;
        let mut reader = Cursor::new(gguf);
        let content = gguf_file::Content::read(&mut reader).map_err(gguf_err)?;
        let md_u32 = |key: &str| {
            content
                .metadata
                .get(key)
                .and_then(|v| v.to_u32().ok())
                .map(|v| v as usize)
        };
        let context_length = md_u32("llama.context_length")
            .unwrap_or(MAX_SEQ_LEN)
            .min(MAX_SEQ_LEN);
        let gguf_eos = md_u32("tokenizer.ggml.eos_token_id").map(|v| v as u32);
        let vocab_size = content
            .tensor_infos
            .get("token_embd.weight")
            .map(|t| t.shape.dims()[0])
            .ok_or_else(|| RuntimeError::Gguf("no tensor `token_embd.weight`".into()))?;
        let weights =
            ModelWeights::from_gguf(content, &mut reader, &Device::Cpu).map_err(gguf_err)?;
        let id = |t: &str| tokenizer.token_to_id(t);
        let mut eos: Vec<u32> = id("<|eos|>").into_iter().chain(gguf_eos).collect();
        eos.dedup();
        let wrap = id("<|bos|>").zip(id("<|prompt_end|>"));
        if tokenizer.get_vocab_size(true) > vocab_size {
            return Err(RuntimeError::Input(format!(
                "the tokenizer has {} tokens but the model only {vocab_size}",
                tokenizer.get_vocab_size(true)
            )));
        }
        Ok(Self {
            weights,
            tokenizer,
            eos,
            wrap,
            context_length,
            vocab_size,
        })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Number of rows of the output layer.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Longest sequence (prompt + generated tokens) the model accepts.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// Encodes text without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| RuntimeError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Decodes ids to text (special tokens dropped).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| RuntimeError::Tokenizer(e.to_string()))
    }

    /// The ids of a prompt in the form the model was fine-tuned on:
    /// `<|bos|> prompt <|prompt_end|>` (plain encoding if the tokenizer lacks those tokens).
    pub fn prompt_ids(&self, prompt: &str) -> Result<Vec<u32>> {
        let body = self.encode(prompt)?;
        Ok(match self.wrap {
            Some((bos, end)) => std::iter::once(bos)
                .chain(body)
                .chain(std::iter::once(end))
                .collect(),
            None => body,
        })
    }

    /// Runs `ids` (starting at `position`) through the model, extending the KV cache; returns
    /// the logits after the last one. Position 0 starts a new sequence.
    pub(super) fn step(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        if position + ids.len() > self.context_length {
            return Err(RuntimeError::Input(format!(
                "sequence of {} tokens exceeds the context length {}",
                position + ids.len(),
                self.context_length
            )));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            return Err(RuntimeError::Input(format!(
                "token id {bad} outside the vocabulary"
            )));
        }
        let input = Tensor::new(ids, &Device::Cpu)?.unsqueeze(0)?;
        let logits = self.weights.forward(&input, position)?;
        Ok(logits
            .squeeze(0)?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1()?)
    }

    /// The logits at every position of `ids` (row `i` predicts token `i + 1`), computed one
    /// token at a time through the KV cache, as generation does.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<Vec<f32>>> {
        ids.iter()
            .enumerate()
            .map(|(pos, &id)| self.step(&[id], pos))
            .collect()
    }
}
