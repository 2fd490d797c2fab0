//! Harmless variations: what a student may do differently without making a mistake.

use super::vocabulary::{self, RenameKind, Vocabulary};
use super::{Renames, *};
use crate::lexicon::split_words;
use crate::model::{Cardinality, Link, ManyLabel};
use crate::semantics::side_constraints;

/// Probabilities of the harmless variations [`Mutator::finish`] applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Harmless {
    /// Each entity is renamed (synonym, abbreviation, plural, case) with this probability.
    pub rename_entity: f64,
    /// Each relationship is renamed with this probability.
    pub rename_relationship: f64,
    /// Each attribute is renamed with this probability.
    pub rename_attribute: f64,
    /// Entities, relationships, attributes, links, specializations are reordered with this
    /// probability (each list on its own).
    pub reorder: f64,
    /// The diagram switches label style (ratio ↔ `(min,max)`) with this probability; then each
    /// binary relationship that can be rewritten with the same meaning is, with probability 0.8.
    pub restyle: f64,
    /// Data types are added with this probability.
    pub data_types: f64,
    /// Display names are added with this probability.
    pub display_names: f64,
    /// The share of renames drawn from the generator's own open vocabulary (added or dropped
    /// words, units, abbreviations, initials, made-up words: [`vocabulary`]) instead of the
    /// graders' lexicon.
    pub open_renames: f64,
    /// The word lists open renames draw from.
    pub vocabulary: Vocabulary,
}

impl Default for Harmless {
    fn default() -> Self {
        Harmless {
            rename_entity: 0.3,
            rename_relationship: 0.25,
            rename_attribute: 0.15,
            reorder: 0.3,
            restyle: 0.3,
            data_types: 0.15,
            display_names: 0.1,
            open_renames: 0.5,
            vocabulary: Vocabulary::Seen,
        }
    }
}

impl Harmless {
    /// No variation at all.
    pub fn none() -> Self {
        Harmless {
            rename_entity: 0.0,
            rename_relationship: 0.0,
            rename_attribute: 0.0,
            reorder: 0.0,
            restyle: 0.0,
            data_types: 0.0,
            display_names: 0.0,
            open_renames: 0.0,
            vocabulary: Vocabulary::Seen,
        }
    }
}

/// Applies the variations to `student` (whose mistakes touched `touched`); returns the renames
/// made.
pub(super) fn apply(
    reference: &Diagram,
    lexicon: &Lexicon,
    student: &mut Diagram,
    touched: &[Touch],
    rng: &mut Rng,
    h: &Harmless,
) -> Renames {
    if rng.chance(h.restyle) {
        restyle(student, rng);
    }
    let renames = rename(reference, lexicon, student, touched, rng, h);
    reorder(student, rng, h.reorder);
    if rng.chance(h.data_types) {
        add_data_types(lexicon, student, rng);
    }
    if rng.chance(h.display_names) {
        add_display_names(student, rng);
    }
    renames
}

// ---- renames

/// Words the parser reads as keywords or PlantUML directives at the start of a line
/// (`show …`, `title …`) or inside specializations (`d`, `o`, `U`): never a new name.
const RESERVED: &[&str] = &[
    "entity",
    "relationship",
    "as",
    "d",
    "o",
    "u",
    "skinparam",
    "title",
    "caption",
    "header",
    "footer",
    "scale",
    "hide",
    "show",
    "left",
    "top",
];

fn reserved(name: &str) -> bool {
    RESERVED.contains(&name.to_lowercase().as_str())
}

/// Whether a mistake touched the entity or relationship `name` or anything of it.
fn owner_touched(touched: &[Touch], name: &str) -> bool {
    let name = name.to_lowercase();
    touched
        .iter()
        .any(|t| t.len() >= 2 && (t[0] == "e" || t[0] == "r") && t[1] == name)
}

/// The last word of a name (its head), lowercase.
fn head(name: &str) -> String {
    split_words(name).pop().unwrap_or_default()
}

/// What may be renamed opaquely (a made-up word): only where structure alone tells what the
/// new name stands for, so the variant's findings stay exact.
#[derive(Debug, Default)]
struct OpaqueBudget {
    entity_used: bool,
    relationship_used: bool,
}

