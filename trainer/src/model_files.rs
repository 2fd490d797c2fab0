//! A GGUF model's files read once, for loading as many runtime copies as there are workers:
//! the one place that decides which tokenizer goes with a GGUF.
//!
//! The tokenizer is, in order: the one given (`--tokenizer`), the GGUF's own
//! `tokenizer.ggml.*` metadata, the `tokenizer.json` beside the GGUF.

use anyhow::{Context, Result};
use eerd::runtime::Model;
use std::path::{Path, PathBuf};

/// A GGUF file's bytes and, when the GGUF's own tokenizer is not used, a `tokenizer.json`'s.
#[derive(Clone)]
pub struct ModelFiles {
    /// Where the GGUF was read from (for messages).
    pub path: PathBuf,
    /// The GGUF file's bytes.
    pub gguf: Vec<u8>,
    /// `tokenizer.json`'s bytes; `None`: the GGUF's own tokenizer.
    pub tokenizer: Option<Vec<u8>>,
}

impl ModelFiles {
    /// Reads `model` and its tokenizer (see the module doc for which); fails with the file
    /// named when either cannot be read.
    pub fn read(model: &Path, tokenizer: Option<&Path>) -> Result<Self> {
        let gguf =
            std::fs::read(model).with_context(|| format!("cannot read {}", model.display()))?;
        let tokenizer_path = match tokenizer {
            Some(t) => Some(t.to_path_buf()),
            None if Model::gguf_has_tokenizer(&gguf)
                .with_context(|| format!("cannot load {}", model.display()))? =>
            {
                None
            }
            None => Some(model.with_file_name("tokenizer.json")),
        };
        let tokenizer = match tokenizer_path {
            Some(path) => Some(
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
            None => None,
        };
        Ok(ModelFiles {
            path: model.to_path_buf(),
            gguf,
            tokenizer,
        })
    }

    /// A runtime copy of the model (one per worker).
    pub fn load(&self) -> Result<Model> {
        let loaded = match &self.tokenizer {
            Some(tokenizer) => Model::from_bytes(&self.gguf, tokenizer),
            None => Model::from_gguf(&self.gguf),
        };
        loaded.with_context(|| format!("cannot load {}", self.path.display()))
    }
}
