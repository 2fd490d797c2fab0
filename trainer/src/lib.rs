//! The trainer library behind the `eerd` CLI's model commands: a llama-architecture decoder
//! trained with candle, its tokenizer, supervised fine-tuning, checkpoints and GGUF export.
//!
//! - [`model`]: the decoder and its fused ops;
//! - [`tokenizer`]: byte-level BPE training and the special tokens;
//! - [`dataset`]: the labelled data set of student variants (`eerd dataset`);
//! - [`data`]: SFT records, examples, batches and the resumable data order;
//! - [`optim`]: in-place AdamW, clipping and the learning-rate schedule;
//! - [`r2ta`]: the R2tA pipeline (traces, drafts, audit and refinement, evaluation);
//! - [`sft`]: the training loop; [`checkpoint`]: its saved state; [`metrics`]: its log;
//! - [`dpo`]: preference optimization (DPO / IPO / hinge) of an SFT model;
//! - [`export`]: GGUF export; [`hf`]: Hugging Face base models; [`gguf_import`]: GGUF base
//!   models; [`model_files`]: a GGUF and its tokenizer, read once for many runtime copies;
//! - [`endpoint`]: the client of OpenAI-compatible completion servers (drafts from a URL);
//! - [`threads`]: CPU thread settings; [`rng`]: deterministic random numbers;
//! - [`fsutil`]: atomic file writes; [`malloc`]: the allocator's settings for training.

pub mod checkpoint;
pub mod data;
pub mod dataset;
pub mod dpo;
pub mod endpoint;
pub mod export;
pub mod fsutil;
pub mod gguf_import;
pub mod hf;
pub mod malloc;
pub mod metrics;
pub mod model;
pub mod model_files;
pub mod optim;
pub mod r2ta;
pub mod rng;
pub mod sft;
pub mod synthetic;
pub mod threads;
pub mod tokenizer;
