//! Focused prompts: the model judges one reference element at a time.
//!
//! A whole-diagram prompt asks a small model to find, for each reference element, the student's
//! matching element somewhere in a few hundred tokens — the part a model trained for an hour on
//! a CPU does not learn (see the README's experiments). Here the label-free
//! [`Alignment`](crate::grade::Alignment) does the matching, and each step gets a short prompt
//! of its own:
//!
//! ```text
//! Grade one element.
//! Reference: E EMPLOYEE: *Ssn, Salary
//! Student: E EMPLOYEE: *Ssn
//! Student also: R WORKS_ON: EMPLOYEE=N, PROJECT=M; Salary
//! ```
//!
//! The student's lines are written in the reference's names wherever the alignment matched an
//! entity, relationship or attribute (a synonym is then no longer a difference); unmatched names
//! stay as the student wrote them. Besides the element's two lines the prompt holds the
//! evidence that lies elsewhere: the identifying relationships of an entity, student lines
//! carrying an attribute the element lacks (a misplaced attribute), and for a relationship the
//! student's entity types. The completion is the step's verdict (`ok` or claims, the grammar of
//! [the trace](super)).
//!
//! A grading runs the steps in order; [`step_header`] and the verdicts make the usual
//! completion text, and [`findings_block`] its findings, so the audit, the parser and the page
//! see the same trace as before.

use super::completion::{parse_verdict, render_findings};
use super::gold::{skeleton, step_paths};
use super::{escape_special, Claim, StepKind, Trace};
use crate::compact::{entity_line, relationship_line_of, specialization_line, union_line};
use crate::finding::{Category, Finding};
use crate::grade::{all_names, match_attributes, name_similarity, Alignment, SAME_NAME};
use crate::lexicon::Lexicon;
use crate::model::{same_name, Attribute, Cardinality, Diagram, Link};
use crate::path::ElementPath;
use crate::semantics::{side_constraints, SideConstraint};
use std::fmt::Write;

/// The first line of every focused prompt.
pub const FOCUS_HEADER: &str = "Grade one element.";

/// Most "also" lines a prompt carries (the prompt stays short).
const MAX_CONTEXT_LINES: usize = 4;

/// One step of a focused grading: the reference element, the student's match, and the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusStep {
    /// What kind of element the step is about.
    pub kind: StepKind,
    /// The reference element.
    pub reference: ElementPath,
    /// The student's matching element, in the student's own names.
    pub student: Option<String>,
    /// The prompt the model answers with the step's verdict.
    pub prompt: String,
    /// Every reference path a claim of this step may name: the element, its attributes (at
    /// every depth) and its sides.
    pub paths: Vec<ElementPath>,
}

impl FocusStep {
    /// The paths a claim of `category` at this step may name: the element itself for
    /// element-level categories, its attributes or its sides for the others.
    pub fn paths_for(&self, category: Category) -> Vec<&ElementPath> {
        self.paths
            .iter()
            .filter(|p| match category {
                Category::MissingAttribute
                | Category::AttributeKind
                | Category::MisplacedAttribute => matches!(p, ElementPath::Attribute { .. }),
                Category::WrongCardinality | Category::WrongParticipation => {
                    matches!(p, ElementPath::Side { .. })
                }
                _ => **p == self.reference,
            })
            .collect()
    }
}

/// The focused steps of grading `student` against `reference`: one per reference element, in
/// the order of the trace (entities, relationships, specializations, unions).
pub fn focus_steps(lexicon: &Lexicon, reference: &Diagram, student: &Diagram) -> Vec<FocusStep> {
    let alignment = Alignment::new(lexicon, reference, student);
    let translated = translate(lexicon, reference, student, &alignment);
    let sources = Sources {
        lexicon,
        reference,
        student: &translated,
        alignment: &alignment,
    };
    skeleton(&alignment, reference, student)
        .into_iter()
        .map(|step| {
            let body = match step.kind {
                StepKind::Entity => sources.entity_prompt(&step.reference),
                StepKind::Relationship => sources.relationship_prompt(&step.reference),
                StepKind::Specialization | StepKind::Union => {
                    hierarchy_prompt(reference, &translated, &step.reference)
                }
            };
            let paths = step_paths(reference, &step.reference);
            FocusStep {
                kind: step.kind,
                reference: step.reference,
                student: step.student,
                prompt: escape_special(&format!("{FOCUS_HEADER}\n{body}")),
                paths,
            }
        })
        .collect()
}

