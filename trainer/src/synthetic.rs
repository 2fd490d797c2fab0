//! Procedurally generated reference assignments, so that the model learns to compare a student's
//! diagram with a reference rather than to recall the library's 24 domains.
//!
//! Each assignment is a random, well-formed EER diagram that uses every construct the library
//! does, with the same probabilities of appearing in any one diagram as a rough library average:
//! strong entities with keys (sometimes two), simple, composite, multivalued and derived
//! attributes; binary relationships with ratio labels (`1`, `N`, `M`) or `(min,max)` pairs,
//! total and partial participation and attributes of their own; recursive relationships with
//! roles; ternary relationships; weak entities with a partial key and an identifying
//! relationship; specializations (disjoint or overlapping, total or partial, or a single
//! subclass); and union types (categories).
//!
//! Names come from the semantic table's word kinds ([`SemanticTable::kinds_of`]: kinds of
//! person, organization, building, vehicle, device, document, …) so there are thousands of
//! entity names, written the library's way (`ENTITY`, `RELATIONSHIP_NAME`, `Attribute_name`).
//! Entity words and attribute words drawn from the table are never words of the held-out
//! assignments' names, so `unseen.jsonl` keeps held-out vocabulary; the short generic lists —
//! attribute heads and modifiers (`name`, `date`, `start`), relationship verbs (`uses`,
//! `belongs_to`) — are shared by every domain and may also occur there, as they occur in the
//! seen library assignments. The generated diagrams are reference diagrams only: the student variants are
//! made from them by the same [`eerd::mutate`] engine as from the library's, renames included.

use crate::dataset::Assignment;
use anyhow::{bail, Result};
use eerd::model::{
    Attribute, Cardinality, Diagram, Disjointness, Entity, KeyKind, Link, ManyLabel, Relationship,
    Specialization, UnionType,
};
use eerd::rng::Rng;
use eerd::semantic::SemanticTable;
use std::collections::BTreeSet;

/// The word kinds entity names are drawn from.
const ENTITY_KINDS: &[&str] = &[
    "person",
    "organization",
    "building",
    "vehicle",
    "device",
    "document",
    "room",
    "animal",
    "container",
    "equipment",
    "commodity",
    "publication",
    "facility",
    "instrument",
    "garment",
    "vessel",
    "food",
    "game",
    "meeting",
    "course",
];

/// The word kinds attribute names are drawn from (measures and properties).
const ATTRIBUTE_KINDS: &[&str] = &[
    "magnitude",
    "time_period",
    "amount",
    "fee",
    "rate",
    "identifier",
    "property",
];

/// Generic attribute heads, combined with a modifier or used alone (`Start_date`, `Status`).
const ATTRIBUTE_HEADS: &[&str] = &[
    "name",
    "date",
    "number",
    "code",
    "amount",
    "type",
    "status",
    "title",
    "description",
    "address",
    "phone",
    "email",
    "price",
    "weight",
    "height",
    "length",
    "rating",
    "level",
    "score",
    "capacity",
    "size",
    "color",
    "model",
    "version",
    "year",
    "time",
    "duration",
    "count",
    "total",
    "fee",
    "rate",
    "grade",
    "label",
    "note",
    "brand",
    "category",
    "area",
    "volume",
    "value",
    "city",
    "country",
    "language",
];

/// Modifiers put before an attribute head (`Start_date`, `Serial_number`).
const ATTRIBUTE_MODIFIERS: &[&str] = &[
    "start", "end", "birth", "serial", "home", "work", "last", "first", "total", "unit", "daily",
    "base", "due", "issue", "release", "opening", "closing", "max", "min", "net", "gross",
    "contact", "billing", "main", "local",
];

/// Verbs of relationship names (`SUPPLIES`, `WORKS_FOR` style with a preposition).
const VERBS: &[&str] = &[
    "owns",
    "uses",
    "holds",
    "books",
    "serves",
    "supplies",
    "manages",
    "runs",
    "hosts",
    "keeps",
    "rents",
    "buys",
    "sells",
    "repairs",
    "inspects",
    "trains",
    "visits",
    "reviews",
    "assigns",
    "leads",
    "funds",
    "ships",
    "stores",
    "handles",
    "follows",
    "records",
    "issues",
    "approves",
    "sponsors",
    "contains",
    "operates",
    "produces",
    "registers",
    "schedules",
    "delivers",
    "teaches",
    "treats",
    "covers",
    "joins",
    "signs",
];

