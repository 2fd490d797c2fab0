//! `missing_entity`, `missing_relationship`, `missing_attribute`.

use super::*;

/// An entity removed with its attributes, its links, the relationships left with fewer than two
/// links, and its place in specializations and unions. Not a superclass (its subclasses would
/// lose their key), nor an owner whose weak entity would lose its identifying relationship.
pub(super) fn missing_entity(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    if r.entities.len() < 3 {
        return false;
    }
    let candidates: Vec<String> = r
        .entities
        .iter()
        .filter(|e| {
            !r.specializations
                .iter()
                .any(|s| same_name(&s.superclass, &e.name))
        })
        .filter(|e| {
            // A union keeps at least two superclasses.
            r.unions.iter().all(|u| {
                !u.superclasses.iter().any(|s| same_name(s, &e.name)) || u.superclasses.len() > 2
            })
        })
        .filter(|e| {
            // No other weak entity loses its identifying relationship.
            r.relationships
                .iter()
                .filter(|rel| rel.identifying)
                .all(|rel| {
                    let links: Vec<_> = r.links_of(&rel.name).collect();
                    let involved = links.iter().any(|l| same_name(&l.entity, &e.name));
                    let left = links
                        .iter()
                        .filter(|l| !same_name(&l.entity, &e.name))
                        .count();
                    !involved
                        || left >= 2
                        || weak_participants(r, &rel.name)
                            .iter()
                            .all(|w| same_name(w, &e.name))
                })
        })
        .map(|e| e.name.clone())
        .collect();
    for name in shuffled(candidates, rng) {
        let relationships: Vec<String> = r
            .relationships
            .iter()
            .filter(|rel| r.links_of(&rel.name).any(|l| same_name(&l.entity, &name)))
            .map(|rel| rel.name.clone())
            .collect();
        let mut touches = vec![t_entity(&name)];
        touches.extend(relationships.iter().map(|rel| t_relationship(rel)));
        for s in &r.specializations {
            if s.subclasses.iter().any(|c| same_name(c, &name)) {
                touches.push(t_path(&ElementPath::specialization(
                    &s.superclass,
                    &s.subclasses,
                )));
            }
        }
        for u in &r.unions {
            if same_name(&u.category, &name) || u.superclasses.iter().any(|c| same_name(c, &name)) {
                touches.push(t_path(&ElementPath::union(&u.category, &u.superclasses)));
            }
        }
        if !m.is_free(&touches) {
            continue;
        }
        let s = &mut m.student;
        s.entities.retain(|e| !same_name(&e.name, &name));
        s.links.retain(|l| !same_name(&l.entity, &name));
        let gone: Vec<String> = relationships
            .iter()
            .filter(|rel| s.links_of(rel).count() < 2)
            .cloned()
            .collect();
        s.relationships
            .retain(|rel| !gone.iter().any(|g| same_name(g, &rel.name)));
        s.links
            .retain(|l| !gone.iter().any(|g| same_name(g, &l.relationship)));
        for spec in &mut s.specializations {
            spec.subclasses.retain(|c| !same_name(c, &name));
        }
        s.specializations.retain(|spec| !spec.subclasses.is_empty());
        s.unions.retain(|u| !same_name(&u.category, &name));
        for u in &mut s.unions {
            u.superclasses.retain(|c| !same_name(c, &name));
        }
        let entity = r.entity(&name).expect("a reference entity");
        let what = if entity.weak {
            "weak entity type"
        } else {
            "entity type"
        };
        let mut roles: Vec<String> = r
            .specializations
            .iter()
            .filter(|s| s.subclasses.iter().any(|c| same_name(c, &name)))
            .map(|s| format!("a subclass of {}", s.superclass))
            .collect();
        roles.extend(
            r.unions
                .iter()
                .filter(|u| same_name(&u.category, &name))
                .map(|u| format!("the union of {}", and_list(&u.superclasses))),
        );
        if !relationships.is_empty() {
            roles.push(format!("takes part in {}", and_list(&relationships)));
        }
        let explanation = if roles.is_empty() {
            format!("Add the {what} {name}: the requirements describe it.")
        } else {
            let roles: Vec<String> = roles
                .into_iter()
                .map(|r| {
                    if r.starts_with("takes") {
                        r
                    } else {
                        format!("is {r}")
                    }
                })
                .collect();
            format!(
                "Add the {what} {name}: the requirements describe it, and it {}.",
                and_list(&roles)
            )
        };
        m.record(
            touches,
            Category::MissingEntity,
            ElementPath::Named(name),
            None,
            explanation,
        );
        return true;
    }
    false
}

