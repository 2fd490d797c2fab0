//! `wrong_key` and `weak_entity`.

use super::*;
use crate::model::Entity;

/// The key attributes of a strong entity (paths; composite keys count once).
fn keys_of(e: &Entity) -> Vec<Vec<String>> {
    attribute_paths(&e.attributes)
        .into_iter()
        .filter(|(_, a)| a.key == KeyKind::Key)
        .map(|(names, _)| names)
        .collect()
}

/// Top-level simple attributes that could wrongly be marked key.
fn key_impostors(e: &Entity) -> Vec<Vec<String>> {
    e.attributes
        .iter()
        .filter(|a| a.key == KeyKind::None && !a.is_composite() && !a.multivalued && !a.derived)
        .map(|a| vec![a.name.clone()])
        .collect()
}

fn path_text(names: &[String]) -> String {
    names.join(".")
}

/// Strong entities that have a key.
fn keyed_entities(d: &Diagram) -> Vec<&Entity> {
    d.entities
        .iter()
        .filter(|e| !e.weak && !keys_of(e).is_empty())
        .collect()
}

/// The key marking removed from one key attribute of a strong entity.
pub(super) fn key_removed(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for e in keyed_entities(r) {
        for k in keys_of(e) {
            candidates.push((e.name.clone(), k));
        }
    }
    for (entity, key) in shuffled(candidates, rng) {
        let touches = vec![
            t_entity_part(&entity, "#key"),
            t_attribute(m, &entity, &key),
        ];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(a) = m.attribute_mut(&entity, &key) else {
            continue;
        };
        a.key = KeyKind::None;
        let others = keys_of(r.entity(&entity).expect("reference entity")).len() - 1;
        let name = path_text(&key);
        let explanation = if others == 0 {
            format!("Mark {name} as the key of {entity}: it identifies each {entity}.")
        } else {
            format!("Mark {name} as a key of {entity} too: it also identifies each {entity}.")
        };
        m.record(
            touches,
            Category::WrongKey,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}

/// A non-key attribute of a strong entity marked as a key.
pub(super) fn key_added(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for e in keyed_entities(r) {
        for a in key_impostors(e) {
            candidates.push((e.name.clone(), a));
        }
    }
    for (entity, attribute) in shuffled(candidates, rng) {
        let touches = vec![
            t_entity_part(&entity, "#key"),
            t_attribute(m, &entity, &attribute),
        ];
        if !m.is_free(&touches) {
            continue;
        }
        let Some(a) = m.attribute_mut(&entity, &attribute) else {
            continue;
        };
        a.key = KeyKind::Key;
        let keys: Vec<String> = keys_of(r.entity(&entity).expect("reference entity"))
            .iter()
            .map(|k| path_text(k))
            .collect();
        let explanation = format!(
            "{} does not identify {}: do not mark it as a key ({entity} is identified by {}).",
            path_text(&attribute),
            article(&entity),
            and_list(&keys)
        );
        m.record(
            touches,
            Category::WrongKey,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}

/// The key marking moved from an entity's only key to another attribute.
pub(super) fn key_moved(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for e in keyed_entities(r) {
        let keys = keys_of(e);
        if keys.len() != 1 {
            continue;
        }
        for a in key_impostors(e) {
            candidates.push((e.name.clone(), keys[0].clone(), a));
        }
    }
    for (entity, key, attribute) in shuffled(candidates, rng) {
        let touches = vec![
            t_entity_part(&entity, "#key"),
            t_attribute(m, &entity, &key),
            t_attribute(m, &entity, &attribute),
        ];
        if !m.is_free(&touches) || m.attribute_mut(&entity, &attribute).is_none() {
            continue;
        }
        let Some(k) = m.attribute_mut(&entity, &key) else {
            continue;
        };
        k.key = KeyKind::None;
        if let Some(a) = m.attribute_mut(&entity, &attribute) {
            a.key = KeyKind::Key;
        }
        let explanation = format!(
            "{entity} is identified by {}, not by {}: mark {} as the key instead.",
            path_text(&key),
            path_text(&attribute),
            path_text(&key)
        );
        m.record(
            touches,
            Category::WrongKey,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}

/// Weak entities with their identifying relationships, where each of those identifies only
/// this weak entity.
fn weak_candidates(d: &Diagram) -> Vec<(String, Vec<String>)> {
    d.entities
        .iter()
        .filter(|e| e.weak)
        .map(|e| (e.name.clone(), identifying_of(d, &e.name)))
        .filter(|(name, ids)| {
            !ids.is_empty()
                && ids
                    .iter()
                    .all(|id| weak_participants(d, id).iter().all(|w| same_name(w, name)))
        })
        .collect()
}

fn weak_touches(entity: &str, identifying: &[String]) -> Vec<Touch> {
    let mut t = vec![t_entity(entity)];
    t.extend(identifying.iter().map(|r| t_relationship(r)));
    t
}

fn partial_keys(e: &Entity) -> Vec<String> {
    attribute_paths(&e.attributes)
        .into_iter()
        .filter(|(_, a)| a.key == KeyKind::Partial)
        .map(|(names, _)| path_text(&names))
        .collect()
}

fn set_keys(list: &mut [Attribute], from: KeyKind, to: KeyKind) {
    for a in list {
        if a.key == from {
            a.key = to;
        }
        set_keys(&mut a.parts, from, to);
    }
}

/// A weak entity drawn as strong: `<<weak>>` dropped, its identifying relationships made plain,
/// its partial key made a full key (one finding).
pub(super) fn weak_made_strong(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    for (entity, ids) in shuffled(weak_candidates(r), rng) {
        let touches = weak_touches(&entity, &ids);
        if !m.is_free(&touches) {
            continue;
        }
        let s = &mut m.student;
        let Some(e) = s.entities.iter_mut().find(|e| same_name(&e.name, &entity)) else {
            continue;
        };
        e.weak = false;
        set_keys(&mut e.attributes, KeyKind::Partial, KeyKind::Key);
        for rel in s.relationships.iter_mut() {
            if ids.iter().any(|id| same_name(id, &rel.name)) {
                rel.identifying = false;
            }
        }
        let pk = partial_keys(r.entity(&entity).expect("reference entity"));
        let explanation = format!(
            "{entity} cannot be identified by its own attributes: draw it as a weak entity with {} as its identifying relationship and {} as its partial key.",
            and_list(&ids),
            and_list(&pk)
        );
        m.record(
            touches,
            Category::WeakEntity,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}

/// A strong entity drawn as weak: `<<weak>>` added, its key made partial, and a binary
/// relationship in which it takes part totally made identifying.
pub(super) fn strong_made_weak(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    let mut candidates = Vec::new();
    for e in keyed_entities(r) {
        if in_hierarchy(r, &e.name) {
            continue;
        }
        for rel in r.relationships.iter().filter(|rel| !rel.identifying) {
            let links: Vec<_> = r.links_of(&rel.name).collect();
            if links.len() != 2 || same_name(&links[0].entity, &links[1].entity) {
                continue;
            }
            let Some(own) = links.iter().find(|l| same_name(&l.entity, &e.name)) else {
                continue;
            };
            let other = links
                .iter()
                .find(|l| !same_name(&l.entity, &e.name))
                .expect("binary");
            // The identifying relationship needs the weak entity's total participation.
            let other_strong = r.entity(&other.entity).is_some_and(|o| !o.weak);
            if own.total && other_strong {
                candidates.push((e.name.clone(), rel.name.clone()));
            }
        }
    }
    for (entity, rel) in shuffled(candidates, rng) {
        let touches = vec![t_entity(&entity), t_relationship(&rel)];
        if !m.is_free(&touches) {
            continue;
        }
        let s = &mut m.student;
        let Some(e) = s.entities.iter_mut().find(|e| same_name(&e.name, &entity)) else {
            continue;
        };
        e.weak = true;
        set_keys(&mut e.attributes, KeyKind::Key, KeyKind::Partial);
        if let Some(x) = s
            .relationships
            .iter_mut()
            .find(|x| same_name(&x.name, &rel))
        {
            x.identifying = true;
        }
        let keys: Vec<String> = keys_of(r.entity(&entity).expect("reference entity"))
            .iter()
            .map(|k| path_text(k))
            .collect();
        let explanation = format!(
            "{entity} is identified by its own key {}: draw it as a strong entity and {rel} as a regular, not identifying, relationship.",
            and_list(&keys)
        );
        m.record(
            touches,
            Category::WeakEntity,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}

/// The identifying relationship of a weak entity drawn as a regular one (lint:
/// `weak-without-identifying`, the mistake itself).
pub(super) fn identifying_made_plain(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    for (entity, ids) in shuffled(weak_candidates(r), rng) {
        let touches = weak_touches(&entity, &ids);
        if !m.is_free(&touches) {
            continue;
        }
        let id = ids[rng.below(ids.len())].clone();
        let Some(rel) = m
            .student
            .relationships
            .iter_mut()
            .find(|x| same_name(&x.name, &id))
        else {
            continue;
        };
        rel.identifying = false;
        if ids.len() == 1 {
            m.expect_lint("weak-without-identifying");
        }
        let explanation = format!(
            "{id} identifies the weak entity {entity}: mark it <<identifying>> (a double diamond)."
        );
        m.record(
            touches,
            Category::WeakEntity,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}

/// The partial key of a weak entity left unmarked (lint: `weak-without-partial-key`, the
/// mistake itself).
pub(super) fn partial_key_unmarked(m: &mut Mutator<'_>, rng: &mut Rng) -> bool {
    let r = m.reference;
    for (entity, ids) in shuffled(weak_candidates(r), rng) {
        let pk = partial_keys(r.entity(&entity).expect("reference entity"));
        if pk.is_empty() {
            continue;
        }
        let touches = weak_touches(&entity, &ids);
        if !m.is_free(&touches) {
            continue;
        }
        let Some(e) = m
            .student
            .entities
            .iter_mut()
            .find(|e| same_name(&e.name, &entity))
        else {
            continue;
        };
        set_keys(&mut e.attributes, KeyKind::Partial, KeyKind::None);
        m.expect_lint("weak-without-partial-key");
        let explanation = format!(
            "Mark {} as the partial key of the weak entity {entity} (<<partial>>): with its owner it identifies each {entity}.",
            and_list(&pk)
        );
        m.record(
            touches,
            Category::WeakEntity,
            ElementPath::Named(entity.clone()),
            Some(ElementPath::Named(entity)),
            explanation,
        );
        return true;
    }
    false
}