/// Prepositions of relationship names (`BELONGS_TO`, `WORKS_FOR`).
const VERB_PHRASES: &[&str] = &[
    "belongs_to",
    "works_for",
    "works_on",
    "part_of",
    "located_in",
    "assigned_to",
    "member_of",
    "based_at",
    "reports_to",
    "attends",
    "applies_for",
    "takes_part_in",
];

/// Role pairs of recursive relationships.
const ROLES: &[(&str, &str)] = &[
    ("parent", "child"),
    ("supervisor", "supervisee"),
    ("predecessor", "successor"),
    ("leader", "member"),
    ("original", "copy"),
    ("mentor", "mentee"),
    ("main", "part"),
    ("referrer", "referred"),
];

/// The words names are made of.
#[derive(Debug, Clone)]
pub struct Words {
    entities: Vec<String>,
    attributes: Vec<String>,
}

impl Words {
    /// The word kinds of `table`, without the words in `exclude` (lower case).
    pub fn from_table(table: &SemanticTable, exclude: &BTreeSet<String>) -> Result<Words> {
        // Plausible words (4 to 11 letters) of any of `kinds`, none of them excluded.
        let words_of = |kinds: &[&str]| -> Vec<String> {
            let mut out: BTreeSet<String> = BTreeSet::new();
            for kind in kinds {
                out.extend(
                    table
                        .kinds_of(kind)
                        .into_iter()
                        .filter(|w| (4..=11).contains(&w.len()) && !exclude.contains(*w))
                        .map(str::to_string),
                );
            }
            out.into_iter().collect()
        };
        let (entities, attributes) = (words_of(ENTITY_KINDS), words_of(ATTRIBUTE_KINDS));
        if entities.len() < 50 || attributes.len() < 20 {
            bail!(
                "the semantic table gave too few words for generated assignments ({} entity, {} attribute words)",
                entities.len(),
                attributes.len()
            );
        }
        Ok(Words {
            entities,
            attributes,
        })
    }

    /// How many entity words there are.
    pub fn entity_words(&self) -> usize {
        self.entities.len()
    }
}

fn capitalize(word: &str) -> String {
    let mut c = word.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `["birth", "date"]` → `Birth_date`.
fn attribute_name(words: &[&str]) -> String {
    capitalize(&words.join("_"))
}

/// One of `items`, as an owned string.
fn pick<S: AsRef<str>>(items: &[S], rng: &mut Rng) -> String {
    items[rng.below(items.len())].as_ref().to_string()
}

/// Builds one diagram; names unique per kind as the linter requires.
struct Builder<'a> {
    words: &'a Words,
    rng: Rng,
    diagram: Diagram,
    /// Upper-case names of entities and relationships taken.
    taken: BTreeSet<String>,
    /// Ratio labels (`1`/`N`/`M`) or `(min,max)` pairs, for the whole diagram.
    min_max: bool,
}

