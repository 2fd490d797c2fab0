//! One module per subcommand.

pub mod bench;
pub mod bench_generate;
pub mod check;
pub mod citations;
pub mod dataset;
pub mod draft;
pub mod eval;
pub mod export;
pub mod fmt;
pub mod generate;
pub mod grade;
pub mod graders;
pub mod import;
pub mod input;
pub mod pipeline;
pub mod publish;
pub mod refine;
pub mod tokenizer;
pub mod traces;
pub mod train;