/// The step's line of the completion up to its verdict: `N. KIND REF | STUDENT | `.
pub fn step_header(number: usize, step: &FocusStep) -> String {
    let student = step
        .student
        .as_deref()
        .map(|s| s.replace(['\n', '\r'], " ").replace(" | ", " / "))
        .unwrap_or_else(|| "-".into());
    format!("{number}. {} {} | {student} | ", step.kind, step.reference)
}

/// A verdict as the model writes it: `ok` or the claims joined by `; `.
pub fn verdict_text(claims: &[Claim]) -> String {
    if claims.is_empty() {
        "ok".into()
    } else {
        let parts: Vec<String> = claims.iter().map(Claim::to_string).collect();
        parts.join("; ")
    }
}

/// The claims of a generated verdict; `None` when it is malformed (the completion parser then
/// reports the line and column).
pub fn read_verdict(verdict: &str) -> Option<Vec<Claim>> {
    parse_verdict(1, verdict.trim()).ok()
}

/// The findings block that follows the steps: each well-formed verdict's claims, in step order
/// and without repeats, with an explanation that names the element.
pub fn findings_block(steps: &[FocusStep], verdicts: &[String]) -> String {
    let mut findings: Vec<Finding> = Vec::new();
    for (step, verdict) in steps.iter().zip(verdicts) {
        for claim in read_verdict(verdict).unwrap_or_default() {
            if findings.iter().any(|f| Claim::of(f) == claim) {
                continue;
            }
            let student = (claim.element == step.reference)
                .then(|| step.student.clone())
                .flatten();
            findings.push(Finding {
                explanation: explanation(claim.category, &claim.element),
                category: claim.category,
                element: claim.element,
                student,
            });
        }
    }
    render_findings(&findings)
}

/// The whole completion text of a focused grading with these verdicts (one per step).
pub fn completion_text(steps: &[FocusStep], verdicts: &[String]) -> String {
    let mut out = String::from("Steps:\n");
    for (i, (step, verdict)) in steps.iter().zip(verdicts).enumerate() {
        out.push_str(&step_header(i + 1, step));
        out.push_str(verdict.trim());
        out.push('\n');
    }
    out.push_str(&findings_block(steps, verdicts));
    out
}

/// The training examples of a trace: each step's prompt with the verdict `trace` gives that
/// element (`ok` when the trace has no step for it).
pub fn examples(steps: &[FocusStep], trace: &Trace) -> Vec<(String, String)> {
    steps
        .iter()
        .map(|step| {
            let claims = trace
                .steps
                .iter()
                .find(|s| s.reference == step.reference)
                .map(|s| s.claims.as_slice())
                .unwrap_or_default();
            (step.prompt.clone(), verdict_text(claims))
        })
        .collect()
}

/// A sentence for a finding that names its element.
pub fn explanation(category: Category, element: &ElementPath) -> String {
    let (owner, leaf) = match element {
        ElementPath::Attribute { owner, names } => {
            (owner.clone(), names.last().cloned().unwrap_or_default())
        }
        ElementPath::Side {
            relationship,
            entity,
            ..
        } => (relationship.clone(), entity.clone()),
        other => (other.to_string(), other.to_string()),
    };
    match category {
        Category::MissingEntity => format!("The diagram has no entity type for {element}."),
        Category::MissingRelationship => format!("The relationship {element} is missing."),
        Category::MissingAttribute => format!("{owner} lacks the attribute {leaf}."),
        Category::WrongKey => format!(
            "The key of {element} is wrong: mark the attribute(s) that identify each {element}, and only those."
        ),
        Category::WrongCardinality => {
            format!("The cardinality of the {leaf} side of {owner} is wrong.")
        }
        Category::WrongParticipation => format!(
            "The participation of {leaf} in {owner} is wrong (total where partial is right, or the reverse)."
        ),
        Category::WeakEntity => format!(
            "{element} is modelled wrongly as weak or strong (check its identifying relationship and partial key)."
        ),
        Category::AttributeKind => format!(
            "{element} has the wrong kind (multivalued, composite or derived)."
        ),
        Category::MisplacedAttribute => format!("{leaf} describes {owner}: move it there."),
        Category::Specialization => format!(
            "The specialization {element} is wrong: check disjointness, completeness and its classes."
        ),
        Category::RelationshipStructure => format!(
            "{element} connects the wrong entity types or has the wrong degree."
        ),
    }
}

