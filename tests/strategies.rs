//! proptest strategies for random diagrams that the printer and parser must round-trip.
//!
//! The diagrams use every construct of the format; names are unique, links join declared
//! relationships and entities, and single-subclass specializations have one subclass, as the
//! parser builds them. They need not be well-formed for lint.

use eerd::{
    Attribute, Cardinality, Diagram, Disjointness, Entity, KeyKind, Link, ManyLabel, Relationship,
    Specialization, UnionType,
};
use proptest::prelude::*;
use proptest::sample::select;

fn upper_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,7}"
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Z][a-z0-9_]{0,8}",
        1 => "[A-Z][a-z]{1,5} [a-z]{1,5}",
        1 => "[a-zé][a-zäöü_]{0,6}",
    ]
}

fn display() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(0.2, "[A-Za-z][A-Za-z0-9 ]{0,12}[A-Za-z]")
}

fn simple_attribute() -> impl Strategy<Value = Attribute> {
    (
        attribute_name(),
        display(),
        proptest::option::weighted(0.2, "[A-Z]{1,6}"),
        select(vec![
            KeyKind::None,
            KeyKind::None,
            KeyKind::Key,
            KeyKind::Partial,
        ]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(name, display, data_type, key, multi, derived)| Attribute {
                name,
                display,
                data_type,
                key,
                multivalued: multi && derived,
                derived: derived && !multi,
                ..Attribute::default()
            },
        )
}

fn attribute() -> impl Strategy<Value = Attribute> {
    simple_attribute().prop_recursive(3, 12, 4, |inner| {
        (simple_attribute(), proptest::collection::vec(inner, 1..4)).prop_map(|(mut a, parts)| {
            a.parts = parts;
            a
        })
    })
}

fn cardinality() -> impl Strategy<Value = Option<Cardinality>> {
    prop_oneof![
        1 => Just(None),
        2 => Just(Some(Cardinality::One)),
        2 => Just(Some(Cardinality::Many(ManyLabel::N))),
        1 => Just(Some(Cardinality::Many(ManyLabel::M))),
        3 => (0u32..3, proptest::option::of(1u32..5)).prop_map(|(min, max)| Some(Cardinality::MinMax {
            min,
            max: max.map(|m| m.max(min).max(1)),
        })),
    ]
}

/// Random diagrams covering every construct.
pub fn diagram() -> impl Strategy<Value = Diagram> {
    (
        proptest::collection::btree_set(upper_name(), 2..9),
        proptest::option::of("[A-Z][A-Za-z_]{0,10}"),
        proptest::collection::vec(
            select(vec![
                "left to right direction".to_string(),
                "skinparam linetype ortho".to_string(),
                "title Test".to_string(),
            ]),
            0..2,
        ),
        any::<u64>(),
    )
        .prop_flat_map(|(names, name, directives, _)| {
            let names: Vec<String> = names.into_iter().collect();
            let split = names.len().div_ceil(2);
            let entity_names = names[..split].to_vec();
            let relationship_names = names[split..].to_vec();
            let entities = entity_names
                .iter()
                .map(|n| {
                    (
                        Just(n.clone()),
                        display(),
                        any::<bool>(),
                        proptest::collection::vec(attribute(), 0..5),
                    )
                        .prop_map(|(name, display, weak, attributes)| {
                            let mut attributes = dedup(attributes);
                            if weak {
                                demote_keys(&mut attributes);
                            }
                            Entity {
                                name,
                                display,
                                weak,
                                attributes,
                                ..Entity::default()
                            }
                        })
                })
                .collect::<Vec<_>>();
            let relationships = relationship_names
                .iter()
                .map(|n| {
                    (
                        Just(n.clone()),
                        display(),
                        any::<bool>(),
                        proptest::collection::vec(attribute(), 0..3),
                    )
                        .prop_map(
                            |(name, display, identifying, attributes)| Relationship {
                                name,
                                display,
                                identifying,
                                attributes: dedup(attributes),
                                ..Relationship::default()
                            },
                        )
                })
                .collect::<Vec<_>>();
            let link = (
                select(relationship_names.clone()),
                select(entity_names.clone()),
                any::<bool>(),
                cardinality(),
                proptest::option::weighted(0.2, "[a-z][a-z_]{0,8}"),
            )
                .prop_map(|(relationship, entity, total, cardinality, role)| Link {
                    relationship,
                    entity,
                    total,
                    cardinality,
                    role,
                    ..Link::default()
                });
            let links = if relationship_names.is_empty() {
                Just(Vec::new()).boxed()
            } else {
                proptest::collection::vec(link, 0..8).boxed()
            };
            let spec = (
                select(entity_names.clone()),
                proptest::sample::subsequence(entity_names.clone(), 1..=entity_names.len().min(3)),
                prop_oneof![
                    Just(None),
                    Just(Some(Disjointness::Disjoint)),
                    Just(Some(Disjointness::Overlapping))
                ],
                any::<bool>(),
            )
                .prop_map(|(superclass, mut subclasses, disjointness, total)| {
                    if disjointness.is_none() {
                        subclasses.truncate(1);
                    }
                    Specialization {
                        superclass,
                        subclasses,
                        disjointness,
                        total,
                        ..Specialization::default()
                    }
                });
            let union = (
                select(entity_names.clone()),
                proptest::sample::subsequence(entity_names.clone(), 1..=entity_names.len().min(3)),
                any::<bool>(),
            )
                .prop_map(|(category, superclasses, total)| UnionType {
                    category,
                    superclasses,
                    total,
                    ..UnionType::default()
                });
            (
                Just(name.clone()),
                Just(directives.clone()),
                entities,
                relationships,
                links,
                proptest::collection::vec(spec, 0..3),
                proptest::collection::vec(union, 0..2),
            )
        })
        .prop_map(
            |(name, directives, entities, relationships, links, specializations, unions)| {
                let mut diagram = Diagram {
                    name,
                    directives,
                    entities,
                    relationships,
                    links,
                    specializations,
                    unions,
                    comments: Vec::new(),
                };
                let mut seen = std::collections::HashSet::new();
                diagram
                    .specializations
                    .retain(|s| seen.insert((s.superclass.clone(), sorted(&s.subclasses))));
                let mut seen = std::collections::HashSet::new();
                diagram
                    .unions
                    .retain(|u| seen.insert((u.category.clone(), sorted(&u.superclasses))));
                diagram.canonicalize_order();
                diagram
            },
        )
}

/// Attribute names are unique per owner, case-insensitively (lint demands it; the generator
/// keeps it so the same strategy serves rendering checks).
fn dedup(attributes: Vec<Attribute>) -> Vec<Attribute> {
    let mut seen = std::collections::HashSet::new();
    attributes
        .into_iter()
        .filter(|a| seen.insert(a.name.to_lowercase()))
        .map(|mut a| {
            a.parts = dedup(a.parts);
            a
        })
        .collect()
}

/// `<<key>>` inside a weak entity means a partial key; the parser reads it so.
fn demote_keys(attributes: &mut [Attribute]) {
    for a in attributes {
        if a.key == KeyKind::Key {
            a.key = KeyKind::Partial;
        }
        demote_keys(&mut a.parts);
    }
}

fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort();
    names
}
