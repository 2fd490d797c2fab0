//! The one matching of a student's diagram to the reference: which student element plays the
//! part of which reference element, whatever names the student chose.
//!
//! [`Matching::new`] is built once per submission and every caller takes it: the rules grader,
//! the focused prompts and the gold traces, the audit (refinement and inference) and the page.
//! It pairs entities, relationships, relationship sides (with roles), attributes at every depth
//! (a composite drawn flattened, simple attributes grouped into a composite, an attribute drawn
//! on another owner), specializations and unions — each pair with its evidence and a confidence.
//!
//! Evidence:
//! - **names** ([`names`]): the lexicon, the WordNet-derived [`SemanticTable`](crate::semantic),
//!   abbreviations, initials, dropped or added words and units, spelling;
//! - **structure**: keys (the key attribute's name), attribute sets, the relationships an entity
//!   takes part in and who is on their other sides, its place in specializations and unions
//!   (neighbour scores are propagated a few rounds, similarity-flooding style), and
//!   **elimination** (the one unmatched candidate left on each side, when structure allows).
//!
//! Each kind is solved as one global assignment with an explicit "unmatched" option
//! ([`assign`]); a pair that rests on weak evidence has a low confidence
//! ([`Match::uncertain`]) and findings about it say so.

mod assign;
mod attributes;
pub mod names;
#[cfg(test)]
mod tests;

pub use assign::assign;
pub use attributes::{AttributeMatch, Placement, StudentAttribute};
pub use names::{name_score, name_similarity, word_similarity, NameEvidence, SAME_NAME};

use crate::lexicon::Lexicon;
use crate::model::{Attribute, Diagram, KeyKind, Link, Specialization, UnionType};
use crate::path::{resolve, Element, ElementPath};
use crate::semantics::side_constraints;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// Below this confidence a pair is uncertain: findings about it say "probably".
pub const CERTAIN: f64 = 0.7;

/// Rounds of neighbour propagation between entities and relationships.
const ROUNDS: usize = 3;

/// One kind of evidence behind a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "how")]
pub enum Evidence {
    /// The names are alike (and how).
    Name(NameEvidence),
    /// The key attributes have alike names.
    Key,
    /// Most attributes are alike.
    Attributes,
    /// The relationships and hierarchies around them join matched elements.
    Neighbours,
    /// The participants of two relationships are matched entities.
    Participants,
    /// The one candidate left on each side.
    Elimination,
}

/// A reference element's counterpart in the student's diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The student element's index (in the student diagram's list of that kind).
    pub student: usize,
    /// How sure the matching is, in `[0, 1]`.
    pub confidence: f64,
    /// What made the pair.
    pub evidence: Vec<Evidence>,
}

impl Match {
    /// Whether the pair rests on weak evidence (findings about it should say "probably").
    pub fn uncertain(&self) -> bool {
        self.confidence < CERTAIN
    }
}

/// Which student element stands for each reference element (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matching {
    /// Reference entity index → student entity index.
    pub entities: Vec<Option<usize>>,
    /// Reference relationship index → student relationship index.
    pub relationships: Vec<Option<usize>>,
    /// Reference entity index → the pair with its evidence.
    pub entity_matches: Vec<Option<Match>>,
    /// Reference relationship index → the pair with its evidence.
    pub relationship_matches: Vec<Option<Match>>,
    /// Reference relationship index → for each of its links (in `links_of` order) the index in
    /// `student.links` of the student's side standing for it.
    pub sides: Vec<Vec<Option<usize>>>,
    /// Every reference attribute (of entities and relationships, at every depth).
    pub attributes: Vec<AttributeMatch>,
    /// Reference specialization index → student specialization index.
    pub specializations: Vec<Option<usize>>,
    /// Reference union index → student union index.
    pub unions: Vec<Option<usize>>,
}

/// Name similarities, computed once per pair of names.
pub(crate) struct NameCache<'a> {
    lexicon: &'a Lexicon,
    cache: RefCell<HashMap<(String, String), (f64, NameEvidence)>>,
}

impl<'a> NameCache<'a> {
    pub(crate) fn new(lexicon: &'a Lexicon) -> Self {
        NameCache {
            lexicon,
            cache: RefCell::new(HashMap::new()),
        }
    }