/// A new name for `name` (an entity when `is_entity`, a relationship when neither flag is set,
/// an attribute when `attribute`): a lexicon variant, or with `h.open_renames` an open rename of
/// a kind that applies. `allowed` filters out names already taken; `opaque_ok` says whether a
/// made-up word may be used; `unique_head` whether dropping words keeps the name unique.
#[allow(clippy::too_many_arguments)]
fn new_name(
    lexicon: &Lexicon,
    name: &str,
    is_entity: bool,
    attribute: bool,
    opaque_ok: bool,
    unique_head: bool,
    allowed: &dyn Fn(&str) -> bool,
    rng: &mut Rng,
    h: &Harmless,
) -> Option<(RenameKind, String)> {
    if rng.chance(h.open_renames) {
        let kinds: Vec<RenameKind> = RenameKind::ALL
            .into_iter()
            .filter(|k| *k != RenameKind::Lexicon)
            .filter(|k| *k != RenameKind::Opaque || opaque_ok)
            .filter(|k| *k != RenameKind::DroppedWord || unique_head)
            .filter(|k| vocabulary::applies(*k, name, attribute))
            .collect();
        if let Some(kind) = rng.choose(&kinds).copied() {
            if let Some(new) = vocabulary::rename(kind, name, attribute, h.vocabulary, rng) {
                if allowed(&new) && !reserved(&new) && new.chars().any(char::is_alphabetic) {
                    return Some((kind, new));
                }
            }
        }
    }
    let options: Vec<String> = lexicon
        .variants_with(name, is_entity)
        .into_iter()
        .filter(|v| !reserved(v) && allowed(v))
        .collect();
    rng.choose(&options)
        .cloned()
        .map(|new| (RenameKind::Lexicon, new))
}

/// Renames entities, relationships and attributes — lexicon variants and open renames —
/// keeping every name distinct from the others and keeping concepts unique.
fn rename(
    reference: &Diagram,
    lexicon: &Lexicon,
    student: &mut Diagram,
    touched: &[Touch],
    rng: &mut Rng,
    h: &Harmless,
) -> Renames {
    let mut renames = Renames::default();
    let declared = |d: &Diagram| -> Vec<String> {
        d.entities
            .iter()
            .map(|e| e.name.clone())
            .chain(d.relationships.iter().map(|r| r.name.clone()))
            .collect()
    };
    let mut taken: Vec<String> = declared(reference);
    taken.extend(declared(student));
    let concepts: Vec<String> = taken.iter().map(|n| lexicon.concept(n)).collect();
    // A made-up entity name is only told by structure: not when an entity is missing (two
    // unknowns), and only for an entity with relationships or a hierarchy around it.
    let none_missing = reference
        .entities
        .iter()
        .all(|e| student.entities.iter().any(|s| s.name == e.name));
    let connected = |name: &str| {
        student.links.iter().any(|l| l.entity == name)
            || student
                .specializations
                .iter()
                .any(|s| s.superclass == name || s.subclasses.iter().any(|c| c == name))
            || student
                .unions
                .iter()
                .any(|u| u.category == name || u.superclasses.iter().any(|c| c == name))
    };
    let mut budget = OpaqueBudget::default();
    let mut plan: Vec<(String, String, RenameKind)> = Vec::new();
    let names: Vec<(String, bool)> = student
        .entities
        .iter()
        .map(|e| (e.name.clone(), true))
        .chain(
            student
                .relationships
                .iter()
                .map(|r| (r.name.clone(), false)),
        )
        .collect();
    let heads: Vec<String> = names.iter().map(|(n, _)| head(n)).collect();
    for (name, is_entity) in names {
        let p = if is_entity {
            h.rename_entity
        } else {
            h.rename_relationship
        };
        if !rng.chance(p) {
            continue;
        }
        let concept = lexicon.concept(&name);
        // A name whose concept another element shares is left alone.
        let shared = taken
            .iter()
            .zip(&concepts)
            .filter(|(n, c)| **c == concept && !same_name(n, &name))
            .count();
        if shared > 0 {
            continue;
        }
        let opaque_ok = if is_entity {
            !budget.entity_used
                && none_missing
                && connected(&name)
                && !owner_touched(touched, &name)
        } else {
            !budget.relationship_used && !owner_touched(touched, &name)
        };
        let unique_head = heads.iter().filter(|x| **x == head(&name)).count() == 1;
        let current = taken.clone();
        let allowed = |v: &str| !current.iter().any(|t| same_name(t, v));
        let Some((kind, new)) = new_name(
            lexicon,
            &name,
            is_entity,
            false,
            opaque_ok,
            unique_head,
            &allowed,
            rng,
            h,
        ) else {
            continue;
        };
        if kind == RenameKind::Opaque {
            if is_entity {
                budget.entity_used = true;
            } else {
                budget.relationship_used = true;
            }
        }
        taken.push(new.clone());
        plan.push((name, new, kind));
    }
    for (old, new, kind) in plan {
        rename_named(student, &old, &new);
        renames.named.insert(old.to_lowercase(), new.clone());
        renames.kinds.push((kind, ElementPath::Named(old), new));
    }
    // Attributes, owner by owner (keys use the pre-rename owner name).
    let owners: Vec<String> = reference
        .entities
        .iter()
        .map(|e| e.name.clone())
        .chain(reference.relationships.iter().map(|r| r.name.clone()))
        .collect();
    for owner in owners {
        let new_owner = renames.name(&owner);
        // A made-up attribute name is told by elimination: one per owner, and only on an
        // owner no mistake touched.
        let opaque_ok = !owner_touched(touched, &owner);
        let list = if let Some(e) = student.entities.iter_mut().find(|e| e.name == new_owner) {
            &mut e.attributes
        } else if let Some(r) = student
            .relationships
            .iter_mut()
            .find(|r| r.name == new_owner)
        {
            &mut r.attributes
        } else {
            continue;
        };
        let mut context = AttributeRenames {
            lexicon,
            owner: &owner,
            rng,
            h,
            renames: &mut renames,
            opaque_left: opaque_ok,
        };
        context.rename_list(list, &[]);
    }
    renames
}

