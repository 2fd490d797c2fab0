//! Preference pairs: JSONL `{"prompt": …, "chosen": …, "rejected": …}` records (other fields
//! ignored; a string or number `id` is kept for messages and reference matching), tokenized
//! like SFT examples, and the reference log-probability file.
//!
//! The reference file (`reference_logps.jsonl` in a run directory, or `--reference-logps`) has
//! one line per pair:
//!
//! ```text
//! {"file": "data", "record": 0, "id": "a1", "chosen": -12.5, "rejected": -20.25}
//! ```
//!
//! `file` is `data` (the training file, the default) or `eval` (the held-out file); `record` is
//! the 0-based number of the record in that file, counting every record including dropped
//! ones (default: the line's position among the lines of its `file`); `id` is optional and,
//! when both sides have one, must match the pair's. `chosen` and `rejected` are the reference
//! model's summed completion log-probabilities.

use crate::data::{encode_example, Example};
use crate::tokenizer::Specials;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use tokenizers::Tokenizer;

/// The file a pair was read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairFile {
    /// The training file (`--data`; held-out pairs split from it keep this).
    #[default]
    Data,
    /// The held-out file (`--eval-data`).
    Eval,
}

impl std::fmt::Display for PairFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Data => "data",
            Self::Eval => "eval",
        })
    }
}

/// The reference model's summed completion log-probabilities of one pair.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefLogps {
    /// Of the chosen completion.
    pub chosen: f64,
    /// Of the rejected completion.
    pub rejected: f64,
}

/// One tokenized preference pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// The file it came from.
    pub file: PairFile,
    /// 0-based record number in that file.
    pub record: usize,
    /// The record's `id` field, if a string or number.
    pub id: Option<String>,
    /// `<|bos|> prompt <|prompt_end|> chosen <|eos|>`.
    pub chosen: Example,
    /// `<|bos|> prompt <|prompt_end|> rejected <|eos|>`.
    pub rejected: Example,
    /// Reference log-probabilities supplied by the caller (else computed by the run).
    pub reference: Option<RefLogps>,
}

/// What loading a pair file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairLoadStats {
    /// Records read.
    pub records: usize,
    /// Pairs dropped because the prompt alone does not fit the sequence length.
    pub dropped_long_prompt: usize,
    /// Pairs dropped because the chosen or rejected sequence does not fit (a cut completion
    /// would lose `<|eos|>` and change its log-probability).
    pub dropped_long_completion: usize,
    /// Kept pairs whose chosen and rejected completions are identical (they carry no signal).
    pub identical: usize,
    /// Tokens of the longest kept sequence.
    pub longest: usize,
}

impl PairLoadStats {
    /// Pairs dropped for length.
    pub fn dropped(&self) -> usize {
        self.dropped_long_prompt + self.dropped_long_completion
    }
}

/// Why [`encode_pair`] rejected a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooLong {
    /// The prompt alone does not fit.
    Prompt,
    /// The chosen or rejected sequence does not fit.
    Completion,
}

/// Tokenizes a pair exactly like two SFT examples ([`encode_example`]); `Err(TooLong)` when
/// either sequence exceeds `max_tokens`.
pub fn encode_pair(
    tokenizer: &Tokenizer,
    specials: &Specials,
    prompt: &str,
    chosen: &str,
    rejected: &str,
    max_tokens: usize,
) -> Result<std::result::Result<(Example, Example), TooLong>> {
    let mut out = Vec::with_capacity(2);
    for completion in [chosen, rejected] {
        match encode_example(tokenizer, specials, prompt, completion, max_tokens)? {
            (None, _) => return Ok(Err(TooLong::Prompt)),
            (Some(_), true) => return Ok(Err(TooLong::Completion)),
            (Some(e), false) => out.push(e),
        }
    }
    let rejected = out.pop().expect("two examples");
    let chosen = out.pop().expect("two examples");
    Ok(Ok((chosen, rejected)))
}

/// The `id` of a record: a string, or a number as text.
fn id_of(value: &serde_json::Value) -> Option<String> {
    match value.get("id")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a JSONL file of `{"prompt", "chosen", "rejected"}` string records as pairs from
/// `file`. Pairs with a sequence longer than `max_seq_len + 1` tokens are dropped (counted in
/// the stats). Errors name the file, line and field.
pub fn load_pairs(
    path: &Path,
    file: PairFile,
    tokenizer: &Tokenizer,
    specials: &Specials,
    max_seq_len: usize,
) -> Result<(Vec<Pair>, PairLoadStats)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut pairs = Vec::new();
    let mut stats = PairLoadStats::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: invalid JSON", at()))?;
        if !value.is_object() {
            bail!("{}: expected a JSON object", at());
        }
        let field = |name: &str| -> Result<&str> {
            match value.get(name) {
                Some(serde_json::Value::String(s)) => Ok(s),
                Some(_) => bail!("{}: field `{name}` must be a string", at()),
                None => bail!("{}: missing field `{name}`", at()),
            }
        };
        let (prompt, chosen, rejected) = (field("prompt")?, field("chosen")?, field("rejected")?);
        let record = stats.records;
        stats.records += 1;
        match encode_pair(
            tokenizer,
            specials,
            prompt,
            chosen,
            rejected,
            max_seq_len + 1,
        )
        .with_context(at)?
        {
            Ok((chosen_ex, rejected_ex)) => {
                stats.identical += (chosen == rejected) as usize;
                stats.longest = stats
                    .longest
                    .max(chosen_ex.ids.len())
                    .max(rejected_ex.ids.len());
                pairs.push(Pair {
                    file,
                    record,
                    id: id_of(&value),
                    chosen: chosen_ex,
                    rejected: rejected_ex,
                    reference: None,
                });
            }
            Err(TooLong::Prompt) => stats.dropped_long_prompt += 1,
            Err(TooLong::Completion) => stats.dropped_long_completion += 1,
        }
    }
    if stats.records == 0 {
        bail!("{}: no records", path.display());
    }
    Ok((pairs, stats))
}

