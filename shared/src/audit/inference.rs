//! The inference-time audit: drop a model's findings that the parsed diagrams refute.
//!
//! It needs no labels. A finding is dropped when its reference path does not resolve in the
//! reference, its student path (when given) does not resolve in the student's diagram, it repeats
//! an earlier finding, or its claim contradicts the student's diagram: a "missing" entity,
//! relationship or attribute that the student has (by the rules grader's alignment and name
//! comparison), a wrong key on an entity whose keys agree, a wrong attribute kind on an
//! attribute whose kind agrees, or any claim about an element, attribute or side whose focused
//! step reads alike ([`FocusStep::reads_alike`]: the student's text, in the reference's names,
//! order and label style, says exactly what the reference's says). Other claims are kept:
//! judging them is the model's job. The audit only drops findings; it never adds one.

use crate::finding::{Category, Finding};
use crate::grade::{name_similarity, Alignment};
use crate::lexicon::Lexicon;
use crate::model::{Attribute, Diagram, KeyKind};
use crate::path::{resolve, ElementPath};
use crate::trace::{focus_steps_aligned, FocusStep};
use serde::Serialize;
use std::collections::HashSet;

/// Names at least this similar are the same name (as in the rules grader).
const SAME: f64 = 0.8;

/// A finding and, if it was dropped, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckedFinding {
    /// The finding.
    pub finding: Finding,
    /// Why it was dropped; `None` if kept.
    pub dropped: Option<String>,
}

struct Context<'a> {
    lexicon: &'a Lexicon,
    reference: &'a Diagram,
    student: &'a Diagram,
    alignment: Alignment,
    steps: Vec<FocusStep>,
}

impl<'a> Context<'a> {
    /// The student's entity or relationship standing for the reference one named `name`, with
    /// its attributes.
    fn student_owner(&self, name: &str) -> Option<&'a [Attribute]> {
        if let Some(i) = self.reference.entities.iter().position(|e| e.name == name) {
            return self.alignment.entities[i].map(|j| &self.student.entities[j].attributes[..]);
        }
        let i = self
            .reference
            .relationships
            .iter()
            .position(|r| r.name == name)?;
        self.alignment.relationships[i].map(|j| &self.student.relationships[j].attributes[..])
    }

    fn reference_owner(&self, name: &str) -> Option<&'a [Attribute]> {
        self.reference
            .entity(name)
            .map(|e| &e.attributes[..])
            .or_else(|| self.reference.relationship(name).map(|r| &r.attributes[..]))
    }

    fn find<'b>(&self, list: &'b [Attribute], name: &str) -> Option<&'b Attribute> {
        list.iter()
            .filter(|a| name_similarity(self.lexicon, &a.name, name) >= SAME)
            .max_by(|a, b| {
                let sa = name_similarity(self.lexicon, &a.name, name);
                let sb = name_similarity(self.lexicon, &b.name, name);
                sa.total_cmp(&sb)
            })
    }

    /// The attribute at `names` below `list` (through composite parts).
    fn attribute<'b>(&self, list: &'b [Attribute], names: &[String]) -> Option<&'b Attribute> {
        let (first, rest) = names.split_first()?;
        let top = self.find(list, first)?;
        if rest.is_empty() {
            Some(top)
        } else {
            self.attribute(&top.parts, rest)
        }
    }

    fn keys(&self, list: &[Attribute]) -> Vec<String> {
        let mut keys: Vec<String> = list
            .iter()
            .filter(|a| a.key != KeyKind::None)
            .map(|a| format!("{:?}:{}", a.key, self.lexicon.concept(&a.name)))
            .collect();
        keys.sort();
        keys
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
                self.alignment.entities[i]
                    .map(|j| format!("the student has {} for it", self.student.entities[j].name))
            }
            (ElementPath::Named(name), Category::MissingRelationship) => {
                let i = self
                    .reference
                    .relationships
                    .iter()
                    .position(|r| r.name == *name)?;
                self.alignment.relationships[i].map(|j| {
                    format!(
                        "the student has {} for it",
                        self.student.relationships[j].name
                    )
                })
            }
            (ElementPath::Named(name), Category::WrongKey) => {
                let ours = self.reference.entity(name)?;
                let i = self
                    .reference
                    .entities
                    .iter()
                    .position(|e| e.name == *name)?;
                let theirs = &self.student.entities[self.alignment.entities[i]?];
                (self.keys(&ours.attributes) == self.keys(&theirs.attributes))
                    .then(|| format!("{} has the same keys", theirs.name))
            }
            (ElementPath::Attribute { owner, names }, Category::MissingAttribute) => {
                let theirs = self.student_owner(owner)?;
                self.attribute(theirs, names)
                    .map(|a| format!("the student has {} there", a.name))
            }
            (ElementPath::Attribute { owner, names }, Category::AttributeKind) => {
                let ours = self.attribute(self.reference_owner(owner)?, names)?;
                let theirs = self.attribute(self.student_owner(owner)?, names)?;
                let kind = |a: &Attribute| (a.multivalued, a.derived, a.is_composite());
                (kind(ours) == kind(theirs))
                    .then(|| format!("the student's {} has the same kind", theirs.name))
            }
            _ => None,
        }
    }
}

/// Checks a model's `findings` for `student` graded against `reference`; keeps the order.
pub fn check_findings(
    lexicon: &Lexicon,
    reference: &Diagram,
    student: &Diagram,
    findings: &[Finding],
) -> Vec<CheckedFinding> {
    let alignment = Alignment::new(lexicon, reference, student);
    let context = Context {
        lexicon,
        reference,
        student,
        steps: focus_steps_aligned(lexicon, reference, student, &alignment),
        alignment,
    };
    let mut seen = HashSet::new();
    findings
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
            CheckedFinding {
                finding: finding.clone(),
                dropped,
            }
        })
        .collect()
}