    pub(crate) fn score(&self, a: &str, b: &str) -> (f64, NameEvidence) {
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        if let Some(hit) = self.cache.borrow().get(&key) {
            return *hit;
        }
        let value = name_score(self.lexicon, a, b);
        self.cache.borrow_mut().insert(key, value);
        value
    }

    pub(crate) fn similarity(&self, a: &str, b: &str) -> f64 {
        self.score(a, b).0
    }
}

/// An entity's place among the others: what it is connected to, by what.
#[derive(Debug, Clone)]
enum Edge<'a> {
    /// Takes part in the relationship `name`, whose other participants are these entities.
    Relationship { name: &'a str, others: Vec<usize> },
    /// A subclass of this superclass.
    SubclassOf(usize),
    /// A superclass of these subclasses.
    SuperclassOf(Vec<usize>),
    /// A union's category over these superclasses.
    CategoryOf(Vec<usize>),
    /// A superclass of the union category.
    InUnion(usize),
}

fn edges(diagram: &Diagram) -> Vec<Vec<Edge<'_>>> {
    let index = |name: &str| diagram.entities.iter().position(|e| e.name == name);
    let mut out: Vec<Vec<Edge>> = vec![Vec::new(); diagram.entities.len()];
    for r in &diagram.relationships {
        let members: Vec<usize> = diagram
            .links_of(&r.name)
            .filter_map(|l| index(&l.entity))
            .collect();
        for (k, &m) in members.iter().enumerate() {
            let others = members
                .iter()
                .enumerate()
                .filter(|(o, _)| *o != k)
                .map(|(_, &x)| x)
                .collect();
            out[m].push(Edge::Relationship {
                name: &r.name,
                others,
            });
        }
    }
    for s in &diagram.specializations {
        let Some(sup) = index(&s.superclass) else {
            continue;
        };
        let subs: Vec<usize> = s.subclasses.iter().filter_map(|c| index(c)).collect();
        for &c in &subs {
            out[c].push(Edge::SubclassOf(sup));
        }
        out[sup].push(Edge::SuperclassOf(subs));
    }
    for u in &diagram.unions {
        let Some(cat) = index(&u.category) else {
            continue;
        };
        let supers: Vec<usize> = u.superclasses.iter().filter_map(|c| index(c)).collect();
        for &c in &supers {
            out[c].push(Edge::InUnion(cat));
        }
        out[cat].push(Edge::CategoryOf(supers));
    }
    out
}

/// Mean over `ours` of the best `sim` in `theirs` (0 when `ours` is empty).
fn soft_overlap(ours: &[usize], theirs: &[usize], sim: &[Vec<f64>]) -> f64 {
    if ours.is_empty() || theirs.is_empty() {
        return 0.0;
    }
    let total: f64 = ours
        .iter()
        .map(|&p| theirs.iter().map(|&q| sim[p][q]).fold(0.0, f64::max))
        .sum();
    total / ours.len().max(theirs.len()) as f64
}

/// Every attribute name of a list, at every depth.
pub(crate) fn all_names(attributes: &[Attribute], out: &mut Vec<String>) {
    for a in attributes {
        out.push(a.name.clone());
        all_names(&a.parts, out);
    }
}

/// Share of two name lists that pair up as the same name (one to one, best first).
fn name_overlap(names: &NameCache<'_>, a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let scores: Vec<Vec<Option<f64>>> = a
        .iter()
        .map(|x| {
            b.iter()
                .map(|y| {
                    let s = names.similarity(x, y);
                    (s >= SAME_NAME).then_some(s)
                })
                .collect()
        })
        .collect();
    let common = assign(&scores, b.len()).iter().flatten().count();
    common as f64 / a.len().max(b.len()) as f64
}

fn key_names(attributes: &[Attribute]) -> Vec<String> {
    attributes
        .iter()
        .filter(|a| a.key != KeyKind::None)
        .map(|a| a.name.clone())
        .collect()
}

/// Share of two sorted multisets in common (placeholders `None` never match).
fn multiset_overlap(a: &[Option<usize>], b: &[Option<usize>]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut rest: Vec<Option<usize>> = b.to_vec();
    let mut common = 0;
    for x in a.iter().flatten() {
        if let Some(pos) = rest.iter().position(|y| *y == Some(*x)) {
            rest.remove(pos);
            common += 1;
        }
    }
    common as f64 / a.len().max(b.len()) as f64
}

