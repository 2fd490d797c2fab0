//! Attributes at every depth: within matched owners by name, kind and elimination; a
//! composite drawn flattened (its parts directly on the owner) or simple attributes grouped
//! into a composite; and, last, an attribute drawn on another owner.

use super::{assign, Evidence, NameCache, SAME_NAME};
use crate::model::{Attribute, Diagram, KeyKind};
use serde::Serialize;

/// Where the student drew a reference attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// On the owner's counterpart, at the same place (or not at all).
    Own,
    /// The reference composite's parts directly on the owner (the composite itself is then
    /// unmatched and marked `Flattened`; its parts are matched, also marked `Flattened`).
    Flattened,
    /// Inside a composite the reference does not have (the student path has the composite).
    Grouped,
    /// On another owner than the counterpart of the reference owner.
    Elsewhere,
}

/// A student attribute standing for a reference one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentAttribute {
    /// The student's owner (entity or relationship), as the student named it.
    pub owner: String,
    /// The student's names from the owner down (composite parts nest).
    pub names: Vec<String>,
    /// How sure the matching is, in `[0, 1]`.
    pub confidence: f64,
    /// What made the pair.
    pub evidence: Vec<Evidence>,
}

/// One reference attribute and its counterpart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeMatch {
    /// The reference owner (entity or relationship).
    pub owner: String,
    /// The reference names from the owner down.
    pub names: Vec<String>,
    /// The student attribute standing for it, if any.
    pub student: Option<StudentAttribute>,
    /// Where the student drew it.
    pub placement: Placement,
    /// Whether the reference owner has a counterpart at all.
    pub owner_matched: bool,
    /// The student's counterpart of the reference owner, if any.
    pub student_owner: Option<String>,
}

/// The student attribute `owner.path` standing for the reference attribute named `ours` by
/// the name evidence alone.
fn by_name(names: &NameCache<'_>, ours: &str, owner: &str, path: Vec<String>) -> StudentAttribute {
    let theirs = path.last().map_or("", String::as_str);
    let (score, how) = names.score(ours, theirs);
    StudentAttribute {
        owner: owner.to_string(),
        names: path,
        confidence: score,
        evidence: vec![Evidence::Name(how)],
    }
}

fn same_kind(a: &Attribute, b: &Attribute) -> bool {
    a.key == b.key
        && a.multivalued == b.multivalued
        && a.derived == b.derived
        && a.is_composite() == b.is_composite()
}

struct Walk<'n, 'a> {
    names: &'n NameCache<'a>,
    out: Vec<AttributeMatch>,
    /// The student's counterpart of the owner being walked.
    their_owner: Option<String>,
    /// Every reference attribute name (all owners, all depths): a student attribute named like
    /// one of them is no candidate for elimination (it may be drawn on the wrong owner).
    reference_names: Vec<String>,
}

impl Walk<'_, '_> {
    /// Whether the student attribute `a` may be paired by elimination: no reference attribute
    /// anywhere has its name.
    fn eliminable(&self, a: &Attribute) -> bool {
        !self
            .reference_names
            .iter()
            .any(|n| self.names.similarity(n, &a.name) >= SAME_NAME)
    }
}

impl Walk<'_, '_> {
    fn unmatched(
        &mut self,
        owner: &str,
        prefix: &[String],
        list: &[Attribute],
        owner_matched: bool,
    ) {
        for a in list {
            let mut names = prefix.to_vec();
            names.push(a.name.clone());
            self.out.push(AttributeMatch {
                owner: owner.to_string(),
                names: names.clone(),
                student: None,
                placement: Placement::Own,
                owner_matched,
                student_owner: self.their_owner.clone(),
            });
            self.unmatched(owner, &names, &a.parts, owner_matched);
        }
    }

    fn push(
        &mut self,
        owner: &str,
        names: Vec<String>,
        student: Option<StudentAttribute>,
        placement: Placement,
    ) {
        self.out.push(AttributeMatch {
            owner: owner.to_string(),
            names,
            student,
            placement,
            owner_matched: true,
            student_owner: self.their_owner.clone(),
        });
    }

