//! `attribute_kind` and `misplaced_attribute`.

use super::missing::attribute_in;
use super::*;

/// Attributes of the reference matching `keep`, as (owner, path).
fn attributes_where(
    d: &Diagram,
    keep: impl Fn(&[String], &Attribute) -> bool,
) -> Vec<(String, Vec<String>)> {
    all_attributes(d)
        .into_iter()
        .filter(|(_, names, a)| keep(names, a))
        .map(|(owner, names, _)| (owner.to_string(), names))
        .collect()
}

/// Applies `change` to one free candidate attribute and records the finding that `explain`
/// writes from the reference attribute.
fn change_kind(
    m: &mut Mutator<'_>,
    rng: &mut Rng,
    candidates: Vec<(String, Vec<String>)>,
    change: impl Fn(&mut Attribute),
    explain: impl Fn(&str, &str, &Attribute) -> String,
) -> bool {
    for (owner, names) in shuffled(candidates, rng) {
        let touches = vec![t_attribute(m, &owner, &names)];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(a) = m.attribute_mut(&owner, &names) else {
            continue;
        };
        change(a);
        let reference = attribute_in(m.reference, &owner, &names).expect("reference attribute");
        let on = if m.is_relationship(&owner) {
            format!("the relationship {owner}")
        } else {
            owner.clone()
        };
        let explanation = explain(&names.join("."), &on, reference);
        let path = attribute_path(&owner, &names);
        m.record(
            touches,
            Category::AttributeKind,
            path.clone(),
            Some(path),
            explanation,
        );
        return true;
    }
    false
}

/// A non-key attribute marked multivalued, or a multivalued one drawn single-valued.
pub(super) fn multivalued_toggled(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let candidates = attributes_where(m.reference, |_, a| !has_key(a) && !a.derived);
    change_kind(
        m,
        rng,
        candidates,
        |a| a.multivalued = !a.multivalued,
        |name, on, a| {
            if a.multivalued {
                format!("{name} can hold several values for one instance of {on}: mark it multivalued (<<multi>>).")
            } else {
                format!("{name} holds a single value for each instance of {on}: it should not be multivalued.")
            }
        },
    )
}

/// A simple non-key attribute marked derived, or a derived one drawn as stored.
pub(super) fn derived_toggled(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let candidates = attributes_where(m.reference, |_, a| {
        !has_key(a) && !a.multivalued && !a.is_composite()
    });
    change_kind(
        m,
        rng,
        candidates,
        |a| a.derived = !a.derived,
        |name, on, a| {
            if a.derived {
                format!(
                    "{name} of {on} is computed from other data: mark it derived (<<derived>>)."
                )
            } else {
                format!("{name} of {on} is stored, not computed from other data: it should not be derived.")
            }
        },
    )
}

/// A composite attribute drawn as a simple one (its parts dropped, the attribute kept).
pub(super) fn composite_flattened(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let candidates = attributes_where(m.reference, |_, a| a.is_composite());
    change_kind(
        m,
        rng,
        candidates,
        |a| a.parts.clear(),
        |name, on, a| {
            let parts: Vec<String> = a.parts.iter().map(|p| p.name.clone()).collect();
            format!(
                "{name} of {on} is composite: give it its parts {}.",
                and_list(&parts)
            )
        },
    )
}

/// Owners whose `Name` is a person's name, which splits into first and last name.
const PERSON_WORDS: &[&str] = &[
    "employee",
    "student",
    "person",
    "customer",
    "patient",
    "doctor",
    "nurse",
    "instructor",
    "driver",
    "guest",
    "member",
    "author",
    "actor",
    "artist",
    "player",
    "user",
    "reviewer",
    "participant",
    "agent",
    "director",
    "collector",
    "trainer",
    "rider",
    "developer",
    "keeper",
    "guide",
    "waiter",
    "cook",
    "captain",
    "passenger",
    "pilot",
    "dependent",
    "owner",
    "vet",
    "manager",
    "supervisor",
    "engineer",
    "secretary",
    "technician",
];

/// The parts a student might wrongly split a simple attribute into, if it is a kind of value
/// that has familiar parts.
fn decomposition(lexicon: &Lexicon, owner: &str, name: &str) -> Option<&'static [&'static str]> {
    let concept = lexicon.concept(name);
    let last = concept.rsplit('_').next().unwrap_or("");
    if last == "address" {
        Some(&["Street", "City", "Zip"])
    } else if last == "date" {
        Some(&["Day", "Month", "Year"])
    } else if concept == "telephone" {
        Some(&["Area_code", "Local_number"])
    } else if concept == "name" {
        let owner = lexicon.concept(owner);
        let owner_last = owner.rsplit('_').next().unwrap_or("");
        PERSON_WORDS
            .contains(&owner_last)
            .then_some(&["First_name", "Last_name"][..])
    } else {
        None
    }
}