/// How alike two entity types are on their own: name, attributes and key.
struct EntityEvidence {
    name: (f64, NameEvidence),
    attributes: f64,
    key: bool,
}

impl EntityEvidence {
    /// The weighted evidence with the neighbour score `nb`.
    fn combined(&self, nb: f64) -> f64 {
        let key = if self.key { 1.0 } else { 0.0 };
        0.45 * self.name.0 + 0.2 * self.attributes + 0.1 * key + 0.25 * nb
    }
}

impl Matching {
    /// Matches `student` to `reference`.
    pub fn new(lexicon: &Lexicon, reference: &Diagram, student: &Diagram) -> Matching {
        let names = NameCache::new(lexicon);
        let (entity_matches, entities) = match_entities(&names, reference, student);
        let relationship_matches = match_relationships(&names, reference, student, &entities);
        let relationships: Vec<Option<usize>> = relationship_matches
            .iter()
            .map(|m| m.as_ref().map(|m| m.student))
            .collect();
        let sides = match_sides(&names, reference, student, &entities, &relationships);
        let attributes =
            attributes::match_all(&names, reference, student, &entities, &relationships);
        let specializations = match_specializations(reference, student, &entities);
        let unions = reference
            .unions
            .iter()
            .map(|u| {
                let i = reference
                    .entities
                    .iter()
                    .position(|e| e.name == u.category)?;
                let category = &student.entities[entities[i]?].name;
                student.unions.iter().position(|t| &t.category == category)
            })
            .collect();
        Matching {
            entities,
            relationships,
            entity_matches,
            relationship_matches,
            sides,
            attributes,
            specializations,
            unions,
        }
    }

    /// The student entity standing for the reference entity named `name`.
    pub fn student_entity<'a>(
        &self,
        reference: &Diagram,
        student: &'a Diagram,
        name: &str,
    ) -> Option<&'a str> {
        let i = reference.entities.iter().position(|e| e.name == name)?;
        self.entities[i].map(|j| student.entities[j].name.as_str())
    }

    /// The student relationship standing for the reference relationship named `name`.
    pub fn student_relationship<'a>(
        &self,
        reference: &Diagram,
        student: &'a Diagram,
        name: &str,
    ) -> Option<&'a str> {
        let i = reference
            .relationships
            .iter()
            .position(|r| r.name == name)?;
        self.relationships[i].map(|j| student.relationships[j].name.as_str())
    }

    /// The pair of the reference entity or relationship named `name`, if matched.
    pub fn element_match(&self, reference: &Diagram, name: &str) -> Option<&Match> {
        if let Some(i) = reference.entities.iter().position(|e| e.name == name) {
            return self.entity_matches[i].as_ref();
        }
        let i = reference
            .relationships
            .iter()
            .position(|r| r.name == name)?;
        self.relationship_matches[i].as_ref()
    }

    /// The match of the reference attribute `owner.names…`.
    pub fn attribute(&self, owner: &str, names: &[String]) -> Option<&AttributeMatch> {
        self.attributes
            .iter()
            .find(|a| a.owner == owner && a.names == names)
    }

    /// The student's sides of the reference relationship `i`: each reference link (in
    /// `links_of` order) with its student link, if any.
    pub fn side_pairs<'a>(
        &self,
        reference: &'a Diagram,
        student: &'a Diagram,
        i: usize,
    ) -> Vec<(&'a Link, Option<&'a Link>)> {
        reference
            .links_of(&reference.relationships[i].name)
            .zip(&self.sides[i])
            .map(|(l, s)| (l, s.map(|k| &student.links[k])))
            .collect()
    }
}

