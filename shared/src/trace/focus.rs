//! Focused prompts: the model judges one thing at a time — a reference element, one of its
//! attributes, or one side of a relationship.
//!
//! A whole-diagram prompt asks a small model to find, for each reference element, the student's
//! matching element somewhere in a few hundred tokens — the part a model trained for an hour on
//! a CPU does not learn (see the README's experiments); and an element's prompt asks it to
//! point at the one attribute or side that differs, which it learns poorly too. Here the
//! label-free [`Matching`](crate::matching::Matching) does the matching, and each step gets a
//! short prompt of its own:
//!
//! ```text
//! Grade one element.
//! Reference: entity EMPLOYEE: key Ssn
//! Student: entity EMPLOYEE: key Ssn
//!
//! Grade one attribute.
//! Reference: EMPLOYEE: Salary
//! Student: EMPLOYEE: -
//! Student also: WORKS_ON: Salary
//!
//! Grade one side.
//! Reference: WORKS_ON: EMPLOYEE total N
//! Student: WORKS_ON: EMPLOYEE partial N
//! ```
//!
//! The student's text is written in the reference's names wherever the matching paired an
//! entity, relationship or attribute (a synonym is then no longer a difference), in the
//! reference's order and label style; unmatched names stay as the student wrote them. Markers
//! are words (`total`, `multivalued`, `key`), so a changed marker is a changed token. Besides
//! the two texts a prompt holds the evidence that lies elsewhere: the identifying relationships
//! of an entity, the student elements that carry an attribute the student's element lacks (a
//! misplaced attribute), and for a relationship or hierarchy the entity types of its own that
//! the student lacks (`Student lacks: PROJECT`). The completion is
//! the step's verdict (`ok` or claims, the grammar of [the trace](super)); a step judges only
//! the categories of its kind ([`FocusStep::judges`]).
//!
//! A grading runs the steps in order; [`step_header`] and the verdicts make the usual
//! completion text, and [`findings_block`] its findings, so the audit, the parser and the page
//! see the same trace as before.

use super::completion::{parse_verdict, render_findings};
use super::gold::skeleton;
use super::{escape_special, Claim, Step, StepKind, Trace};
use crate::compact::relationship_line_of;
use crate::finding::{Category, Finding};
use crate::lexicon::Lexicon;
use crate::matching::{find_attribute, Matching, Placement};
use crate::model::{
    same_name, Attribute, Cardinality, Diagram, Disjointness, Entity, KeyKind, Link,
    Specialization, UnionType,
};
use crate::path::ElementPath;
use crate::semantics::{side_constraints, SideConstraint};
use std::fmt::Write;

/// The first line of a focused prompt about a whole element (entity, relationship,
/// specialization or union).
pub const FOCUS_HEADER: &str = "Grade one element.";

/// The first line of a focused prompt about one attribute.
pub const ATTRIBUTE_HEADER: &str = "Grade one attribute.";

/// The first line of a focused prompt about one side of a relationship.
pub const SIDE_HEADER: &str = "Grade one side.";

/// The words focused prompts are made of besides names (headers, labels, markers, element
/// kinds); whatever else a prompt holds is a name from the diagrams.
pub const PROMPT_WORDS: &[&str] = &[
    "Grade",
    "one",
    "element",
    "attribute",
    "side",
    "Reference",
    "Student",
    "also",
    "lacks",
    "extra",
    "without",
    "entity",
    "weak",
    "key",
    "partial",
    "no",
    "total",
    "min",
    "max",
    "derived",
    "multivalued",
    "composite",
    "disjoint",
    "overlapping",
];

/// Most "also" lines a prompt carries (the prompt stays short).
const MAX_CONTEXT_LINES: usize = 4;

/// One step of a focused grading: the reference element (a whole element, one attribute or
/// one side), the student's match, and the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusStep {
    /// What kind of element the step is about.
    pub kind: StepKind,
    /// The reference element: an entity, relationship, specialization or union, an attribute
    /// path or a side path.
    pub reference: ElementPath,
    /// The student's matching element in the student's own names: its name for an element, its
    /// path for an attribute or a side (`Worker.Salary`, `Works_in/Worker`).
    pub student: Option<String>,
    /// The prompt the model answers with the step's verdict.
    pub prompt: String,
}

impl FocusStep {
    fn new(kind: StepKind, reference: ElementPath, student: Option<String>, body: &str) -> Self {
        let header = match kind {
            StepKind::Attribute => ATTRIBUTE_HEADER,
            StepKind::Side => SIDE_HEADER,
            _ => FOCUS_HEADER,
        };
        FocusStep {
            kind,
            reference,
            student,
            prompt: escape_special(&format!("{header}\n{body}")),
        }
    }

    /// Whether this step judges mistakes of `category`: attribute categories at an attribute
    /// step, side categories at a side step, the others at an element step. A claim of the
    /// step names the step's own path.
    pub fn judges(&self, category: Category) -> bool {
        match category {
            Category::MissingAttribute | Category::AttributeKind | Category::MisplacedAttribute => {
                self.kind == StepKind::Attribute
            }
            Category::WrongCardinality | Category::WrongParticipation => {
                self.kind == StepKind::Side
            }
            _ => !matches!(self.kind, StepKind::Attribute | StepKind::Side),
        }
    }

    /// Whether the student's text reads exactly as the reference's: the `Student` line and
    /// the `Student also` lines say what the `Reference` and `Reference also` lines say (in
    /// any order; `Student lacks` is evidence about other elements, not a text to compare).
    /// The student's text is written in the reference's names, order and label style, so such
    /// a step holds no mistake: no claim of it can be true.
    pub fn reads_alike(&self) -> bool {
        let mut ours: Vec<&str> = Vec::new();
        let mut theirs: Vec<&str> = Vec::new();
        for line in self.prompt.lines().skip(1) {
            let Some((label, text)) = line.split_once(": ") else {
                return false;
            };
            match label {
                "Reference" | "Reference also" => ours.push(text),
                "Student" | "Student also" => theirs.push(text),
                _ => {}
            }
        }
        ours.sort_unstable();
        theirs.sort_unstable();
        !ours.is_empty() && ours == theirs
    }

