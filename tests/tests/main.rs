//! All of this crate's integration tests, linked into one test binary: one link instead of
//! one per file keeps `cargo test` fast and its `target/` small. Each module is one
//! former test file; run one with `cargo test -p <crate> --test integration MODULE::`.

mod architecture;
mod corpus;
mod plantuml_render;
mod roundtrip;