fn entity_evidence(
    names: &NameCache<'_>,
    reference: &Diagram,
    student: &Diagram,
) -> Vec<Vec<EntityEvidence>> {
    reference
        .entities
        .iter()
        .map(|r| {
            let mut ours = Vec::new();
            all_names(&r.attributes, &mut ours);
            let our_keys = key_names(&r.attributes);
            student
                .entities
                .iter()
                .map(|s| {
                    let mut theirs = Vec::new();
                    all_names(&s.attributes, &mut theirs);
                    let their_keys = key_names(&s.attributes);
                    let key = our_keys.iter().any(|a| {
                        their_keys
                            .iter()
                            .any(|b| names.similarity(a, b) >= SAME_NAME)
                    });
                    EntityEvidence {
                        name: names.score(&r.name, &s.name),
                        attributes: name_overlap(names, &ours, &theirs),
                        key,
                    }
                })
                .collect()
        })
        .collect()
}

/// How alike the neighbourhoods of reference entity `i` and student entity `j` are under the
/// entity similarities `sim` (mean over the reference entity's edges of the best student edge).
fn neighbour_score(
    names: &NameCache<'_>,
    ours: &[Edge<'_>],
    theirs: &[Edge<'_>],
    sim: &[Vec<f64>],
) -> f64 {
    if ours.is_empty() || theirs.is_empty() {
        return 0.0;
    }
    let edge = |a: &Edge, b: &Edge| -> f64 {
        match (a, b) {
            (
                Edge::Relationship {
                    name: n1,
                    others: o1,
                },
                Edge::Relationship {
                    name: n2,
                    others: o2,
                },
            ) => {
                if o1.len() != o2.len() {
                    return 0.0;
                }
                let participants = if o1.is_empty() {
                    1.0
                } else {
                    soft_overlap(o1, o2, sim)
                };
                0.25 * names.similarity(n1, n2) + 0.75 * participants
            }
            (Edge::SubclassOf(x), Edge::SubclassOf(y)) | (Edge::InUnion(x), Edge::InUnion(y)) => {
                sim[*x][*y]
            }
            (Edge::SuperclassOf(x), Edge::SuperclassOf(y))
            | (Edge::CategoryOf(x), Edge::CategoryOf(y)) => soft_overlap(x, y, sim),
            _ => 0.0,
        }
    };
    let total: f64 = ours
        .iter()
        .map(|a| theirs.iter().map(|b| edge(a, b)).fold(0.0, f64::max))
        .sum();
    total / ours.len().max(theirs.len()) as f64
}

/// An entity pair's score from its evidence and neighbour score `nb`; `None` when nothing
/// supports it.
fn entity_score(e: &EntityEvidence, nb: f64, attributes_known: bool) -> Option<f64> {
    let name = e.name.0;
    let score = e.combined(nb);
    let supported = name >= SAME_NAME
        || (e.attributes >= 0.5 && attributes_known)
        || e.key
        || nb >= 0.6
        || (name >= 0.5 && (e.attributes > 0.0 || nb >= 0.3));
    supported.then_some(if name >= 0.999 { score + 1.0 } else { score })
}

fn match_entities(
    names: &NameCache<'_>,
    reference: &Diagram,
    student: &Diagram,
) -> (Vec<Option<Match>>, Vec<Option<usize>>) {
    let evidence = entity_evidence(names, reference, student);
    let (our_edges, their_edges) = (edges(reference), edges(student));
    let (n, m) = (reference.entities.len(), student.entities.len());
    // Round 0: names, attributes and keys alone.
    let mut sim: Vec<Vec<f64>> = evidence
        .iter()
        .map(|row| {
            row.iter()
                .map(|e| {
                    let key = if e.key { 1.0 } else { 0.0 };
                    (0.6 * e.name.0 + 0.25 * e.attributes + 0.15 * key).min(1.0)
                })
                .collect()
        })
        .collect();
    let mut neighbours = vec![vec![0.0; m]; n];
    for _ in 0..ROUNDS {
        for i in 0..n {
            for j in 0..m {
                neighbours[i][j] = neighbour_score(names, &our_edges[i], &their_edges[j], &sim);
            }
        }
        let next: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        let e = &evidence[i][j];
                        e.combined(neighbours[i][j])
                            .max(if e.name.0 >= SAME_NAME { e.name.0 } else { 0.0 })
                            .min(1.0)
                    })
                    .collect()
            })
            .collect();
        // Normalize each row by its best, so that similarity flows from the clear pairs.
        sim = next
            .into_iter()
            .map(|row| {
                let best = row.iter().cloned().fold(0.0, f64::max);
                if best > 0.0 {
                    row.iter().map(|x| x / best * best.sqrt()).collect()
                } else {
                    row
                }
            })
            .collect();
    }
    let scores: Vec<Vec<Option<f64>>> = (0..n)
        .map(|i| {
            let known = reference.entities[i].attributes.len() >= 2;
            (0..m)
                .map(|j| entity_score(&evidence[i][j], neighbours[i][j], known))
                .collect()
        })
        .collect();
    let mut pairs = assign(&scores, m);
    // Elimination: one reference entity and one student entity left, with some structure in
    // common (a neighbour, or neither has any) and the same kind (weak or strong).
    let left: Vec<usize> = (0..n).filter(|&i| pairs[i].is_none()).collect();
    let taken: Vec<bool> = (0..m).map(|j| pairs.contains(&Some(j))).collect();
    let free: Vec<usize> = (0..m).filter(|&j| !taken[j]).collect();
    let mut eliminated = None;
    if let ([i], [j]) = (&left[..], &free[..]) {
        let (i, j) = (*i, *j);
        let isolated = our_edges[i].is_empty() && their_edges[j].is_empty();
        if (neighbours[i][j] >= 0.25 || isolated)
            && reference.entities[i].weak == student.entities[j].weak
        {
            pairs[i] = Some(j);
            eliminated = Some(i);
        }
    }
    let matches = (0..n)
        .map(|i| {
            let j = pairs[i]?;
            let e = &evidence[i][j];
            let nb = neighbours[i][j];
            let mut kinds = Vec::new();
            if e.name.0 >= SAME_NAME {
                kinds.push(Evidence::Name(e.name.1));
            }
            if e.key {
                kinds.push(Evidence::Key);
            }
            if e.attributes >= 0.5 {
                kinds.push(Evidence::Attributes);
            }
            if nb >= 0.5 {
                kinds.push(Evidence::Neighbours);
            }
            let confidence = if eliminated == Some(i) {
                kinds.push(Evidence::Elimination);
                0.5
            } else if e.name.0 >= SAME_NAME {
                e.name.0
            } else {
                // Structure alone: as sure as its strongest kind, less when a rival is close.
                let strongest = e.attributes.max(nb).max(if e.key { 0.9 } else { 0.0 });
                let own = scores[i][j].unwrap_or(0.0);
                let rival = (0..m)
                    .filter(|&k| k != j)
                    .filter_map(|k| scores[i][k])
                    .chain((0..n).filter(|&k| k != i).filter_map(|k| scores[k][j]))
                    .fold(0.0, f64::max);
                let margin = if rival > 0.8 * own { 0.75 } else { 1.0 };
                (0.4 + 0.5 * strongest) * margin
            };
            Some(Match {
                student: j,
                confidence: confidence.clamp(0.0, 1.0),
                evidence: kinds,
            })
        })
        .collect();
    (matches, pairs)
}

