//! What a relationship side means, whichever label style wrote it.
//!
//! Ratio labels and `(min,max)` labels are read from opposite sides (`eerd-format.md`): in a
//! binary relationship the ratio label on one side is the `max` of the other. This module turns
//! every side into one [`SideConstraint`] so that equal meanings compare equal: for a binary
//! relationship, `R =N= EMPLOYEE` + `R =1= DEPARTMENT` and `R -(1,1)- EMPLOYEE` +
//! `R -(1,N)- DEPARTMENT` give the same constraints.
//!
//! Ratio labels of relationships of degree three or more do not translate into `(min,max)`;
//! their sides keep the ratio itself ([`SideConstraint::ratio`]) and `max` is left unknown.

use crate::model::{Cardinality, Diagram, Link};
use serde::Serialize;

/// The meaning of one side (link) of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SideConstraint {
    /// Minimum participation of the entity: `0` partial, `≥ 1` total.
    pub min: u32,
    /// Maximum participation of the entity: `Some(Some(k))` at most k, `Some(None)` many,
    /// `None` unknown (ratio labels of an n-ary relationship).
    pub max: Option<Option<u32>>,
    /// For n-ary relationships written with ratio labels: the label on this side, `true` for
    /// many (`N`/`M`), `false` for `1`.
    pub ratio: Option<bool>,
}

impl SideConstraint {
    /// Total participation.
    pub fn total(&self) -> bool {
        self.min >= 1
    }

    /// The side's ratio label as the other sides see it: `true` = many. For a binary side this
    /// is derived from the other side's maximum; `None` when unknown.
    pub fn is_many(&self) -> Option<bool> {
        self.ratio.or(match self.max {
            Some(Some(1)) => Some(false),
            Some(_) => Some(true),
            None => None,
        })
    }
}

/// Explicit minimum of a side's own label: `(min,max)` gives it; the dash gives 0 or 1.
fn own_min(link: &Link) -> u32 {
    match link.cardinality {
        Some(Cardinality::MinMax { min, .. }) => min.max(u32::from(link.total)),
        _ => u32::from(link.total),
    }
}

/// The maximum of `link`'s entity implied by a ratio label on the *other* side of a binary
/// relationship: `1` there means each entity here relates to at most one instance.
fn max_from_other_ratio(other: &Link) -> Option<u32> {
    match other.cardinality {
        Some(Cardinality::One) => Some(1),
        _ => None,
    }
}

/// The constraint of each link of `relationship`, in link order.
pub fn side_constraints<'a>(
    diagram: &'a Diagram,
    relationship: &str,
) -> Vec<(&'a Link, SideConstraint)> {
    let links: Vec<&Link> = diagram
        .links
        .iter()
        .filter(|l| l.relationship == relationship)
        .collect();
    let binary = links.len() == 2;
    links
        .iter()
        .enumerate()
        .map(|(i, link)| {
            let min = own_min(link);
            let constraint = match link.cardinality {
                Some(Cardinality::MinMax { max, .. }) => SideConstraint {
                    min,
                    max: Some(max),
                    ratio: None,
                },
                Some(_) | None if binary => {
                    let other = links[1 - i];
                    let max = match other.cardinality {
                        Some(Cardinality::MinMax { .. }) | None => None,
                        _ => max_from_other_ratio(other),
                    };
                    SideConstraint {
                        min,
                        max: Some(max),
                        ratio: None,
                    }
                }
                Some(Cardinality::One) => SideConstraint {
                    min,
                    max: None,
                    ratio: Some(false),
                },
                Some(Cardinality::Many(_)) | None => SideConstraint {
                    min,
                    max: None,
                    ratio: Some(true),
                },
            };
            (*link, constraint)
        })
        .collect()
}

/// The constraint of one link (see [`side_constraints`]).
pub fn side_constraint(diagram: &Diagram, link: &Link) -> Option<SideConstraint> {
    side_constraints(diagram, &link.relationship)
        .into_iter()
        .find(|(l, _)| std::ptr::eq(*l, link))
        .map(|(_, c)| c)
}
