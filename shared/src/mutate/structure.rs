//! `specialization` and `relationship_structure`.

use super::*;
use crate::model::{Cardinality, Disjointness, Link, ManyLabel};

fn spec_path(s: &crate::model::Specialization) -> ElementPath {
    ElementPath::specialization(&s.superclass, &s.subclasses)
}

/// Finds the student's copy of the reference specialization at `index`.
fn student_spec<'d>(
    m: &'d mut Mutator<'_>,
    index: usize,
) -> Option<&'d mut crate::model::Specialization> {
    let reference = &m.reference.specializations[index];
    m.student.specializations.iter_mut().find(|s| {
        same_name(&s.superclass, &reference.superclass)
            && s.subclasses.len() == reference.subclasses.len()
            && s.subclasses
                .iter()
                .all(|c| reference.subclasses.iter().any(|x| same_name(x, c)))
    })
}

/// Applies `change` to a free reference specialization chosen among those `eligible` accepts.
fn change_spec(
    m: &mut Mutator<'_>,
    rng: &mut Rng,
    eligible: impl Fn(&crate::model::Specialization) -> bool,
    change: impl Fn(&mut crate::model::Specialization, &mut Rng) -> Option<String>,
) -> bool {
    let indices: Vec<usize> = (0..m.reference.specializations.len())
        .filter(|&i| eligible(&m.reference.specializations[i]))
        .collect();
    for i in shuffled(indices, rng) {
        let path = spec_path(&m.reference.specializations[i]);
        let touches = vec![t_path(&path)];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(s) = student_spec(m, i) else {
            continue;
        };
        let Some(explanation) = change(s, rng) else {
            continue;
        };
        let student = spec_path(s);
        m.record(
            touches,
            Category::Specialization,
            path,
            Some(student),
            explanation,
        );
        return true;
    }
    false
}

/// A disjoint specialization drawn overlapping, or the reverse.
pub(super) fn disjointness_toggled(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    change_spec(
        m,
        rng,
        |s| s.disjointness.is_some() && s.subclasses.len() >= 2,
        |s, _| {
            let subs = and_list(&s.subclasses);
            let sup = s.superclass.clone();
            match s.disjointness? {
                Disjointness::Disjoint => {
                    s.disjointness = Some(Disjointness::Overlapping);
                    Some(format!("{} can be at most one of {subs}: make the specialization disjoint (d), not overlapping (o).", article(&sup)))
                }
                Disjointness::Overlapping => {
                    s.disjointness = Some(Disjointness::Disjoint);
                    Some(format!("{} can be several of {subs} at once: make the specialization overlapping (o), not disjoint (d).", article(&sup)))
                }
            }
        },
    )
}

/// A total specialization drawn partial, or the reverse.
pub(super) fn specialization_total_toggled(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    change_spec(
        m,
        rng,
        |_| true,
        |s, _| {
            let subs = or_list(&s.subclasses.iter().map(|c| article(c)).collect::<Vec<_>>());
            let sup = s.superclass.clone();
            s.total = !s.total;
            Some(if s.total {
                format!("Not every {sup} is {subs}: make the specialization partial (a single line), not total.")
            } else {
                format!("Every {sup} must be {subs}: make the specialization total (a double line), not partial.")
            })
        },
    )
}

/// A subclass left out of a specialization of two or more subclasses (the entity stays).
pub(super) fn subclass_dropped(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    change_spec(
        m,
        rng,
        |s| s.subclasses.len() >= 2,
        |s, rng| {
            let i = rng.below(s.subclasses.len());
            let dropped = s.subclasses.remove(i);
            Some(format!(
                "{dropped} is a subclass of {}: add it to the specialization.",
                s.superclass
            ))
        },
    )
}

/// A total union type (category) drawn partial, or the reverse.
pub(super) fn union_total_toggled(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let indices: Vec<usize> = (0..m.reference.unions.len()).collect();
    for i in shuffled(indices, rng) {
        let u = &m.reference.unions[i];
        let path = ElementPath::union(&u.category, &u.superclasses);
        let touches = vec![t_path(&path)];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(s) = m
            .student
            .unions
            .iter_mut()
            .find(|s| same_name(&s.category, &u.category))
        else {
            continue;
        };
        s.total = !s.total;
        let supers = or_list(&u.superclasses);
        let explanation = if u.total {
            format!(
                "Every {supers} is {}: make the union total (a double line), not partial.",
                article(&u.category)
            )
        } else {
            format!(
                "Not every {supers} is {}: make the union partial (a single line), not total.",
                article(&u.category)
            )
        };
        m.record(
            touches,
            Category::Specialization,
            path.clone(),
            Some(path),
            explanation,
        );
        return true;
    }
    false
}

/// Whether a link is the weak entity's side of an identifying relationship.
fn weak_side(d: &Diagram, l: &Link) -> bool {
    d.relationship(&l.relationship)
        .is_some_and(|r| r.identifying)
        && d.entity(&l.entity).is_some_and(|e| e.weak)
}

/// Relationships with no entity joined twice.
fn plain_relationships(d: &Diagram) -> Vec<String> {
    d.relationships
        .iter()
        .filter(|r| {
            let n = d.links_of(&r.name).count();
            n >= 2 && participants(d, &r.name).len() == n
        })
        .map(|r| r.name.clone())
        .collect()
}

