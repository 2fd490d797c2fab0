//! The trainer library behind the `eerd` CLI's model commands: a llama-architecture decoder
//! trained with candle, its tokenizer, supervised fine-tuning, checkpoints and GGUF export.
//!
//! - [`model`]: the decoder and its fused ops;
//! - [`tokenizer`]: byte-level BPE training and the special tokens;
//! - [`dataset`]: the labelled data set of student variants (`eerd dataset`);
//! - [`data`]: SFT records, examples, batches and the resumable data order;
//! - [`optim`]: in-place AdamW, clipping and the learning-rate schedule;
//! - [`sft`]: the training loop; [`checkpoint`]: its saved state; [`metrics`]: its log;
//! - [`export`]: GGUF export; [`hf`]: Hugging Face base models;
//! - [`threads`]: CPU thread settings; [`rng`]: deterministic random numbers;
//! - [`fsutil`]: atomic file writes.

pub mod checkpoint;
pub mod data;
pub mod dataset;
pub mod export;
pub mod fsutil;
pub mod hf;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod rng;
pub mod sft;
pub mod threads;
pub mod tokenizer;