    /// Matches the reference list `ours` (under `owner.prefix`) to the student list `theirs`
    /// (under `their_owner.their_prefix`).
    #[allow(clippy::too_many_arguments)]
    fn list(
        &mut self,
        owner: &str,
        prefix: &[String],
        ours: &[Attribute],
        their_owner: &str,
        their_prefix: &[String],
        theirs: &[Attribute],
    ) {
        let names = self.names;
        let scores: Vec<Vec<Option<f64>>> = ours
            .iter()
            .map(|a| {
                theirs
                    .iter()
                    .map(|b| {
                        let s = names.similarity(&a.name, &b.name);
                        (s >= SAME_NAME).then(|| s + if same_kind(a, b) { 0.05 } else { 0.0 })
                    })
                    .collect()
            })
            .collect();
        let mut pairs = assign(&scores, theirs.len());
        let mut eliminated = vec![false; ours.len()];
        let free = |pairs: &[Option<usize>]| -> Vec<usize> {
            (0..theirs.len())
                .filter(|j| !pairs.contains(&Some(*j)))
                .collect()
        };
        // Elimination: the one key left on each side (`VIN` for `Vehicle_id`) …
        let left_keys: Vec<usize> = (0..ours.len())
            .filter(|&k| pairs[k].is_none() && ours[k].key != KeyKind::None)
            .collect();
        let free_keys: Vec<usize> = free(&pairs)
            .into_iter()
            .filter(|&j| theirs[j].key != KeyKind::None && self.eliminable(&theirs[j]))
            .collect();
        if let ([k], [j]) = (&left_keys[..], &free_keys[..]) {
            if ours[*k].key == theirs[*j].key {
                pairs[*k] = Some(*j);
                eliminated[*k] = true;
            }
        }
        // … then the one attribute left on each side, when of the same kind.
        let left: Vec<usize> = (0..ours.len()).filter(|&k| pairs[k].is_none()).collect();
        if let ([k], [j]) = (&left[..], &free(&pairs)[..]) {
            if same_kind(&ours[*k], &theirs[*j]) && self.eliminable(&theirs[*j]) {
                pairs[*k] = Some(*j);
                eliminated[*k] = true;
            }
        }
        // A composite drawn flattened: its parts among the student's attributes left here.
        let mut flattened: Vec<Vec<Option<usize>>> = vec![Vec::new(); ours.len()];
        for k in 0..ours.len() {
            if pairs[k].is_some() || !ours[k].is_composite() {
                continue;
            }
            let rest = free(&pairs);
            let taken: Vec<usize> = flattened.iter().flatten().flatten().copied().collect();
            let rest: Vec<usize> = rest.into_iter().filter(|j| !taken.contains(j)).collect();
            let parts = &ours[k].parts;
            let scores: Vec<Vec<Option<f64>>> = parts
                .iter()
                .map(|p| {
                    rest.iter()
                        .map(|&j| {
                            let s = names.similarity(&p.name, &theirs[j].name);
                            (s >= SAME_NAME).then_some(s)
                        })
                        .collect()
                })
                .collect();
            let found: Vec<Option<usize>> = assign(&scores, rest.len())
                .into_iter()
                .map(|x| x.map(|x| rest[x]))
                .collect();
            let count = found.iter().flatten().count();
            if count > 0 && 2 * count >= parts.len() {
                flattened[k] = found;
            }
        }
        // Simple attributes grouped into a composite the reference does not have.
        let taken: Vec<usize> = flattened.iter().flatten().flatten().copied().collect();
        let mut grouped: Vec<Option<(usize, usize)>> = vec![None; ours.len()];
        for j in free(&pairs) {
            if taken.contains(&j) || !theirs[j].is_composite() {
                continue;
            }
            let left: Vec<usize> = (0..ours.len())
                .filter(|&k| pairs[k].is_none() && flattened[k].is_empty() && grouped[k].is_none())
                .collect();
            let parts = &theirs[j].parts;
            let scores: Vec<Vec<Option<f64>>> = left
                .iter()
                .map(|&k| {
                    parts
                        .iter()
                        .map(|p| {
                            let s = names.similarity(&ours[k].name, &p.name);
                            (s >= SAME_NAME).then_some(s)
                        })
                        .collect()
                })
                .collect();
            let found = assign(&scores, parts.len());
            let count = found.iter().flatten().count();
            if count > 0 && 2 * count >= parts.len() {
                for (x, p) in found.iter().enumerate() {
                    if let Some(p) = p {
                        grouped[left[x]] = Some((j, *p));
                    }
                }
            }
        }
        for (k, a) in ours.iter().enumerate() {
            let mut path = prefix.to_vec();
            path.push(a.name.clone());
            let student_path = |names: &[&str]| {
                let mut p = their_prefix.to_vec();
                p.extend(names.iter().map(|n| n.to_string()));
                p
            };
            if let Some(j) = pairs[k] {
                let b = &theirs[j];
                let (score, how) = names.score(&a.name, &b.name);
                let mut evidence = Vec::new();
                if score >= SAME_NAME {
                    evidence.push(Evidence::Name(how));
                }
                let confidence = if eliminated[k] {
                    if a.key != KeyKind::None {
                        evidence.push(Evidence::Key);
                    }
                    evidence.push(Evidence::Elimination);
                    if a.key != KeyKind::None {
                        0.65
                    } else {
                        0.5
                    }
                } else {
                    score
                };
                let their_path = student_path(&[&b.name]);
                self.push(
                    owner,
                    path.clone(),
                    Some(StudentAttribute {
                        owner: their_owner.to_string(),
                        names: their_path.clone(),
                        confidence,
                        evidence,
                    }),
                    Placement::Own,
                );
                self.list(owner, &path, &a.parts, their_owner, &their_path, &b.parts);
            } else if !flattened[k].is_empty() {
                self.push(owner, path.clone(), None, Placement::Flattened);
                for (p, found) in a.parts.iter().zip(&flattened[k]) {
                    let mut part_path = path.clone();
                    part_path.push(p.name.clone());
                    let student = found.map(|j| {
                        by_name(
                            names,
                            &p.name,
                            their_owner,
                            student_path(&[&theirs[j].name]),
                        )
                    });
                    self.push(owner, part_path.clone(), student, Placement::Flattened);
                    self.unmatched(owner, &part_path, &p.parts, true);
                }
            } else if let Some((j, p)) = grouped[k] {
                let part = &theirs[j].parts[p];
                let their_path = student_path(&[&theirs[j].name, &part.name]);
                let student = by_name(names, &a.name, their_owner, their_path.clone());
                self.push(owner, path.clone(), Some(student), Placement::Grouped);
                self.list(
                    owner,
                    &path,
                    &a.parts,
                    their_owner,
                    &their_path,
                    &part.parts,
                );
            } else {
                self.push(owner, path.clone(), None, Placement::Own);
                self.unmatched(owner, &path, &a.parts, true);
            }
        }
    }
}

