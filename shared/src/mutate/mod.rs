//! The mutation engine: student diagrams with known mistakes, made from a reference diagram.
//!
//! A [`Mutator`] starts from a copy of the reference and applies induced mistakes, one
//! [`Category`] at a time ([`Mutator::apply`]); each mistake yields exactly one [`Finding`] whose
//! element is a path of the **reference** (`mistakes.md`). Mistakes of one variant touch disjoint
//! elements, and no mistake touches an element another one removed, so the findings stay exact:
//! one mistake is one finding, its consequences are not counted again.
//!
//! [`Mutator::finish`] then applies harmless variations that are not mistakes (renames from the
//! [`Lexicon`], reordering, the other label style with the same meaning, data types, display
//! names) and returns the [`Mutation`]. [`scramble_text`] adds the variations the model cannot
//! express (link direction, text order) to the printed text.
//!
//! Operators by category (see each module):
//!
//! | category | operators |
//! |---|---|
//! | `missing_entity` | entity removed with its attributes, links, relationships left with one side, and its place in specializations/unions |
//! | `missing_relationship` | a non-identifying relationship removed |
//! | `missing_attribute` | a non-key attribute or a composite part removed |
//! | `wrong_key` | key marking removed, a non-key attribute marked key, the key moved to another attribute |
//! | `wrong_cardinality` | a ratio label flipped 1↔N, or a `(min,max)` maximum changed |
//! | `wrong_participation` | total↔partial (`=`↔`-`, min 0↔1) |
//! | `weak_entity` | weak made strong, strong made weak, identifying relationship made plain, partial key unmarked |
//! | `attribute_kind` | multivalued or derived toggled, composite flattened, simple made composite |
//! | `misplaced_attribute` | an attribute moved to a related entity or relationship |
//! | `specialization` | d↔o, total↔partial, a subclass dropped, union total↔partial |
//! | `relationship_structure` | a link reconnected, an n-ary made binary, a binary made ternary, recursive roles dropped |
//!
//! Lint: a student diagram lints like its reference except for what the mistake itself is:
//! `weak-without-identifying` (identifying relationship made plain), `weak-without-partial-key`
//! (partial key unmarked), and the warning `recursive-without-role` (recursive roles dropped).

mod attributes;
mod harmless;
mod keys;
mod missing;
mod sides;
mod structure;
mod text;
pub mod vocabulary;

pub use harmless::Harmless;
pub use text::{scramble_text, Scramble};
pub use vocabulary::{RenameKind, Vocabulary};

use crate::finding::{Category, Finding, Variation};
use crate::lexicon::Lexicon;
use crate::model::{same_name, Attribute, Diagram, KeyKind};
use crate::path::ElementPath;
use crate::rng::Rng;
use std::collections::HashMap;

/// A student diagram and its exact true findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// The student's diagram (print it, then optionally [`scramble_text`]).
    pub student: Diagram,
    /// One finding per induced mistake, element paths naming the reference.
    pub findings: Vec<Finding>,
    /// Lint codes the mistakes themselves cause (beyond the reference's own diagnostics).
    pub expected_lint: Vec<&'static str>,
    /// The harmless renames made, by kind.
    pub variations: Vec<Variation>,
}

/// An element of the diagram a mistake changed or depends on, as path segments
/// (`["e", "employee", "a", "name"]`). Two touches conflict when one is a prefix of the other.
type Touch = Vec<String>;

fn conflicts(a: &Touch, b: &Touch) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// One applied mistake.
#[derive(Debug, Clone)]
struct Applied {
    finding: Finding,
    /// The element in the student diagram, in names before harmless renames.
    student_path: Option<ElementPath>,
}

/// An operator: tries to apply one mistake; `false` when it finds no free candidate.
type Operator = fn(&mut Mutator<'_>, &mut Rng) -> bool;

/// The operators of a category.
fn operators(category: Category) -> &'static [Operator] {
    match category {
        Category::MissingEntity => &[missing::missing_entity],
        Category::MissingRelationship => &[missing::missing_relationship],
        Category::MissingAttribute => &[missing::missing_attribute],
        Category::WrongKey => &[keys::key_removed, keys::key_added, keys::key_moved],
        Category::WrongCardinality => &[sides::wrong_cardinality],
        Category::WrongParticipation => &[sides::wrong_participation],
        Category::WeakEntity => &[
            keys::weak_made_strong,
            keys::strong_made_weak,
            keys::identifying_made_plain,
            keys::partial_key_unmarked,
        ],
        Category::AttributeKind => &[
            attributes::multivalued_toggled,
            attributes::derived_toggled,
            attributes::composite_flattened,
            attributes::simple_made_composite,
        ],
        Category::MisplacedAttribute => &[attributes::misplaced_attribute],
        Category::Specialization => &[
            structure::disjointness_toggled,
            structure::specialization_total_toggled,
            structure::subclass_dropped,
            structure::union_total_toggled,
        ],
        Category::RelationshipStructure => &[
            structure::link_reconnected,
            structure::nary_made_binary,
            structure::binary_made_ternary,
            structure::roles_dropped,
        ],
    }
}