impl<'a> Builder<'a> {
    fn fresh_name(&mut self, make: &dyn Fn(&mut Rng) -> String) -> String {
        loop {
            let name = make(&mut self.rng);
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }

    fn entity_name(&mut self) -> String {
        let words = self.words;
        self.fresh_name(&|rng: &mut Rng| {
            if rng.chance(0.15) {
                format!(
                    "{}_{}",
                    pick(&words.entities, rng),
                    pick(&words.entities, rng)
                )
                .to_uppercase()
            } else {
                pick(&words.entities, rng).to_uppercase()
            }
        })
    }

    fn relationship_name(&mut self, target: &str) -> String {
        let target = target.to_string();
        self.fresh_name(&|rng: &mut Rng| match rng.below(4) {
            0 => pick(VERB_PHRASES, rng).to_uppercase(),
            1 => format!("{}_{}", pick(VERBS, rng), target).to_uppercase(),
            _ => pick(VERBS, rng).to_uppercase(),
        })
    }

    /// A simple attribute's name, not among `used` (lower case).
    fn attribute(&mut self, used: &mut BTreeSet<String>) -> Attribute {
        loop {
            let name = match self.rng.below(3) {
                0 => attribute_name(&[&pick(&self.words.attributes, &mut self.rng)]),
                1 => attribute_name(&[&pick(ATTRIBUTE_HEADS, &mut self.rng)]),
                _ => attribute_name(&[
                    &pick(ATTRIBUTE_MODIFIERS, &mut self.rng),
                    &pick(ATTRIBUTE_HEADS, &mut self.rng),
                ]),
            };
            if used.insert(name.to_lowercase()) {
                return Attribute::named(name);
            }
        }
    }

    /// A key attribute of entity `owner` (`Tenant_id`, `Serial_no`, `Code`).
    fn key(&mut self, owner: &str, used: &mut BTreeSet<String>) -> Attribute {
        let head = owner.split('_').next_back().unwrap_or(owner).to_lowercase();
        let name = match self.rng.below(5) {
            0 | 1 => attribute_name(&[&head, "id"]),
            2 => attribute_name(&[&head, "no"]),
            3 => attribute_name(&["code"]),
            _ => attribute_name(&["serial", "number"]),
        };
        let name = if used.insert(name.to_lowercase()) {
            name
        } else {
            self.attribute(used).name
        };
        Attribute {
            key: KeyKind::Key,
            ..Attribute::named(name)
        }
    }

    /// `n` attributes beside the keys: some composite, multivalued or derived.
    fn attributes(&mut self, n: usize, used: &mut BTreeSet<String>) -> Vec<Attribute> {
        let mut out = Vec::new();
        for _ in 0..n {
            let mut a = self.attribute(used);
            let roll = self.rng.below(100);
            if roll < 12 {
                let parts = 2 + self.rng.below(2);
                let mut inner = BTreeSet::new();
                a.parts = (0..parts).map(|_| self.attribute(&mut inner)).collect();
            } else if roll < 22 {
                a.multivalued = true;
            } else if roll < 30 {
                a.derived = true;
            }
            out.push(a);
        }
        out
    }

    fn strong_entity(&mut self) -> String {
        let name = self.entity_name();
        let mut used = BTreeSet::new();
        let mut attributes = vec![self.key(&name, &mut used)];
        if self.rng.chance(0.1) {
            let mut second = self.attribute(&mut used);
            second.key = KeyKind::Key;
            attributes.push(second);
        }
        let n = 1 + self.rng.below(4);
        attributes.extend(self.attributes(n, &mut used));
        self.diagram.entities.push(Entity {
            name: name.clone(),
            attributes,
            ..Entity::default()
        });
        name
    }

    /// A side's label: a ratio label, or a `(min,max)` pair agreeing with `total`.
    fn label(&mut self, many: bool, letter: ManyLabel, total: bool) -> Cardinality {
        if self.min_max {
            let min = u32::from(total);
            let max = if many { None } else { Some(1) };
            Cardinality::MinMax { min, max }
        } else if many {
            Cardinality::Many(letter)
        } else {
            Cardinality::One
        }
    }

    fn link(
        &mut self,
        relationship: &str,
        entity: &str,
        many: bool,
        letter: ManyLabel,
        role: Option<&str>,
    ) {
        let total = self.rng.chance(0.4);
        let cardinality = Some(self.label(many, letter, total));
        self.diagram.links.push(Link {
            relationship: relationship.to_string(),
            entity: entity.to_string(),
            total: total && !self.min_max,
            cardinality,
            role: role.map(str::to_string),
            ..Link::default()
        });
    }

    fn relationship(&mut self, name: &str, attributes: usize) {
        let mut used = BTreeSet::new();
        let attributes = self.attributes(attributes, &mut used);
        let attributes = attributes
            .into_iter()
            .map(|a| Attribute {
                parts: Vec::new(),
                ..a
            })
            .collect();
        self.diagram.relationships.push(Relationship {
            name: name.to_string(),
            attributes,
            ..Relationship::default()
        });
    }

    /// A binary relationship between `a` and `b` with a random ratio.
    fn binary(&mut self, a: &str, b: &str) {
        let name = self.relationship_name(b);
        let (many_a, many_b) = match self.rng.below(6) {
            0 => (false, false),
            1 | 2 => (true, false),
            3 | 4 => (false, true),
            _ => (true, true),
        };
        let attributes = if many_a && many_b {
            self.rng.below(3)
        } else {
            usize::from(self.rng.chance(0.15))
        };
        self.relationship(&name, attributes);
        let second = if many_a { ManyLabel::M } else { ManyLabel::N };
        self.link(&name, a, many_a, ManyLabel::N, None);
        self.link(&name, b, many_b, second, None);
    }

    fn recursive(&mut self, entity: &str) {
        let name = self.relationship_name(entity);
        let (upper, lower) = ROLES[self.rng.below(ROLES.len())];
        self.relationship(&name, 0);
        self.link(&name, entity, false, ManyLabel::N, Some(upper));
        self.link(&name, entity, true, ManyLabel::N, Some(lower));
    }

    fn ternary(&mut self, members: &[String]) {
        let name = self.relationship_name(&members[2]);
        let attributes = self.rng.below(2);
        self.relationship(&name, attributes);
        let letters = [ManyLabel::M, ManyLabel::N, ManyLabel::N];
        for (member, letter) in members.iter().zip(letters) {
            self.link(&name, member, true, letter, None);
        }
    }

    fn weak(&mut self, owner: &str) {
        let name = self.entity_name();
        let mut used = BTreeSet::new();
        let mut partial = self.attribute(&mut used);
        partial.key = KeyKind::Partial;
        let mut attributes = vec![partial];
        let n = self.rng.below(3);
        attributes.extend(self.attributes(n, &mut used));
        self.diagram.entities.push(Entity {
            name: name.clone(),
            weak: true,
            attributes,
            ..Entity::default()
        });
        let relationship = self.relationship_name(owner);
        self.diagram.relationships.push(Relationship {
            name: relationship.clone(),
            identifying: true,
            ..Relationship::default()
        });
        let owner_total = self.rng.chance(0.3);
        // Each weak entity has exactly one owner: `N` on the weak side is `(1,1)` in (min,max).
        let (owner_label, weak_label) = if self.min_max {
            (
                Cardinality::MinMax {
                    min: u32::from(owner_total),
                    max: None,
                },
                Cardinality::MinMax {
                    min: 1,
                    max: Some(1),
                },
            )
        } else {
            (Cardinality::One, Cardinality::Many(ManyLabel::N))
        };
        self.diagram.links.push(Link {
            relationship: relationship.clone(),
            entity: owner.to_string(),
            total: owner_total && !self.min_max,
            cardinality: Some(owner_label),
            ..Link::default()
        });
        self.diagram.links.push(Link {
            relationship,
            entity: name,
            total: !self.min_max,
            cardinality: Some(weak_label),
            ..Link::default()
        });
    }

    /// Subclass entities without keys, with a few attributes of their own.
    fn subclass(&mut self) -> String {
        let name = self.entity_name();
        let mut used = BTreeSet::new();
        let n = self.rng.below(3);
        let attributes = self.attributes(n, &mut used);
        self.diagram.entities.push(Entity {
            name: name.clone(),
            attributes,
            ..Entity::default()
        });
        name
    }

    fn specialization(&mut self, superclass: &str) -> Vec<String> {
        let single = self.rng.chance(0.15);
        let count = if single { 1 } else { 2 + self.rng.below(2) };
        let subclasses: Vec<String> = (0..count).map(|_| self.subclass()).collect();
        let disjointness = (!single).then(|| {
            if self.rng.chance(0.5) {
                Disjointness::Disjoint
            } else {
                Disjointness::Overlapping
            }
        });
        self.diagram.specializations.push(Specialization {
            superclass: superclass.to_string(),
            subclasses: subclasses.clone(),
            disjointness,
            total: !single && self.rng.chance(0.5),
            ..Specialization::default()
        });
        subclasses
    }

    fn union(&mut self, superclasses: Vec<String>) -> String {
        let category = self.subclass();
        self.diagram.unions.push(UnionType {
            category: category.clone(),
            superclasses,
            total: self.rng.chance(0.4),
            ..UnionType::default()
        });
        category
    }
}

/// One generated assignment, `synthetic-NNNN`, from `rng`.
fn build(index: usize, words: &Words, rng: Rng) -> Diagram {
    let mut b = Builder {
        words,
        min_max: false,
        rng,
        diagram: Diagram::default(),
        taken: BTreeSet::new(),
    };
    b.min_max = b.rng.chance(0.35);
    let strong_count = 3 + b.rng.below(3);
    let strong: Vec<String> = (0..strong_count).map(|_| b.strong_entity()).collect();
    // A spanning tree keeps the diagram connected; then a few more binary relationships.
    for i in 1..strong.len() {
        let j = b.rng.below(i);
        let (x, y) = if b.rng.chance(0.5) { (i, j) } else { (j, i) };
        b.binary(&strong[x].clone(), &strong[y].clone());
    }
    for _ in 0..b.rng.below(2) {
        let x = b.rng.below(strong.len());
        let mut y = b.rng.below(strong.len());
        if y == x {
            y = (x + 1) % strong.len();
        }
        b.binary(&strong[x].clone(), &strong[y].clone());
    }
    if b.rng.chance(0.35) {
        let e = pick(&strong, &mut b.rng);
        b.recursive(&e);
    }
    if strong.len() >= 3 && b.rng.chance(0.2) {
        let mut members = strong.clone();
        b.rng.shuffle(&mut members);
        members.truncate(3);
        b.ternary(&members);
    }
    if b.rng.chance(0.5) {
        let owner = pick(&strong, &mut b.rng);
        b.weak(&owner);
    }
    if b.rng.chance(0.45) {
        let superclass = pick(&strong, &mut b.rng);
        let subclasses = b.specialization(&superclass);
        if b.rng.chance(0.5) {
            let sub = subclasses[0].clone();
            let other = pick(&strong, &mut b.rng);
            if other != superclass {
                b.binary(&sub, &other);
            }
        }
    }
    if b.rng.chance(0.25) {
        let mut parents = strong.clone();
        b.rng.shuffle(&mut parents);
        parents.truncate(2);
        let category = b.union(parents);
        let other = pick(&strong, &mut b.rng);
        b.binary(&category, &other);
    }
    b.diagram.name = Some(format!("SYNTHETIC_{index:04}"));
    b.diagram
}

/// `count` generated assignments (`synthetic-0001`, …) from `seed`, with names from `words`.
/// Each is printed and parsed back (so spans and text agree) and lints without errors or
/// warnings.
pub fn assignments(count: usize, seed: u64, words: &Words) -> Result<Vec<Assignment>> {
    let mut out = Vec::with_capacity(count);
    let mut rng = Rng::derive(seed, "synthetic");
    for index in 1..=count {
        let mut made = None;
        for _attempt in 0..50 {
            let diagram = build(index, words, Rng::new(rng.next_u64()));
            let text = eerd::print(&diagram);
            let Ok(reference) = eerd::parse(&text) else {
                continue;
            };
            if !eerd::lint(&reference).is_empty() {
                continue;
            }
            made = Some(Assignment {
                id: format!("synthetic-{index:04}"),
                reference_text: text,
                reference,
                requirements: None,
            });
            break;
        }
        match made {
            Some(a) => out.push(a),
            None => bail!(
                "could not generate a well-formed assignment synthetic-{index:04} in 50 attempts"
            ),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Words {
        Words::from_table(eerd::semantic::builtin(), &BTreeSet::new()).unwrap()
    }

    #[test]
    fn generated_assignments_are_well_formed_varied_and_deterministic() {
        let words = words();
        assert!(words.entity_words() > 1000, "{}", words.entity_words());
        let a = assignments(40, 7, &words).unwrap();
        let b = assignments(40, 7, &words).unwrap();
        assert_eq!(
            a.iter().map(|x| &x.reference_text).collect::<Vec<_>>(),
            b.iter().map(|x| &x.reference_text).collect::<Vec<_>>()
        );
        let names: BTreeSet<&str> = a
            .iter()
            .flat_map(|x| x.reference.entities.iter().map(|e| e.name.as_str()))
            .collect();
        assert!(names.len() > 150, "{} entity names", names.len());
        let count = |f: &dyn Fn(&Diagram) -> bool| a.iter().filter(|x| f(&x.reference)).count();
        assert!(count(&|d| d.entities.iter().any(|e| e.weak)) > 5);
        assert!(count(&|d| !d.specializations.is_empty()) > 5);
        assert!(count(&|d| !d.unions.is_empty()) > 2);
        assert!(count(&|d| d.links.iter().any(|l| l.role.is_some())) > 5);
        assert!(
            count(&|d| d
                .links
                .iter()
                .any(|l| matches!(l.cardinality, Some(Cardinality::MinMax { .. }))))
                > 5
        );
        for x in &a {
            assert!(
                eerd::mutate::applicable(&x.reference, &eerd::lexicon::Lexicon::builtin()).len()
                    >= 8,
                "{}",
                x.reference_text
            );
        }
    }

    #[test]
    fn excluded_words_are_never_used() {
        let all = words();
        let banned: BTreeSet<String> = all.entities.iter().take(2000).cloned().collect();
        let words = Words::from_table(eerd::semantic::builtin(), &banned).unwrap();
        for a in assignments(20, 3, &words).unwrap() {
            for e in &a.reference.entities {
                for part in e.name.to_lowercase().split('_') {
                    assert!(!banned.contains(part), "{part} in {}", a.id);
                }
            }
        }
    }
}
