//! SFT data: JSONL `{"prompt": …, "completion": …}` records, tokenized into examples, a
//! resumable shuffled order, and padded batches with the prompt masked out of the loss.

use crate::rng::Rng;
use crate::tokenizer::{encode, Specials};
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tokenizers::Tokenizer;

/// One tokenized example: `<|bos|> prompt <|prompt_end|> completion <|eos|>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// All token ids.
    pub ids: Vec<u32>,
    /// Number of leading ids (through `<|prompt_end|>`) that are not predicted.
    pub prompt_len: usize,
}

/// What loading a data file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Records read.
    pub records: usize,
    /// Records dropped because the prompt alone did not fit the sequence length.
    pub dropped_long_prompt: usize,
    /// Records whose completion was cut to fit (they lose their `<|eos|>`).
    pub truncated: usize,
}

/// Tokenizes one prompt/completion pair; `None` if the prompt does not fit `max_tokens`.
pub fn encode_example(
    tokenizer: &Tokenizer,
    specials: &Specials,
    prompt: &str,
    completion: &str,
    max_tokens: usize,
) -> Result<(Option<Example>, bool)> {
    let mut ids = vec![specials.bos];
    ids.extend(encode(tokenizer, prompt)?);
    ids.push(specials.prompt_end);
    let prompt_len = ids.len();
    if prompt_len >= max_tokens {
        return Ok((None, false));
    }
    ids.extend(encode(tokenizer, completion)?);
    ids.push(specials.eos);
    let truncated = ids.len() > max_tokens;
    ids.truncate(max_tokens);
    Ok((Some(Example { ids, prompt_len }), truncated))
}

/// The prompt form the runtime uses at inference: `<|bos|> prompt <|prompt_end|>`.
pub fn encode_prompt(tokenizer: &Tokenizer, specials: &Specials, prompt: &str) -> Result<Vec<u32>> {
    let mut ids = vec![specials.bos];
    ids.extend(encode(tokenizer, prompt)?);
    ids.push(specials.prompt_end);
    Ok(ids)
}

/// Reads a JSONL file of `{"prompt": string, "completion": string}` objects. Examples longer
/// than `max_seq_len + 1` tokens are truncated; those whose prompt does not fit are dropped.
pub fn load_jsonl(
    path: &Path,
    tokenizer: &Tokenizer,
    specials: &Specials,
    max_seq_len: usize,
) -> Result<(Vec<Example>, LoadStats)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut examples = Vec::new();
    let mut stats = LoadStats::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: invalid JSON", at()))?;
        let field = |name: &str| -> Result<&str> {
            match value.get(name) {
                Some(serde_json::Value::String(s)) => Ok(s),
                Some(_) => bail!("{}: field `{name}` must be a string", at()),
                None => bail!("{}: missing field `{name}`", at()),
            }
        };
        let (prompt, completion) = (field("prompt")?, field("completion")?);
        stats.records += 1;
        match encode_example(tokenizer, specials, prompt, completion, max_seq_len + 1)? {
            (Some(example), truncated) => {
                stats.truncated += truncated as usize;
                examples.push(example);
            }
            (None, _) => stats.dropped_long_prompt += 1,
        }
    }
    if stats.records == 0 {
        bail!("{}: no records", path.display());
    }
    Ok((examples, stats))
}

/// FNV-1a hash of tokenized examples (ids and prompt length), to notice changed data on resume.
pub fn fingerprint<'a>(examples: impl IntoIterator<Item = &'a Example>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for e in examples {
        for &id in e.ids.iter().chain(std::iter::once(&(e.prompt_len as u32))) {
            for b in id.to_le_bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

/// A padded batch, row-major `(rows, seq)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Input ids.
    pub ids: Vec<u32>,
    /// Next-token targets.
    pub targets: Vec<u32>,
    /// 1 where the target is a completion token, 0 for prompt and padding.
    pub weights: Vec<f32>,
    /// Number of sequences.
    pub rows: usize,
    /// Padded length.
    pub seq: usize,
    /// Number of positions with weight 1.
    pub target_tokens: usize,
    /// Number of non-padding input tokens.
    pub tokens: usize,
}

impl Batch {
    /// The batch as `(rows, seq)` tensors on `device`: input ids, targets, weights.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor, Tensor)> {
        let shape = (self.rows, self.seq);
        Ok((
            Tensor::from_slice(&self.ids, shape, device)?,
            Tensor::from_slice(&self.targets, shape, device)?,
            Tensor::from_slice(&self.weights, shape, device)?,
        ))
    }
}

