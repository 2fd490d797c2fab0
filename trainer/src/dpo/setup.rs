//! Everything [`super::run`] needs, from an SFT (or DPO) run directory and pair files.

use super::data::{self, load_pairs, PairFile, PairLoadStats};
use super::DpoData;
use crate::checkpoint;
use crate::model::ModelConfig;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The files [`prepare`] reads.
#[derive(Clone, Debug, Default)]
pub struct DataFiles {
    /// Training pairs (JSONL).
    pub data: PathBuf,
    /// Held-out pairs; without it, `eval_fraction` of `data` is held out.
    pub eval_data: Option<PathBuf>,
    /// Share of `data` held out when there is no `eval_data` (at most 500 pairs).
    pub eval_fraction: f64,
    /// Reference log-probabilities to use instead of computing them (pairs missing from the
    /// file are computed).
    pub reference_logps: Option<PathBuf>,
}

/// Model configuration and data ready for [`super::run`], with what loading did.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The model configuration (from the checkpoint, `max_seq_len` possibly overridden).
    pub model: ModelConfig,
    /// The tokenized pairs.
    pub data: DpoData,
    /// Load statistics per file read.
    pub stats: Vec<(PathBuf, PairLoadStats)>,
    /// Pairs whose reference values came from `reference_logps`.
    pub supplied_reference: usize,
}

/// Reads the model configuration and tokenizer of `model_from` (a checkpoint or run directory:
/// the `--init` SFT run, or the DPO run itself when resuming), sets `max_seq_len` to `seq_len`
/// if given, and loads and tokenizes the pair files; `seed` picks the held-out share.
pub fn prepare(
    model_from: &Path,
    files: &DataFiles,
    seq_len: Option<usize>,
    seed: u64,
) -> Result<Prepared> {
    let dir = checkpoint::resolve(model_from)?;
    let mut model = checkpoint::read_state(&dir)?.model;
    if let Some(n) = seq_len {
        model.max_seq_len = n;
    }
    model.validate()?;
    let tok_path = dir.join(checkpoint::TOKENIZER_FILE);
    let tok = crate::tokenizer::load(&tok_path)?;
    let specials =
        crate::tokenizer::Specials::of(&tok).with_context(|| format!("{}", tok_path.display()))?;
    if tok.get_vocab_size(true) > model.vocab_size {
        bail!(
            "{}: the tokenizer has {} tokens but the model only {}",
            tok_path.display(),
            tok.get_vocab_size(true),
            model.vocab_size
        );
    }
    let seq = model.max_seq_len;
    let (pairs, stats) = load_pairs(&files.data, PairFile::Data, &tok, &specials, seq)?;
    let mut all_stats = vec![(files.data.clone(), stats)];
    let (mut train, mut eval) = match &files.eval_data {
        Some(path) => {
            let (eval, stats) = load_pairs(path, PairFile::Eval, &tok, &specials, seq)?;
            all_stats.push((path.clone(), stats));
            (pairs, eval)
        }
        None => data::split_held_out(pairs, files.eval_fraction, seed)?,
    };
    let mut supplied_reference = 0;
    if let Some(path) = &files.reference_logps {
        supplied_reference += data::attach_reference(&mut train, path)?;
        supplied_reference += data::attach_reference(&mut eval, path)?;
    }
    Ok(Prepared {
        model,
        data: DpoData {
            train,
            eval,
            tokenizer_json: tok
                .to_string(false)
                .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?,
            pad: specials.pad,
        },
        stats: all_stats,
        supplied_reference,
    })
}