    /// Whether `claim` is one this step can make (see [`FocusStep::judges`]).
    pub fn can_claim(&self, claim: &Claim) -> bool {
        claim.element == self.reference && self.judges(claim.category)
    }

    /// `verdict` with every claim held to this step: a claim of a category the step judges
    /// names the step's path (whatever path was written); claims of other categories are
    /// dropped. A malformed verdict is left as it is (the parser and the audit report it).
    pub fn hold_claims(&self, verdict: &str) -> String {
        let Some(claims) = read_verdict(verdict) else {
            return verdict.to_string();
        };
        let mut held: Vec<Claim> = Vec::new();
        for claim in claims {
            if !self.judges(claim.category) {
                continue;
            }
            let claim = Claim {
                category: claim.category,
                element: self.reference.clone(),
            };
            if !held.contains(&claim) {
                held.push(claim);
            }
        }
        verdict_text(&held)
    }
}

/// The focused steps of grading `student` against `reference`, in the order of the trace
/// (entities, relationships, specializations, unions). Each element has a step of its own;
/// an entity or relationship the student has is followed by one step per attribute (parts of
/// a composite only when the student's attribute is composite too) and a relationship by one
/// step per side. The element step judges what concerns the whole element (missing, weak,
/// key, structure, hierarchy); the attribute and side steps what concerns only them.
pub fn focus_steps(lexicon: &Lexicon, reference: &Diagram, student: &Diagram) -> Vec<FocusStep> {
    focus_steps_matched(
        reference,
        student,
        &Matching::new(lexicon, reference, student),
    )
}

