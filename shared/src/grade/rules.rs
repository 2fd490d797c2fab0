//! The rules grader: a deterministic baseline that aligns the student's diagram to the
//! reference and reports each structural difference as one finding.
//!
//! It follows `mistakes.md`: one mistake is one finding, consequences are not counted again
//! (nothing is reported about what only attaches to a missing entity, and a weak entity drawn as
//! strong is one `weak_entity` finding), and harmless differences pass (names compared through
//! the lexicon, declaration order, link direction, ratio vs `(min,max)` labels, data types,
//! display names, relationship names when participants and constraints are right).
//!
//! A wrong cardinality is named by the reference side whose label is wrong **in the reference's
//! own label style**: a ratio label is compared as a ratio (for a binary relationship, the other
//! side's maximum), a `(min,max)` label by its own maximum.

use super::{GradeError, Grader, Submission};
use crate::explain::explain;
use crate::finding::{Category, Finding};
use crate::lexicon::Lexicon;
use crate::matching::{find_attribute, Matching, Placement};
use crate::model::{Attribute, Cardinality, Diagram, KeyKind, Link};
use crate::path::ElementPath;
use crate::semantics::{side_constraints, SideConstraint};
use std::collections::HashSet;

/// The deterministic baseline grader.
#[derive(Debug, Clone)]
pub struct RulesGrader {
    lexicon: Lexicon,
}

impl Default for RulesGrader {
    fn default() -> Self {
        RulesGrader {
            lexicon: Lexicon::builtin(),
        }
    }
}

impl RulesGrader {
    /// A rules grader using `lexicon` to compare names.
    pub fn with_lexicon(lexicon: Lexicon) -> Self {
        RulesGrader { lexicon }
    }

    /// The findings for `student` against `reference`.
    pub fn findings(&self, reference: &Diagram, student: &Diagram) -> Vec<Finding> {
        let matching = Matching::new(&self.lexicon, reference, student);
        let mut run = Run {
            reference,
            student,
            matching,
            findings: Vec::new(),
            weak_findings: HashSet::new(),
            weak_flips: HashSet::new(),
        };
        run.entities();
        run.relationships();
        run.attributes();
        run.specializations();
        run.unions();
        run.findings
    }
}

impl Grader for RulesGrader {
    fn name(&self) -> String {
        "rules".to_string()
    }

    fn grade(&mut self, submission: Submission<'_>) -> Result<Vec<Finding>, GradeError> {
        let mut findings = self.findings(submission.reference, submission.student);
        crate::requirements::cite(
            &self.lexicon,
            submission.reference,
            submission.requirements,
            &mut findings,
        );
        Ok(findings)
    }
}

struct Run<'a> {
    reference: &'a Diagram,
    student: &'a Diagram,
    matching: Matching,
    findings: Vec<Finding>,
    /// Reference weak entities already given a `weak_entity` finding.
    weak_findings: HashSet<String>,
    /// Reference entities drawn strong where weak is right, or the reverse: nothing more is
    /// said about their identifying relationship (`mistakes.md`).
    weak_flips: HashSet<String>,
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

impl<'a> Run<'a> {
    /// Adds a finding (once per category and element), explained by [`explain`] from the
    /// diagrams and the matching.
    fn push(&mut self, category: Category, element: ElementPath, student: Option<String>) {
        if self
            .findings
            .iter()
            .any(|f| f.category == category && f.element == element)
        {
            return;
        }
        let explanation = explain(
            self.reference,
            self.student,
            &self.matching,
            category,
            &element,
        );
        self.findings.push(Finding {
            category,
            element,
            student,
            explanation,
            requirement: None,
        });
    }

