//! All of this crate's integration tests, linked into one test binary: one link instead of
//! one per file keeps `cargo test` fast and its `target/` small. Each module is one
//! former test file; run one with `cargo test -p <crate> --test integration MODULE::`.

mod cli;
mod cli_model;
mod common;
mod dataset;
mod dpo;
mod endpoint;
mod grade_eval;
mod hf_import;
mod lora;
mod parity;
mod pipeline;
mod resume;
mod runtime_kernels;
mod trace_data;