/// Renaming the attributes of one owner.
struct AttributeRenames<'a, 'r> {
    lexicon: &'a Lexicon,
    /// The reference owner's name (renames are keyed by it).
    owner: &'a str,
    rng: &'r mut Rng,
    h: &'a Harmless,
    renames: &'r mut Renames,
    /// Whether a made-up name may still be given on this owner.
    opaque_left: bool,
}

impl AttributeRenames<'_, '_> {
    fn rename_list(&mut self, list: &mut [Attribute], prefix: &[String]) {
        let lexicon = self.lexicon;
        let concepts: Vec<String> = list.iter().map(|a| lexicon.concept(&a.name)).collect();
        for i in 0..list.len() {
            let mut key = prefix.to_vec();
            key.push(list[i].name.to_lowercase());
            if self.rng.chance(self.h.rename_attribute)
                && concepts.iter().filter(|c| **c == concepts[i]).count() == 1
            {
                let names: Vec<String> = list.iter().map(|a| a.name.clone()).collect();
                let unique_head = names
                    .iter()
                    .filter(|n| head(n) == head(&list[i].name))
                    .count()
                    == 1;
                let allowed = |v: &str| !names.iter().any(|a| same_name(a, v));
                let opaque_ok = self.opaque_left && prefix.is_empty();
                if let Some((kind, new)) = new_name(
                    lexicon,
                    &list[i].name,
                    false,
                    true,
                    opaque_ok,
                    unique_head,
                    &allowed,
                    self.rng,
                    self.h,
                ) {
                    if kind == RenameKind::Opaque {
                        self.opaque_left = false;
                    }
                    let path = ElementPath::Attribute {
                        owner: self.owner.to_string(),
                        names: prefix
                            .iter()
                            .cloned()
                            .chain(std::iter::once(list[i].name.clone()))
                            .collect(),
                    };
                    self.renames
                        .attributes
                        .insert((self.owner.to_lowercase(), key.clone()), new.clone());
                    self.renames.kinds.push((kind, path, new.clone()));
                    list[i].name = new;
                }
            }
            let parts = &mut list[i].parts;
            self.rename_list(parts, &key);
        }
    }
}

fn rename_named(d: &mut Diagram, old: &str, new: &str) {
    let swap = |n: &mut String| {
        if n == old {
            *n = new.to_string();
        }
    };
    for e in &mut d.entities {
        swap(&mut e.name);
    }
    for r in &mut d.relationships {
        swap(&mut r.name);
    }
    for l in &mut d.links {
        swap(&mut l.relationship);
        swap(&mut l.entity);
    }
    for s in &mut d.specializations {
        swap(&mut s.superclass);
        s.subclasses.iter_mut().for_each(swap);
    }
    for u in &mut d.unions {
        swap(&mut u.category);
        u.superclasses.iter_mut().for_each(swap);
    }
}

