//! The llama-architecture causal decoder trained by `eerd train`.
//!
//! - [`config`]: hyper-parameters and size presets;
//! - [`llama`]: the model: weights in a candle `VarMap`, named as in GGUF files; fused CPU
//!   kernels or candle's composed ops ([`llama::Kernels`]);
//! - [`sublayer`]: a sub-layer (input projection, mixer, output projection) as one op;
//!   [`attention`] and [`fused`] (linear, output projection with the loss, SwiGLU) fill it;
//! - [`sgemm`]: the one f32 matrix product; [`fastmath`]: vectorized `exp` and reductions;
//! - [`ops`]: fused CPU ops with backward passes (RoPE, RMSNorm, causal softmax, cross-entropy);
//! - [`lora`]: low-rank adapters on a frozen base, merged at export.

pub mod attention;
pub mod config;
pub mod fastmath;
pub mod fused;
pub mod llama;
pub mod lora;
pub mod ops;
pub mod sgemm;
pub mod sublayer;

pub use config::{ModelConfig, PRESETS};
pub use llama::Llama;
