//! Loading a GGUF model and its tokenizer from bytes; prompt encoding and per-position logits.

use super::chat::ChatTemplate;
use super::gguf_tokenizer::{has_tokenizer, tokenizer_from_gguf};
use super::llama::Llama;
use super::{Result, RuntimeError};
use candle_core::quantized::gguf_file;
use std::io::Cursor;
use tokenizers::Tokenizer;

/// A loaded model: quantized weights with their KV cache, and the tokenizer.
pub struct Model {
    pub(super) weights: Llama,
    tokenizer: Tokenizer,
    pub(super) eos: Vec<u32>,
    wrap: Option<(u32, u32)>,
    pub(super) context_length: usize,
    vocab_size: usize,
    chat: Option<ChatTemplate>,
    /// The last chat head's system message and ids ([`Model::chat_ids`]).
    head: Option<(String, Vec<u32>)>,
    /// Whether the KV cache holds the head's positions, computed by a prefill of the head alone.
    head_ready: bool,
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
        Self::load(gguf, Some(tokenizer))
    }

    /// Loads a llama-architecture GGUF file with the tokenizer in its own `tokenizer.ggml.*`
    /// metadata.
    pub fn from_gguf(gguf: &[u8]) -> Result<Self> {
        Self::load(gguf, None)
    }

    /// Whether a GGUF file carries its own tokenizer (so [`Model::from_gguf`] can load it).
    pub fn gguf_has_tokenizer(gguf: &[u8]) -> Result<bool> {
        let content = gguf_file::Content::read(&mut Cursor::new(gguf)).map_err(gguf_err)?;
        Ok(has_tokenizer(&content))
    }

    fn load(gguf: &[u8], tokenizer: Option<Tokenizer>) -> Result<Self> {
        let content = gguf_file::Content::read(&mut Cursor::new(gguf)).map_err(gguf_err)?;
        let tokenizer = match tokenizer {
            Some(t) => t,
            None => tokenizer_from_gguf(&content)?,
        };
        let gguf_eos = super::llama::metadata_usize(&content, "tokenizer.ggml.eos_token_id")?
            .map(|v| v as u32);
        let chat = ChatTemplate::from_gguf(&content);
        let weights = Llama::from_gguf(&content, gguf, 1)?;
        let context_length = weights.config().context_length;
        let vocab_size = weights.config().vocab;
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
            chat,
            head: None,
            head_ready: false,
        })
    }

    /// Uses `count` CPU threads for the model's products (always 1 in the browser).
    pub fn set_threads(&mut self, count: usize) {
        self.weights.set_threads(count);
    }

    /// CPU threads in use.
    pub fn threads(&self) -> usize {
        self.weights.threads()
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

    /// The chat template of the GGUF's metadata, when the runtime renders it (an
    /// instruction-tuned model from elsewhere); `None` for the project's own models.
    pub fn chat_template(&self) -> Option<ChatTemplate> {
        self.chat
    }

    /// The ids of a chat prompt: `system` and `user` in the model's chat template, ready for
    /// the answer. Prompts with the same system message share its head, whose KV cache
    /// [`Model::generate`] keeps from one prompt to the next (the head is always computed
    /// alone and the rest in one batch after it, so reuse does not change any result).
    pub fn chat_ids(&mut self, system: &str, user: &str) -> Result<Vec<u32>> {
        let chat = self.chat.ok_or_else(|| {
            RuntimeError::Input(
                "the model has no chat template the runtime renders (ChatML)".into(),
            )
        })?;
        if self.head.as_ref().is_none_or(|(text, _)| text != system) {
            let ids = self.encode(&chat.head(system))?;
            self.head = Some((system.to_string(), ids));
            self.head_ready = false;
        }
        let head = self
            .head
            .as_ref()
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        let body = self.encode(user)?;
        let tail = self.encode(chat.tail())?;
        Ok(head.into_iter().chain(body).chain(tail).collect())
    }

    /// Runs a whole prompt from position 0 and returns the logits after its last token. A
    /// prompt that starts with the current chat head and goes past it reuses the head's cached
    /// positions (computing them first, alone, when the cache does not hold them).
    pub(super) fn prefill(&mut self, prompt: &[u32]) -> Result<Vec<f32>> {
        let head_len = match &self.head {
            Some((_, head)) if prompt.len() > head.len() && prompt.starts_with(head) => head.len(),
            _ => return self.step(prompt, 0),
        };
        if !self.head_ready {
            self.step(&prompt[..head_len], 0)?;
            self.head_ready = true;
        }
        self.step(&prompt[head_len..], head_len)
    }

    /// Runs `ids` (starting at `position`) through the model, extending the KV cache; returns
    /// the logits after the last one. Position 0 starts a new sequence.
    pub(super) fn step(&mut self, ids: &[u32], position: usize) -> Result<Vec<f32>> {
        let head_len = self.head.as_ref().map_or(0, |(_, ids)| ids.len());
        if position < head_len {
            self.head_ready = false;
        }
        self.weights.forward(ids, position)
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