/// Builds a student diagram from a reference, one mistake at a time.
#[derive(Debug, Clone)]
pub struct Mutator<'a> {
    reference: &'a Diagram,
    lexicon: &'a Lexicon,
    student: Diagram,
    touched: Vec<Touch>,
    applied: Vec<Applied>,
    expected_lint: Vec<&'static str>,
}

impl<'a> Mutator<'a> {
    /// A mutator whose student starts as a copy of `reference`.
    pub fn new(reference: &'a Diagram, lexicon: &'a Lexicon) -> Self {
        Mutator {
            reference,
            lexicon,
            student: reference.clone(),
            touched: Vec::new(),
            applied: Vec::new(),
            expected_lint: Vec::new(),
        }
    }

    /// Applies one mistake of `category` on elements no earlier mistake touched; `false` when
    /// the reference offers no such element (nothing changes then).
    pub fn apply(&mut self, category: Category, rng: &mut Rng) -> bool {
        let mut ops: Vec<Operator> = operators(category).to_vec();
        rng.shuffle(&mut ops);
        ops.into_iter().any(|op| op(self, rng))
    }

    /// The number of mistakes applied so far.
    pub fn mistakes(&self) -> usize {
        self.applied.len()
    }

    /// Applies harmless variations with `harmless`'s probabilities and returns the student
    /// diagram with its findings (each finding's `student` names the element as renamed).
    pub fn finish(self, rng: &mut Rng, harmless: &Harmless) -> Mutation {
        let Mutator {
            reference,
            lexicon,
            mut student,
            applied,
            expected_lint,
            touched,
        } = self;
        let renames = harmless::apply(reference, lexicon, &mut student, &touched, rng, harmless);
        let findings = applied
            .into_iter()
            .map(|a| {
                let mut finding = a.finding;
                finding.student = a.student_path.map(|p| renames.translate(&p).to_string());
                finding
            })
            .collect();
        let variations = renames
            .kinds
            .iter()
            .map(|(kind, element, name)| Variation {
                kind: *kind,
                element: element.to_string(),
                name: name.clone(),
            })
            .collect();
        Mutation {
            student,
            findings,
            expected_lint,
            variations,
        }
    }

    // ---- helpers for operators

    fn is_free(&self, touches: &[Touch]) -> bool {
        touches
            .iter()
            .all(|t| !self.touched.iter().any(|u| conflicts(t, u)))
    }

    fn record(
        &mut self,
        touches: Vec<Touch>,
        category: Category,
        element: ElementPath,
        student_path: Option<ElementPath>,
        explanation: String,
    ) {
        self.touched.extend(touches);
        self.applied.push(Applied {
            finding: Finding {
                category,
                element,
                student: None,
                explanation: sentence(explanation),
                requirement: None,
            },
            student_path,
        });
    }

    fn expect_lint(&mut self, code: &'static str) {
        if !self.expected_lint.contains(&code) {
            self.expected_lint.push(code);
        }
    }

    /// Whether `name` is a relationship of the reference (else an entity).
    fn is_relationship(&self, name: &str) -> bool {
        self.reference.relationship(name).is_some()
    }

    /// The student's attribute list of the entity or relationship `owner`.
    fn owner_attributes_mut(&mut self, owner: &str) -> Option<&mut Vec<Attribute>> {
        if let Some(e) = self
            .student
            .entities
            .iter_mut()
            .find(|e| same_name(&e.name, owner))
        {
            return Some(&mut e.attributes);
        }
        self.student
            .relationships
            .iter_mut()
            .find(|r| same_name(&r.name, owner))
            .map(|r| &mut r.attributes)
    }

    /// The student's attribute at `names` under `owner`.
    fn attribute_mut(&mut self, owner: &str, names: &[String]) -> Option<&mut Attribute> {
        let mut list = self.owner_attributes_mut(owner)?;
        let (last, init) = names.split_last()?;
        for name in init {
            list = &mut list.iter_mut().find(|a| same_name(&a.name, name))?.parts;
        }
        list.iter_mut().find(|a| same_name(&a.name, last))
    }

    /// Removes the student's attribute at `names` under `owner`, returning it.
    fn remove_attribute(&mut self, owner: &str, names: &[String]) -> Option<Attribute> {
        let (last, init) = names.split_last()?;
        let list = if init.is_empty() {
            self.owner_attributes_mut(owner)?
        } else {
            &mut self.attribute_mut(owner, init)?.parts
        };
        let index = list.iter().position(|a| same_name(&a.name, last))?;
        Some(list.remove(index))
    }
}

