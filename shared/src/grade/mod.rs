//! Graders: anything that turns a reference and a student diagram into findings.
//!
//! [`Grader`] is the interface the scorer and the CLI use; [`RulesGrader`] is the deterministic
//! baseline (the one [`Matching`](crate::matching::Matching) + structural comparison). The model grader implements the same trait in
//! the trainer and the browser.

mod rules;

pub use rules::RulesGrader;

use crate::finding::Finding;
use crate::model::Diagram;
use std::fmt;

/// What a grader is given for one submission.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    /// The assignment's reference solution.
    pub reference: &'a Diagram,
    /// The student's diagram.
    pub student: &'a Diagram,
    /// The assignment's requirements text, when known.
    pub requirements: Option<&'a str>,
}

/// A grader failed on one submission (the model produced no usable output, an endpoint failed…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GradeError(pub String);

impl fmt::Display for GradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GradeError {}

/// Grades submissions.
pub trait Grader {
    /// A short name for reports (`rules`, `model:path`).
    fn name(&self) -> String;

    /// The findings for one submission, each naming a **reference** element path.
    fn grade(&mut self, submission: Submission<'_>) -> Result<Vec<Finding>, GradeError>;
}