/// Splits off a held-out share `fraction` (at most 500 pairs) of `pairs`, chosen by `seed`;
/// returns `(train, held_out)`, both in file order.
pub fn split_held_out(
    pairs: Vec<Pair>,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<Pair>, Vec<Pair>)> {
    if !(0.0..1.0).contains(&fraction) {
        bail!("the held-out fraction must be in [0, 1), got {fraction}");
    }
    let n = ((pairs.len() as f64 * fraction).round() as usize).min(500);
    let mut idx: Vec<usize> = (0..pairs.len()).collect();
    crate::rng::Rng::new(seed ^ 0xd90e).shuffle(&mut idx);
    let held: std::collections::HashSet<usize> = idx[..n].iter().copied().collect();
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    for (i, p) in pairs.into_iter().enumerate() {
        if held.contains(&i) {
            eval.push(p);
        } else {
            train.push(p);
        }
    }
    Ok((train, eval))
}

/// One line of a reference file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RefLine {
    file: PairFile,
    record: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    chosen: f64,
    rejected: f64,
}

/// Reference values by `(file, record)`, with the line's `id` and line number.
pub type ReferenceMap = HashMap<(PairFile, usize), (Option<String>, usize, RefLogps)>;

/// Reads a reference file (format in the [module documentation](self)).
pub fn read_reference(path: &Path) -> Result<ReferenceMap> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = ReferenceMap::new();
    let mut next: HashMap<PairFile, usize> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: invalid JSON", at()))?;
        let file = match value.get("file") {
            None => PairFile::Data,
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                anyhow::anyhow!("{}: field `file` must be \"data\" or \"eval\"", at())
            })?,
        };
        let counter = next.entry(file).or_insert(0);
        let record = match value.get("record") {
            None => *counter,
            Some(v) => v.as_u64().with_context(|| {
                format!("{}: field `record` must be a non-negative integer", at())
            })? as usize,
        };
        *counter = record + 1;
        let number = |name: &str| -> Result<f64> {
            match value.get(name) {
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() => Ok(x),
                    _ => bail!("{}: field `{name}` must be a finite number", at()),
                },
                None => bail!("{}: missing field `{name}`", at()),
            }
        };
        let logps = RefLogps {
            chosen: number("chosen")?,
            rejected: number("rejected")?,
        };
        if out
            .insert((file, record), (id_of(&value), n + 1, logps))
            .is_some()
        {
            bail!("{}: a second line for {file} record {record}", at());
        }
    }
    Ok(out)
}

/// The reference value of `pair` in `map`, if any; fails when both have ids that differ.
pub fn lookup(map: &ReferenceMap, pair: &Pair, source: &Path) -> Result<Option<RefLogps>> {
    let Some((id, line, logps)) = map.get(&(pair.file, pair.record)) else {
        return Ok(None);
    };
    if let (Some(a), Some(b)) = (id, &pair.id) {
        if a != b {
            bail!(
                "{}:{line}: id `{a}` does not match the {} file's record {} (id `{b}`)",
                source.display(),
                pair.file,
                pair.record
            );
        }
    }
    Ok(Some(*logps))
}

/// Sets [`Pair::reference`] of every pair found in the reference file `path`; returns how many
/// were found.
pub fn attach_reference(pairs: &mut [Pair], path: &Path) -> Result<usize> {
    let map = read_reference(path)?;
    let mut found = 0;
    for pair in pairs {
        if let Some(r) = lookup(&map, pair, path)? {
            pair.reference = Some(r);
            found += 1;
        }
    }
    Ok(found)
}

/// Writes the reference file for `pairs` with values `values` (same order), atomically.
pub fn write_reference<'a>(
    path: &Path,
    pairs: impl IntoIterator<Item = &'a Pair>,
    values: &[RefLogps],
) -> Result<()> {
    let mut text = String::new();
    for (pair, v) in pairs.into_iter().zip(values) {
        let line = RefLine {
            file: pair.file,
            record: pair.record,
            id: pair.id.clone(),
            chosen: v.chosen,
            rejected: v.rejected,
        };
        text.push_str(&serde_json::to_string(&line)?);
        text.push('\n');
    }
    crate::fsutil::write_atomic(path, text.as_bytes())
}

/// FNV-1a hash of the tokenized pairs (to notice changed data on resume).
pub fn fingerprint(pairs: &[Pair]) -> u64 {
    crate::data::fingerprint(pairs.iter().flat_map(|p| [&p.chosen, &p.rejected]))
}