fn match_relationships(
    names: &NameCache<'_>,
    reference: &Diagram,
    student: &Diagram,
    entities: &[Option<usize>],
) -> Vec<Option<Match>> {
    let reference_index = |name: &str| reference.entities.iter().position(|e| e.name == name);
    let student_index = |name: &str| student.entities.iter().position(|e| e.name == name);
    // Participants of each relationship as student entity indices (reference entities without
    // a counterpart become placeholders that match nothing).
    let ours: Vec<Vec<Option<usize>>> = reference
        .relationships
        .iter()
        .map(|r| {
            let mut v: Vec<Option<usize>> = reference
                .links_of(&r.name)
                .map(|l| reference_index(&l.entity).and_then(|i| entities[i]))
                .collect();
            v.sort();
            v
        })
        .collect();
    let theirs: Vec<Vec<Option<usize>>> = student
        .relationships
        .iter()
        .map(|s| {
            let mut v: Vec<Option<usize>> = student
                .links_of(&s.name)
                .map(|l| student_index(&l.entity))
                .collect();
            v.sort();
            v
        })
        .collect();
    let shape = |d: &Diagram, name: &str| -> Vec<(u32, Option<bool>)> {
        let mut v: Vec<(u32, Option<bool>)> = side_constraints(d, name)
            .iter()
            .map(|(_, c)| (c.min, c.is_many()))
            .collect();
        v.sort();
        v
    };
    // Each student relationship's attribute names and side constraints, computed once.
    let their_attributes: Vec<Vec<String>> = student
        .relationships
        .iter()
        .map(|s| {
            let mut names = Vec::new();
            all_names(&s.attributes, &mut names);
            names
        })
        .collect();
    let their_shapes: Vec<_> = student
        .relationships
        .iter()
        .map(|s| shape(student, &s.name))
        .collect();
    let mut details: Vec<Vec<(f64, NameEvidence, f64)>> = Vec::new();
    let scores: Vec<Vec<Option<f64>>> = reference
        .relationships
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut row_details = Vec::new();
            let mut our_attributes = Vec::new();
            all_names(&r.attributes, &mut our_attributes);
            let our_shape = shape(reference, &r.name);
            let row = student
                .relationships
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    let overlap = multiset_overlap(&ours[i], &theirs[j]);
                    let (name, how) = names.score(&r.name, &s.name);
                    let attributes = name_overlap(names, &our_attributes, &their_attributes[j]);
                    row_details.push((name, how, overlap));
                    // Among relationships joining the same entity types, the alike name,
                    // attributes and constraints decide.
                    let tie = 0.3 * name
                        + 0.2 * attributes
                        + 0.1 * f64::from(u8::from(our_shape == their_shapes[j]))
                        + 0.05 * f64::from(u8::from(r.identifying == s.identifying));
                    if name >= 0.999 {
                        Some(2.0 + overlap + tie)
                    } else if overlap >= 0.999 || name >= SAME_NAME {
                        Some(1.0 + 0.5 * overlap + 0.5 * name + tie)
                    } else if overlap >= 0.5 && (name >= 0.4 || attributes >= 0.5) {
                        Some(0.5 * overlap + 0.5 * name.max(attributes) + tie)
                    } else {
                        None
                    }
                })
                .collect();
            details.push(row_details);
            row
        })
        .collect();
    let mut pairs = assign(&scores, student.relationships.len());
    // Elimination: the one relationship left on each side, joining mostly the same entities.
    let left: Vec<usize> = (0..pairs.len()).filter(|&i| pairs[i].is_none()).collect();
    let free: Vec<usize> = (0..student.relationships.len())
        .filter(|j| !pairs.contains(&Some(*j)))
        .collect();
    let mut eliminated = None;
    if let ([i], [j]) = (&left[..], &free[..]) {
        if details[*i][*j].2 >= 0.5 {
            pairs[*i] = Some(*j);
            eliminated = Some(*i);
        }
    }
    pairs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let j = (*p)?;
            let (name, how, overlap) = details[i][j];
            let mut evidence = Vec::new();
            if name >= SAME_NAME {
                evidence.push(Evidence::Name(how));
            }
            if overlap >= 0.5 {
                evidence.push(Evidence::Participants);
            }
            let confidence = if eliminated == Some(i) {
                evidence.push(Evidence::Elimination);
                0.5
            } else if name >= SAME_NAME || overlap >= 0.999 {
                name.max(overlap)
            } else {
                0.5 * (name + overlap)
            };
            Some(Match {
                student: j,
                confidence,
                evidence,
            })
        })
        .collect()
}

