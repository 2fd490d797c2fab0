//! The compact form of a diagram for a model's prompt: few tokens per element, deterministic.
//!
//! It keeps what grading needs and drops what it does not (display names, data types, comments,
//! directives). It is written, never parsed back. Grammar (one element a line, in model order):
//!
//! ```text
//! line         = entity | relationship | specialization | union
//! entity       = ("E" | "W") " " NAME [": " attributes]          W: weak entity
//! relationship = ("R" | "I") " " NAME ": " sides ["; " attributes]  I: identifying
//! sides        = side {", " side}
//! side         = ENTITY ("=" | "-") [label] [":" ROLE]           "=" total (also for min ≥ 1), "-" partial
//! label        = "1" | "N" | "M" | "(" MIN "," (MAX | "N") ")"
//! attributes   = attribute {", " attribute}
//! attribute    = ["*" | "~"] ["/"] ["+"] NAME ["(" attributes ")"]
//!                "*" key, "~" partial key, "/" derived, "+" multivalued, "(…)" composite parts
//! specialization = "S " SUPER " " ("=" | "-") ["d" | "o"] ": " SUB {", " SUB}
//! union        = "U " CATEGORY " " ("=" | "-") ": " SUPER {", " SUPER}
//! ```
//!
//! The [`eerd-format.md`] sample's EMPLOYEE becomes
//! `E EMPLOYEE: *Ssn, Name(Fname, Minit, Lname), Salary, /Age` and its WORKS_FOR
//! `R WORKS_FOR: EMPLOYEE=N, DEPARTMENT=1`.

use crate::model::{Attribute, Diagram, Disjointness, Entity, KeyKind, Specialization, UnionType};
use crate::print::cardinality_label;
use std::fmt::Write;

/// The compact form of `diagram` (one line an element, each ending in `\n`).
pub fn compact(diagram: &Diagram) -> String {
    let mut out = String::new();
    for entity in &diagram.entities {
        out.push_str(&entity_line(entity));
        out.push('\n');
    }
    for name in relationship_names(diagram) {
        out.push_str(&relationship_line(diagram, name));
        out.push('\n');
    }
    for spec in &diagram.specializations {
        out.push_str(&specialization_line(spec));
        out.push('\n');
    }
    for union in &diagram.unions {
        out.push_str(&union_line(union));
        out.push('\n');
    }
    out
}

/// The names of `diagram`'s relationships: declared ones in order, then those only links name.
pub fn relationship_names(diagram: &Diagram) -> Vec<&str> {
    let mut names: Vec<&str> = diagram
        .relationships
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for link in &diagram.links {
        if !names.contains(&link.relationship.as_str()) {
            names.push(&link.relationship);
        }
    }
    names
}

/// One entity's compact line (without the line break).
pub fn entity_line(entity: &Entity) -> String {
    let mut out = String::new();
    out.push(if entity.weak { 'W' } else { 'E' });
    out.push(' ');
    out.push_str(&entity.name);
    if !entity.attributes.is_empty() {
        out.push_str(": ");
        write_attributes(&mut out, &entity.attributes);
    }
    out
}

/// The compact line of the relationship `name` of `diagram`: its sides (from the links) and
/// attributes (without the line break).
pub fn relationship_line(diagram: &Diagram, name: &str) -> String {
    let sides: Vec<String> = diagram
        .links
        .iter()
        .filter(|l| l.relationship == name)
        .map(|link| {
            let mut side = link.entity.clone();
            side.push(if link.is_total() { '=' } else { '-' });
            if let Some(c) = link.cardinality {
                side.push_str(&cardinality_label(c));
            }
            if let Some(role) = &link.role {
                let _ = write!(side, ":{role}");
            }
            side
        })
        .collect();
    relationship_line_of(diagram, name, &sides)
}

/// The compact line of the relationship `name` of `diagram` with its sides already written:
/// `I`/`R`, the name, the sides, then the attributes.
pub fn relationship_line_of(diagram: &Diagram, name: &str, sides: &[String]) -> String {
    let relationship = diagram.relationships.iter().find(|r| r.name == name);
    let identifying = relationship.is_some_and(|r| r.identifying);
    let mut out = format!("{} {name}:", if identifying { 'I' } else { 'R' });
    if !sides.is_empty() {
        out.push(' ');
        out.push_str(&sides.join(", "));
    }
    if let Some(r) = relationship.filter(|r| !r.attributes.is_empty()) {
        out.push_str("; ");
        write_attributes(&mut out, &r.attributes);
    }
    out
}

/// One specialization's compact line (without the line break).
pub fn specialization_line(spec: &Specialization) -> String {
    let total = if spec.total { '=' } else { '-' };
    let symbol = match spec.disjointness {
        Some(Disjointness::Disjoint) => "d",
        Some(Disjointness::Overlapping) => "o",
        None => "",
    };
    format!(
        "S {} {total}{symbol}: {}",
        spec.superclass,
        spec.subclasses.join(", ")
    )
}

/// One union type's compact line (without the line break).
pub fn union_line(union: &UnionType) -> String {
    let total = if union.total { '=' } else { '-' };
    format!(
        "U {} {total}: {}",
        union.category,
        union.superclasses.join(", ")
    )
}

/// Writes an attribute list in the compact grammar (`*` key, `~` partial key, `/` derived,
/// `+` multivalued, `(…)` parts).
pub fn write_attributes(out: &mut String, attributes: &[Attribute]) {
    for (i, a) in attributes.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match a.key {
            KeyKind::None => {}
            KeyKind::Key => out.push('*'),
            KeyKind::Partial => out.push('~'),
        }
        if a.derived {
            out.push('/');
        }
        if a.multivalued {
            out.push('+');
        }
        out.push_str(&a.name);
        if a.is_composite() {
            out.push('(');
            write_attributes(out, &a.parts);
            out.push(')');
        }
    }
}