fn record_structure(m: &mut Mutator<'_>, touches: Vec<Touch>, rel: &str, explanation: String) {
    m.record(
        touches,
        Category::RelationshipStructure,
        ElementPath::Named(rel.to_string()),
        Some(ElementPath::Named(rel.to_string())),
        explanation,
    );
}

/// One link of a relationship connected to another entity.
pub(super) fn link_reconnected(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for rel in plain_relationships(r) {
        let parts = participants(r, &rel);
        for l in r.links_of(&rel).filter(|l| !weak_side(r, l)) {
            for e in &r.entities {
                if !parts.iter().any(|p| same_name(p, &e.name)) {
                    candidates.push((rel.clone(), l.entity.clone(), e.name.clone()));
                }
            }
        }
    }
    for (rel, from, to) in shuffled(candidates, rng) {
        let touches = vec![t_sides(&rel), t_receives(m, &to)];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(link) = m
            .student
            .links
            .iter_mut()
            .find(|l| same_name(&l.relationship, &rel) && same_name(&l.entity, &from))
        else {
            continue;
        };
        link.entity = to.clone();
        link.role = None;
        record_structure(
            m,
            touches,
            &rel,
            format!("{rel} relates {from}, not {to}: connect it to {from}."),
        );
        return true;
    }
    false
}

/// A relationship of degree three or more drawn with one participant less.
pub(super) fn nary_made_binary(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for rel in &r.relationships {
        let links: Vec<&Link> = r.links_of(&rel.name).collect();
        if links.len() < 3 {
            continue;
        }
        for l in links.iter().filter(|l| !weak_side(r, l)) {
            candidates.push(((*l).clone(), links.len()));
        }
    }
    for (link, degree) in shuffled(candidates, rng) {
        let rel = link.relationship.clone();
        let touches = vec![t_sides(&rel)];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(i) = m.student.links.iter().position(|l| {
            same_name(&l.relationship, &rel)
                && same_name(&l.entity, &link.entity)
                && l.role == link.role
        }) else {
            continue;
        };
        m.student.links.remove(i);
        let degree = match degree {
            3 => "ternary".to_string(),
            n => format!("of degree {n}"),
        };
        record_structure(
            m,
            touches,
            &rel,
            format!("{rel} is {degree}: it also joins {}.", link.entity),
        );
        return true;
    }
    false
}

/// A binary relationship drawn with an extra participant.
pub(super) fn binary_made_ternary(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for rel in plain_relationships(r) {
        if r.relationship(&rel).is_some_and(|x| x.identifying) {
            continue;
        }
        let parts = participants(r, &rel);
        if parts.len() != 2 {
            continue;
        }
        for e in &r.entities {
            if !parts.iter().any(|p| same_name(p, &e.name)) {
                candidates.push((rel.clone(), parts.clone(), e.name.clone()));
            }
        }
    }
    for (rel, parts, extra) in shuffled(candidates, rng) {
        let touches = vec![t_sides(&rel), t_receives(m, &extra)];
        if !m.is_free(&touches) {
            continue;
        }
        let style = r.links_of(&rel).next().and_then(|l| l.cardinality);
        let cardinality = match style {
            Some(Cardinality::MinMax { .. }) => Some(Cardinality::MinMax { min: 0, max: None }),
            Some(_) => Some(Cardinality::Many(ManyLabel::N)),
            None => None,
        };
        // After the relationship's last link, so the text stays grouped.
        let at = m
            .student
            .links
            .iter()
            .rposition(|l| same_name(&l.relationship, &rel))
            .map_or(m.student.links.len(), |i| i + 1);
        m.student.links.insert(
            at,
            Link {
                relationship: rel.clone(),
                entity: extra.clone(),
                total: false,
                cardinality,
                role: None,
                written: None,
                comments: Vec::new(),
                color: None,
                span: Default::default(),
            },
        );
        record_structure(
            m,
            touches,
            &rel,
            format!(
                "{rel} joins only {}: remove its link to {extra}.",
                and_list(&parts)
            ),
        );
        return true;
    }
    false
}

/// The roles of a recursive relationship left out (lint warning `recursive-without-role`,
/// the mistake itself).
pub(super) fn roles_dropped(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let candidates: Vec<String> = r
        .relationships
        .iter()
        .filter(|rel| {
            let links: Vec<&Link> = r.links_of(&rel.name).collect();
            links.len() > participants(r, &rel.name).len() && links.iter().any(|l| l.role.is_some())
        })
        .map(|rel| rel.name.clone())
        .collect();
    for rel in shuffled(candidates, rng) {
        let touches = vec![t_sides(&rel)];
        if !m.is_free(&touches) {
            continue;
        }
        for l in m
            .student
            .links
            .iter_mut()
            .filter(|l| same_name(&l.relationship, &rel))
        {
            l.role = None;
        }
        m.expect_lint("recursive-without-role");
        let links: Vec<&Link> = r.links_of(&rel).collect();
        let roles: Vec<String> = links.iter().filter_map(|l| l.role.clone()).collect();
        let entity = &links[0].entity;
        record_structure(
            m,
            touches,
            &rel,
            format!(
                "{rel} joins {entity} more than once: name the roles {} on its links.",
                and_list(&roles)
            ),
        );
        return true;
    }
    false
}
