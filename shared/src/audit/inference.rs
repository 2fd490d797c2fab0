//! The inference-time audit: drop a model's findings that the parsed diagrams refute.
//!
//! It needs no labels. A finding is dropped when its reference path does not resolve in the
//! reference, its student path (when given) does not resolve in the student's diagram, it repeats
//! an earlier finding, or its claim contradicts the student's diagram: a "missing" entity,
//! relationship or attribute that the student has (by the one [`Matching`]), a wrong key on an entity whose keys agree, a wrong attribute kind on an
//! attribute whose kind agrees, or any claim about an element, attribute or side whose focused
//! step reads alike ([`FocusStep::reads_alike`]: the student's text, in the reference's names,
//! order and label style, says exactly what the reference's says). Other claims are kept:
//! judging them is the model's job. The audit only drops findings; it never adds one. Each kept
//! finding gets the student's path from the matching and an explanation from [`explain`].

use crate::explain::explain;
use crate::finding::{Category, Finding};
use crate::lexicon::Lexicon;
use crate::matching::{find_attribute, Matching, Placement};
use crate::model::{Attribute, Diagram, KeyKind};
use crate::path::{resolve, ElementPath};
use crate::trace::{focus_steps_matched, FocusStep};
use serde::Serialize;
use std::collections::HashSet;

/// A finding and, if it was dropped, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedFinding {
    /// The finding.
    pub finding: Finding,
    /// Why it was dropped; `None` if kept.
    pub dropped: Option<String>,
}

struct Context<'a> {
    reference: &'a Diagram,
    student: &'a Diagram,
    matching: Matching,
    steps: Vec<FocusStep>,
}

impl<'a> Context<'a> {
    /// The student's attribute standing for the reference attribute `owner.names…` at the same
    /// place (not one drawn on another owner).
    fn student_attribute(&self, owner: &str, names: &[String]) -> Option<&'a Attribute> {
        let m = self.matching.attribute(owner, names)?;
        if m.placement == Placement::Elsewhere {
            return None;
        }
        let s = m.student.as_ref()?;
        find_attribute(self.student, &s.owner, &s.names)
    }

    /// Why the student's diagram refutes `finding`, if it does.
    fn refutation(&self, finding: &Finding) -> Option<String> {
        self.claim_refutation(finding).or_else(|| {
            let key = finding.element.key();
            self.steps
                .iter()
                .find(|s| s.reference.key() == key && s.judges(finding.category))
                .filter(|s| s.reads_alike())
                .map(|_| format!("the student's {} reads as the reference's", finding.element))
        })
    }

    /// Why the student's diagram refutes the claim of `finding` by its category, if it does.
    fn claim_refutation(&self, finding: &Finding) -> Option<String> {
        match (&finding.element, finding.category) {
            (ElementPath::Named(name), Category::MissingEntity) => {
                let i = self
                    .reference
                    .entities
                    .iter()
                    .position(|e| e.name == *name)?;
                self.matching.entities[i]
                    .map(|j| format!("the student has {} for it", self.student.entities[j].name))
            }
            (ElementPath::Named(name), Category::MissingRelationship) => {
                let i = self
                    .reference
                    .relationships
                    .iter()
                    .position(|r| r.name == *name)?;
                self.matching.relationships[i].map(|j| {
                    format!(
                        "the student has {} for it",
                        self.student.relationships[j].name
                    )
                })
            }
            (ElementPath::Named(name), Category::WrongKey) => {
                let i = self
                    .reference
                    .entities
                    .iter()
                    .position(|e| e.name == *name)?;
                let theirs = &self.student.entities[self.matching.entities[i]?];
                let agree = [KeyKind::Key, KeyKind::Partial].into_iter().all(|kind| {
                    self.matching
                        .keys_agree(self.reference, self.student, i, kind)
                });
                agree.then(|| format!("{} has the same keys", theirs.name))
            }
            (ElementPath::Attribute { owner, names }, Category::MissingAttribute) => self
                .student_attribute(owner, names)
                .map(|a| format!("the student has {} there", a.name)),
            (ElementPath::Attribute { owner, names }, Category::AttributeKind) => {
                let ours = find_attribute(self.reference, owner, names)?;
                let theirs = self.student_attribute(owner, names)?;
                let kind = |a: &Attribute| (a.multivalued, a.derived, a.is_composite());
                (kind(ours) == kind(theirs))
                    .then(|| format!("the student's {} has the same kind", theirs.name))
            }
            _ => None,
        }
    }
}

/// Checks a model's `findings` for `student` graded against `reference`; keeps the order. The
/// findings kept get the explanation from facts ([`explain`]), the student's element and, when
/// `requirements` are given, the sentence they come from ([`crate::requirements::cite`]).
pub fn check_findings(
    lexicon: &Lexicon,
    reference: &Diagram,
    student: &Diagram,
    requirements: Option<&str>,
    findings: &[Finding],
) -> Vec<CheckedFinding> {
    let matching = Matching::new(lexicon, reference, student);
    let context = Context {
        reference,
        student,
        steps: focus_steps_matched(reference, student, &matching),
        matching,
    };
    let mut seen = HashSet::new();
    let mut checked: Vec<CheckedFinding> = findings
        .iter()
        .map(|finding| {
            let dropped = if let Err(e) = resolve(reference, &finding.element) {
                Some(format!("not in the reference: {e}"))
            } else if let Some(Err(e)) = finding
                .student
                .as_deref()
                .map(|s| s.parse::<ElementPath>().map_err(|e| e.to_string()))
                .map(|p| p.and_then(|p| resolve(student, &p).map_err(|e| e.to_string())))
            {
                Some(format!("not in the student's diagram: {e}"))
            } else if !seen.insert((finding.category, finding.element.key())) {
                Some("repeats an earlier finding".to_string())
            } else {
                context
                    .refutation(finding)
                    .map(|why| format!("contradicted: {why}"))
            };
            let mut finding = finding.clone();
            if dropped.is_none() {
                // The model's explanation is replaced by one made of facts from the diagrams
                // and the matching (`explain`): what is required and what the student has.
                finding.explanation = explain(
                    reference,
                    student,
                    &context.matching,
                    finding.category,
                    &finding.element,
                );
            }
            if dropped.is_none() && finding.student.is_none() {
                // The student's element from the matching (for display and highlighting).
                finding.student = context
                    .matching
                    .student_path(reference, student, &finding.element)
                    .map(|p| p.to_string());
            }
            CheckedFinding { finding, dropped }
        })
        .collect();
    crate::requirements::cite(
        lexicon,
        reference,
        requirements,
        checked
            .iter_mut()
            .filter(|c| c.dropped.is_none())
            .map(|c| &mut c.finding),
    );
    checked
}
