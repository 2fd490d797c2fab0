//! Explanations a student can act on: what the student drew (in the student's own names), what
//! the assignment requires, for one finding.
//!
//! Every fact in an explanation comes from the parsed diagrams and the one
//! [`Matching`](crate::matching::Matching), never from free generation, so it is always true of
//! the diagrams; where the matching is uncertain the sentence says so ("Your `Parcel` is probably
//! CONSIGNMENT."). The rules grader and the inference-time audit (so the CLI, the page and the
//! widget) all explain findings with [`explain`].
//!
//! Grammar: one to three sentences — what is required (reference names, labels as the reference
//! writes them), then what the student has (`your X`, labels as the student wrote them, or
//! "your diagram has none"), then the uncertainty note when there is one.

use crate::finding::Category;
use crate::matching::{find_attribute, Matching, Placement};
use crate::model::{Attribute, Diagram, Disjointness, KeyKind, Link};
use crate::path::ElementPath;
use crate::print::cardinality_label;
use crate::semantics::side_constraint;

/// The explanation of a finding of `category` at the reference `element` (see the module
/// documentation).
pub fn explain(
    reference: &Diagram,
    student: &Diagram,
    matching: &Matching,
    category: Category,
    element: &ElementPath,
) -> String {
    let facts = Facts {
        reference,
        student,
        matching,
    };
    let mut text = facts.sentences(category, element);
    if let Some(note) = matching.uncertainty_note(reference, student, element) {
        text.push(' ');
        text.push_str(&note);
    }
    text
}

struct Facts<'a> {
    reference: &'a Diagram,
    student: &'a Diagram,
    matching: &'a Matching,
}

fn kind_words(a: &Attribute) -> String {
    let mut words = Vec::new();
    if a.multivalued {
        words.push("multivalued");
    }
    if a.derived {
        words.push("derived");
    }
    if a.is_composite() {
        words.push("composite");
    }
    if words.is_empty() {
        "simple, single-valued and stored".to_string()
    } else {
        words.join(" and ")
    }
}

fn side_label(link: &Link) -> String {
    link.cardinality
        .map(cardinality_label)
        .unwrap_or_else(|| "no label".to_string())
}

fn participation_words(total: bool) -> &'static str {
    if total {
        "totally (double line: every one takes part)"
    } else {
        "partially (single line: some need not take part)"
    }
}

