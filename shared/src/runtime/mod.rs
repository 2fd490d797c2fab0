//! The quantized model runtime (feature `runtime`): load a GGUF model and its `tokenizer.json`
//! from bytes, and generate text with a KV cache — natively and in `wasm32-unknown-unknown`.
//!
//! - [`Model`]: loading, prompt encoding, per-position logits, generation;
//! - [`GenerateOptions`] / [`Sampling`]: greedy or temperature + top-p sampling with a seed,
//!   stop sequences, a token limit;
//! - [`ModelGrader`]: grading with a model trained on [traces](crate::trace), with the
//!   optional inference-time audit;
//! - [`TokenEvent`]: what the per-token callback sees; it returns
//!   [`ControlFlow::Break`](std::ops::ControlFlow) to cancel.
//!
//! Models trained by `eerd train sft` expect the prompt form
//! `<|bos|> prompt <|prompt_end|>` ([`Model::prompt_ids`]) and end their answer with
//! `<|eos|>`.
//!
//! ```no_run
//! # fn demo(gguf: &[u8], tokenizer: &[u8]) -> Result<(), eerd::runtime::RuntimeError> {
//! use eerd::runtime::{GenerateOptions, Model};
//! let mut model = Model::from_bytes(gguf, tokenizer)?;
//! let prompt = model.prompt_ids("entity A { id <<key>> }")?;
//! let out = model.generate(&prompt, &GenerateOptions::default(), |_| {
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! println!("{}", out.text);
//! # Ok(()) }
//! ```

mod attention;
mod chat;
mod generate;
mod gguf_tokenizer;
mod grader;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernels_wasm;
#[cfg(target_arch = "x86_64")]
mod kernels_x86;
mod llama;
mod matmul;
mod model;
pub mod quant;
mod sampling;
mod threads;

pub use chat::{ChatTemplate, CHAT_TEMPLATE_KEY};
pub use generate::{GenerateOptions, Generation, StopReason, TokenEvent};
pub use gguf_tokenizer::tokenizer_from_gguf;
pub use grader::{generate_focused, Graded, ModelGrader, STEP_MAX_TOKENS};
pub use llama::Config;
pub use matmul::{product, Simd};
pub use model::Model;
pub use sampling::{Sampler, Sampling};

/// Errors of the runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The GGUF bytes could not be read or lack something the model needs.
    #[error("GGUF model: {0}")]
    Gguf(String),
    /// The tokenizer JSON could not be read, or encoding/decoding failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed.
    #[error("model computation: {0}")]
    Compute(#[from] candle_core::Error),
    /// A bad argument (empty prompt, too long a prompt, bad sampling settings).
    #[error("{0}")]
    Input(String),
}

/// The runtime's result type.
pub type Result<T> = std::result::Result<T, RuntimeError>;