    fn student_entity(&self, reference_name: &str) -> Option<&'a str> {
        self.matching
            .student_entity(self.reference, self.student, reference_name)
    }

    fn entity_missing(&self, reference_name: &str) -> bool {
        self.reference
            .entities
            .iter()
            .position(|e| e.name == reference_name)
            .is_some_and(|i| self.matching.entities[i].is_none())
    }

    fn entities(&mut self) {
        for (i, entity) in self.reference.entities.iter().enumerate() {
            let Some(j) = self.matching.entities[i] else {
                self.push(
                    Category::MissingEntity,
                    ElementPath::Named(entity.name.clone()),
                    None,
                );
                continue;
            };
            let theirs = &self.student.entities[j];
            if entity.weak != theirs.weak {
                self.weak_flips.insert(lower(&entity.name));
                self.weak_finding(&entity.name, Some(theirs.name.clone()));
                continue;
            }
            if entity.weak {
                if !self
                    .matching
                    .keys_agree(self.reference, self.student, i, KeyKind::Partial)
                {
                    self.weak_finding(&entity.name, Some(theirs.name.clone()));
                }
                continue;
            }
            let agree = self
                .matching
                .keys_agree(self.reference, self.student, i, KeyKind::Key);
            if !agree && !self.in_specialization_as_subclass(&entity.name) {
                self.push(
                    Category::WrongKey,
                    ElementPath::Named(entity.name.clone()),
                    Some(theirs.name.clone()),
                );
            }
        }
    }

    fn in_specialization_as_subclass(&self, name: &str) -> bool {
        self.reference
            .specializations
            .iter()
            .any(|s| s.subclasses.iter().any(|c| c == name))
            || self.reference.unions.iter().any(|u| u.category == name)
    }

    fn weak_finding(&mut self, entity: &str, student: Option<String>) {
        if self.weak_findings.insert(lower(entity)) {
            self.push(
                Category::WeakEntity,
                ElementPath::Named(entity.to_string()),
                student,
            );
        }
    }

    fn relationships(&mut self) {
        for (i, relationship) in self.reference.relationships.iter().enumerate() {
            let ours: Vec<&Link> = self.reference.links_of(&relationship.name).collect();
            let touches_missing = ours.iter().any(|l| self.entity_missing(&l.entity));
            let Some(j) = self.matching.relationships[i] else {
                let present = ours
                    .iter()
                    .filter(|l| !self.entity_missing(&l.entity))
                    .count();
                if present >= 2 || (!touches_missing && !ours.is_empty()) {
                    self.push(
                        Category::MissingRelationship,
                        ElementPath::Named(relationship.name.clone()),
                        None,
                    );
                }
                continue;
            };
            let theirs_rel = &self.student.relationships[j];
            if relationship.identifying != theirs_rel.identifying {
                if let Some(weak) = ours
                    .iter()
                    .find(|l| self.reference.entity(&l.entity).is_some_and(|e| e.weak))
                {
                    let name = weak.entity.clone();
                    self.weak_finding(&name, self.student_entity(&name).map(str::to_string));
                } else if !relationship.identifying {
                    let weak_side = self
                        .student
                        .links_of(&theirs_rel.name)
                        .find(|l| self.student.entity(&l.entity).is_some_and(|e| e.weak))
                        .map(|l| l.entity.clone());
                    if let Some(student_weak) = weak_side {
                        if let Some(k) = self
                            .student
                            .entities
                            .iter()
                            .position(|e| e.name == student_weak)
                        {
                            if let Some(r) =
                                self.matching.entities.iter().position(|m| *m == Some(k))
                            {
                                let name = self.reference.entities[r].name.clone();
                                self.weak_finding(&name, Some(student_weak.clone()));
                            }
                        }
                    }
                }
            }
            let theirs: Vec<&Link> = self.student.links_of(&theirs_rel.name).collect();
            let Some(pairs) = self.pair_sides(i, &theirs) else {
                if !touches_missing {
                    self.push(
                        Category::RelationshipStructure,
                        ElementPath::Named(relationship.name.clone()),
                        Some(theirs_rel.name.clone()),
                    );
                }
                continue;
            };
            let recursive = has_repeated_entity(&ours);
            if recursive && theirs.iter().any(|l| l.role.is_none()) {
                self.push(
                    Category::RelationshipStructure,
                    ElementPath::Named(relationship.name.clone()),
                    Some(theirs_rel.name.clone()),
                );
            }
            self.compare_sides(&relationship.name, &pairs);
        }
    }

    /// Each reference link of relationship `i` with the student link the matching pairs it
    /// with. `None` when the participants differ (a side without a counterpart, or more sides
    /// in the student's relationship).
    fn pair_sides(&self, i: usize, theirs: &[&'a Link]) -> Option<Vec<(&'a Link, &'a Link)>> {
        let pairs = self.matching.side_pairs(self.reference, self.student, i);
        if pairs.len() != theirs.len() {
            return None;
        }
        pairs.into_iter().map(|(a, b)| b.map(|b| (a, b))).collect()
    }

    fn compare_sides(&mut self, relationship: &str, pairs: &[(&'a Link, &'a Link)]) {
        let ours = side_constraints(self.reference, relationship);
        let student_relationship = pairs
            .first()
            .map(|(_, t)| t.relationship.clone())
            .unwrap_or_default();
        let theirs = side_constraints(self.student, &student_relationship);
        let binary = pairs.len() == 2;
        for (k, (our_link, their_link)) in pairs.iter().enumerate() {
            let (Some(our), Some(their)) = (find(&ours, our_link), find(&theirs, their_link))
            else {
                continue;
            };
            let path = ElementPath::side(our_link);
            // Cardinality, in the reference's own label style.
            let wrong_cardinality = match our_link.cardinality {
                Some(Cardinality::MinMax { .. }) => our.max != their.max && their.max.is_some(),
                _ if binary => {
                    let (other_ours, other_theirs) = (pairs[1 - k].0, pairs[1 - k].1);
                    let a = find(&ours, other_ours).and_then(|c| c.max);
                    let b = find(&theirs, other_theirs).and_then(|c| c.max);
                    a.map(|m| m == Some(1)) != b.map(|m| m == Some(1))
                }
                _ => our.is_many() != their.is_many() && their.is_many().is_some(),
            };
            if wrong_cardinality {
                self.push(
                    Category::WrongCardinality,
                    path.clone(),
                    Some(format!("{}/{}", their_link.relationship, their_link.entity)),
                );
            }
            let identifying = self
                .reference
                .relationship(relationship)
                .is_some_and(|r| r.identifying);
            let weak_side = identifying && self.weak_flips.contains(&lower(&our_link.entity));
            if (our.total() != their.total()
                || (our.min != their.min && explicit_min(our_link) && explicit_min(their_link)))
                && !weak_side
            {
                self.push(
                    Category::WrongParticipation,
                    path,
                    Some(format!("{}/{}", their_link.relationship, their_link.entity)),
                );
            }
        }
    }

    fn attributes(&mut self) {
        let matches: Vec<_> = self
            .matching
            .attributes
            .iter()
            .filter(|m| m.owner_matched && m.names.len() == 1)
            .cloned()
            .collect();
        for m in matches {
            let Some(attribute) = find_attribute(self.reference, &m.owner, &m.names) else {
                continue;
            };
            let path = ElementPath::Attribute {
                owner: m.owner.clone(),
                names: m.names.clone(),
            };
            let our_owner = m.owner.clone();
            match (&m.student, m.placement) {
                (Some(s), Placement::Own) => {
                    if let Some(theirs) = find_attribute(self.student, &s.owner, &s.names) {
                        self.compare_attribute(&m.owner, m.names.clone(), attribute, theirs);
                    }
                }
                (Some(s), Placement::Elsewhere) => {
                    let elsewhere = format!("{}.{}", s.owner, s.names.join("."));
                    self.push(Category::MisplacedAttribute, path, Some(elsewhere));
                }
                // Simple attributes grouped into a composite the reference does not have.
                (Some(_), _) => {}
                (None, Placement::Flattened) => {
                    self.push(Category::AttributeKind, path, None);
                }
                (None, _) if attribute.key == KeyKind::None => {
                    self.push(Category::MissingAttribute, path, None);
                }
                (None, _) if !self.reference.entity(&our_owner).is_some_and(|e| e.weak) => {
                    self.push(
                        Category::WrongKey,
                        ElementPath::Named(our_owner.clone()),
                        None,
                    );
                }
                (None, _) => {
                    self.weak_finding(&our_owner, None);
                }
            }
        }
    }

    fn compare_attribute(
        &mut self,
        owner: &str,
        names: Vec<String>,
        ours: &Attribute,
        theirs: &Attribute,
    ) {
        let path = ElementPath::Attribute {
            owner: owner.to_string(),
            names: names.clone(),
        };
        let kind_differs = ours.multivalued != theirs.multivalued
            || ours.derived != theirs.derived
            || ours.is_composite() != theirs.is_composite();
        if kind_differs {
            self.push(Category::AttributeKind, path, Some(theirs.name.clone()));
            return;
        }
        if ours.is_composite() {
            for part in &ours.parts {
                let mut sub = names.clone();
                sub.push(part.name.clone());
                let found = self
                    .matching
                    .attribute(owner, &sub)
                    .and_then(|m| m.student.as_ref())
                    .and_then(|s| find_attribute(self.student, &s.owner, &s.names));
                match found {
                    Some(theirs_part) => self.compare_attribute(owner, sub, part, theirs_part),
                    None => self.push(
                        Category::MissingAttribute,
                        ElementPath::Attribute {
                            owner: owner.to_string(),
                            names: sub,
                        },
                        None,
                    ),
                }
            }
        }
    }

    fn mapped(&self, names: &[String]) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        let mut missing = 0;
        for n in names {
            match self.student_entity(n) {
                Some(s) => out.push(lower(s)),
                None => missing += 1,
            }
        }
        out.sort();
        (out, missing)
    }

    fn specializations(&mut self) {
        for (k, spec) in self.reference.specializations.iter().enumerate() {
            let path = ElementPath::specialization(&spec.superclass, &spec.subclasses);
            let Some(superclass) = self.student_entity(&spec.superclass) else {
                continue;
            };
            let (subs, missing) = self.mapped(&spec.subclasses);
            if subs.is_empty() {
                continue;
            }
            let best = self.matching.specializations[k].map(|t| &self.student.specializations[t]);
            let wrong = match best {
                None => true,
                Some(theirs) => {
                    let mut their_subs: Vec<String> =
                        theirs.subclasses.iter().map(|c| lower(c)).collect();
                    their_subs.sort();
                    let single = spec.subclasses.len() == 1 && theirs.subclasses.len() == 1;
                    let extra = their_subs.iter().filter(|c| !subs.contains(c)).count();
                    let lacking = subs.iter().filter(|c| !their_subs.contains(c)).count();
                    (!single && spec.disjointness != theirs.disjointness)
                        || spec.total != theirs.total
                        || lacking > 0
                        || (extra > 0 && missing == 0)
                }
            };
            if wrong {
                self.push(Category::Specialization, path, Some(superclass.to_string()));
            }
        }
    }

    fn unions(&mut self) {
        for (k, union) in self.reference.unions.iter().enumerate() {
            let path = ElementPath::union(&union.category, &union.superclasses);
            let Some(category) = self.student_entity(&union.category) else {
                continue;
            };
            let (supers, missing) = self.mapped(&union.superclasses);
            let theirs = self.matching.unions[k].map(|t| &self.student.unions[t]);
            let wrong = match theirs {
                None => true,
                Some(theirs) => {
                    let mut their_supers: Vec<String> =
                        theirs.superclasses.iter().map(|c| lower(c)).collect();
                    their_supers.sort();
                    let extra = their_supers.iter().filter(|c| !supers.contains(c)).count();
                    let lacking = supers.iter().filter(|c| !their_supers.contains(c)).count();
                    union.total != theirs.total || lacking > 0 || (extra > 0 && missing == 0)
                }
            };
            if wrong {
                self.push(Category::Specialization, path, Some(category.to_string()));
            }
        }
    }
}

fn find(list: &[(&Link, SideConstraint)], link: &Link) -> Option<SideConstraint> {
    list.iter()
        .find(|(l, _)| std::ptr::eq(*l, link))
        .map(|(_, c)| *c)
}

fn explicit_min(link: &Link) -> bool {
    matches!(link.cardinality, Some(Cardinality::MinMax { .. }))
}

fn has_repeated_entity(links: &[&Link]) -> bool {
    let mut seen = HashSet::new();
    links.iter().any(|l| !seen.insert(lower(&l.entity)))
}