impl Facts<'_> {
    /// The student's name for the reference entity or relationship `name`, quoted.
    fn yours(&self, name: &str) -> Option<String> {
        self.matching
            .student_entity(self.reference, self.student, name)
            .or_else(|| {
                self.matching
                    .student_relationship(self.reference, self.student, name)
            })
            .map(|s| format!("`{s}`"))
    }

    fn yours_or(&self, name: &str) -> String {
        self.yours(name).unwrap_or_else(|| format!("`{name}`"))
    }

    /// The entity types on the sides of relationship `name` in `diagram`, written with `show`.
    fn participants(&self, diagram: &Diagram, name: &str, show: &dyn Fn(&str) -> String) -> String {
        let names: Vec<String> = diagram
            .links_of(name)
            .map(|l| match &l.role {
                Some(role) => format!("{} ({role})", show(&l.entity)),
                None => show(&l.entity),
            })
            .collect();
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        }
    }

    fn sentences(&self, category: Category, element: &ElementPath) -> String {
        let (reference, student) = (self.reference, self.student);
        match (category, element) {
            (Category::MissingEntity, ElementPath::Named(name)) => {
                let around: Vec<String> = reference
                    .relationships
                    .iter()
                    .filter(|r| reference.links_of(&r.name).any(|l| &l.entity == name))
                    .map(|r| {
                        let others: Vec<String> = reference
                            .links_of(&r.name)
                            .filter(|l| &l.entity != name)
                            .map(|l| self.yours_or(&l.entity))
                            .collect();
                        if others.is_empty() {
                            r.name.clone()
                        } else {
                            format!("{} (with your {})", r.name, others.join(", "))
                        }
                    })
                    .collect();
                let attach = if around.is_empty() {
                    String::new()
                } else {
                    format!(" It takes part in {}.", around.join(" and "))
                };
                format!(
                    "The assignment needs an entity type {name}; your diagram has none.{attach}"
                )
            }
            (Category::MissingRelationship, ElementPath::Named(name)) => {
                let between = self.participants(reference, name, &|e| self.yours_or(e));
                format!(
                    "The assignment needs a relationship {name} between {between}; your diagram has \
                     none."
                )
            }
            (Category::MissingAttribute, ElementPath::Attribute { owner, names }) => {
                let leaf = names.last().cloned().unwrap_or_default();
                let place = if names.len() > 1 {
                    format!(
                        "{owner}.{} needs the part {leaf}",
                        names[..names.len() - 1].join(".")
                    )
                } else {
                    format!("{owner} needs the attribute {leaf}")
                };
                format!(
                    "{place}; your {} has no such attribute.",
                    self.yours_or(owner)
                )
            }
            (Category::MisplacedAttribute, ElementPath::Attribute { owner, names }) => {
                let leaf = names.last().cloned().unwrap_or_default();
                let drawn = self
                    .matching
                    .attribute(owner, names)
                    .filter(|m| m.placement == Placement::Elsewhere)
                    .and_then(|m| m.student.as_ref())
                    .map(|s| format!("your diagram puts it on `{}`", s.owner))
                    .unwrap_or_else(|| "your diagram puts it elsewhere".to_string());
                format!(
                    "{leaf} describes {owner} (your {}), so it belongs there; {drawn}.",
                    self.yours_or(owner)
                )
            }
            (Category::AttributeKind, ElementPath::Attribute { owner, names }) => {
                let ours = find_attribute(reference, owner, names);
                let m = self.matching.attribute(owner, names);
                let theirs = m
                    .and_then(|m| m.student.as_ref())
                    .and_then(|s| find_attribute(student, &s.owner, &s.names));
                let flattened = m.is_some_and(|m| m.placement == Placement::Flattened);
                let required = ours.map_or("of another kind".to_string(), kind_words);
                let has = match (theirs, flattened) {
                    (Some(t), _) => format!("your `{}` is {}", t.name, kind_words(t)),
                    (None, true) => "your diagram has its parts as separate attributes".to_string(),
                    (None, false) => "your diagram draws it otherwise".to_string(),
                };
                format!("{owner}.{} should be {required}; {has}.", names.join("."))
            }
            (Category::WrongKey, ElementPath::Named(name)) => {
                let keys = |d: &Diagram, entity: Option<&str>| -> Vec<String> {
                    entity
                        .and_then(|e| d.entity(e))
                        .map(|e| {
                            e.attributes
                                .iter()
                                .filter(|a| a.key != KeyKind::None)
                                .map(|a| a.name.clone())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let ours = keys(reference, Some(name));
                let their_name = self.matching.student_entity(reference, student, name);
                let theirs = keys(student, their_name);
                let required = if ours.is_empty() {
                    "no key of its own".to_string()
                } else {
                    format!("the key {}", ours.join(", "))
                };
                let has = if theirs.is_empty() {
                    "marks no key".to_string()
                } else {
                    format!("marks {} as key", theirs.join(", "))
                };
                format!(
                    "{name} is identified by {required}; your {} {has}.",
                    self.yours_or(name)
                )
            }
            (Category::WeakEntity, ElementPath::Named(name)) => {
                let ours = reference.entity(name);
                let their_name = self.matching.student_entity(reference, student, name);
                let theirs = their_name.and_then(|n| student.entity(n));
                let weak = ours.is_some_and(|e| e.weak);
                let required = if weak {
                    let partial: Vec<&str> = ours
                        .map(|e| {
                            e.attributes
                                .iter()
                                .filter(|a| a.key == KeyKind::Partial)
                                .map(|a| a.name.as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    let identifying: Vec<&str> = reference
                        .relationships
                        .iter()
                        .filter(|r| {
                            r.identifying && reference.links_of(&r.name).any(|l| &l.entity == name)
                        })
                        .map(|r| r.name.as_str())
                        .collect();
                    format!(
                        "{name} is a weak entity, identified through {} with the partial key {}",
                        if identifying.is_empty() {
                            "its owner".to_string()
                        } else {
                            identifying.join(", ")
                        },
                        if partial.is_empty() {
                            "-".to_string()
                        } else {
                            partial.join(", ")
                        }
                    )
                } else {
                    format!("{name} is a strong entity with a key of its own")
                };
                let has = match theirs {
                    Some(t) if t.weak != weak => format!(
                        "your `{}` is drawn {}",
                        t.name,
                        if t.weak { "weak" } else { "strong" }
                    ),
                    Some(t) => format!(
                        "your `{}` is {} but its identifying relationship or partial key differs",
                        t.name,
                        if t.weak { "weak" } else { "strong" }
                    ),
                    None => "your diagram has no counterpart".to_string(),
                };
                format!("{required}; {has}.")
            }
            (
                Category::WrongCardinality,
                ElementPath::Side {
                    relationship,
                    entity,
                    ..
                },
            ) => {
                let Some((ours, theirs)) = self.matching.side(reference, student, element) else {
                    return format!(
                        "The cardinality on the {entity} side of {relationship} is wrong."
                    );
                };
                let has = theirs.map_or("your diagram has no such side".to_string(), |t| {
                    format!("yours is {}", side_label(t))
                });
                format!(
                    "In {relationship}, the {entity} side should be labelled {}; {has} (on your {}).",
                    side_label(ours),
                    self.yours_or(relationship)
                )
            }
            (
                Category::WrongParticipation,
                ElementPath::Side {
                    relationship,
                    entity,
                    ..
                },
            ) => {
                let Some((ours, theirs)) = self.matching.side(reference, student, element) else {
                    return format!("The participation of {entity} in {relationship} is wrong.");
                };
                let total =
                    |d: &Diagram, l: &Link| side_constraint(d, l).is_some_and(|c| c.total());
                let required = total(reference, ours);
                let has = theirs.map_or("your diagram has no such side".to_string(), |t| {
                    format!(
                        "your diagram has it {}",
                        if total(student, t) {
                            "total"
                        } else {
                            "partial"
                        }
                    )
                });
                format!(
                    "{entity} takes part in {relationship} {}; {has}.",
                    participation_words(required)
                )
            }
            (Category::Specialization, ElementPath::Specialization { superclass, .. }) => {
                let describe = |total: bool, d: Option<Disjointness>, subs: &[String]| {
                    format!(
                        "{}{} into {}",
                        if total { "total" } else { "partial" },
                        match d {
                            Some(Disjointness::Disjoint) => ", disjoint",
                            Some(Disjointness::Overlapping) => ", overlapping",
                            None => "",
                        },
                        subs.join(", ")
                    )
                };
                let Some((ours, theirs)) =
                    self.matching.specialization(reference, student, element)
                else {
                    return format!("The specialization of {superclass} is wrong.");
                };
                let has = match theirs {
                    Some(t) => {
                        format!(
                            "yours is {}",
                            describe(t.total, t.disjointness, &t.subclasses)
                        )
                    }
                    None => "your diagram has none".to_string(),
                };
                format!(
                    "{superclass} should be specialized {}; {has}.",
                    describe(ours.total, ours.disjointness, &ours.subclasses)
                )
            }
            (Category::Specialization, ElementPath::Union { category, .. }) => {
                let Some((ours, theirs)) = self.matching.union(reference, student, element) else {
                    return format!("The union type {category} is wrong.");
                };
                let describe = |total: bool, supers: &[String]| {
                    format!(
                        "a {} union of {}",
                        if total { "total" } else { "partial" },
                        supers.join(", ")
                    )
                };
                let has = match theirs {
                    Some(t) => format!("yours is {}", describe(t.total, &t.superclasses)),
                    None => "your diagram has no union there".to_string(),
                };
                format!(
                    "{category} should be {}; {has}.",
                    describe(ours.total, &ours.superclasses)
                )
            }
            (Category::RelationshipStructure, ElementPath::Named(name)) => {
                let required = self.participants(reference, name, &|e| e.to_string());
                let has = match self.matching.student_relationship(reference, student, name) {
                    Some(theirs) => format!(
                        "your `{theirs}` joins {}",
                        self.participants(student, theirs, &|e| format!("`{e}`"))
                    ),
                    None => "your diagram has no counterpart".to_string(),
                };
                format!("{name} should join {required}; {has}.")
            }
            (category, element) => crate::trace::explanation(category, element),
        }
    }
}

#[cfg(test)]
mod tests;
