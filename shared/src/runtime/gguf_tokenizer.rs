//! The tokenizer a GGUF file carries in its `tokenizer.ggml.*` metadata, built with the
//! `tokenizers` crate: GPT-2-style byte-level BPE (`tokenizer.ggml.model = gpt2`), the form of
//! both the project's exports and llama.cpp's conversions of BPE models.
//!
//! Pre-tokenizers (`tokenizer.ggml.pre`): `gpt-2` / `gpt2` / `default` (GPT-2's split) and
//! `smollm` (single digits, then GPT-2's split). Others are refused with a clear error rather
//! than tokenized differently from llama.cpp; a `tokenizer.json` can be given instead.

use super::{Result, RuntimeError};
use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, Tokenizer};

/// GGUF token types that are special (control) tokens.
const CONTROL: i64 = 3;

fn strings<'a>(content: &'a Content, key: &str) -> Result<Vec<&'a str>> {
    match content.metadata.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                _ => Err(RuntimeError::Tokenizer(format!(
                    "GGUF metadata `{key}`[{i}] is not a string"
                ))),
            })
            .collect(),
        Some(_) => Err(RuntimeError::Tokenizer(format!(
            "GGUF metadata `{key}` is not an array"
        ))),
        None => Err(RuntimeError::Tokenizer(format!(
            "the GGUF file has no `{key}` (give a tokenizer.json)"
        ))),
    }
}

fn token_types(content: &Content) -> Vec<i64> {
    match content.metadata.get("tokenizer.ggml.token_type") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match *v {
                Value::I32(x) => i64::from(x),
                Value::U32(x) => i64::from(x),
                Value::I64(x) => x,
                Value::U8(x) => i64::from(x),
                Value::I8(x) => i64::from(x),
                _ => 1,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether the GGUF file carries a tokenizer.
pub fn has_tokenizer(content: &Content) -> bool {
    content.metadata.contains_key("tokenizer.ggml.tokens")
}

/// Builds the tokenizer described by the GGUF metadata.
pub fn tokenizer_from_gguf(content: &Content) -> Result<Tokenizer> {
    let model = match content.metadata.get("tokenizer.ggml.model") {
        Some(Value::String(m)) => m.as_str(),
        _ => "gpt2",
    };
    if model != "gpt2" {
        return Err(RuntimeError::Tokenizer(format!(
            "GGUF tokenizer model `{model}` is not supported (only GPT-2-style BPE, `gpt2`); \
             give a tokenizer.json"
        )));
    }
    let pre = match content.metadata.get("tokenizer.ggml.pre") {
        Some(Value::String(p)) => p.as_str(),
        _ => "default",
    };
    let byte_level = ByteLevel::new(false, false, true);
    let pre_tokenizer: PreTokenizerWrapper = match pre {
        "default" | "gpt-2" | "gpt2" => byte_level.into(),
        "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into(),
        other => {
            return Err(RuntimeError::Tokenizer(format!(
                "GGUF pre-tokenizer `{other}` is not supported (gpt-2, smollm); give a \
                 tokenizer.json"
            )))
        }
    };
    let tokens = strings(content, "tokenizer.ggml.tokens")?;
    let merges = strings(content, "tokenizer.ggml.merges")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| {
                    RuntimeError::Tokenizer(format!(
                        "GGUF metadata `tokenizer.ggml.merges`[{i}] is not two tokens: {m:?}"
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let types = token_types(content);
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| RuntimeError::Tokenizer(format!("GGUF tokenizer: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let specials: Vec<AddedToken> = tokens
        .iter()
        .zip(types.iter().copied().chain(std::iter::repeat(1)))
        .filter(|(_, ty)| *ty == CONTROL)
        .map(|(t, _)| AddedToken::from(t.to_string(), true))
        .collect();
    tokenizer
        .add_special_tokens(specials)
        .map_err(|e| RuntimeError::Tokenizer(format!("GGUF tokenizer: {e}")))?;
    Ok(tokenizer)
}
