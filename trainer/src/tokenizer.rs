//! Byte-level BPE tokenizer training and the special tokens the trainer and runtime rely on.
//!
//! Special tokens (ids 0–3 in a tokenizer trained here, looked up by name elsewhere):
//!
//! | token | id | use |
//! |---|---|---|
//! | `<|bos|>` | 0 | first token of every training sequence and prompt |
//! | `<|eos|>` | 1 | ends a completion; generation stops on it |
//! | `<|pad|>` | 2 | pads short sequences in a batch; never a training target |
//! | `<|prompt_end|>` | 3 | separates the prompt from the completion |
//!
//! An SFT example is laid out as `<|bos|> prompt <|prompt_end|> completion <|eos|>`, and the loss
//! covers only the tokens after `<|prompt_end|>` (the completion and `<|eos|>`).
//!
//! Special-token text inside a prompt (a student writing `<|eos|>`) is encoded as the special
//! token, as `tokenizers` does for every added token; callers that must rule this out should
//! strip `<|` … `|>` sequences from untrusted text first.
//!
//! The pre-tokenizer is GPT-2's byte-level split without a prefix space, so every byte string
//! round-trips and llama.cpp can run the same tokenizer from GGUF metadata (`gpt2` model).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer, TokenizerBuilder};

/// Beginning of sequence.
pub const BOS: &str = "<|bos|>";
/// End of sequence (end of a completion).
pub const EOS: &str = "<|eos|>";
/// Padding.
pub const PAD: &str = "<|pad|>";
/// End of the prompt, start of the completion.
pub const PROMPT_END: &str = "<|prompt_end|>";
/// All special tokens, in id order.
pub const SPECIAL_TOKENS: [&str; 4] = [BOS, EOS, PAD, PROMPT_END];

/// The ids of the special tokens in a given tokenizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Specials {
    /// `<|bos|>`.
    pub bos: u32,
    /// `<|eos|>`.
    pub eos: u32,
    /// `<|pad|>`.
    pub pad: u32,
    /// `<|prompt_end|>`.
    pub prompt_end: u32,
}

impl Specials {
    /// Looks the special tokens up in `tokenizer`; fails naming the first one missing.
    pub fn of(tokenizer: &Tokenizer) -> Result<Self> {
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .with_context(|| format!("tokenizer has no special token `{t}`"))
        };
        Ok(Self {
            bos: id(BOS)?,
            eos: id(EOS)?,
            pad: id(PAD)?,
            prompt_end: id(PROMPT_END)?,
        })
    }
}

/// Loads a `tokenizer.json`, naming the file in errors.
pub fn load(path: &Path) -> Result<Tokenizer> {
    Tokenizer::from_file(path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot load tokenizer {}", path.display()))
}

/// Encodes `text` without adding special tokens.
pub fn encode(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    let enc = tokenizer
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
    Ok(enc.get_ids().to_vec())
}

/// The texts to learn from: `.jsonl` files contribute the `prompt` and `completion` strings of
/// each line (other string fields too), any other file its whole text.
pub fn training_texts(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        if file.extension().is_some_and(|e| e == "jsonl") {
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value = serde_json::from_str(line)
                    .with_context(|| format!("{}:{}: invalid JSON", file.display(), n + 1))?;
                let serde_json::Value::Object(map) = value else {
                    bail!("{}:{}: expected a JSON object", file.display(), n + 1);
                };
                texts.extend(map.into_iter().filter_map(|(_, v)| match v {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                }));
            }
        } else {
            texts.push(text);
        }
    }
    Ok(texts)
}

/// Trains a byte-level BPE tokenizer with `vocab_size` entries (special tokens included) on
/// `texts`.
pub fn train(texts: &[String], vocab_size: usize) -> Result<Tokenizer> {
    if vocab_size < 256 + SPECIAL_TOKENS.len() {
        bail!(
            "vocab size {vocab_size} is too small: byte-level BPE needs at least {}",
            256 + SPECIAL_TOKENS.len()
        );
    }
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(
            SPECIAL_TOKENS
                .iter()
                .map(|t| AddedToken::from(t.to_string(), true))
                .collect(),
        )
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tokenizer =
        TokenizerBuilder::<BPE, NormalizerWrapper, ByteLevel, ByteLevel, ByteLevel>::new()
            .with_model(BPE::default())
            .with_normalizer(None)
            .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)))
            .with_post_processor(Some(ByteLevel::default().trim_offsets(false)))
            .with_decoder(Some(ByteLevel::default()))
            .build()
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
    tokenizer
        .train(&mut trainer, texts.iter())
        .map_err(|e| anyhow::anyhow!("tokenizer training: {e}"))?;
    let tokenizer: Tokenizer = tokenizer.into();
    let specials = Specials::of(&tokenizer)?;
    if [
        specials.bos,
        specials.eos,
        specials.pad,
        specials.prompt_end,
    ] != [0, 1, 2, 3]
    {
        bail!("tokenizer training placed the special tokens at unexpected ids: {specials:?}");
    }
    Ok(tokenizer)
}

/// Writes `tokenizer` to `path` as `tokenizer.json` (via a temporary file and a rename).
pub fn save(tokenizer: &Tokenizer, path: &Path) -> Result<()> {
    let json = tokenizer
        .to_string(false)
        .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
    crate::fsutil::write_atomic(path, json.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small corpus for tests: diagram-like lines.
    pub fn corpus() -> Vec<String> {
        (0..200)
            .map(|i| {
                format!(
                    "entity EMPLOYEE_{i} {{ id <<key>> name salary }}\nrelationship WORKS_FOR {{ }}\n"
                )
            })
            .collect()
    }

    #[test]
    fn trains_and_round_trips() {
        let tok = train(&corpus(), 400).unwrap();
        assert!(tok.get_vocab_size(true) <= 400);
        let s = Specials::of(&tok).unwrap();
        assert_eq!((s.bos, s.eos, s.pad, s.prompt_end), (0, 1, 2, 3));
        let text = "entity DEPARTMENT { név ünïcode 🙂 }";
        let ids = encode(&tok, text).unwrap();
        assert_eq!(tok.decode(&ids, false).unwrap(), text);
        let ids = encode(&tok, "a<|eos|>b").unwrap();
        assert!(ids.contains(&1));
        assert!(train(&corpus(), 100).is_err());
    }
}
