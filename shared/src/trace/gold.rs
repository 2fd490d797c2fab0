//! The true trace of a labelled record: one step per reference element, the student's match
//! from the one [`Matching`], the labels as claims and findings.

use super::{Claim, Step, StepKind, Trace};
use crate::finding::Finding;
use crate::lexicon::Lexicon;
use crate::matching::Matching;
use crate::model::Diagram;
use crate::path::{all_paths, ElementPath};

/// The step a reference path belongs to: its kind and the path of its element (an attribute
/// belongs to its owner, a side to its relationship). `None` if the path names nothing in
/// `reference`.
pub fn step_of(reference: &Diagram, path: &ElementPath) -> Option<(StepKind, ElementPath)> {
    let named = |name: &str| {
        if let Some(e) = reference.entity(name) {
            Some((StepKind::Entity, ElementPath::Named(e.name.clone())))
        } else {
            reference
                .relationship(name)
                .map(|r| (StepKind::Relationship, ElementPath::Named(r.name.clone())))
        }
    };
    match path {
        ElementPath::Named(name) => named(name),
        ElementPath::Attribute { owner, .. } => named(owner),
        ElementPath::Side { relationship, .. } => named(relationship),
        ElementPath::Specialization { .. } => reference
            .specializations
            .iter()
            .map(|s| ElementPath::specialization(&s.superclass, &s.subclasses))
            .find(|p| p == path)
            .map(|p| (StepKind::Specialization, p)),
        ElementPath::Union { .. } => reference
            .unions
            .iter()
            .map(|u| ElementPath::union(&u.category, &u.superclasses))
            .find(|p| p == path)
            .map(|p| (StepKind::Union, p)),
    }
}

/// Every reference path that belongs to the step of `element` (see [`step_of`]): the element,
/// its attributes at every depth, and its sides.
pub fn step_paths(reference: &Diagram, element: &ElementPath) -> Vec<ElementPath> {
    all_paths(reference)
        .into_iter()
        .filter(|p| step_of(reference, p).is_some_and(|(_, s)| s == *element))
        .collect()
}

/// The steps of `reference` in order (entities, relationships, specializations, unions), each
/// with the student's matching element under `alignment` and no claims yet.
pub(crate) fn skeleton(matching: &Matching, reference: &Diagram, student: &Diagram) -> Vec<Step> {
    let mut steps = Vec::new();
    for (i, e) in reference.entities.iter().enumerate() {
        steps.push(Step {
            kind: StepKind::Entity,
            reference: ElementPath::Named(e.name.clone()),
            student: matching.entities[i].map(|j| student.entities[j].name.clone()),
            claims: Vec::new(),
        });
    }
    for (i, r) in reference.relationships.iter().enumerate() {
        steps.push(Step {
            kind: StepKind::Relationship,
            reference: ElementPath::Named(r.name.clone()),
            student: matching.relationships[i].map(|j| student.relationships[j].name.clone()),
            claims: Vec::new(),
        });
    }
    for (k, s) in reference.specializations.iter().enumerate() {
        let matched = matching.specializations[k].map(|t| &student.specializations[t]);
        steps.push(Step {
            kind: StepKind::Specialization,
            reference: ElementPath::specialization(&s.superclass, &s.subclasses),
            student: matched
                .map(|t| ElementPath::specialization(&t.superclass, &t.subclasses).to_string()),
            claims: Vec::new(),
        });
    }
    for (k, u) in reference.unions.iter().enumerate() {
        let matched = matching.unions[k].map(|t| &student.unions[t]);
        steps.push(Step {
            kind: StepKind::Union,
            reference: ElementPath::union(&u.category, &u.superclasses),
            student: matched.map(|t| ElementPath::union(&t.category, &t.superclasses).to_string()),
            claims: Vec::new(),
        });
    }
    steps
}

/// The true trace for `student` graded against `reference` with the true findings `labels`.
///
/// Each label becomes a claim of the step its path belongs to and a finding; a label whose path
/// names nothing in `reference` (not produced by the data set) gets a step of its own at the end.
pub fn gold_trace(
    lexicon: &Lexicon,
    reference: &Diagram,
    student: &Diagram,
    labels: &[Finding],
) -> Trace {
    let matching = Matching::new(lexicon, reference, student);
    let mut steps = skeleton(&matching, reference, student);
    for label in labels {
        let claim = Claim::of(label);
        match step_of(reference, &label.element) {
            Some((_, element)) => {
                if let Some(step) = steps.iter_mut().find(|s| s.reference == element) {
                    step.claims.push(claim);
                }
            }
            None => steps.push(Step {
                kind: StepKind::Entity,
                reference: label.element.clone(),
                student: None,
                claims: vec![claim],
            }),
        }
    }
    let findings = steps
        .iter()
        .flat_map(|s| &s.claims)
        .filter_map(|c| labels.iter().find(|l| Claim::of(l) == *c).cloned())
        .collect();
    Trace { steps, findings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Category;
    use crate::parse;

    const REFERENCE: &str = "@startchen\n\
        entity EMPLOYEE {\n  Ssn <<key>>\n  Salary\n}\n\
        entity DEPARTMENT {\n  Dnumber <<key>>\n}\n\
        entity ENGINEER {\n}\n\
        entity SECRETARY {\n}\n\
        relationship WORKS_FOR {\n}\n\
        WORKS_FOR =N= EMPLOYEE\n\
        WORKS_FOR -1- DEPARTMENT\n\
        EMPLOYEE =>= d { ENGINEER, SECRETARY }\n\
        @endchen\n";

    const STUDENT: &str = "@startchen\n\
        entity Worker {\n  Ssn <<key>>\n}\n\
        entity DEPARTMENT {\n  Dnumber <<key>>\n}\n\
        entity ENGINEER {\n}\n\
        entity SECRETARY {\n}\n\
        relationship Works_in {\n}\n\
        Works_in =N= Worker\n\
        Works_in -N- DEPARTMENT\n\
        Worker =>= d { ENGINEER, SECRETARY }\n\
        @endchen\n";

    #[test]
    fn gold_trace_puts_each_label_on_its_element() {
        let reference = parse(REFERENCE).unwrap();
        let student = parse(STUDENT).unwrap();
        let labels = vec![
            Finding {
                category: Category::WrongCardinality,
                element: "WORKS_FOR/DEPARTMENT".parse().unwrap(),
                student: None,
                explanation: "One department.".into(),
                requirement: None,
            },
            Finding {
                category: Category::MissingAttribute,
                element: "EMPLOYEE.Salary".parse().unwrap(),
                student: None,
                explanation: "Add Salary.".into(),
                requirement: None,
            },
        ];
        let trace = gold_trace(&Lexicon::builtin(), &reference, &student, &labels);
        assert_eq!(
            trace.render(),
            "Steps:\n\
             1. entity EMPLOYEE | Worker | missing_attribute EMPLOYEE.Salary\n\
             2. entity DEPARTMENT | DEPARTMENT | ok\n\
             3. entity ENGINEER | ENGINEER | ok\n\
             4. entity SECRETARY | SECRETARY | ok\n\
             5. relationship WORKS_FOR | Works_in | wrong_cardinality WORKS_FOR/DEPARTMENT\n\
             6. specialization EMPLOYEE>ENGINEER,SECRETARY | Worker>ENGINEER,SECRETARY | ok\n\
             Findings:\n\
             - missing_attribute | EMPLOYEE.Salary | - | Add Salary.\n\
             - wrong_cardinality | WORKS_FOR/DEPARTMENT | - | One department.\n"
        );
        assert!(trace.is_consistent());
    }
}
