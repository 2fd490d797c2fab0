//! Helpers shared by the trainer's integration tests: a small synthetic SFT task, a tokenizer
//! trained on it, and a short training run.

#![allow(dead_code)]

use candle_core::quantized::{gguf_file, QTensor};
use candle_core::Device;
use eerd_trainer::data::{encode_example, Example};
use eerd_trainer::model::ModelConfig;
use eerd_trainer::sft::{SftConfig, TrainData};
use eerd_trainer::tokenizer::{self, Specials};
use tokenizers::Tokenizer;

/// Deterministic prompt/completion pairs: list attributes of an entity, answer with a count.
pub fn pairs(n: usize) -> Vec<(String, String)> {
    let names = ["EMPLOYEE", "DEPARTMENT", "PROJECT", "DEPENDENT", "LOCATION"];
    let attrs = ["id", "name", "salary", "start", "budget", "phone"];
    (0..n)
        .map(|i| {
            let name = names[i % names.len()];
            let k = 1 + (i * 7) % attrs.len();
            let list: Vec<&str> = attrs.iter().cycle().skip(i % 3).take(k).copied().collect();
            (
                format!("entity {name} {{ {} }}", list.join(" ")),
                format!("{name} has {k} attributes; key {}", list[0]),
            )
        })
        .collect()
}

/// A tokenizer trained on [`pairs`].
pub fn tokenizer() -> Tokenizer {
    let texts: Vec<String> = pairs(60).into_iter().flat_map(|(p, c)| [p, c]).collect();
    tokenizer::train(&texts, 320).unwrap()
}

/// Tokenized examples of [`pairs`].
pub fn examples(tok: &Tokenizer, n: usize) -> Vec<Example> {
    let specials = Specials::of(tok).unwrap();
    pairs(n)
        .iter()
        .map(|(p, c)| encode_example(tok, &specials, p, c, 64).unwrap().0.unwrap())
        .collect()
}

/// Training data: 40 examples, 8 held out.
pub fn data(tok: &Tokenizer) -> TrainData {
    let all = examples(tok, 48);
    TrainData {
        train: all[..40].to_vec(),
        eval: all[40..].to_vec(),
        tokenizer_json: tok.to_string(false).unwrap(),
        pad: Specials::of(tok).unwrap().pad,
    }
}

/// The tiny model for tests.
pub fn tiny_config(tok: &Tokenizer) -> ModelConfig {
    let mut c = ModelConfig::preset("tiny", tok.get_vocab_size(true)).unwrap();
    c.max_seq_len = 64;
    c
}

/// A short, fast training configuration.
pub fn sft_config(steps: u64) -> SftConfig {
    SftConfig {
        steps,
        batch_size: 4,
        grad_accum: 2,
        lr: 3e-3,
        min_lr: 3e-4,
        warmup: 2,
        eval_every: 2,
        save_every: 2,
        keep_checkpoints: 0,
        seed: 11,
        ..SftConfig::default()
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

/// The trainer's f32 logits at every position of `ids`.
pub fn trainer_logits(
    model: &eerd_trainer::model::Llama,
    ids: &[u32],
    dev: &candle_core::Device,
) -> Vec<Vec<f32>> {
    let t = candle_core::Tensor::new(ids, dev)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model
        .forward(&t)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2()
        .unwrap()
}

/// `gguf` with metadata `key` set to `value` (or removed).
pub fn with_metadata(gguf: &[u8], key: &str, value: Option<gguf_file::Value>) -> Vec<u8> {
    let mut reader = std::io::Cursor::new(gguf);
    let content = gguf_file::Content::read(&mut reader).unwrap();
    let mut metadata = content.metadata.clone();
    match value {
        Some(v) => metadata.insert(key.to_string(), v),
        None => metadata.remove(key),
    };
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let tensors: Vec<(String, QTensor)> = names
        .into_iter()
        .map(|n| {
            (
                n.clone(),
                content.tensor(&mut reader, n, &Device::Cpu).unwrap(),
            )
        })
        .collect();
    let md: Vec<(&str, &gguf_file::Value)> =
        metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &ts).unwrap();
    out.into_inner()
}