/// `student` with every entity, relationship and attribute the alignment matched renamed to the
/// reference's name (same indices as `student`).
fn translate(
    lexicon: &Lexicon,
    reference: &Diagram,
    student: &Diagram,
    alignment: &Alignment,
) -> Diagram {
    let mut out = student.clone();
    let mut entity_names: Vec<(String, String)> = Vec::new();
    for (i, m) in alignment.entities.iter().enumerate() {
        if let Some(j) = *m {
            let ours = &reference.entities[i];
            entity_names.push((student.entities[j].name.clone(), ours.name.clone()));
            out.entities[j].name = ours.name.clone();
            rename_attributes(lexicon, &ours.attributes, &mut out.entities[j].attributes);
        }
    }
    let mut relationship_names: Vec<(String, String)> = Vec::new();
    for (i, m) in alignment.relationships.iter().enumerate() {
        if let Some(j) = *m {
            let ours = &reference.relationships[i];
            relationship_names.push((student.relationships[j].name.clone(), ours.name.clone()));
            out.relationships[j].name = ours.name.clone();
            rename_attributes(
                lexicon,
                &ours.attributes,
                &mut out.relationships[j].attributes,
            );
        }
    }
    let entity = |name: &str| {
        entity_names
            .iter()
            .find(|(s, _)| s == name)
            .map_or(name.to_string(), |(_, r)| r.clone())
    };
    for link in &mut out.links {
        if let Some((_, r)) = relationship_names
            .iter()
            .find(|(s, _)| *s == link.relationship)
        {
            link.relationship = r.clone();
        }
        link.entity = entity(&link.entity);
    }
    for spec in &mut out.specializations {
        spec.superclass = entity(&spec.superclass);
        for c in &mut spec.subclasses {
            *c = entity(c);
        }
    }
    for union in &mut out.unions {
        union.category = entity(&union.category);
        for c in &mut union.superclasses {
            *c = entity(c);
        }
    }
    out
}

/// Renames each student attribute matched to a reference one (parts too) and puts the matched
/// ones first, in the reference's order (declaration order is not a mistake).
fn rename_attributes(lexicon: &Lexicon, ours: &[Attribute], theirs: &mut Vec<Attribute>) {
    let matches = match_attributes(lexicon, ours, theirs);
    let mut order: Vec<usize> = Vec::with_capacity(theirs.len());
    for (k, m) in matches.iter().enumerate() {
        if let Some(j) = *m {
            theirs[j].name = ours[k].name.clone();
            rename_attributes(lexicon, &ours[k].parts, &mut theirs[j].parts);
            order.push(j);
        }
    }
    let rest: Vec<usize> = (0..theirs.len()).filter(|j| !order.contains(j)).collect();
    order.extend(rest);
    *theirs = order.into_iter().map(|j| theirs[j].clone()).collect();
}

/// How a relationship's sides are written in a focused prompt: in the label style the
/// reference uses for that relationship, whatever style the student chose, so that equal
/// meanings read the same and a changed label shows on the side it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notation {
    /// `ENTITY=N`, `ENTITY-1` (`=` total, `-` partial; the ratio label).
    Ratio,
    /// `ENTITY(min,max)` from the entity's own side.
    MinMax,
}

