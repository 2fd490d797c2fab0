//! The R2tA pipeline (Reason-Refine-then-Align): trace records, drafts, audit and refinement,
//! preference pairs, evaluation, and the pipeline that runs them all.
//!
//! - [`traces`]: gold and unrefined trace records of a data set (SFT data, warm-up data);
//! - [`draft`]: stage 1, drafts from a local GGUF model or an OpenAI-compatible endpoint;
//! - [`refine`]: stage 2, step-wise audit, refined traces, audit report, preference pairs;
//! - [`rename`]: name augmentation of SFT examples (made-up names);
//! - [`evaluate`]: scoring graders and the comparison table;
//! - [`pipeline`]: all stages in one run folder, with resume;
//! - [`rerun`]: which stages a changed configuration invalidates;
//! - [`card`]: publishing a run's model with its model card.

pub mod card;
pub mod draft;
pub mod evaluate;
pub mod pipeline;
pub mod refine;
pub mod rename;
pub mod rerun;
pub mod traces;