// ---- order

fn reorder(d: &mut Diagram, rng: &mut Rng, p: f64) {
    if rng.chance(p) {
        rng.shuffle(&mut d.entities);
    }
    if rng.chance(p) {
        rng.shuffle(&mut d.relationships);
    }
    for e in &mut d.entities {
        if rng.chance(p) {
            rng.shuffle(&mut e.attributes);
        }
    }
    for r in &mut d.relationships {
        if rng.chance(p) {
            rng.shuffle(&mut r.attributes);
        }
    }
    // Links: within a relationship's group.
    let names: Vec<String> = d.relationships.iter().map(|r| r.name.clone()).collect();
    d.canonicalize_order();
    for name in names {
        if !rng.chance(p) {
            continue;
        }
        let positions: Vec<usize> = (0..d.links.len())
            .filter(|&i| d.links[i].relationship == name)
            .collect();
        let mut group: Vec<Link> = positions.iter().map(|&i| d.links[i].clone()).collect();
        rng.shuffle(&mut group);
        for (i, l) in positions.into_iter().zip(group) {
            d.links[i] = l;
        }
    }
    if rng.chance(p) {
        rng.shuffle(&mut d.specializations);
    }
    for s in &mut d.specializations {
        if rng.chance(p) {
            rng.shuffle(&mut s.subclasses);
        }
    }
    for u in &mut d.unions {
        if rng.chance(p) {
            rng.shuffle(&mut u.superclasses);
        }
    }
}

// ---- label style

/// Rewrites binary relationships in the other label style with the same meaning.
fn restyle(d: &mut Diagram, rng: &mut Rng) {
    let names: Vec<String> = d.relationships.iter().map(|r| r.name.clone()).collect();
    for name in names {
        if !rng.chance(0.8) {
            continue;
        }
        let idx: Vec<usize> = (0..d.links.len())
            .filter(|&i| d.links[i].relationship == name)
            .collect();
        if idx.len() != 2 {
            continue;
        }
        let (a, b) = (d.links[idx[0]].clone(), d.links[idx[1]].clone());
        let Some(new) = restyled(&a, &b) else {
            continue;
        };
        let before = meaning(d, &name);
        d.links[idx[0]] = new.0;
        d.links[idx[1]] = new.1;
        if meaning(d, &name) != before {
            debug_assert!(false, "restyling {name} changed its meaning");
            d.links[idx[0]] = a;
            d.links[idx[1]] = b;
        }
    }
}

/// Min and max of each side of a relationship.
fn meaning(d: &Diagram, relationship: &str) -> Vec<(u32, Option<Option<u32>>)> {
    side_constraints(d, relationship)
        .into_iter()
        .map(|(_, c)| (c.min, c.max))
        .collect()
}

fn ratio(c: Option<Cardinality>) -> Option<bool> {
    match c {
        Some(Cardinality::One) => Some(false),
        Some(Cardinality::Many(_)) => Some(true),
        _ => None,
    }
}

/// The pair of links in the other style, when it says exactly the same.
fn restyled(a: &Link, b: &Link) -> Option<(Link, Link)> {
    if a.written.is_some() || b.written.is_some() {
        return None; // a label read with a caveat has no exact other style
    }
    let mut a2 = a.clone();
    let mut b2 = b.clone();
    if let (Some(ra), Some(rb)) = (ratio(a.cardinality), ratio(b.cardinality)) {
        // The ratio on one side is the maximum of the other.
        let max = |many: bool| if many { None } else { Some(1) };
        a2.cardinality = Some(Cardinality::MinMax {
            min: u32::from(a.total),
            max: max(rb),
        });
        b2.cardinality = Some(Cardinality::MinMax {
            min: u32::from(b.total),
            max: max(ra),
        });
        return Some((a2, b2));
    }
    let (
        Some(Cardinality::MinMax {
            min: amin,
            max: amax,
        }),
        Some(Cardinality::MinMax {
            min: bmin,
            max: bmax,
        }),
    ) = (a.cardinality, b.cardinality)
    else {
        return None;
    };
    let simple = |min: u32, max: Option<u32>, total: bool| {
        min <= 1 && (total == (min == 1)) && matches!(max, None | Some(1))
    };
    if !simple(amin, amax, a.total) || !simple(bmin, bmax, b.total) {
        return None;
    }
    let label = |max: Option<u32>, letter: ManyLabel| match max {
        Some(1) => Cardinality::One,
        _ => Cardinality::Many(letter),
    };
    let both_many = amax.is_none() && bmax.is_none();
    a2.cardinality = Some(label(
        bmax,
        if both_many {
            ManyLabel::M
        } else {
            ManyLabel::N
        },
    ));
    b2.cardinality = Some(label(amax, ManyLabel::N));
    Some((a2, b2))
}