impl Notation {
    /// The reference's style for the relationship `name` (ratio when it has none).
    fn of(reference: &Diagram, name: &str) -> Notation {
        let min_max = reference
            .links_of(name)
            .any(|l| matches!(l.cardinality, Some(Cardinality::MinMax { .. })));
        if min_max {
            Notation::MinMax
        } else {
            Notation::Ratio
        }
    }
}

/// A relationship's line with its sides in `notation` (see [`Notation`]; `?` marks what the
/// labels leave unknown), with `:role` when there is one. The sides follow the order of
/// `reference_order` (entity, role) when given (their order is not a mistake).
fn side_line_ordered(
    diagram: &Diagram,
    name: &str,
    notation: Notation,
    reference_order: Option<&[(String, Option<String>)]>,
) -> String {
    let constraints = side_constraints(diagram, name);
    let binary = constraints.len() == 2;
    let mut sides: Vec<(usize, &Link, SideConstraint)> = constraints
        .iter()
        .enumerate()
        .map(|(i, (link, c))| (i, *link, *c))
        .collect();
    if let Some(order) = reference_order {
        let rank = |entity: &str, role: &Option<String>| {
            order
                .iter()
                .position(|(e, r)| e == entity && r == role)
                .or_else(|| order.iter().position(|(e, _)| e == entity))
                .unwrap_or(order.len())
        };
        sides.sort_by_key(|(_, link, _)| rank(&link.entity, &link.role));
    }
    let min_max = |c: &SideConstraint| {
        let max = match c.max {
            Some(Some(k)) => k.to_string(),
            Some(None) => "N".into(),
            None => "?".into(),
        };
        let mut out = format!("({},{max})", c.min);
        if let Some(many) = c.ratio {
            out.push(if many { 'N' } else { '1' });
        }
        out
    };
    let written: Vec<String> = sides
        .iter()
        .map(|(i, link, constraint)| {
            let mut side = link.entity.clone();
            match notation {
                Notation::MinMax => side.push_str(&min_max(constraint)),
                Notation::Ratio => {
                    // A binary side's ratio label is the other side's maximum.
                    let label = if binary {
                        constraints[1 - i].1.is_many()
                    } else {
                        constraint.ratio
                    };
                    side.push(if constraint.total() { '=' } else { '-' });
                    match label {
                        Some(true) => side.push('N'),
                        Some(false) => side.push('1'),
                        None => side.push_str(&min_max(constraint)),
                    }
                }
            }
            if let Some(role) = &link.role {
                let _ = write!(side, ":{role}");
            }
            side
        })
        .collect();
    relationship_line_of(diagram, name, &written)
}

/// [`side_line_ordered`] in the diagram's own side order, in the reference's notation for
/// that relationship.
fn side_line(diagram: &Diagram, reference: &Diagram, name: &str) -> String {
    side_line_ordered(diagram, name, Notation::of(reference, name), None)
}

/// Student lines (other than the element's own) that carry an attribute the reference element
/// has and the student's element lacks, with that attribute written in the reference's name.
/// An attribute that stands for one of its own owner's reference attributes does not count.
fn misplaced_lines(
    lexicon: &Lexicon,
    reference: &Diagram,
    ours: &[Attribute],
    theirs: Option<&[Attribute]>,
    student: &Diagram,
    own: Option<&str>,
) -> Vec<String> {
    let mut present = Vec::new();
    all_names(theirs.unwrap_or_default(), &mut present);
    let lacking: Vec<&Attribute> = ours
        .iter()
        .filter(|a| !present.iter().any(|p| same_name(p, &a.name)))
        .collect();
    let mut lines = Vec::new();
    if lacking.is_empty() {
        return lines;
    }
    let own_attributes = |owner: &str| -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = reference.entity(owner) {
            all_names(&e.attributes, &mut out);
        } else if let Some(r) = reference.relationship(owner) {
            all_names(&r.attributes, &mut out);
        }
        out
    };
    let renamed = |owner: &str, attributes: &[Attribute]| -> Option<Vec<Attribute>> {
        let used = own_attributes(owner);
        let mut copy = attributes.to_vec();
        let mut hit = false;
        for a in &mut copy {
            if used.contains(&a.name) {
                continue;
            }
            if let Some(l) = lacking
                .iter()
                .find(|l| name_similarity(lexicon, &l.name, &a.name) >= SAME_NAME)
            {
                a.name = l.name.clone();
                hit = true;
            }
        }
        hit.then_some(copy)
    };
    for e in &student.entities {
        if Some(e.name.as_str()) == own {
            continue;
        }
        if let Some(attributes) = renamed(&e.name, &e.attributes) {
            let mut copy = e.clone();
            copy.attributes = attributes;
            lines.push(entity_line(&copy));
        }
    }
    for (i, r) in student.relationships.iter().enumerate() {
        if Some(r.name.as_str()) == own {
            continue;
        }
        if let Some(attributes) = renamed(&r.name, &r.attributes) {
            let mut copy = student.clone();
            copy.relationships[i].attributes = attributes;
            lines.push(side_line(&copy, reference, &r.name));
        }
    }
    lines
}