fn match_sides(
    names: &NameCache<'_>,
    reference: &Diagram,
    student: &Diagram,
    entities: &[Option<usize>],
    relationships: &[Option<usize>],
) -> Vec<Vec<Option<usize>>> {
    reference
        .relationships
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ours: Vec<&Link> = reference.links_of(&r.name).collect();
            let Some(j) = relationships[i] else {
                return vec![None; ours.len()];
            };
            let name = &student.relationships[j].name;
            let theirs: Vec<usize> = (0..student.links.len())
                .filter(|&k| &student.links[k].relationship == name)
                .collect();
            let scores: Vec<Vec<Option<f64>>> = ours
                .iter()
                .enumerate()
                .map(|(a, link)| {
                    let target = reference
                        .entities
                        .iter()
                        .position(|e| e.name == link.entity)
                        .and_then(|e| entities[e])
                        .map(|e| student.entities[e].name.as_str());
                    theirs
                        .iter()
                        .enumerate()
                        .map(|(b, &k)| {
                            let other = &student.links[k];
                            if Some(other.entity.as_str()) != target {
                                return None;
                            }
                            let role = match (&link.role, &other.role) {
                                (Some(x), Some(y)) => names.similarity(x, y),
                                _ => 0.0,
                            };
                            // The same position breaks ties (a recursive relationship
                            // without telling roles keeps the order it was drawn in).
                            let order = if a == b { 0.01 } else { 0.0 };
                            Some(1.0 + role + order)
                        })
                        .collect()
                })
                .collect();
            assign(&scores, theirs.len())
                .into_iter()
                .map(|b| b.map(|b| theirs[b]))
                .collect()
        })
        .collect()
}

