//! The EERD crate: extended entity-relationship diagrams in PlantUML's Chen notation.
//!
//! - [`model`]: the diagram model ([`Diagram`] and its parts);
//! - [`parse()`]: text → [`Diagram`], with every syntax error's line and column;
//! - [`print()`] / [`print_with`]: [`Diagram`] → canonical text;
//! - [`lint()`]: well-formedness diagnostics on a parsed diagram;
//! - [`path`]: element paths (`WORKS_FOR/DEPARTMENT`) and resolving them;
//! - [`compact()`]: the few-token form of a diagram for a model's prompt;
//! - [`explain`]: explanations of findings from the parsed diagrams and the matching;
//! - [`finding`]: mistake categories, findings and the data-set record;
//! - [`semantic`]: how related two English words are, from a table compiled out of WordNet 3.1;
//! - [`semantics`]: one meaning for ratio and `(min,max)` labels;
//! - [`matching`]: the one matching of a student's elements to the reference's (names, structure);
//! - [`grade`]: the `Grader` interface and the rules baseline; [`score`]: precision, recall, F1;
//! - [`trace`]: the model's prompt and its step-wise completion (render, parse, gold trace);
//! - [`audit`]: auditing a drafted trace against the truth, refining it, and the inference-time
//!   check of a model's findings.
//!
//! This crate has no ML dependencies and builds for `wasm32-unknown-unknown`.

pub mod audit;
pub mod compact;
pub mod explain;
pub mod finding;
pub mod grade;
pub mod lexicon;
pub mod lint;
pub mod matching;
pub mod model;
pub mod mutate;
pub mod parse;
pub mod path;
pub mod print;
pub mod requirements;
pub mod rng;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod score;
pub mod semantic;
pub mod semantics;
pub mod trace;

pub use compact::compact;
pub use finding::{Category, Citation, Finding, Record};
pub use lint::{check_text, has_errors, lint, Diagnostic, Severity};
pub use model::*;
pub use parse::{parse, parse_with_warnings, ParseError, ParseErrors, ParseWarning};
pub use path::{resolve, Element, ElementPath};
pub use print::{print, print_with, PrintOptions};