fn push_lines(out: &mut String, label: &str, lines: Vec<String>, budget: &mut usize) {
    for line in lines {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let _ = writeln!(out, "{label}: {line}");
    }
}

/// What the entity and relationship prompts are made from: the reference, the student's
/// diagram in the reference's names, and the alignment between them.
struct Sources<'a> {
    lexicon: &'a Lexicon,
    reference: &'a Diagram,
    student: &'a Diagram,
    alignment: &'a Alignment,
}

impl Sources<'_> {
    fn entity_prompt(&self, element: &ElementPath) -> String {
        let Sources {
            lexicon,
            reference,
            student,
            alignment,
        } = *self;
        let name = element.to_string();
        let Some(i) = reference.entities.iter().position(|e| e.name == name) else {
            return format!("Reference: {name}\nStudent: -\n");
        };
        let ours = &reference.entities[i];
        let theirs = alignment.entities[i].map(|j| &student.entities[j]);
        let mut out = format!(
            "Reference: {}\nStudent: {}\n",
            entity_line(ours),
            theirs.map_or("-".into(), entity_line)
        );
        let mut budget = MAX_CONTEXT_LINES;
        let identifying: Vec<&str> = reference
            .relationships
            .iter()
            .filter(|r| r.identifying && reference.links_of(&r.name).any(|l| l.entity == ours.name))
            .map(|r| r.name.as_str())
            .collect();
        push_lines(
            &mut out,
            "Reference also",
            identifying
                .iter()
                .map(|r| side_line(reference, reference, r))
                .collect(),
            &mut budget,
        );
        if let Some(theirs) = theirs {
            let lines = student
                .relationships
                .iter()
                .filter(|r| {
                    (r.identifying || identifying.contains(&r.name.as_str()))
                        && student.links_of(&r.name).any(|l| l.entity == theirs.name)
                })
                .map(|r| side_line(student, reference, &r.name))
                .collect();
            push_lines(&mut out, "Student also", lines, &mut budget);
        }
        let misplaced = misplaced_lines(
            lexicon,
            reference,
            &ours.attributes,
            theirs.map(|t| t.attributes.as_slice()),
            student,
            theirs.map(|t| t.name.as_str()),
        );
        push_lines(&mut out, "Student also", misplaced, &mut budget);
        out
    }

    fn relationship_prompt(&self, element: &ElementPath) -> String {
        let Sources {
            lexicon,
            reference,
            student,
            alignment,
        } = *self;
        let name = element.to_string();
        let Some(i) = reference.relationships.iter().position(|r| r.name == name) else {
            return format!("Reference: {name}\nStudent: -\n");
        };
        let ours = &reference.relationships[i];
        let theirs = alignment.relationships[i].map(|j| &student.relationships[j]);
        let order: Vec<(String, Option<String>)> = reference
            .links_of(&ours.name)
            .map(|l| (l.entity.clone(), l.role.clone()))
            .collect();
        let mut out = format!(
            "Reference: {}\nStudent: {}\n",
            side_line(reference, reference, &ours.name),
            theirs.map_or("-".into(), |t| side_line_ordered(
                student,
                &t.name,
                Notation::of(reference, &ours.name),
                Some(&order)
            ))
        );
        let entities: Vec<&str> = student.entities.iter().map(|e| e.name.as_str()).collect();
        let _ = writeln!(out, "Student entities: {}", entities.join(", "));
        let mut budget = MAX_CONTEXT_LINES;
        let misplaced = misplaced_lines(
            lexicon,
            reference,
            &ours.attributes,
            theirs.map(|t| t.attributes.as_slice()),
            student,
            theirs.map(|t| t.name.as_str()),
        );
        push_lines(&mut out, "Student also", misplaced, &mut budget);
        out
    }
}