/// A simple attribute drawn as composite with parts the requirements do not ask for.
pub(super) fn simple_made_composite(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let lexicon = m.lexicon;
    let candidates: Vec<(String, Vec<String>)> = all_attributes(m.reference)
        .into_iter()
        .filter(|(owner, names, a)| {
            names.len() == 1
                && !has_key(a)
                && !a.is_composite()
                && !a.multivalued
                && !a.derived
                && decomposition(lexicon, owner, &a.name).is_some()
        })
        .map(|(owner, names, _)| (owner.to_string(), names))
        .collect();
    for (owner, names) in shuffled(candidates, rng) {
        let Some(parts) = decomposition(lexicon, &owner, &names[0]) else {
            continue;
        };
        let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        let list = parts.clone();
        let applied = change_kind(
            m,
            rng,
            vec![(owner.clone(), names.clone())],
            move |a| a.parts = list.iter().map(Attribute::named).collect(),
            |name, on, _| {
                format!(
                    "The requirements treat {name} of {on} as a single value: draw it as a simple attribute, not split into {}.",
                    and_list(&parts)
                )
            },
        );
        if applied {
            return true;
        }
    }
    false
}

/// The entities and relationships an attribute of `owner` could wrongly be put on: for a
/// relationship its participants; for an entity its relationships, the entities it is related
/// to, and its superclasses and subclasses.
fn neighbours(d: &Diagram, owner: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let add = |name: &str, out: &mut Vec<String>| {
        if !same_name(name, owner) && !out.iter().any(|o| same_name(o, name)) {
            out.push(name.to_string());
        }
    };
    if d.relationship(owner).is_some() {
        for e in participants(d, owner) {
            add(&e, &mut out);
        }
        return out;
    }
    for rel in &d.relationships {
        let parts = participants(d, &rel.name);
        if parts.iter().any(|p| same_name(p, owner)) {
            add(&rel.name, &mut out);
            for p in &parts {
                add(p, &mut out);
            }
        }
    }
    for s in &d.specializations {
        if same_name(&s.superclass, owner) {
            for c in &s.subclasses {
                add(c, &mut out);
            }
        } else if s.subclasses.iter().any(|c| same_name(c, owner)) {
            add(&s.superclass, &mut out);
        }
    }
    out
}

/// A non-key attribute moved to another owner (a relationship's attribute onto a participant,
/// an entity's onto a related entity, its relationship, its superclass or subclass).
pub(super) fn misplaced_attribute(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for (owner, names, a) in all_attributes(r) {
        if names.len() != 1 || has_key(a) {
            continue;
        }
        for target in neighbours(r, owner) {
            candidates.push((owner.to_string(), names[0].clone(), target));
        }
    }
    for (owner, name, target) in shuffled(candidates, rng) {
        let names = vec![name.clone()];
        let touches = vec![t_attribute(m, &owner, &names), t_receives(m, &target)];
        if !m.is_free(&touches) {
            continue;
        }
        let concept = m.lexicon.concept(&name);
        let clash = |list: &[Attribute]| list.iter().any(|a| m.lexicon.concept(&a.name) == concept);
        let reference_clash = attribute_owner_list(r, &target).is_none_or(clash);
        let student_clash = attribute_owner_list(&m.student, &target).is_none_or(clash);
        if reference_clash || student_clash {
            continue;
        }
        let Some(moved) = m.remove_attribute(&owner, &names) else {
            continue;
        };
        m.owner_attributes_mut(&target)
            .expect("the target is in the student")
            .push(moved);
        let describe = |n: &str| {
            if m.is_relationship(n) {
                format!("the relationship {n}")
            } else {
                n.to_string()
            }
        };
        let explanation = if m.is_relationship(&owner) {
            format!(
                "{name} depends on the whole {owner} relationship, not on {} alone: move it to {}.",
                target,
                describe(&owner)
            )
        } else {
            format!(
                "{name} describes {owner}, not {}: move it to {owner}.",
                describe(&target)
            )
        };
        m.record(
            touches,
            Category::MisplacedAttribute,
            attribute_path(&owner, &names),
            Some(attribute_path(&target, &names)),
            explanation,
        );
        return true;
    }
    false
}

fn attribute_owner_list<'d>(d: &'d Diagram, owner: &str) -> Option<&'d [Attribute]> {
    d.entity(owner)
        .map(|e| e.attributes.as_slice())
        .or_else(|| d.relationship(owner).map(|r| r.attributes.as_slice()))
}
