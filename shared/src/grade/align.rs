//! Aligning a student's diagram to the reference: which student element plays the part of which
//! reference element, whatever names the student chose.
//!
//! Entities align by name (the lexicon's concept, then spelling) and by shared attributes;
//! relationships by the aligned entities they join, then by name; attributes by name within
//! aligned owners. Each step is a greedy one-to-one matching by descending score.

use crate::lexicon::{split_words, Lexicon};
use crate::model::{Attribute, Diagram};

/// Similarity of two names in `[0, 1]`: 1 for the same concept (synonyms, abbreviations, plural,
/// case), else the better of word overlap and spelling similarity.
pub fn name_similarity(lexicon: &Lexicon, a: &str, b: &str) -> f64 {
    let (ca, cb) = (lexicon.concept(a), lexicon.concept(b));
    if ca == cb {
        return 1.0;
    }
    let wa: Vec<&str> = ca.split('_').filter(|w| !w.is_empty()).collect();
    let wb: Vec<&str> = cb.split('_').filter(|w| !w.is_empty()).collect();
    let common = wa.iter().filter(|w| wb.contains(w)).count();
    let words = if wa.is_empty() || wb.is_empty() {
        0.0
    } else {
        2.0 * common as f64 / (wa.len() + wb.len()) as f64
    };
    let letters = |s: &str| -> Vec<char> {
        split_words(s)
            .concat()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect()
    };
    let (la, lb) = (letters(a), letters(b));
    let longest = la.len().max(lb.len()).max(1);
    let spelling = 1.0 - edit_distance(&la, &lb) as f64 / longest as f64;
    words.max(spelling * 0.9)
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Names that count as "the same name" for alignment.
pub(crate) const SAME_NAME: f64 = 0.75;

/// Greedy one-to-one matching: `scores[i][j]` is the score of pairing left `i` with right `j`
/// (`None`: not allowed). Returns `left → right`.
pub(crate) fn greedy_match(scores: &[Vec<Option<f64>>], right_len: usize) -> Vec<Option<usize>> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, row) in scores.iter().enumerate() {
        for (j, score) in row.iter().enumerate() {
            if let Some(s) = score {
                pairs.push((*s, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut left = vec![None; scores.len()];
    let mut right_used = vec![false; right_len];
    for (_, i, j) in pairs {
        if left[i].is_none() && !right_used[j] {
            left[i] = Some(j);
            right_used[j] = true;
        }
    }
    left
}

/// Every attribute name of a list, at every depth.
pub(crate) fn all_names(attributes: &[Attribute], out: &mut Vec<String>) {
    for a in attributes {
        out.push(a.name.clone());
        all_names(&a.parts, out);
    }
}

/// Share of attributes (at every depth) two lists have in common by name.
fn attribute_overlap(lexicon: &Lexicon, a: &[Attribute], b: &[Attribute]) -> f64 {
    let (mut na, mut nb) = (Vec::new(), Vec::new());
    all_names(a, &mut na);
    all_names(b, &mut nb);
    if na.is_empty() || nb.is_empty() {
        return 0.0;
    }
    let cb: Vec<String> = nb.iter().map(|n| lexicon.concept(n)).collect();
    let common = na
        .iter()
        .filter(|n| cb.contains(&lexicon.concept(n)))
        .count();
    common as f64 / na.len().max(nb.len()) as f64
}

/// Matches two attribute lists by name: `reference index → student index`.
pub(crate) fn match_attributes(
    lexicon: &Lexicon,
    reference: &[Attribute],
    student: &[Attribute],
) -> Vec<Option<usize>> {
    let scores: Vec<Vec<Option<f64>>> = reference
        .iter()
        .map(|r| {
            student
                .iter()
                .map(|s| {
                    let sim = name_similarity(lexicon, &r.name, &s.name);
                    (sim >= SAME_NAME).then_some(sim)
                })
                .collect()
        })
        .collect();
    greedy_match(&scores, student.len())
}

/// Which student entity and relationship stands for each reference one.
#[derive(Debug, Clone, PartialEq)]
pub struct Alignment {
    /// Reference entity index → student entity index.
    pub entities: Vec<Option<usize>>,
    /// Reference relationship index → student relationship index.
    pub relationships: Vec<Option<usize>>,
}

impl Alignment {
    /// Aligns `student` to `reference`.
    pub fn new(lexicon: &Lexicon, reference: &Diagram, student: &Diagram) -> Alignment {
        let entity_scores: Vec<Vec<Option<f64>>> = reference
            .entities
            .iter()
            .map(|r| {
                student
                    .entities
                    .iter()
                    .map(|s| {
                        let name = name_similarity(lexicon, &r.name, &s.name);
                        let attributes = attribute_overlap(lexicon, &r.attributes, &s.attributes);
                        if name >= 0.999 {
                            Some(2.0 + attributes)
                        } else if name >= SAME_NAME || (attributes >= 0.5 && name >= 0.3) {
                            Some(0.6 * name + 0.4 * attributes)
                        } else if attributes >= 0.75 && r.attributes.len() >= 2 {
                            Some(0.4 * attributes)
                        } else {
                            None
                        }
                    })
                    .collect()
            })
            .collect();
        let entities = greedy_match(&entity_scores, student.entities.len());

        // Participants of each relationship, as student entity indices (reference entities
        // without a counterpart get distinct placeholders that match nothing).
        let student_index = |name: &str| student.entities.iter().position(|e| e.name == name);
        let reference_index = |name: &str| reference.entities.iter().position(|e| e.name == name);
        let relationship_scores: Vec<Vec<Option<f64>>> = reference
            .relationships
            .iter()
            .map(|r| {
                let mut ours: Vec<Option<usize>> = reference
                    .links_of(&r.name)
                    .map(|l| reference_index(&l.entity).and_then(|i| entities[i]))
                    .collect();
                ours.sort();
                student
                    .relationships
                    .iter()
                    .map(|s| {
                        let mut theirs: Vec<Option<usize>> = student
                            .links_of(&s.name)
                            .map(|l| student_index(&l.entity))
                            .collect();
                        theirs.sort();
                        let overlap = multiset_overlap(&ours, &theirs);
                        let name = name_similarity(lexicon, &r.name, &s.name);
                        if name >= 0.999 {
                            Some(2.0 + overlap)
                        } else if overlap >= 0.999 || name >= SAME_NAME {
                            Some(1.0 + 0.5 * overlap + 0.5 * name)
                        } else if overlap >= 0.5 && name >= 0.4 {
                            Some(0.5 * overlap + 0.5 * name)
                        } else {
                            None
                        }
                    })
                    .collect()
            })
            .collect();
        let relationships = greedy_match(&relationship_scores, student.relationships.len());
        Alignment {
            entities,
            relationships,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_of_names() {
        let lex = &Lexicon::builtin();
        assert_eq!(name_similarity(lex, "EMPLOYEE", "Employees"), 1.0);
        assert!(name_similarity(lex, "Birth_date", "BirthDate") > 0.99);
        assert!(name_similarity(lex, "Salary", "Name") < 0.5);
        assert!(name_similarity(lex, "Start_date", "Startdate") >= SAME_NAME);
        assert!(name_similarity(lex, "EMPLOYEE", "DEPARTMENT") < 0.5);
    }

    #[test]
    fn greedy_prefers_best_pairs() {
        let scores = vec![vec![Some(0.9), Some(0.8)], vec![Some(0.95), None]];
        assert_eq!(greedy_match(&scores, 2), vec![Some(1), Some(0)]);
    }
}