fn hierarchy_prompt(reference: &Diagram, student: &Diagram, element: &ElementPath) -> String {
    let overlap = |a: &[String], b: &[String]| {
        a.iter()
            .filter(|x| b.iter().any(|y| same_name(x, y)))
            .count()
    };
    let (ours, theirs) = match element {
        ElementPath::Specialization { superclass, .. } => {
            let ours = reference
                .specializations
                .iter()
                .find(|s| ElementPath::specialization(&s.superclass, &s.subclasses) == *element);
            let theirs = ours.and_then(|o| {
                student
                    .specializations
                    .iter()
                    .filter(|t| same_name(&t.superclass, superclass))
                    .max_by_key(|t| overlap(&o.subclasses, &t.subclasses))
            });
            (
                ours.map(specialization_line),
                theirs.map(specialization_line),
            )
        }
        ElementPath::Union { category, .. } => {
            let ours = reference
                .unions
                .iter()
                .find(|u| ElementPath::union(&u.category, &u.superclasses) == *element);
            let theirs = student
                .unions
                .iter()
                .find(|t| same_name(&t.category, category));
            (ours.map(union_line), theirs.map(union_line))
        }
        _ => (None, None),
    };
    let entities: Vec<&str> = student.entities.iter().map(|e| e.name.as_str()).collect();
    format!(
        "Reference: {}\nStudent: {}\nStudent entities: {}\n",
        ours.unwrap_or_else(|| element.to_string()),
        theirs.unwrap_or_else(|| "-".into()),
        entities.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use crate::trace::{gold_trace, parse_completion};

    const REFERENCE: &str = "@startchen\n\
        entity EMPLOYEE {\n  Ssn <<key>>\n  Salary\n}\n\
        entity PROJECT {\n  Pnumber <<key>>\n}\n\
        relationship WORKS_ON {\n  Hours\n}\n\
        WORKS_ON =N= EMPLOYEE\n\
        WORKS_ON =M= PROJECT\n\
        @endchen\n";

    const STUDENT: &str = "@startchen\n\
        entity Worker {\n  Hours\n  Ssn <<key>>\n}\n\
        entity PROJECT {\n  Pnumber <<key>>\n}\n\
        relationship Works {\n}\n\
        Works -(1,N)- PROJECT\n\
        Works -(1,N)- Worker\n\
        @endchen\n";

    fn steps() -> Vec<FocusStep> {
        let reference = parse(REFERENCE).unwrap();
        let student = parse(STUDENT).unwrap();
        focus_steps(&Lexicon::builtin(), &reference, &student)
    }

    /// The student's lines use the reference's names, attribute order, side order and label
    /// style, so that only real differences remain.
    #[test]
    fn prompts_hold_the_element_its_match_in_reference_names_and_the_evidence_elsewhere() {
        let steps = steps();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].student.as_deref(), Some("Worker"));
        assert_eq!(
            steps[0].prompt,
            "Grade one element.\nReference: E EMPLOYEE: *Ssn, Salary\nStudent: E EMPLOYEE: *Ssn, Hours\n"
        );
        assert_eq!(
            steps[2].prompt,
            "Grade one element.\n\
             Reference: R WORKS_ON: EMPLOYEE=N, PROJECT=N; Hours\n\
             Student: R WORKS_ON: EMPLOYEE=N, PROJECT=N\n\
             Student entities: EMPLOYEE, PROJECT\n\
             Student also: E EMPLOYEE: *Ssn, Hours\n"
        );
    }

    /// A changed label shows on the side it belongs to, in the reference's label style.
    #[test]
    fn sides_are_written_in_the_reference_label_style() {
        let reference = parse(
            "@startchen\nentity A {\n}\nentity B {\n}\nrelationship R {\n}\n\
             R =N= A\nR -1- B\n@endchen\n",
        )
        .unwrap();
        let prompt = |student: &str| {
            let student = parse(student).unwrap();
            focus_steps(&Lexicon::builtin(), &reference, &student)[2]
                .prompt
                .clone()
        };
        let same = prompt(
            "@startchen\nentity A {\n}\nentity B {\n}\nrelationship R {\n}\n\
             R -(0,N)- B\nR -(1,1)- A\n@endchen\n",
        );
        assert!(
            same.contains("Reference: R R: A=N, B-1\nStudent: R R: A=N, B-1\n"),
            "{same}"
        );
        let changed = prompt(
            "@startchen\nentity A {\n}\nentity B {\n}\nrelationship R {\n}\n\
             R =N= A\nR -N- B\n@endchen\n",
        );
        assert!(changed.contains("Student: R R: A=N, B-N\n"), "{changed}");
    }

    #[test]
    fn claims_may_name_the_element_its_attributes_or_its_sides() {
        let steps = steps();
        let names = |c: Category, i: usize| -> Vec<String> {
            steps[i]
                .paths_for(c)
                .iter()
                .map(|p| p.to_string())
                .collect()
        };
        assert_eq!(names(Category::WrongKey, 0), vec!["EMPLOYEE"]);
        assert_eq!(
            names(Category::MissingAttribute, 0),
            vec!["EMPLOYEE.Ssn", "EMPLOYEE.Salary"]
        );
        assert_eq!(
            names(Category::WrongCardinality, 2),
            vec!["WORKS_ON/EMPLOYEE", "WORKS_ON/PROJECT"]
        );
        assert!(names(Category::WrongCardinality, 0).is_empty());
    }

    #[test]
    fn examples_and_completion_agree_with_the_trace() {
        let reference = parse(REFERENCE).unwrap();
        let student = parse(STUDENT).unwrap();
        let labels = vec![
            Finding {
                category: Category::MissingAttribute,
                element: "EMPLOYEE.Salary".parse().unwrap(),
                student: None,
                explanation: "x".into(),
            },
            Finding {
                category: Category::MisplacedAttribute,
                element: "WORKS_ON.Hours".parse().unwrap(),
                student: None,
                explanation: "y".into(),
            },
        ];
        let lexicon = Lexicon::builtin();
        let trace = gold_trace(&lexicon, &reference, &student, &labels);
        let steps = steps();
        let examples = examples(&steps, &trace);
        let verdicts: Vec<String> = examples.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(
            verdicts,
            vec![
                "missing_attribute EMPLOYEE.Salary",
                "ok",
                "misplaced_attribute WORKS_ON.Hours"
            ]
        );
        let text = completion_text(&steps, &verdicts);
        let parsed = parse_completion(&text);
        assert!(parsed.is_clean(), "{:?}", parsed.errors);
        assert!(parsed.trace.is_consistent());
        let found: Vec<Claim> = parsed.trace.findings.iter().map(Claim::of).collect();
        let truth: Vec<Claim> = labels.iter().map(Claim::of).collect();
        assert_eq!(found, truth);
        assert!(parsed.trace.findings[0].explanation.contains("Salary"));
        assert_eq!(parsed.trace.steps[0].student.as_deref(), Some("Worker"));
    }

    #[test]
    fn malformed_verdicts_make_no_findings_and_are_reported_by_the_parser() {
        let steps = steps();
        let verdicts = vec![
            "missing_attribute".to_string(),
            "ok".into(),
            "bogus X".into(),
        ];
        assert_eq!(read_verdict("missing_attribute"), None);
        let text = completion_text(&steps, &verdicts);
        assert!(text.ends_with("Findings: none\n"));
        let parsed = parse_completion(&text);
        assert_eq!(parsed.errors.len(), 3, "{:?}", parsed.errors);
        assert_eq!(parsed.errors[0].line, 2);
    }
}
