//! The grading trace: what a model reads (the prompts) and writes (the completion).
//!
//! The model answers one [focused prompt](focus) per reference element, per attribute and per
//! side of a relationship: the reference's text, the student's matching text and the evidence
//! elsewhere. Its answers, the step verdicts, make the completion: a list of numbered reasoning
//! steps, one per focused prompt (what the reference has, the student's match, the verdict),
//! then the findings block:
//!
//! ```text
//! completion = "Steps:\n" {step "\n"} "Findings:" (" none\n" | "\n" {finding "\n"})
//! step       = NUMBER ". " KIND " " REFERENCE " | " (STUDENT | "-") " | " verdict
//! KIND       = "entity" | "relationship" | "specialization" | "union" | "attribute" | "side"
//! verdict    = "ok" | claim {"; " claim}
//! claim      = CATEGORY " " PATH                  a mistake at that reference path
//! finding    = "- " CATEGORY " | " PATH " | " (STUDENT_PATH | "-") " | " EXPLANATION
//! ```
//!
//! `REFERENCE` and `PATH` are [element paths](crate::path) of the reference diagram,
//! `STUDENT` the matching element of the student's diagram, `CATEGORY` a
//! [category id](crate::Category). The [gold trace](gold_trace) has a step per element, whose
//! claims may name its attributes and sides; a focused trace ([`focus_trace`]) puts each claim
//! on the step of its own path. The findings are exactly the steps' claims, in order —
//! [`Trace::is_consistent`] checks it.
//!
//! - [`focus_steps`]: the steps and their prompts; [`completion_text`]: verdicts → completion;
//!   [`examples`]: a trace → (prompt, verdict) training examples;
//! - [`Trace::render`] / [`parse_completion`]: trace ↔ completion text (the parser reports every
//!   malformed line with its line and column and never panics);
//! - [`gold_trace`]: the true trace of a labelled record; [`focus_trace`]: on the focused steps;
//! - [`instructed_prompt`] / [`read_answer`]: the same steps asked of an instruction-tuned
//!   model from elsewhere (prompt-only, with [`INSTRUCTIONS`]) and its answers read as verdicts.

mod completion;
mod focus;
mod gold;
mod instruct;
mod prompt;

pub use completion::{parse_completion, ParsedTrace, TraceError};
pub use focus::focus_steps_matched;
pub use focus::{
    completion_text, examples, explanation, findings_block, focus_steps, focus_trace, read_verdict,
    step_header, verdict_text, FocusStep, ATTRIBUTE_HEADER, FOCUS_HEADER, PROMPT_WORDS,
    SIDE_HEADER,
};
pub use gold::{gold_trace, step_of, step_paths};
pub use instruct::{instructed_prompt, read_answer, INSTRUCTIONS};
pub use prompt::escape_special;

use crate::finding::{Category, Finding};
use crate::path::ElementPath;
use std::collections::HashSet;
use std::fmt;

/// The kind of reference element a step is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// An entity type, with its attributes.
    Entity,
    /// A relationship type, with its attributes and sides.
    Relationship,
    /// A specialization.
    Specialization,
    /// A union type.
    Union,
    /// One attribute of an entity or relationship (a focused step of its own).
    Attribute,
    /// One side of a relationship (a focused step of its own).
    Side,
}

impl StepKind {
    /// The word the completion uses.
    pub fn word(self) -> &'static str {
        match self {
            StepKind::Entity => "entity",
            StepKind::Relationship => "relationship",
            StepKind::Specialization => "specialization",
            StepKind::Union => "union",
            StepKind::Attribute => "attribute",
            StepKind::Side => "side",
        }
    }

    /// The kind named by `word`.
    pub fn from_word(word: &str) -> Option<StepKind> {
        [
            StepKind::Entity,
            StepKind::Relationship,
            StepKind::Specialization,
            StepKind::Union,
            StepKind::Attribute,
            StepKind::Side,
        ]
        .into_iter()
        .find(|k| k.word() == word)
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A step's statement that there is a mistake of `category` at the reference path `element`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The mistake's category.
    pub category: Category,
    /// The reference element concerned.
    pub element: ElementPath,
}

impl Claim {
    /// The claim a finding makes.
    pub fn of(finding: &Finding) -> Claim {
        Claim {
            category: finding.category,
            element: finding.element.clone(),
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.category, self.element)
    }
}

/// One reasoning step: a reference element, its match in the student's diagram, the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What kind of element the step is about.
    pub kind: StepKind,
    /// The reference element.
    pub reference: ElementPath,
    /// The student's matching element (its path), if there is one.
    pub student: Option<String>,
    /// The mistakes found at this element; empty means "ok".
    pub claims: Vec<Claim>,
}

/// A whole trace: the steps and the final findings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trace {
    /// The reasoning steps, in reference order.
    pub steps: Vec<Step>,
    /// The final answer.
    pub findings: Vec<Finding>,
}

impl Trace {
    /// Whether the findings are exactly the steps' claims (as sets of category and path).
    pub fn is_consistent(&self) -> bool {
        let claimed: HashSet<Claim> = self
            .steps
            .iter()
            .flat_map(|s| s.claims.iter().cloned())
            .collect();
        let found: HashSet<Claim> = self.findings.iter().map(Claim::of).collect();
        claimed == found
    }

    /// The completion text (the grammar in the [module docs](self)).
    pub fn render(&self) -> String {
        completion::render(self)
    }
}