/// Pads `examples` into one batch.
pub fn make_batch(examples: &[&Example], pad: u32) -> Batch {
    let seq = examples
        .iter()
        .map(|e| e.ids.len().saturating_sub(1))
        .max()
        .unwrap_or(0)
        .max(1);
    let rows = examples.len();
    let mut batch = Batch {
        ids: vec![pad; rows * seq],
        targets: vec![pad; rows * seq],
        weights: vec![0.0; rows * seq],
        rows,
        seq,
        target_tokens: 0,
        tokens: 0,
    };
    for (r, e) in examples.iter().enumerate() {
        let n = e.ids.len().saturating_sub(1);
        for j in 0..n {
            batch.ids[r * seq + j] = e.ids[j];
            batch.targets[r * seq + j] = e.ids[j + 1];
            if j + 1 >= e.prompt_len {
                batch.weights[r * seq + j] = 1.0;
                batch.target_tokens += 1;
            }
        }
        batch.tokens += n;
    }
    batch
}

/// Position in the shuffled data order; with the seed it determines every future batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    /// Pass over the data (0-based).
    pub epoch: u64,
    /// Next index into this epoch's permutation.
    pub cursor: usize,
}

/// A shuffled, epoch-by-epoch order over `n` examples, reproducible from `(seed, state)`.
///
/// With [`DataOrder::grouped`], each epoch's shuffled order is cut into windows of 32 batches,
/// each window sorted by length and cut into batches, and the batches shuffled: batches hold
/// examples of similar length, so less of each batch is padding.
pub struct DataOrder {
    seed: u64,
    n: usize,
    grouping: Option<(Vec<usize>, usize)>,
    perm: Vec<usize>,
    /// Where the order stands.
    pub state: OrderState,
}

impl DataOrder {
    /// The order over `n` examples starting at `state`.
    pub fn new(seed: u64, n: usize, state: OrderState) -> Self {
        Self::build(seed, n, None, state)
    }

    /// A length-grouped order over examples of the given `lengths`, for batches of `batch`.
    pub fn grouped(seed: u64, lengths: Vec<usize>, batch: usize, state: OrderState) -> Self {
        let n = lengths.len();
        Self::build(seed, n, Some((lengths, batch.max(1))), state)
    }

    fn build(
        seed: u64,
        n: usize,
        grouping: Option<(Vec<usize>, usize)>,
        state: OrderState,
    ) -> Self {
        let mut order = Self {
            seed,
            n,
            grouping,
            perm: Vec::new(),
            state,
        };
        order.perm = order.permutation(order.state.epoch);
        order
    }