/// [`focus_steps`] with the [`Matching`] of the two diagrams already made.
pub fn focus_steps_matched(
    reference: &Diagram,
    student: &Diagram,
    matching: &Matching,
) -> Vec<FocusStep> {
    let translated = translate(reference, student, matching);
    let sources = Sources {
        reference,
        original: student,
        student: &translated,
        matching,
    };
    let mut steps = Vec::new();
    for step in skeleton(matching, reference, student) {
        let body = match step.kind {
            StepKind::Entity => sources.entity_prompt(&step.reference),
            StepKind::Relationship => sources.relationship_prompt(&step.reference),
            _ => hierarchy_prompt(reference, &translated, matching, &step.reference),
        };
        let matched = step.student.is_some();
        let element = step.reference.to_string();
        steps.push(FocusStep::new(
            step.kind,
            step.reference,
            step.student,
            &body,
        ));
        if matched {
            sources.inner_steps(&element, &mut steps);
        }
    }
    steps
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
                requirement: None,
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

/// `trace` on the focused `steps`: each step holds the claims of `trace` it can make
/// (see [`FocusStep::can_claim`]); the findings stay as they are. This is the true trace of a
/// focused grading when `trace` is the [gold trace](super::gold_trace).
pub fn focus_trace(steps: &[FocusStep], trace: &Trace) -> Trace {
    let claims: Vec<&Claim> = trace.steps.iter().flat_map(|s| &s.claims).collect();
    Trace {
        steps: steps
            .iter()
            .map(|step| Step {
                kind: step.kind,
                reference: step.reference.clone(),
                student: step.student.clone(),
                claims: claims
                    .iter()
                    .filter(|c| step.can_claim(c))
                    .map(|c| (*c).clone())
                    .collect(),
            })
            .collect(),
        findings: trace.findings.clone(),
    }
}

/// The training examples of a trace: each step's prompt with the verdict `trace` gives that
/// step's path (`ok` when the trace claims nothing there).
pub fn examples(steps: &[FocusStep], trace: &Trace) -> Vec<(String, String)> {
    steps
        .iter()
        .zip(focus_trace(steps, trace).steps)
        .map(|(step, truth)| (step.prompt.clone(), verdict_text(&truth.claims)))
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

/// `student` with every entity, relationship, attribute and role the matching paired renamed
/// to the reference's name (same indices as `student`; matched attributes first, in the
/// reference's order).
fn translate(reference: &Diagram, student: &Diagram, matching: &Matching) -> Diagram {
    let mut out = student.clone();
    let mut entity_names: Vec<(String, String)> = Vec::new();
    for (i, m) in matching.entities.iter().enumerate() {
        if let Some(j) = *m {
            let ours = &reference.entities[i];
            entity_names.push((student.entities[j].name.clone(), ours.name.clone()));
            out.entities[j].name = ours.name.clone();
            rename_attributes(
                matching,
                &student.entities[j].name,
                &[],
                &mut out.entities[j].attributes,
            );
        }
    }
    let mut relationship_names: Vec<(String, String)> = Vec::new();
    for (i, m) in matching.relationships.iter().enumerate() {
        if let Some(j) = *m {
            let ours = &reference.relationships[i];
            relationship_names.push((student.relationships[j].name.clone(), ours.name.clone()));
            out.relationships[j].name = ours.name.clone();
            rename_attributes(
                matching,
                &student.relationships[j].name,
                &[],
                &mut out.relationships[j].attributes,
            );
        }
        // A role the student gave takes the reference's name for the side it stands for.
        for (ours, theirs) in reference
            .links_of(&reference.relationships[i].name)
            .zip(&matching.sides[i])
        {
            if let Some(k) = theirs {
                if out.links[*k].role.is_some() && ours.role.is_some() {
                    out.links[*k].role = ours.role.clone();
                }
            }
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

/// Renames each attribute of the student's `owner` (below `prefix`) that the matching paired
/// with a reference attribute at the same place, and puts the paired ones first, in the
/// reference's order (declaration order is not a mistake).
fn rename_attributes(
    matching: &Matching,
    owner: &str,
    prefix: &[String],
    theirs: &mut Vec<Attribute>,
) {
    let mut ranked: Vec<(usize, Attribute)> = Vec::with_capacity(theirs.len());
    for attribute in theirs.drain(..) {
        let mut path = prefix.to_vec();
        path.push(attribute.name.clone());
        let found = matching.attributes.iter().position(|m| {
            m.placement != Placement::Elsewhere
                && m.student
                    .as_ref()
                    .is_some_and(|s| s.owner == owner && s.names == path)
        });
        let mut attribute = attribute;
        rename_attributes(matching, owner, &path, &mut attribute.parts);
        match found {
            Some(k) => {
                if let Some(name) = matching.attributes[k].names.last() {
                    attribute.name = name.clone();
                }
                ranked.push((k, attribute));
            }
            None => ranked.push((usize::MAX, attribute)),
        }
    }
    ranked.sort_by_key(|(k, _)| *k);
    *theirs = ranked.into_iter().map(|(_, a)| a).collect();
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

/// A relationship's sides in `notation` (see [`Notation`]), each as (entity, role, text): the
/// text in words, `EMPLOYEE total N`, `EMPLOYEE:boss min 0 max 1` (`?` marks what the labels
/// leave unknown) — a changed marker is then a changed word, which a small model sees far more
/// easily than a changed character inside a name's token. The
/// sides follow the order of `reference_order` (entity, role) when given (their order is not a
/// mistake).
fn written_sides(
    diagram: &Diagram,
    name: &str,
    notation: Notation,
    reference_order: Option<&[(String, Option<String>)]>,
) -> Vec<(String, Option<String>, String, usize)> {
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
        let mut out = format!("min {} max {max}", c.min);
        if let Some(many) = c.ratio {
            out.push_str(if many { " N" } else { " 1" });
        }
        out
    };
    sides
        .iter()
        .map(|(i, link, constraint)| {
            let mut side = link.entity.clone();
            if let Some(role) = &link.role {
                let _ = write!(side, ":{role}");
            }
            side.push(' ');
            match notation {
                Notation::MinMax => side.push_str(&min_max(constraint)),
                Notation::Ratio => {
                    // A binary side's ratio label is the other side's maximum.
                    let label = if binary {
                        constraints[1 - i].1.is_many()
                    } else {
                        constraint.ratio
                    };
                    side.push_str(if constraint.total() {
                        "total "
                    } else {
                        "partial "
                    });
                    match label {
                        Some(true) => side.push('N'),
                        Some(false) => side.push('1'),
                        None => side.push_str(&min_max(constraint)),
                    }
                }
            }
            let index = diagram
                .links
                .iter()
                .position(|l| std::ptr::eq(l, *link))
                .unwrap_or(usize::MAX);
            (link.entity.clone(), link.role.clone(), side, index)
        })
        .collect()
}

/// [`written_sides`] joined into the relationship's compact line, in the reference's side
/// order and notation for the relationship of that name (the diagram's own order when the
/// reference has none).
fn side_line(diagram: &Diagram, reference: &Diagram, name: &str) -> String {
    let order = side_order(reference, name);
    let order = (!order.is_empty()).then_some(&order[..]);
    let written: Vec<String> = written_sides(diagram, name, Notation::of(reference, name), order)
        .into_iter()
        .map(|(_, _, text, _)| text)
        .collect();
    relationship_line_of(diagram, name, &written)
}

/// The sides (entity, role) of the relationship `name` in `reference`'s order.
fn side_order(reference: &Diagram, name: &str) -> Vec<(String, Option<String>)> {
    reference
        .links_of(name)
        .map(|l| (l.entity.clone(), l.role.clone()))
        .collect()
}

/// A relationship's structure: `I`/`R`, its name and the entity types of its sides (with
/// roles) in the order of `reference_order` when given — no labels, no attributes (those
/// have steps of their own).
fn structure_line(
    diagram: &Diagram,
    name: &str,
    reference_order: Option<&[(String, Option<String>)]>,
) -> String {
    let sides: Vec<String> = written_sides(diagram, name, Notation::Ratio, reference_order)
        .into_iter()
        .map(|(entity, role, _, _)| match role {
            Some(role) => format!("{entity}:{role}"),
            None => entity,
        })
        .collect();
    let identifying = diagram.relationship(name).is_some_and(|r| r.identifying);
    format!(
        "{} {name}: {}",
        if identifying { 'I' } else { 'R' },
        sides.join(", ")
    )
}

/// An attribute alone, as `name` and its kind in words (`derived`, `multivalued`,
/// `composite`); keys are judged at the element's step, so they are left out.
fn attribute_text(attribute: &Attribute, name: &str) -> String {
    let mut out = name.to_string();
    if attribute.derived {
        out.push_str(" derived");
    }
    if attribute.multivalued {
        out.push_str(" multivalued");
    }
    if attribute.is_composite() {
        out.push_str(" composite");
    }
    out
}

/// An entity as its element step shows it: `entity NAME` or `weak entity NAME`, then its keys
/// (`key Ssn`, `partial key Name`, or `no key`); its other attributes have steps of their own.
fn entity_summary(entity: &Entity) -> String {
    let keys: Vec<String> = entity
        .attributes
        .iter()
        .filter_map(|a| match a.key {
            KeyKind::None => None,
            KeyKind::Key => Some(format!("key {}", a.name)),
            KeyKind::Partial => Some(format!("partial key {}", a.name)),
        })
        .collect();
    format!(
        "{} {}: {}",
        if entity.weak { "weak entity" } else { "entity" },
        entity.name,
        if keys.is_empty() {
            "no key".to_string()
        } else {
            keys.join(", ")
        }
    )
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

/// What the prompts are made from: the reference, the student's diagram as written and in the
/// reference's names, and the matching between them.
struct Sources<'a> {
    reference: &'a Diagram,
    original: &'a Diagram,
    student: &'a Diagram,
    matching: &'a Matching,
}

impl Sources<'_> {
    fn entity_prompt(&self, element: &ElementPath) -> String {
        let Sources {
            reference,
            student,
            matching,
            ..
        } = *self;
        let name = element.to_string();
        let Some(i) = reference.entities.iter().position(|e| e.name == name) else {
            return format!("Reference: {name}\nStudent: -\n");
        };
        let ours = &reference.entities[i];
        let theirs = matching.entities[i].map(|j| &student.entities[j]);
        let mut out = format!(
            "Reference: {}\nStudent: {}\n",
            entity_summary(ours),
            theirs.map_or("-".into(), entity_summary)
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
        out
    }

    fn relationship_prompt(&self, element: &ElementPath) -> String {
        let Sources {
            reference,
            student,
            matching,
            ..
        } = *self;
        let name = element.to_string();
        let Some(i) = reference.relationships.iter().position(|r| r.name == name) else {
            return format!("Reference: {name}\nStudent: -\n");
        };
        let ours = &reference.relationships[i];
        let theirs = matching.relationships[i].map(|j| &student.relationships[j]);
        let order = side_order(reference, &ours.name);
        format!(
            "Reference: {}\nStudent: {}\n{}",
            structure_line(reference, &ours.name, None),
            theirs.map_or("-".into(), |t| structure_line(
                student,
                &t.name,
                Some(&order)
            )),
            lacks_line(student, order.iter().map(|(entity, _)| entity.as_str())),
        ) + &theirs.map_or(String::new(), |t| {
            participants_line(reference, &ours.name, student, &t.name)
        })
    }

    /// The attributes of the reference element `owner`, and the name of the student's match as
    /// written (`None` when it has no match).
    fn owners(&self, owner: &str) -> Option<(&[Attribute], Option<&str>)> {
        let Sources {
            reference,
            original,
            matching,
            ..
        } = *self;
        if let Some(i) = reference.entities.iter().position(|e| e.name == owner) {
            let theirs = matching.entities[i].map(|j| original.entities[j].name.as_str());
            return Some((&reference.entities[i].attributes, theirs));
        }
        let i = reference
            .relationships
            .iter()
            .position(|r| r.name == owner)?;
        let theirs = matching.relationships[i].map(|j| original.relationships[j].name.as_str());
        Some((&reference.relationships[i].attributes, theirs))
    }

    /// The steps inside a matched entity or relationship: its attributes (depth first), then
    /// for a relationship its sides.
    fn inner_steps(&self, element: &str, out: &mut Vec<FocusStep>) {
        let Some((ours, Some(written))) = self.owners(element) else {
            return;
        };
        let place = Place {
            owner: element,
            names: Vec::new(),
            written: written.to_string(),
        };
        self.attribute_steps(&place, ours, out);
        if let Some(i) = self
            .reference
            .relationships
            .iter()
            .position(|r| r.name == element)
        {
            self.side_steps(i, out);
        }
    }

    /// A step per reference attribute of `ours` (in `place`) against the student's attribute
    /// the matching pairs with it, each followed by its parts' steps when the student's
    /// attribute is composite too (a part of a composite the student lacks or made simple has
    /// no step).
    fn attribute_steps(&self, place: &Place, ours: &[Attribute], out: &mut Vec<FocusStep>) {
        for attribute in ours {
            let mut names = place.names.clone();
            names.push(attribute.name.clone());
            let matched = self.matching.attribute(place.owner, &names);
            // A composite drawn as its parts reads as the composite drawn simple.
            let flattened =
                matched.filter(|m| m.placement == Placement::Flattened && m.student.is_none());
            let simple = flattened.map(|_| Attribute::named(attribute.name.clone()));
            let found = matched
                .filter(|m| m.placement != Placement::Elsewhere)
                .and_then(|m| m.student.as_ref())
                .and_then(|s| find_attribute(self.original, &s.owner, &s.names));
            let theirs = found.or(simple.as_ref());
            out.push(self.attribute_step(place, attribute, theirs));
            if let Some(composite) = found.filter(|t| t.is_composite()) {
                let inner = place.inside(attribute, composite);
                self.attribute_steps(&inner, &attribute.parts, out);
            }
        }
    }

    /// The step of one reference attribute: its text and the student's (in the reference's
    /// name), and for a top-level attribute the student lacks, the other student elements
    /// that carry it.
    fn attribute_step(
        &self,
        place: &Place,
        ours: &Attribute,
        theirs: Option<&Attribute>,
    ) -> FocusStep {
        let label = std::iter::once(place.owner)
            .chain(place.names.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".");
        let mut body = format!(
            "Reference: {label}: {}\nStudent: {label}: {}\n",
            attribute_text(ours, &ours.name),
            theirs.map_or("-".into(), |t| attribute_text(t, &ours.name))
        );
        if theirs.is_none() && place.names.is_empty() {
            let mut budget = MAX_CONTEXT_LINES;
            let lines = self.carried_elsewhere(place.owner, ours);
            push_lines(&mut body, "Student also", lines, &mut budget);
        }
        let mut names = place.names.clone();
        names.push(ours.name.clone());
        let path = ElementPath::Attribute {
            owner: place.owner.to_string(),
            names,
        };
        let student = theirs.map(|t| format!("{}.{}", place.written, t.name));
        FocusStep::new(StepKind::Attribute, path, student, &body)
    }

    /// `OWNER: attribute` for the student element other than `own` that the matching found
    /// carrying the reference attribute `owner.attribute` (evidence of a misplaced attribute),
    /// the owner in the reference's names.
    fn carried_elsewhere(&self, owner: &str, attribute: &Attribute) -> Vec<String> {
        let names = [attribute.name.clone()];
        let Some(found) = self
            .matching
            .attribute(owner, &names)
            .filter(|m| m.placement == Placement::Elsewhere)
            .and_then(|m| m.student.as_ref())
        else {
            return Vec::new();
        };
        let Some(theirs) = find_attribute(self.original, &found.owner, &found.names) else {
            return Vec::new();
        };
        let written = self
            .original
            .entities
            .iter()
            .position(|e| e.name == found.owner)
            .map(|k| self.student.entities[k].name.as_str())
            .or_else(|| {
                self.original
                    .relationships
                    .iter()
                    .position(|r| r.name == found.owner)
                    .map(|k| self.student.relationships[k].name.as_str())
            })
            .unwrap_or(&found.owner);
        vec![format!(
            "{written}: {}",
            attribute_text(theirs, &attribute.name)
        )]
    }

    /// The steps of the sides of the reference relationship `i` (which the student has): each
    /// side's text in the reference and in the student's diagram, in the reference's label
    /// style.
    fn side_steps(&self, i: usize, out: &mut Vec<FocusStep>) {
        let Some(j) = self.matching.relationships[i] else {
            return;
        };
        let relationship = &self.reference.relationships[i].name;
        let notation = Notation::of(self.reference, relationship);
        let order = side_order(self.reference, relationship);
        let sides = written_sides(
            self.student,
            &self.student.relationships[j].name,
            notation,
            Some(&order),
        );
        let written = written_sides(self.reference, relationship, notation, None);
        for (entity, role, ours, index) in written {
            // The student's side the matching pairs with this reference link.
            let k = self
                .reference
                .links_of(relationship)
                .position(|l| std::ptr::eq(l, &self.reference.links[index]));
            let paired = k.and_then(|k| self.matching.sides[i][k]);
            let theirs = paired.and_then(|p| sides.iter().find(|side| side.3 == p));
            let body = format!(
                "Reference: {relationship}: {ours}\nStudent: {relationship}: {}\n",
                theirs.map_or("-", |side| side.2.as_str())
            );
            // The student's side path, in the student's own names.
            let student = paired.map(|p| {
                let link = &self.original.links[p];
                let side = format!("{}/{}", link.relationship, link.entity);
                match &link.role {
                    Some(role) => format!("{side}:{role}"),
                    None => side,
                }
            });
            let path = ElementPath::Side {
                relationship: relationship.clone(),
                entity,
                role,
            };
            out.push(FocusStep::new(StepKind::Side, path, student, &body));
        }
    }
}

/// Where an attribute step's attributes sit: the reference element and the names of the
/// composites above them, and the student's path of the same place as written.
struct Place<'a> {
    owner: &'a str,
    names: Vec<String>,
    written: String,
}

impl Place<'_> {
    /// The place inside the reference composite `ours`, matched to the student's `theirs`.
    fn inside(&self, ours: &Attribute, theirs: &Attribute) -> Self {
        let mut names = self.names.clone();
        names.push(ours.name.clone());
        Place {
            owner: self.owner,
            names,
            written: format!("{}.{}", self.written, theirs.name),
        }
    }
}

fn hierarchy_prompt(
    reference: &Diagram,
    student: &Diagram,
    matching: &Matching,
    element: &ElementPath,
) -> String {
    let (ours, theirs) = match element {
        ElementPath::Specialization { .. } => {
            let (ours, theirs) = matching
                .specialization(reference, student, element)
                .map_or((None, None), |(o, t)| (Some(o), t));
            let order = ours.map_or(&[][..], |o| &o.subclasses[..]);
            (
                ours.map(|o| hierarchy_line(o, order)),
                theirs.map(|t| hierarchy_line(t, order)),
            )
        }
        ElementPath::Union { .. } => {
            let (ours, theirs) = matching
                .union(reference, student, element)
                .map_or((None, None), |(o, t)| (Some(o), t));
            let order = ours.map_or(&[][..], |o| &o.superclasses[..]);
            (
                ours.map(|o| union_hierarchy_line(o, order)),
                theirs.map(|t| union_hierarchy_line(t, order)),
            )
        }
        _ => (None, None),
    };
    let own: Vec<&str> = match element {
        ElementPath::Specialization {
            superclass: head,
            subclasses: rest,
        }
        | ElementPath::Union {
            category: head,
            superclasses: rest,
        } => std::iter::once(head)
            .chain(rest)
            .map(String::as_str)
            .collect(),
        _ => Vec::new(),
    };
    format!(
        "Reference: {}\nStudent: {}\n{}",
        ours.unwrap_or_else(|| element.to_string()),
        theirs.unwrap_or_else(|| "-".into()),
        lacks_line(student, own.into_iter())
    )
}

/// `names` in the order of `order` (names it lacks keep their place after those it has).
fn in_order<'a>(names: &'a [String], order: &[String]) -> Vec<&'a str> {
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_by_key(|n| {
        order
            .iter()
            .position(|o| same_name(o, n))
            .unwrap_or(order.len())
    });
    sorted
}

/// A specialization in words, its subclasses in the order of `order`:
/// `S EMPLOYEE partial disjoint: ENGINEER, SECRETARY`.
fn hierarchy_line(spec: &Specialization, order: &[String]) -> String {
    let disjointness = match spec.disjointness {
        Some(Disjointness::Disjoint) => " disjoint",
        Some(Disjointness::Overlapping) => " overlapping",
        None => "",
    };
    format!(
        "S {} {}{disjointness}: {}",
        spec.superclass,
        if spec.total { "total" } else { "partial" },
        in_order(&spec.subclasses, order).join(", ")
    )
}

/// A union type in words, its superclasses in the order of `order`:
/// `U OWNER partial: PERSON, BANK`.
fn union_hierarchy_line(union: &UnionType, order: &[String]) -> String {
    format!(
        "U {} {}: {}",
        union.category,
        if union.total { "total" } else { "partial" },
        in_order(&union.superclasses, order).join(", ")
    )
}

/// `Student lacks: A, B` — the element's own entity types (`wanted`, in reference names) that
/// `student` (in reference names) does not have, each once; empty when it has them all. A
/// `Student extra: …` / `Student without: …`: the entity types on the sides of the student's
/// relationship `theirs` (in the reference's names) that the reference relationship `ours`
/// does not have, and the reverse (as multisets: a recursive relationship counts its entity
/// type twice). Empty when the participants agree. The difference of two lists is what a small
/// model misses when it must compare them itself (`relationship_structure` was 0.05 on
/// held-out assignments); this line states it, as `Student lacks` states a missing entity type.
fn participants_line(reference: &Diagram, ours: &str, student: &Diagram, theirs: &str) -> String {
    let mut wanted: Vec<&str> = reference
        .links_of(ours)
        .map(|l| l.entity.as_str())
        .collect();
    let mut extra: Vec<&str> = Vec::new();
    for link in student.links_of(theirs) {
        match wanted.iter().position(|w| same_name(w, &link.entity)) {
            Some(k) => {
                wanted.remove(k);
            }
            None => extra.push(&link.entity),
        }
    }
    let mut out = String::new();
    if !extra.is_empty() {
        let _ = writeln!(out, "Student extra: {}", extra.join(", "));
    }
    if !wanted.is_empty() {
        let _ = writeln!(out, "Student without: {}", wanted.join(", "));
    }
    out
}

/// relationship or hierarchy whose entity type is missing belongs to that `missing_entity`
/// finding, so this is the evidence the step needs; the student's other entity types are not.
fn lacks_line<'a>(student: &Diagram, wanted: impl Iterator<Item = &'a str>) -> String {
    let mut lacking: Vec<&str> = Vec::new();
    for name in wanted {
        let has = student.entities.iter().any(|e| same_name(&e.name, name));
        if !has && !lacking.contains(&name) {
            lacking.push(name);
        }
    }
    if lacking.is_empty() {
        String::new()
    } else {
        format!("Student lacks: {}\n", lacking.join(", "))
    }
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

    fn prompts(steps: &[FocusStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| format!("{} {} | {}", s.kind, s.reference, s.prompt))
            .collect()
    }

    /// The student's lines use the reference's names, attribute order, side order and label
    /// style, so that only real differences remain; attributes and sides get steps of their
    /// own, with the evidence of a misplaced attribute.
    #[test]
    fn prompts_hold_the_element_its_match_in_reference_names_and_the_evidence_elsewhere() {
        let steps = steps();
        assert_eq!(
            prompts(&steps),
            vec![
                "entity EMPLOYEE | Grade one element.\nReference: entity EMPLOYEE: key Ssn\nStudent: entity EMPLOYEE: key Ssn\n",
                "attribute EMPLOYEE.Ssn | Grade one attribute.\nReference: EMPLOYEE: Ssn\nStudent: EMPLOYEE: Ssn\n",
                "attribute EMPLOYEE.Salary | Grade one attribute.\nReference: EMPLOYEE: Salary\nStudent: EMPLOYEE: -\n",
                "entity PROJECT | Grade one element.\nReference: entity PROJECT: key Pnumber\nStudent: entity PROJECT: key Pnumber\n",
                "attribute PROJECT.Pnumber | Grade one attribute.\nReference: PROJECT: Pnumber\nStudent: PROJECT: Pnumber\n",
                "relationship WORKS_ON | Grade one element.\nReference: R WORKS_ON: EMPLOYEE, PROJECT\nStudent: R WORKS_ON: EMPLOYEE, PROJECT\n",
                "attribute WORKS_ON.Hours | Grade one attribute.\nReference: WORKS_ON: Hours\nStudent: WORKS_ON: -\nStudent also: EMPLOYEE: Hours\n",
                "side WORKS_ON/EMPLOYEE | Grade one side.\nReference: WORKS_ON: EMPLOYEE total N\nStudent: WORKS_ON: EMPLOYEE total N\n",
                "side WORKS_ON/PROJECT | Grade one side.\nReference: WORKS_ON: PROJECT total N\nStudent: WORKS_ON: PROJECT total N\n",
            ]
        );
        assert_eq!(steps[0].student.as_deref(), Some("Worker"));
        assert_eq!(steps[1].student.as_deref(), Some("Worker.Ssn"));
        assert_eq!(steps[2].student, None);
        assert_eq!(steps[7].student.as_deref(), Some("Works/Worker"));
        let alike: Vec<bool> = steps.iter().map(FocusStep::reads_alike).collect();
        assert_eq!(
            alike,
            [true, true, false, true, true, true, false, true, true]
        );
    }

    /// A relationship joining other entity types states the difference of the two lists.
    #[test]
    fn a_reconnected_relationship_states_its_extra_and_missing_participants() {
        let reference = parse(
            "@startchen\nentity EMPLOYEE {\n}\nentity PROJECT {\n}\nentity DEPARTMENT {\n}\n\
             relationship WORKS_ON {\n}\nWORKS_ON -N- EMPLOYEE\nWORKS_ON -M- PROJECT\n@endchen\n",
        )
        .unwrap();
        let student = parse(
            "@startchen\nentity EMPLOYEE {\n}\nentity PROJECT {\n}\nentity DEPARTMENT {\n}\n\
             relationship WORKS_ON {\n}\nWORKS_ON -N- EMPLOYEE\nWORKS_ON -M- DEPARTMENT\n@endchen\n",
        )
        .unwrap();
        let steps = focus_steps(&Lexicon::builtin(), &reference, &student);
        let step = steps
            .iter()
            .find(|s| s.kind == StepKind::Relationship)
            .unwrap();
        assert!(
            step.prompt
                .ends_with("Student extra: DEPARTMENT\nStudent without: PROJECT\n"),
            "{}",
            step.prompt
        );
        assert!(!step.reads_alike());
        // Alike participants: no such lines.
        let same = focus_steps(&Lexicon::builtin(), &reference, &reference);
        assert!(same
            .iter()
            .all(|s| !s.prompt.contains("extra") && !s.prompt.contains("without")));
    }

    /// Evidence lines count: an entity whose identifying relationship the student drew as a
    /// regular one does not read alike, though its own lines agree.
    #[test]
    fn a_step_reads_alike_only_when_every_line_agrees() {
        let step = |body: &str| {
            FocusStep::new(StepKind::Entity, ElementPath::Named("P".into()), None, body)
        };
        assert!(step("Reference: weak entity P: partial key N\nStudent: weak entity P: partial key N\nReference also: I O: P total N\nStudent also: I O: P total N\n").reads_alike());
        assert!(!step("Reference: weak entity P: partial key N\nStudent: weak entity P: partial key N\nReference also: I O: P total N\nStudent also: R O: P total N\n").reads_alike());
        assert!(!step("Reference: weak entity P: partial key N\nStudent: weak entity P: partial key N\nReference also: I O: P total N\n").reads_alike());
        assert!(step("Reference: R R: A, B\nStudent: R R: A, B\nStudent lacks: C\n").reads_alike());
        assert!(!step("Reference: R R: A, B\nStudent: -\n").reads_alike());
    }

    /// A missing element has one step (its attributes and sides go with it); a part of a
    /// composite has a step only when the student's attribute is composite too.
    #[test]
    fn missing_elements_and_simple_composites_have_no_inner_steps() {
        let reference = parse(
            "@startchen\nentity A {\n  Name {\n    First\n    Last\n  }\n}\nentity B {\n  Id <<key>>\n}\n\
             relationship R {\n}\nR -1- A\nR -N- B\n@endchen\n",
        )
        .unwrap();
        let lexicon = Lexicon::builtin();
        let kinds = |student: &str| -> Vec<String> {
            let student = parse(student).unwrap();
            focus_steps(&lexicon, &reference, &student)
                .iter()
                .map(|s| s.reference.to_string())
                .collect()
        };
        assert_eq!(
            kinds("@startchen\nentity A {\n  Name {\n    First\n  }\n}\n@endchen\n"),
            vec!["A", "A.Name", "A.Name.First", "A.Name.Last", "B", "R"]
        );
        assert_eq!(
            kinds(
                "@startchen\nentity A {\n  Name\n}\nentity B {\n  Id <<key>>\n}\n\
                   relationship R {\n}\nR -1- A\nR -N- B\n@endchen\n"
            ),
            vec!["A", "A.Name", "B", "B.Id", "R", "R/A", "R/B"]
        );
    }

    /// A relationship or specialization names the entity types of its own the student lacks
    /// (the evidence that its absence belongs to a missing entity), and nothing else about the
    /// student's entity types.
    #[test]
    fn relationships_and_hierarchies_name_only_their_own_lacking_entity_types() {
        let reference = parse(
            "@startchen\nentity A {\n}\nentity B {\n}\nentity C {\n}\nentity D {\n}\n\
             relationship R {\n}\nR -1- A\nR -N- B\nA ->- d { C, D }\n@endchen\n",
        )
        .unwrap();
        let lexicon = Lexicon::builtin();
        let context = |student: &str| -> Vec<String> {
            let student = parse(student).unwrap();
            focus_steps(&lexicon, &reference, &student)
                .iter()
                .filter(|s| matches!(s.kind, StepKind::Relationship | StepKind::Specialization))
                .map(|s| s.prompt.lines().skip(3).collect::<Vec<_>>().join(" / "))
                .collect()
        };
        assert_eq!(
            context(
                "@startchen\nentity A {\n}\nentity B {\n}\nentity C {\n}\nentity D {\n}\n\
                 entity E {\n}\nrelationship R {\n}\nR -1- A\nR -N- B\nA ->- d { C, D }\n@endchen\n"
            ),
            vec!["", ""]
        );
        assert_eq!(
            context("@startchen\nentity A {\n}\nentity C {\n}\nentity E {\n}\n@endchen\n"),
            vec!["Student lacks: B", "Student lacks: D"]
        );
    }

    /// A specialization's markers are words and the student's subclasses follow the
    /// reference's order (their order is not a mistake).
    #[test]
    fn hierarchies_are_written_in_words_in_the_reference_order() {
        let reference = parse(
            "@startchen\nentity A {\n}\nentity C {\n}\nentity D {\n}\nA ->- d { C, D }\n@endchen\n",
        )
        .unwrap();
        let student = parse(
            "@startchen\nentity A {\n}\nentity C {\n}\nentity D {\n}\nA =>= o { D, C }\n@endchen\n",
        )
        .unwrap();
        let steps = focus_steps(&Lexicon::builtin(), &reference, &student);
        let step = steps.last().unwrap();
        assert_eq!(
            step.prompt,
            "Grade one element.\nReference: S A partial disjoint: C, D\nStudent: S A total overlapping: C, D\n"
        );
        assert!(!step.reads_alike());
    }

    /// A changed label shows on the side it belongs to, in the reference's label style.
    #[test]
    fn sides_are_written_in_the_reference_label_style() {
        let reference = parse(
            "@startchen\nentity A {\n}\nentity B {\n}\nrelationship R {\n}\n\
             R =N= A\nR -1- B\n@endchen\n",
        )
        .unwrap();
        let sides = |student: &str| {
            let student = parse(student).unwrap();
            focus_steps(&Lexicon::builtin(), &reference, &student)
                .into_iter()
                .filter(|s| s.kind == StepKind::Side)
                .map(|s| s.prompt)
                .collect::<Vec<_>>()
        };
        let same = sides(
            "@startchen\nentity A {\n}\nentity B {\n}\nrelationship R {\n}\n\
             R -(0,N)- B\nR -(1,1)- A\n@endchen\n",
        );
        assert_eq!(
            same,
            vec![
                "Grade one side.\nReference: R: A total N\nStudent: R: A total N\n",
                "Grade one side.\nReference: R: B partial 1\nStudent: R: B partial 1\n"
            ]
        );
        let changed = sides(
            "@startchen\nentity A {\n}\nentity B {\n}\nrelationship R {\n}\n\
             R =N= A\nR -N- B\n@endchen\n",
        );
        assert_eq!(changed[0], same[0]);
        assert_eq!(
            changed[1],
            "Grade one side.\nReference: R: B partial 1\nStudent: R: B partial N\n"
        );
    }

    /// Every word of a prompt is a name from the diagrams or one of [`PROMPT_WORDS`] (the
    /// name augmentation relies on that list to leave the rest alone).
    #[test]
    fn prompts_are_names_and_prompt_words() {
        let reference = parse(
            "@startchen\nentity A {\n  Id <<key>>\n  Tags <<multi>>\n  Age <<derived>>\n  \
             Name {\n    First\n  }\n}\nentity D <<weak>> {\n  No <<partial>>\n}\n\
             relationship R {\n}\nrelationship H <<identifying>> {\n}\n\
             R -(0,N)- A\nR =(1,1)= D\nH -1- A\nH =N= D\n@endchen\n",
        )
        .unwrap();
        let student = parse(
            "@startchen\nentity A {\n  Tags\n  Name {\n    First\n  }\n}\nentity D {\n}\n\
             relationship R {\n  Id\n}\nR -(1,1)- A\nR -(0,N)- D\n@endchen\n",
        )
        .unwrap();
        let names = [
            "A", "Id", "Tags", "Age", "Name", "First", "D", "No", "R", "H",
        ];
        let steps = focus_steps(&Lexicon::builtin(), &reference, &student);
        assert!(steps.len() >= 10);
        for step in &steps {
            for word in step
                .prompt
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            {
                assert!(
                    names.contains(&word)
                        || PROMPT_WORDS.contains(&word)
                        || ["I", "N"].contains(&word),
                    "'{word}' in {}",
                    step.prompt
                );
            }
        }
    }

    #[test]
    fn a_step_claims_only_its_own_path_and_categories_of_its_kind() {
        let steps = steps();
        let (employee, salary, side) = (&steps[0], &steps[2], &steps[7]);
        assert!(employee.judges(Category::WrongKey));
        assert!(!employee.judges(Category::MissingAttribute));
        assert!(salary.judges(Category::MisplacedAttribute));
        assert!(!salary.judges(Category::WrongKey));
        assert!(side.judges(Category::WrongParticipation));
        assert!(!side.judges(Category::RelationshipStructure));
        assert_eq!(
            employee.hold_claims("wrong_key PROJECT"),
            "wrong_key EMPLOYEE"
        );
        assert_eq!(
            employee.hold_claims("wrong_key X; weak_entity Y; wrong_key EMPLOYEE"),
            "wrong_key EMPLOYEE; weak_entity EMPLOYEE"
        );
        assert_eq!(
            employee.hold_claims("missing_attribute EMPLOYEE.Salary"),
            "ok"
        );
        assert_eq!(
            salary.hold_claims("missing_attribute PROJECT.Salary"),
            "missing_attribute EMPLOYEE.Salary"
        );
        assert_eq!(
            side.hold_claims("wrong_cardinality A/B"),
            "wrong_cardinality WORKS_ON/EMPLOYEE"
        );
        assert_eq!(side.hold_claims("ok"), "ok");
        assert_eq!(side.hold_claims("nonsense"), "nonsense");
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
                requirement: None,
            },
            Finding {
                category: Category::MisplacedAttribute,
                element: "WORKS_ON.Hours".parse().unwrap(),
                student: None,
                explanation: "y".into(),
                requirement: None,
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
                "ok",
                "ok",
                "missing_attribute EMPLOYEE.Salary",
                "ok",
                "ok",
                "ok",
                "misplaced_attribute WORKS_ON.Hours",
                "ok",
                "ok"
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
        let mut verdicts = vec!["ok".to_string(); steps.len()];
        verdicts[0] = "missing_attribute".into();
        verdicts[2] = "bogus X".into();
        verdicts[3] = "missing_entity".into();
        assert_eq!(read_verdict("missing_attribute"), None);
        let text = completion_text(&steps, &verdicts);
        assert!(text.ends_with("Findings: none\n"));
        let parsed = parse_completion(&text);
        // Each malformed verdict, once (the numbering goes on past them), and its step.
        let lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5], "{:?}", parsed.errors);
        let malformed: Vec<&ElementPath> = [0, 2, 3].iter().map(|&i| &steps[i].reference).collect();
        assert_eq!(parsed.malformed_steps.iter().collect::<Vec<_>>(), malformed);
    }
}