/// Every reference attribute's match (see the module documentation).
pub(super) fn match_all(
    names: &NameCache<'_>,
    reference: &Diagram,
    student: &Diagram,
    entities: &[Option<usize>],
    relationships: &[Option<usize>],
) -> Vec<AttributeMatch> {
    let mut reference_names = Vec::new();
    for e in &reference.entities {
        super::all_names(&e.attributes, &mut reference_names);
    }
    for r in &reference.relationships {
        super::all_names(&r.attributes, &mut reference_names);
    }
    let mut walk = Walk {
        names,
        out: Vec::new(),
        their_owner: None,
        reference_names,
    };
    let owners = reference
        .entities
        .iter()
        .zip(entities)
        .map(|(e, m)| {
            (
                &e.name,
                &e.attributes,
                m.map(|j| (&student.entities[j].name, &student.entities[j].attributes)),
            )
        })
        .chain(
            reference
                .relationships
                .iter()
                .zip(relationships)
                .map(|(r, m)| {
                    (
                        &r.name,
                        &r.attributes,
                        m.map(|j| {
                            (
                                &student.relationships[j].name,
                                &student.relationships[j].attributes,
                            )
                        }),
                    )
                }),
        );
    for (owner, ours, theirs) in owners {
        walk.their_owner = theirs.map(|(name, _)| name.clone());
        match theirs {
            Some((their_owner, theirs)) => walk.list(owner, &[], ours, their_owner, &[], theirs),
            None => walk.unmatched(owner, &[], ours, false),
        }
    }
    let mut out = walk.out;
    // Last, an attribute drawn on another owner: a top-level reference attribute left
    // unmatched (its owner matched) and a top-level student attribute no reference attribute
    // stands for, with the same name.
    let student_owners: Vec<(&String, &Vec<Attribute>)> = student
        .entities
        .iter()
        .map(|e| (&e.name, &e.attributes))
        .chain(
            student
                .relationships
                .iter()
                .map(|r| (&r.name, &r.attributes)),
        )
        .collect();
    for k in 0..out.len() {
        let m = &out[k];
        if m.student.is_some()
            || !m.owner_matched
            || m.names.len() != 1
            || m.placement != Placement::Own
        {
            continue;
        }
        let name = m.names[0].clone();
        let m = m.clone();
        let mut best: Option<(f64, String, String)> = None;
        for (owner, attributes) in &student_owners {
            if m.student_owner.as_deref() == Some(owner.as_str()) {
                continue;
            }
            for a in attributes.iter() {
                let used = out.iter().any(|x| {
                    x.student
                        .as_ref()
                        .is_some_and(|s| &s.owner == *owner && s.names.first() == Some(&a.name))
                });
                if used {
                    continue;
                }
                let s = names.similarity(&name, &a.name);
                if s >= SAME_NAME && best.as_ref().is_none_or(|b| s > b.0) {
                    best = Some((s, owner.to_string(), a.name.clone()));
                }
            }
        }
        if let Some((_, owner, found)) = best {
            out[k].student = Some(by_name(names, &name, &owner, vec![found]));
            out[k].placement = Placement::Elsewhere;
        }
    }
    out
}