fn match_specializations(
    reference: &Diagram,
    student: &Diagram,
    entities: &[Option<usize>],
) -> Vec<Option<usize>> {
    let mapped = |name: &str| -> Option<&str> {
        let i = reference.entities.iter().position(|e| e.name == name)?;
        entities[i].map(|j| student.entities[j].name.as_str())
    };
    let scores: Vec<Vec<Option<f64>>> = reference
        .specializations
        .iter()
        .map(|s| {
            let superclass = mapped(&s.superclass);
            let subs: Vec<&str> = s.subclasses.iter().filter_map(|c| mapped(c)).collect();
            student
                .specializations
                .iter()
                .map(|t| {
                    (Some(t.superclass.as_str()) == superclass).then(|| {
                        let common = t
                            .subclasses
                            .iter()
                            .filter(|c| subs.contains(&c.as_str()))
                            .count();
                        1.0 + common as f64
                    })
                })
                .collect()
        })
        .collect();
    assign(&scores, student.specializations.len())
}

/// The attribute at `owner.names…` in `diagram` (an entity's or a relationship's, through
/// composite parts), as [`resolve`] finds it.
pub fn find_attribute<'a>(
    diagram: &'a Diagram,
    owner: &str,
    names: &[String],
) -> Option<&'a Attribute> {
    let path = ElementPath::Attribute {
        owner: owner.to_string(),
        names: names.to_vec(),
    };
    match resolve(diagram, &path) {
        Ok(Element::Attribute { attribute, .. }) => Some(attribute),
        _ => None,
    }
}

/// The index of `item` in `list`, by identity.
fn index_of<T>(list: &[T], item: &T) -> Option<usize> {
    list.iter().position(|x| std::ptr::eq(x, item))
}

impl Matching {
    /// The reference side at `path` and the student's side standing for it.
    pub fn side<'a>(
        &self,
        reference: &'a Diagram,
        student: &'a Diagram,
        path: &ElementPath,
    ) -> Option<(&'a Link, Option<&'a Link>)> {
        let Ok(Element::Side(link)) = resolve(reference, path) else {
            return None;
        };
        let i = reference
            .relationships
            .iter()
            .position(|r| r.name == link.relationship)?;
        let k = reference
            .links_of(&link.relationship)
            .position(|l| std::ptr::eq(l, link))?;
        Some((link, self.sides[i][k].map(|s| &student.links[s])))
    }

    /// The reference specialization at `path` and the student's standing for it.
    pub fn specialization<'a>(
        &self,
        reference: &'a Diagram,
        student: &'a Diagram,
        path: &ElementPath,
    ) -> Option<(&'a Specialization, Option<&'a Specialization>)> {
        let Ok(Element::Specialization(ours)) = resolve(reference, path) else {
            return None;
        };
        let k = index_of(&reference.specializations, ours)?;
        Some((
            ours,
            self.specializations[k].map(|t| &student.specializations[t]),
        ))
    }

    /// The reference union type at `path` and the student's standing for it.
    pub fn union<'a>(
        &self,
        reference: &'a Diagram,
        student: &'a Diagram,
        path: &ElementPath,
    ) -> Option<(&'a UnionType, Option<&'a UnionType>)> {
        let Ok(Element::Union(ours)) = resolve(reference, path) else {
            return None;
        };
        let k = index_of(&reference.unions, ours)?;
        Some((ours, self.unions[k].map(|t| &student.unions[t])))
    }
}