/// A relationship (not an identifying one) removed with its links and attributes.
pub(super) fn missing_relationship(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let candidates: Vec<String> = r
        .relationships
        .iter()
        .filter(|rel| !rel.identifying && r.links_of(&rel.name).count() >= 2)
        .map(|rel| rel.name.clone())
        .collect();
    for name in shuffled(candidates, rng) {
        let touches = vec![t_relationship(&name)];
        if !m.is_free(&touches) {
            continue;
        }
        m.student
            .relationships
            .retain(|rel| !same_name(&rel.name, &name));
        m.student
            .links
            .retain(|l| !same_name(&l.relationship, &name));
        let rel = r.relationship(&name).expect("a reference relationship");
        let entities = participants(r, &name);
        let links: Vec<_> = r.links_of(&name).collect();
        let between = if entities.len() == 1 {
            let roles: Vec<String> = links.iter().filter_map(|l| l.role.clone()).collect();
            if roles.is_empty() {
                format!("the recursive relationship {name} of {}", entities[0])
            } else {
                format!(
                    "the recursive relationship {name} of {} (roles {})",
                    entities[0],
                    and_list(&roles)
                )
            }
        } else {
            format!("the relationship {name} between {}", and_list(&entities))
        };
        let with = match rel.attributes.len() {
            0 => String::new(),
            1 => format!(", with its attribute {}", rel.attributes[0].name),
            _ => format!(
                ", with its attributes {}",
                and_list(
                    &rel.attributes
                        .iter()
                        .map(|a| a.name.clone())
                        .collect::<Vec<_>>()
                )
            ),
        };
        m.record(
            touches,
            Category::MissingRelationship,
            ElementPath::Named(name),
            None,
            format!("Add {between}{with}."),
        );
        return true;
    }
    false
}

/// A non-key attribute (of an entity or a relationship) or a part of a composite attribute with
/// at least two parts removed.
pub(super) fn missing_attribute(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates: Vec<(String, Vec<String>)> = Vec::new();
    for (owner, names, a) in all_attributes(r) {
        if has_key(a) {
            continue;
        }
        if names.len() > 1 {
            let parent = attribute_in(r, owner, &names[..names.len() - 1]);
            if parent.is_none_or(|p| p.parts.len() < 2) {
                continue;
            }
        }
        candidates.push((owner.to_string(), names));
    }
    for (owner, names) in shuffled(candidates, rng) {
        let touches = vec![t_attribute(m, &owner, &names)];
        if !m.is_free(&touches) {
            continue;
        }
        if m.remove_attribute(&owner, &names).is_none() {
            continue;
        }
        let a = attribute_in(r, &owner, &names).expect("a reference attribute");
        let kind = if a.multivalued {
            "multivalued attribute"
        } else if a.derived {
            "derived attribute"
        } else if a.is_composite() {
            "composite attribute"
        } else {
            "attribute"
        };
        let on = if m.is_relationship(&owner) {
            format!("the relationship {owner}")
        } else {
            owner.clone()
        };
        let explanation = match names.as_slice() {
            [name] => format!("Add the {kind} {name} to {on}."),
            [.., parent, name] => {
                format!("Add {name} as a part of the composite attribute {parent} of {on}.")
            }
            [] => unreachable!("attribute paths are never empty"),
        };
        m.record(
            touches,
            Category::MissingAttribute,
            attribute_path(&owner, &names),
            None,
            explanation,
        );
        return true;
    }
    false
}

/// The reference attribute at `names` under `owner`.
pub(super) fn attribute_in<'d>(
    d: &'d Diagram,
    owner: &str,
    names: &[String],
) -> Option<&'d Attribute> {
    let mut list = if let Some(e) = d.entity(owner) {
        &e.attributes
    } else {
        &d.relationship(owner)?.attributes
    };
    let mut found = None;
    for name in names {
        let a = list.iter().find(|a| same_name(&a.name, name))?;
        list = &a.parts;
        found = Some(a);
    }
    found
}