// ---- data types and display names

fn data_type(lexicon: &Lexicon, name: &str, rng: &mut Rng) -> String {
    let concept = lexicon.concept(name);
    let words: Vec<&str> = concept.split('_').collect();
    let has = |w: &[&str]| words.iter().any(|x| w.contains(x));
    if has(&["date", "birth", "founded", "check"]) {
        "DATE".into()
    } else if has(&["time", "duration"]) {
        "TIME".into()
    } else if has(&[
        "price", "salary", "amount", "balance", "fee", "rate", "limit", "gpa", "premium", "budget",
    ]) {
        "DECIMAL".into()
    } else if has(&[
        "number",
        "identifier",
        "year",
        "quantity",
        "hour",
        "count",
        "seat",
        "capacity",
        "age",
        "credit",
    ]) {
        "INTEGER".into()
    } else {
        rng.choose(&["TEXT", "VARCHAR", "STRING"])
            .copied()
            .unwrap_or("TEXT")
            .into()
    }
}

fn add_data_types(lexicon: &Lexicon, d: &mut Diagram, rng: &mut Rng) {
    fn walk(lexicon: &Lexicon, list: &mut [Attribute], rng: &mut Rng) {
        for a in list {
            if a.is_composite() {
                walk(lexicon, &mut a.parts, rng);
            } else if rng.chance(0.9) {
                a.data_type = Some(data_type(lexicon, &a.name, rng));
            }
        }
    }
    for e in &mut d.entities {
        walk(lexicon, &mut e.attributes, rng);
    }
    for r in &mut d.relationships {
        walk(lexicon, &mut r.attributes, rng);
    }
}

/// `WORKS_FOR` → `Works for`.
fn shown(name: &str) -> String {
    let words = crate::lexicon::split_words(name);
    let text = words.join(" ");
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => name.to_string(),
    }
}

fn add_display_names(d: &mut Diagram, rng: &mut Rng) {
    for e in &mut d.entities {
        if rng.chance(0.7) {
            e.display = Some(shown(&e.name));
        }
    }
    for r in &mut d.relationships {
        if rng.chance(0.5) {
            r.display = Some(shown(&r.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two(a: &str, b: &str) -> Diagram {
        crate::parse(&format!(
            "@startchen\nentity A {{\n}}\nentity B {{\n}}\nrelationship R {{\n}}\nR {a} A\nR {b} B\n@endchen\n"
        ))
        .unwrap()
    }

    #[test]
    fn restyling_keeps_the_meaning_both_ways() {
        for (a, b) in [
            ("=N=", "=1="),
            ("-1-", "=1="),
            ("=M=", "-N-"),
            ("-(0,1)-", "=(1,N)="),
            ("=(1,N)=", "=(1,N)="),
        ] {
            let d = two(a, b);
            let (x, y) = restyled(&d.links[0], &d.links[1]).unwrap();
            let mut e = d.clone();
            e.links = vec![x, y];
            assert_eq!(meaning(&d, "R"), meaning(&e, "R"), "{a} {b}");
            assert_ne!(d, e);
            let (x2, y2) = restyled(&e.links[0], &e.links[1]).unwrap();
            let mut f = e.clone();
            f.links = vec![x2, y2];
            assert_eq!(meaning(&d, "R"), meaning(&f, "R"));
        }
        for (a, b) in [
            ("-(0,40)-", "-(0,N)-"),
            ("=(2,N)=", "=(1,1)="),
            ("=(0,N)=", "-(1,1)-"),
        ] {
            let d = two(a, b);
            assert!(restyled(&d.links[0], &d.links[1]).is_none(), "{a} {b}");
        }
    }

    #[test]
    fn display_names_read_well() {
        assert_eq!(shown("WORKS_FOR"), "Works for");
        assert_eq!(shown("ArtObject"), "Art object");
    }
}