impl Matching {
    /// Whether the student's counterpart of reference entity `i` marks exactly the matched
    /// counterparts of the reference's top-level `kind` keys as `kind` keys (names may
    /// differ: the attribute matching decides which is which). `true` when unmatched.
    pub fn keys_agree(
        &self,
        reference: &Diagram,
        student: &Diagram,
        i: usize,
        kind: KeyKind,
    ) -> bool {
        let Some(j) = self.entities[i] else {
            return true;
        };
        let ours = &reference.entities[i];
        let theirs = &student.entities[j];
        let mut matched_keys: Vec<&str> = Vec::new();
        for a in ours.attributes.iter().filter(|a| a.key == kind) {
            let Some(m) = self.attribute(&ours.name, std::slice::from_ref(&a.name)) else {
                return false;
            };
            match &m.student {
                Some(s) if m.placement == Placement::Own && s.names.len() == 1 => {
                    if find_attribute(student, &s.owner, &s.names).is_none_or(|b| b.key != kind) {
                        return false;
                    }
                    matched_keys.push(s.names[0].as_str());
                }
                _ => return false,
            }
        }
        theirs
            .attributes
            .iter()
            .filter(|b| b.key == kind)
            .all(|b| matched_keys.contains(&b.name.as_str()))
    }
}

impl Matching {
    /// The student's element standing for the reference element at `path`, as a path in the
    /// student's diagram (for display and highlighting): the counterpart itself, or, for an
    /// attribute or side the student lacks, the counterpart of its owner or relationship.
    /// `None` when the student has nothing for it.
    pub fn student_path(
        &self,
        reference: &Diagram,
        student: &Diagram,
        path: &ElementPath,
    ) -> Option<ElementPath> {
        let named = |name: &str| -> Option<String> {
            self.student_entity(reference, student, name)
                .or_else(|| self.student_relationship(reference, student, name))
                .map(str::to_string)
        };
        match path {
            ElementPath::Named(name) => named(name).map(ElementPath::Named),
            ElementPath::Attribute { owner, names } => {
                let found = self
                    .attribute(owner, names)
                    .and_then(|m| m.student.as_ref());
                match found {
                    Some(s) => Some(ElementPath::Attribute {
                        owner: s.owner.clone(),
                        names: s.names.clone(),
                    }),
                    None => named(owner).map(ElementPath::Named),
                }
            }
            ElementPath::Side { relationship, .. } => match self.side(reference, student, path)? {
                (_, Some(link)) => Some(ElementPath::Side {
                    relationship: link.relationship.clone(),
                    entity: link.entity.clone(),
                    role: link.role.clone(),
                }),
                (_, None) => named(relationship).map(ElementPath::Named),
            },
            ElementPath::Specialization { superclass, .. } => {
                match self.specialization(reference, student, path)? {
                    (_, Some(t)) => Some(ElementPath::specialization(&t.superclass, &t.subclasses)),
                    (_, None) => named(superclass).map(ElementPath::Named),
                }
            }
            ElementPath::Union { category, .. } => match self.union(reference, student, path)? {
                (_, Some(t)) => Some(ElementPath::union(&t.category, &t.superclasses)),
                (_, None) => named(category).map(ElementPath::Named),
            },
        }
    }
}

impl Matching {
    /// A note for findings about `path` when the student's element it rests on was matched on
    /// weak evidence: ``"Your `Shipment` is probably CONSIGNMENT."`` (the entity or
    /// relationship itself, the owner of an attribute, the relationship of a side). `None` when
    /// the match is certain or there is none.
    pub fn uncertainty_note(
        &self,
        reference: &Diagram,
        student: &Diagram,
        path: &ElementPath,
    ) -> Option<String> {
        let name = match path {
            ElementPath::Named(name) => name,
            ElementPath::Attribute { owner, .. } => owner,
            ElementPath::Side { relationship, .. } => relationship,
            ElementPath::Specialization { superclass, .. } => superclass,
            ElementPath::Union { category, .. } => category,
        };
        let m = self.element_match(reference, name)?;
        if !m.uncertain() {
            return None;
        }
        let theirs = if reference.entities.iter().any(|e| &e.name == name) {
            &student.entities[m.student].name
        } else {
            &student.relationships[m.student].name
        };
        Some(format!("Your `{theirs}` is probably {name}."))
    }
}