    fn permutation(&self, epoch: u64) -> Vec<usize> {
        let mut rng = Rng::new(self.seed ^ epoch.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let mut perm: Vec<usize> = (0..self.n).collect();
        rng.shuffle(&mut perm);
        let Some((lengths, batch)) = &self.grouping else {
            return perm;
        };
        let mut batches: Vec<Vec<usize>> = Vec::new();
        for window in perm.chunks_mut(batch * 32) {
            window.sort_by_key(|&i| lengths[i]);
            batches.extend(window.chunks(*batch).map(|b| b.to_vec()));
        }
        // Keep a trailing short batch last: `next` skips an epoch's incomplete tail.
        let full = batches.iter().filter(|b| b.len() == *batch).count();
        rng.shuffle(&mut batches[..full]);
        batches.sort_by_key(|b| b.len() != *batch);
        batches.concat()
    }

    /// The indices of the next `size` examples (fewer only if there are fewer examples); an
    /// epoch's incomplete tail is skipped.
    pub fn next(&mut self, size: usize) -> Vec<usize> {
        let size = size.min(self.n);
        if self.state.cursor + size > self.n {
            self.state.epoch += 1;
            self.state.cursor = 0;
            self.perm = self.permutation(self.state.epoch);
        }
        let out = self.perm[self.state.cursor..self.state.cursor + size].to_vec();
        self.state.cursor += size;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_masks_prompt_and_padding() {
        let a = Example {
            ids: vec![0, 10, 11, 3, 20, 21, 1],
            prompt_len: 4,
        };
        let b = Example {
            ids: vec![0, 12, 3, 22, 1],
            prompt_len: 3,
        };
        let batch = make_batch(&[&a, &b], 2);
        assert_eq!(batch.seq, 6);
        assert_eq!(&batch.ids[..6], &[0, 10, 11, 3, 20, 21]);
        assert_eq!(&batch.targets[..6], &[10, 11, 3, 20, 21, 1]);
        assert_eq!(&batch.weights[..6], &[0., 0., 0., 1., 1., 1.]);
        assert_eq!(&batch.ids[6..], &[0, 12, 3, 22, 2, 2]);
        assert_eq!(&batch.weights[6..], &[0., 0., 1., 1., 0., 0.]);
        assert_eq!(batch.target_tokens, 5);
        assert_eq!(batch.tokens, 10);
    }

    #[test]
    fn bad_records_are_named_by_file_line_and_field() {
        let texts = vec!["entity A { id }".to_string(); 20];
        let tok = crate::tokenizer::train(&texts, 300).unwrap();
        let specials = Specials::of(&tok).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let cases = [
            (
                "{\"prompt\": \"a\"}\n",
                "d.jsonl:1: missing field `completion`",
            ),
            (
                "\n{\"prompt\": 1, \"completion\": \"b\"}",
                "d.jsonl:2: field `prompt` must be a string",
            ),
            (
                "{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json",
                "d.jsonl:2: invalid JSON",
            ),
            ("", "no records"),
        ];
        for (text, want) in cases {
            std::fs::write(&path, text).unwrap();
            let err = load_jsonl(&path, &tok, &specials, 32).unwrap_err();
            assert!(format!("{err:#}").contains(want), "{err:#} lacks {want}");
        }
        std::fs::write(&path, "{\"prompt\": \"entity A\", \"completion\": \"{ id }\"}\n{\"prompt\": \"entity A { id } entity A { id }\", \"completion\": \"x\"}\n").unwrap();
        let (examples, stats) = load_jsonl(&path, &tok, &specials, 6).unwrap();
        assert_eq!(stats.records, 2);
        assert_eq!(stats.dropped_long_prompt, 1);
        assert_eq!(examples.len(), 1);
        assert!(examples[0].ids.len() <= 7);
        assert!(load_jsonl(&dir.path().join("missing.jsonl"), &tok, &specials, 6).is_err());
    }

    #[test]
    fn grouped_order_batches_similar_lengths() {
        let lengths: Vec<usize> = (0..200).map(|i| (i * 37) % 101).collect();
        let start = OrderState {
            epoch: 0,
            cursor: 0,
        };
        let mut order = DataOrder::grouped(3, lengths.clone(), 4, start.clone());
        let mut seen = Vec::new();
        let mut spread = 0;
        for _ in 0..50 {
            let b = order.next(4);
            let ls: Vec<usize> = b.iter().map(|&i| lengths[i]).collect();
            spread += ls.iter().max().unwrap() - ls.iter().min().unwrap();
            seen.extend(b);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 200);
        assert!(spread < 50 * 20, "{spread}");
        let mut again = DataOrder::grouped(3, lengths, 4, start);
        again.next(4);
        let mut resumed = DataOrder::grouped(
            3,
            (0..200).map(|i| (i * 37) % 101).collect(),
            4,
            again.state.clone(),
        );
        assert_eq!(resumed.next(4), again.next(4));
    }

    #[test]
    fn order_resumes_exactly() {
        let mut a = DataOrder::new(
            5,
            10,
            OrderState {
                epoch: 0,
                cursor: 0,
            },
        );
        let first: Vec<Vec<usize>> = (0..7).map(|_| a.next(3)).collect();
        let mut b = DataOrder::new(
            5,
            10,
            OrderState {
                epoch: 0,
                cursor: 0,
            },
        );
        for _ in 0..4 {
            b.next(3);
        }
        let mut c = DataOrder::new(5, 10, b.state.clone());
        let rest: Vec<Vec<usize>> = (0..3).map(|_| c.next(3)).collect();
        assert_eq!(&first[4..], &rest[..]);
        let mut seen = first[..3].concat();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 9);
    }
}