// ---- touches

fn t_entity(name: &str) -> Touch {
    vec!["e".into(), name.to_lowercase()]
}

fn t_entity_part(name: &str, part: &str) -> Touch {
    vec!["e".into(), name.to_lowercase(), part.into()]
}

fn t_relationship(name: &str) -> Touch {
    vec!["r".into(), name.to_lowercase()]
}

fn t_sides(name: &str) -> Touch {
    vec!["r".into(), name.to_lowercase(), "#sides".into()]
}

/// An element that receives something (a moved attribute, a reconnected link): it must stay.
fn t_receives(m: &Mutator<'_>, name: &str) -> Touch {
    let kind = if m.is_relationship(name) { "r" } else { "e" };
    vec![kind.into(), name.to_lowercase(), "#recv".into()]
}

fn t_attribute(m: &Mutator<'_>, owner: &str, names: &[String]) -> Touch {
    let kind = if m.is_relationship(owner) { "r" } else { "e" };
    let mut t = vec![kind.into(), owner.to_lowercase(), "a".into()];
    t.extend(names.iter().map(|n| n.to_lowercase()));
    t
}

fn t_path(path: &ElementPath) -> Touch {
    vec!["s".into(), path.key()]
}

// ---- reference queries shared by operators

/// Every attribute under `list` with its path of names (parents before parts).
fn attribute_paths(list: &[Attribute]) -> Vec<(Vec<String>, &Attribute)> {
    fn walk<'b>(
        list: &'b [Attribute],
        prefix: &[String],
        out: &mut Vec<(Vec<String>, &'b Attribute)>,
    ) {
        for a in list {
            let mut names = prefix.to_vec();
            names.push(a.name.clone());
            out.push((names.clone(), a));
            walk(&a.parts, &names, out);
        }
    }
    let mut out = Vec::new();
    walk(list, &[], &mut out);
    out
}

/// Every (owner, attribute path, attribute) of the diagram: entities first, then relationships.
fn all_attributes(d: &Diagram) -> Vec<(&str, Vec<String>, &Attribute)> {
    let mut out = Vec::new();
    for e in &d.entities {
        for (names, a) in attribute_paths(&e.attributes) {
            out.push((e.name.as_str(), names, a));
        }
    }
    for r in &d.relationships {
        for (names, a) in attribute_paths(&r.attributes) {
            out.push((r.name.as_str(), names, a));
        }
    }
    out
}

/// Whether the attribute or one of its parts is a key or partial key.
fn has_key(a: &Attribute) -> bool {
    a.key != KeyKind::None || a.parts.iter().any(has_key)
}

fn attribute_path(owner: &str, names: &[String]) -> ElementPath {
    ElementPath::Attribute {
        owner: owner.to_string(),
        names: names.to_vec(),
    }
}

/// "A and B", "A, B and C".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "A and B or C" with `or`: "A or B", "A, B or C".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A name with its indefinite article: "a DEPARTMENT", "an EMPLOYEE", "a USER".
fn article(name: &str) -> String {
    let lower = name.to_lowercase();
    let vowel = lower.starts_with(['a', 'e', 'i', 'o', 'u']);
    let sounds_like_you = ["uni", "use", "usa", "usu", "uti", "eu", "one"]
        .iter()
        .any(|p| lower.starts_with(p));
    format!(
        "{} {name}",
        if vowel && !sounds_like_you { "an" } else { "a" }
    )
}

/// The sentence with its first letter in upper case.
fn sentence(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => text,
    }
}

/// The entities linked to a relationship, in link order, without repeats.
fn participants(d: &Diagram, relationship: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in d.links_of(relationship) {
        if !out.iter().any(|e| same_name(e, &l.entity)) {
            out.push(l.entity.clone());
        }
    }
    out
}

/// The identifying relationships that link the weak entity `entity`.
fn identifying_of(d: &Diagram, entity: &str) -> Vec<String> {
    d.relationships
        .iter()
        .filter(|r| r.identifying && d.links_of(&r.name).any(|l| same_name(&l.entity, entity)))
        .map(|r| r.name.clone())
        .collect()
}

/// The weak entities that `relationship` links.
fn weak_participants(d: &Diagram, relationship: &str) -> Vec<String> {
    participants(d, relationship)
        .into_iter()
        .filter(|e| d.entity(e).is_some_and(|e| e.weak))
        .collect()
}

/// Whether `entity` takes part in a specialization or union (either end).
fn in_hierarchy(d: &Diagram, entity: &str) -> bool {
    d.specializations.iter().any(|s| {
        same_name(&s.superclass, entity) || s.subclasses.iter().any(|c| same_name(c, entity))
    }) || d.unions.iter().any(|u| {
        same_name(&u.category, entity) || u.superclasses.iter().any(|c| same_name(c, entity))
    })
}

