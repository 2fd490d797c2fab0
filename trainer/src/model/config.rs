//! Model hyper-parameters and the named size presets.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Hyper-parameters of the llama-architecture decoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Number of tokens in the vocabulary (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub dim: usize,
    /// Number of transformer blocks.
    pub n_layers: usize,
    /// Number of query heads.
    pub n_heads: usize,
    /// Number of key/value heads (`n_heads` for plain multi-head attention, fewer for GQA).
    pub n_kv_heads: usize,
    /// Hidden width of the SwiGLU feed-forward layer.
    pub ffn_dim: usize,
    /// Longest sequence the model is trained and run on.
    pub max_seq_len: usize,
    /// RoPE base frequency.
    pub rope_theta: f32,
    /// RMSNorm epsilon.
    pub norm_eps: f32,
    /// Whether the output projection shares the token embedding matrix.
    pub tie_embeddings: bool,
}

/// The preset names accepted by [`ModelConfig::preset`].
pub const PRESETS: &[&str] = &["tiny", "2m", "8m", "24m"];

impl ModelConfig {
    /// A named size preset with the given vocabulary size.
    ///
    /// | preset | dim | layers | heads (kv) | ffn | output | params at vocab 4096 |
    /// |---|---|---|---|---|---|---|
    /// | `tiny` | 64 | 2 | 4 (2) | 192 | untied | ~0.1M (vocab 512) |
    /// | `2m` | 128 | 4 | 4 (4) | 384 | untied | ~1.9M |
    /// | `8m` | 256 | 6 | 8 (8) | 1024 | untied | ~8.4M |
    /// | `24m` | 512 | 7 | 8 (8) | 1280 | tied | ~23M |
    ///
    /// `24m` uses widths that are multiples of 256 so that Q4_K applies to every matrix.
    pub fn preset(name: &str, vocab_size: usize) -> Result<Self> {
        let (dim, n_layers, n_heads, n_kv_heads, ffn_dim, tie, seq) = match name {
            "tiny" => (64, 2, 4, 2, 192, false, 256),
            "2m" => (128, 4, 4, 4, 384, false, 1024),
            "8m" => (256, 6, 8, 8, 1024, false, 1024),
            "24m" => (512, 7, 8, 8, 1280, true, 1024),
            other => bail!("unknown model preset `{other}` (expected one of {PRESETS:?})"),
        };
        let config = Self {
            vocab_size,
            dim,
            n_layers,
            n_heads,
            n_kv_heads,
            ffn_dim,
            max_seq_len: seq,
            rope_theta: 10_000.0,
            norm_eps: 1e-5,
            tie_embeddings: tie,
        };
        config.validate()?;
        Ok(config)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.dim / self.n_heads
    }

    /// Checks that the shapes fit together.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size == 0 || self.dim == 0 || self.n_layers == 0 || self.ffn_dim == 0 {
            bail!("model config: vocab_size, dim, n_layers and ffn_dim must be positive");
        }
        if self.n_heads == 0 || !self.dim.is_multiple_of(self.n_heads) {
            bail!(
                "model config: dim {} is not a multiple of n_heads {}",
                self.dim,
                self.n_heads
            );
        }
        if !self.head_dim().is_multiple_of(2) {
            bail!(
                "model config: head_dim {} must be even for RoPE",
                self.head_dim()
            );
        }
        if self.n_kv_heads == 0 || !self.n_heads.is_multiple_of(self.n_kv_heads) {
            bail!(
                "model config: n_heads {} is not a multiple of n_kv_heads {}",
                self.n_heads,
                self.n_kv_heads
            );
        }
        if self.max_seq_len == 0 {
            bail!("model config: max_seq_len must be positive");
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        let hd = self.head_dim();
        let attn = self.dim * self.n_heads * hd * 2 + self.dim * self.n_kv_heads * hd * 2;
        let ffn = 3 * self.dim * self.ffn_dim;
        let per_layer = attn + ffn + 2 * self.dim;
        let embed = self.vocab_size * self.dim;
        let output = if self.tie_embeddings { 0 } else { embed };
        embed + output + self.n_layers * per_layer + self.dim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_sizes() {
        let m = |n| ModelConfig::preset(n, 4096).unwrap().param_count() as f64 / 1e6;
        assert!((1.5..2.5).contains(&m("2m")), "{}", m("2m"));
        assert!((7.5..9.5).contains(&m("8m")), "{}", m("8m"));
        assert!((20.0..30.0).contains(&m("24m")), "{}", m("24m"));
        let tiny = ModelConfig::preset("tiny", 512).unwrap().param_count();
        assert!((50_000..200_000).contains(&tiny), "{tiny}");
        assert!(ModelConfig::preset("huge", 10).is_err());
    }
}
