//! The llama-architecture causal decoder trained by `eerd train`.
//!
//! - [`config`]: hyper-parameters and size presets;
//! - [`ops`]: fused CPU ops with backward passes (RoPE, RMSNorm, causal softmax, cross-entropy);
//! - [`llama`]: the model: weights in a candle `VarMap`, named as in GGUF files;
//! - [`lora`]: low-rank adapters on a frozen base, merged at export.

pub mod attention;
pub mod config;
pub mod fastmath;
pub mod fused;
pub mod llama;
pub mod lora;
pub mod ops;
pub mod sgemm;

pub use config::{ModelConfig, PRESETS};
pub use llama::Llama;