/// Shuffled candidates: a stable order from the reference, then shuffled by `rng`.
fn shuffled<T>(mut items: Vec<T>, rng: &mut Rng) -> Vec<T> {
    rng.shuffle(&mut items);
    items
}

/// Names translated from reference-era student names to renamed student names.
#[derive(Debug, Default, Clone)]
struct Renames {
    /// Lowercase old entity or relationship name → new name.
    named: HashMap<String, String>,
    /// (lowercase owner, lowercase attribute path) → new last name.
    attributes: HashMap<(String, Vec<String>), String>,
    /// Each rename's kind, reference element and new name, in the order made.
    kinds: Vec<(RenameKind, ElementPath, String)>,
}

impl Renames {
    fn name(&self, old: &str) -> String {
        self.named
            .get(&old.to_lowercase())
            .cloned()
            .unwrap_or_else(|| old.to_string())
    }

    fn translate(&self, path: &ElementPath) -> ElementPath {
        match path {
            ElementPath::Named(n) => ElementPath::Named(self.name(n)),
            ElementPath::Attribute { owner, names } => {
                let key_owner = owner.to_lowercase();
                let mut out = Vec::new();
                let mut prefix = Vec::new();
                for n in names {
                    prefix.push(n.to_lowercase());
                    out.push(
                        self.attributes
                            .get(&(key_owner.clone(), prefix.clone()))
                            .cloned()
                            .unwrap_or_else(|| n.clone()),
                    );
                }
                ElementPath::Attribute {
                    owner: self.name(owner),
                    names: out,
                }
            }
            ElementPath::Side {
                relationship,
                entity,
                role,
            } => ElementPath::Side {
                relationship: self.name(relationship),
                entity: self.name(entity),
                role: role.clone(),
            },
            ElementPath::Specialization {
                superclass,
                subclasses,
            } => ElementPath::specialization(
                &self.name(superclass),
                &subclasses.iter().map(|s| self.name(s)).collect::<Vec<_>>(),
            ),
            ElementPath::Union {
                category,
                superclasses,
            } => ElementPath::union(
                &self.name(category),
                &superclasses
                    .iter()
                    .map(|s| self.name(s))
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

/// The categories for which `reference` offers at least one mistake.
pub fn applicable(reference: &Diagram, lexicon: &Lexicon) -> Vec<Category> {
    Category::ALL
        .into_iter()
        .filter(|&c| {
            operators(c).iter().enumerate().any(|(i, op)| {
                let mut m = Mutator::new(reference, lexicon);
                let mut rng = Rng::new(i as u64);
                op(&mut m, &mut rng)
            })
        })
        .collect()
}

/// One variant in a call: a [`Mutator`] on `reference` applies one mistake of each of
/// `categories` that the reference still allows (in order; a category without a free candidate
/// is skipped), then the `harmless` variations.
pub fn mutate(
    reference: &Diagram,
    lexicon: &Lexicon,
    rng: &mut Rng,
    categories: &[Category],
    harmless: &Harmless,
) -> Mutation {
    let mut m = Mutator::new(reference, lexicon);
    for &c in categories {
        m.apply(c, rng);
    }
    m.finish(rng, harmless)
}

/// Checks a mutation against its reference: the printed (and possibly scrambled) `text` parses
/// back to the student diagram, the student lints like the reference but for the mistakes' own
/// codes, every finding's element resolves in the reference, and no two findings share a
/// category and element. Returns what is wrong.
pub fn verify(reference: &Diagram, mutation: &Mutation, text: &str) -> Result<(), String> {
    let parsed = crate::parse(text).map_err(|e| format!("the student text does not parse: {e}"))?;
    if parsed != mutation.student {
        return Err(format!(
            "the student text parses to another diagram:\n{parsed:#?}\nexpected:\n{:#?}",
            mutation.student
        ));
    }
    let before: Vec<&str> = crate::lint(reference).iter().map(|d| d.code).collect();
    for d in crate::lint(&mutation.student) {
        if !before.contains(&d.code) && !mutation.expected_lint.contains(&d.code) {
            return Err(format!("unexpected lint: {d}"));
        }
    }
    let mut seen = Vec::new();
    for f in &mutation.findings {
        crate::resolve(reference, &f.element)
            .map_err(|e| format!("finding {}: {e}", f.category))?;
        let key = (f.category, f.element.key());
        if seen.contains(&key) {
            return Err(format!("two findings {} {}", f.category, f.element));
        }
        seen.push(key);
        if f.explanation.trim().is_empty() {
            return Err(format!(
                "finding {} {} has no explanation",
                f.category, f.element
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
