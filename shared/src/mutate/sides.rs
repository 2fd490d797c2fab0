//! `wrong_cardinality` and `wrong_participation`: one side of a relationship.
//!
//! Convention for `wrong_cardinality` (the spec is silent): the finding names the side whose
//! label is wrong **in the reference's own label style**. A ratio label (`1`/`N`/`M`) is flipped
//! on its side and that side is named; a `(min,max)` label gets another maximum on its side and
//! that side is named.

use super::*;
use crate::model::{Cardinality, Link, ManyLabel};
use crate::print::cardinality_label;
use crate::semantics::{side_constraints, SideConstraint};

/// An entity as seen from a side: `EMPLOYEE`, or `EMPLOYEE (supervisor)` with a role.
fn side_name(link: &Link) -> String {
    match &link.role {
        Some(role) => format!("{} ({role})", link.entity),
        None => link.entity.clone(),
    }
}

fn same_link(a: &Link, b: &Link) -> bool {
    same_name(&a.relationship, &b.relationship)
        && same_name(&a.entity, &b.entity)
        && match (&a.role, &b.role) {
            (Some(x), Some(y)) => same_name(x, y),
            (None, None) => true,
            _ => false,
        }
}

fn constraints(d: &Diagram, relationship: &str) -> Vec<SideConstraint> {
    side_constraints(d, relationship)
        .into_iter()
        .map(|(_, c)| c)
        .collect()
}

/// Changes the student's copy of `link` with `change`; reverts and returns `false` when the
/// meaning of the relationship did not change.
fn change_side(m: &mut Mutator<'_>, link: &Link, change: impl FnOnce(&mut Link)) -> bool {
    let Some(index) = m.student.links.iter().position(|l| same_link(l, link)) else {
        return false;
    };
    let before = m.student.links[index].clone();
    let old = constraints(&m.student, &link.relationship);
    change(&mut m.student.links[index]);
    // A changed label is printed from its new value, not as the reference wrote it.
    m.student.links[index].written = None;
    if constraints(&m.student, &link.relationship) == old {
        m.student.links[index] = before;
        return false;
    }
    true
}

fn max_phrase(max: Option<u32>) -> String {
    match max {
        Some(1) => "at most once".to_string(),
        Some(k) => format!("at most {k} times"),
        None => "any number of times".to_string(),
    }
}

/// One labelled side gets the wrong cardinality (see the module documentation).
pub(super) fn wrong_cardinality(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let candidates: Vec<Link> = r
        .links
        .iter()
        .filter(|l| l.cardinality.is_some() && r.relationship(&l.relationship).is_some())
        .cloned()
        .collect();
    for link in shuffled(candidates, rng) {
        let touches = vec![t_sides(&link.relationship)];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(old) = link.cardinality else {
            continue;
        };
        let others: Vec<&Link> = r
            .links_of(&link.relationship)
            .filter(|l| !same_link(l, &link))
            .collect();
        let new = match old {
            Cardinality::One => {
                let n_used = others
                    .iter()
                    .any(|l| l.cardinality == Some(Cardinality::Many(ManyLabel::N)));
                Cardinality::Many(if n_used { ManyLabel::M } else { ManyLabel::N })
            }
            Cardinality::Many(_) => Cardinality::One,
            Cardinality::MinMax { min, max } => {
                let max = match max {
                    Some(1) => None,
                    None if min <= 1 => Some(1),
                    None => Some(min),
                    Some(_) if min <= 1 => Some(1),
                    Some(_) => None,
                };
                Cardinality::MinMax { min, max }
            }
        };
        if !change_side(m, &link, |l| l.cardinality = Some(new)) {
            continue;
        }
        let x = side_name(&link);
        let rel = &link.relationship;
        let (was, now) = (cardinality_label(old), cardinality_label(new));
        let explanation = match old {
            Cardinality::MinMax { max, .. } => format!(
                "Each {} takes part in {rel} {}, so the {x} side should be {was}, not {now}.",
                link.entity,
                max_phrase(max)
            ),
            _ if others.len() == 1 => {
                let y = side_name(others[0]);
                if old == Cardinality::One {
                    format!("In {rel}, each {y} is related to at most one {x}, so the {x} side should be 1, not {now}.")
                } else {
                    format!("In {rel}, {} can be related to many {x}, so the {x} side should be {was}, not 1.", article(&y))
                }
            }
            _ => {
                let names: Vec<String> = others.iter().map(|l| side_name(l)).collect();
                let how = if old == Cardinality::One {
                    "at most one"
                } else {
                    "many"
                };
                format!(
                    "In {rel}, each combination of {} relates to {how} {x}, so the {x} side should be {was}, not {now}.",
                    and_list(&names)
                )
            }
        };
        let path = ElementPath::side(&link);
        m.record(
            touches,
            Category::WrongCardinality,
            path.clone(),
            Some(path),
            explanation,
        );
        return true;
    }
    false
}

/// One side gets total participation where partial is right, or the reverse. The weak entity's
/// side of an identifying relationship is left alone (that is a `weak_entity` mistake).
pub(super) fn wrong_participation(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let candidates: Vec<Link> = r
        .links
        .iter()
        .filter(|l| {
            let identifying = r
                .relationship(&l.relationship)
                .is_some_and(|x| x.identifying);
            let weak = r.entity(&l.entity).is_some_and(|e| e.weak);
            r.relationship(&l.relationship).is_some() && !(identifying && weak)
        })
        .cloned()
        .collect();
    for link in shuffled(candidates, rng) {
        let touches = vec![t_sides(&link.relationship)];
        if !m.is_free(&touches) {
            continue;
        }
        let minmax = match link.cardinality {
            Some(Cardinality::MinMax { min, max }) => Some((min, max)),
            _ => None,
        };
        let changed = change_side(m, &link, |l| match minmax {
            Some((min, max)) => {
                let new_min = if min == 0 { 1 } else { 0 };
                l.cardinality = Some(Cardinality::MinMax { min: new_min, max });
                l.total = new_min >= 1;
            }
            None => l.total = !l.total,
        });
        if !changed {
            continue;
        }
        let x = &link.entity;
        let rel = &link.relationship;
        let side = side_name(&link);
        let explanation = match minmax {
            Some((0, _)) => format!(
                "Not every {x} takes part in {rel}, so the minimum on the {side} side should be 0, not 1."
            ),
            Some((min, _)) => format!(
                "Every {x} must take part in {rel}, so the minimum on the {side} side should be {min}, not 0."
            ),
            None if link.total => format!(
                "Every {x} must take part in {rel}, so the {side} side should be total (a double line), not partial."
            ),
            None => format!(
                "Not every {x} takes part in {rel}, so the {side} side should be partial (a single line), not total."
            ),
        };
        let path = ElementPath::side(&link);
        m.record(
            touches,
            Category::WrongParticipation,
            path.clone(),
            Some(path),
            explanation,
        );
        return true;
    }
    false
}
