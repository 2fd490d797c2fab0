//! Name evidence: how alike two element names are, beyond spelling.
//!
//! Two names are compared word by word (words split on `_`, spaces and case changes, then
//! normalized by the [`Lexicon`]: singular, abbreviations expanded, synonym phrases replaced by
//! their group's head). Two words are alike when they are equal, related in the
//! [semantic table](crate::semantic) (synonyms, hypernyms, close siblings, derivations from WordNet), one
//! abbreviates the other (a prefix of three letters or more, or its consonant skeleton), or
//! they are spelled nearly alike. The name score is a weighted agreement of the two word lists:
//! the last content word (the head of an English compound) weighs most, units of measurement
//! and function words least; a word left over on *both* sides (`Start_date` vs `End_date`) is a
//! contradiction and costs more than a word only one side has (`Delivery_address` vs
//! `Address`). An all-letters spelling comparison and initials (`VIN` for
//! `Vehicle_identification_number`) complete it.

use crate::lexicon::{split_words, Lexicon};
use crate::semantic;
use serde::Serialize;

/// Names at least this alike count as the same name.
pub const SAME_NAME: f64 = 0.75;

/// Which kind of name evidence made two names alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameEvidence {
    /// Equal after the lexicon's normalization (case, plural, synonyms, abbreviations).
    Lexicon,
    /// Related words in the semantic table (synonyms, hypernyms, siblings).
    Semantic,
    /// One name abbreviates the other (prefix, consonants or initials).
    Abbreviation,
    /// Most words agree (a word or unit added or dropped).
    Words,
    /// Spelled nearly alike.
    Spelling,
    /// Nothing alike.
    Unrelated,
}

/// Words that carry little meaning in an element name: function words and units of measure.
const LIGHT_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "on",
    "in",
    "at",
    "by",
    "for",
    "to",
    "per",
    "is",
    "has",
    "cm",
    "mm",
    "km",
    "m",
    "kg",
    "g",
    "mg",
    "lb",
    "lbs",
    "oz",
    "eur",
    "usd",
    "gbp",
    "chf",
    "pct",
    "percent",
    "sec",
    "secs",
    "second",
    "min",
    "mins",
    "minute",
    "hr",
    "hrs",
    "hour",
    "h",
    "ml",
    "l",
    "ft",
    "inch",
    "kwh",
    "kw",
    "euro",
    "dollar",
    "cent",
    "gram",
    "kilogram",
    "meter",
    "metre",
    "centimeter",
    "centimetre",
    "millimeter",
    "liter",
    "litre",
];

/// Whether a lower-case word carries little meaning in an element name (a function word or a
/// unit of measure).
pub fn is_light(word: &str) -> bool {
    LIGHT_WORDS.contains(&word)
}

/// Whether word `k` of `words` is light: a function word or unit, or, with `short_tail`, a
/// short last word after others (`Weight_kg`, `Duration_ms`: a unit or code appended to the
/// name). Names are compared both with and without `short_tail`, since a short last word may
/// also be the head (`Official_sex`).
fn light_at(words: &[&str], k: usize, short_tail: bool) -> bool {
    is_light(words[k])
        || (short_tail && k + 1 == words.len() && k > 0 && words[k].chars().count() <= 3)
}

/// The similarity of two names in `[0, 1]` (see the module documentation).
pub fn name_similarity(lexicon: &Lexicon, a: &str, b: &str) -> f64 {
    name_score(lexicon, a, b).0
}

/// [`name_similarity`] with the kind of evidence that decided it.
pub fn name_score(lexicon: &Lexicon, a: &str, b: &str) -> (f64, NameEvidence) {
    let (ca, cb) = (lexicon.concept(a), lexicon.concept(b));
    if ca == cb {
        return (1.0, NameEvidence::Lexicon);
    }
    let wa: Vec<&str> = ca.split('_').filter(|w| !w.is_empty()).collect();
    let wb: Vec<&str> = cb.split('_').filter(|w| !w.is_empty()).collect();
    let mut best = (0.0, NameEvidence::Unrelated);
    let mut consider = |score: f64, evidence: NameEvidence| {
        if score > best.0 {
            best = (score, evidence);
        }
    };
    for short_tail in [false, true] {
        let (words, evidence) = word_agreement(&wa, &wb, short_tail);
        consider(words, evidence);
    }
    // The words as written too (the lexicon may expand a unit into a word: `min`).
    let raw = |s: &str| -> Vec<String> {
        split_words(s)
            .into_iter()
            .map(|w| w.to_lowercase())
            .collect()
    };
    let (ra, rb) = (raw(a), raw(b));
    let ra: Vec<&str> = ra.iter().map(String::as_str).collect();
    let rb: Vec<&str> = rb.iter().map(String::as_str).collect();
    for short_tail in [false, true] {
        let (words, evidence) = word_agreement(&ra, &rb, short_tail);
        consider(words, evidence);
    }
    let initials = initials(&wa, &wb)
        .max(initials(&wb, &wa))
        .max(initials(&ra, &rb))
        .max(initials(&rb, &ra));
    consider(initials, NameEvidence::Abbreviation);
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
    consider(spelling * 0.9, NameEvidence::Spelling);
    best
}

/// How alike two single (normalized, lowercase) words are, and why.
pub fn word_similarity(a: &str, b: &str) -> (f64, NameEvidence) {
    if a == b {
        return (1.0, NameEvidence::Lexicon);
    }
    let mut best = (0.0, NameEvidence::Unrelated);
    let semantic = semantic::builtin().word_relatedness(a, b);
    if semantic > best.0 {
        best = (semantic, NameEvidence::Semantic);
    }
    let abbreviation = abbreviation(a, b).max(abbreviation(b, a));
    if abbreviation > best.0 {
        best = (abbreviation, NameEvidence::Abbreviation);
    }
    let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if ca.len() >= 4 && cb.len() >= 4 {
        let longest = ca.len().max(cb.len());
        let spelling = 1.0 - edit_distance(&ca, &cb) as f64 / longest as f64;
        if spelling >= 0.75 && spelling * 0.9 > best.0 {
            best = (spelling * 0.9, NameEvidence::Spelling);
        }
    }
    best
}

/// `short` abbreviating `long`: a prefix of at least three letters (`veh`, `dept`), or, for a
/// short word, the first letter and then consonants of `long` in order (`qty`, `amt`, `nbr`).
fn abbreviation(short: &str, long: &str) -> f64 {
    let (s, l): (Vec<char>, Vec<char>) = (short.chars().collect(), long.chars().collect());
    if s.len() < 2 || l.len() < s.len() + 2 || s.first() != l.first() {
        return 0.0;
    }
    if s.len() >= 3 && l.starts_with(&s) {
        return 0.85;
    }
    // A consonant skeleton: after the first letter only consonants (`qty`, `nbr`, `mgr`; not
    // `star` in `stoquamur`).
    let consonants = s[1..]
        .iter()
        .all(|c| c.is_alphabetic() && !"aeiou".contains(*c));
    if s.len() >= 3 && s.len() <= 5 && consonants {
        let mut rest = l.iter();
        if s.iter().all(|c| rest.any(|x| x == c)) {
            return 0.75;
        }
    }
    0.0
}

/// One word that is the initials of the other name's words (`vin` for `vehicle
/// identification number`, `ssn`, `ci` for `check in`): two words or more, the initials of all
/// of them or of the content words, in order.
fn initials(one: &[&str], many: &[&str]) -> f64 {
    let [word] = one else { return 0.0 };
    let content: Vec<&str> = many.iter().filter(|w| !is_light(w)).copied().collect();
    let of = |words: &[&str]| -> String { words.iter().filter_map(|w| w.chars().next()).collect() };
    let matches = |words: &[&str]| words.len() >= 2 && of(words) == *word;
    if matches(many) || matches(&content) {
        0.85
    } else {
        0.0
    }
}

/// The weight of word `k` of `words`: the head (last content word) weighs 1.5, light words
/// 0.25, the others 1.
fn weights(words: &[&str], short_tail: bool) -> Vec<f64> {
    let head = (0..words.len()).rposition(|k| !light_at(words, k, short_tail));
    words
        .iter()
        .enumerate()
        .map(|(k, _)| {
            if light_at(words, k, short_tail) {
                0.25
            } else if Some(k) == head {
                1.5
            } else {
                1.0
            }
        })
        .collect()
}

/// The weighted agreement of two word lists (greedy pairing of the most alike words first).
fn word_agreement(a: &[&str], b: &[&str], short_tail: bool) -> (f64, NameEvidence) {
    if a.is_empty() || b.is_empty() {
        return (0.0, NameEvidence::Unrelated);
    }
    let (wa, wb) = (weights(a, short_tail), weights(b, short_tail));
    let head = |words: &[&str]| (0..words.len()).rposition(|k| !light_at(words, k, short_tail));
    let (head_a, head_b) = (head(a), head(b));
    let mut pairs: Vec<(f64, NameEvidence, usize, usize)> = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            let (s, e) = word_similarity(x, y);
            if s >= 0.5 {
                pairs.push((s, e, i, j));
            }
        }
    }
    pairs.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.2.cmp(&q.2)).then(p.3.cmp(&q.3)));
    let (mut used_a, mut used_b) = (vec![false; a.len()], vec![false; b.len()]);
    let mut matched = 0.0;
    let mut weakest = NameEvidence::Lexicon;
    let mut weakest_score = 1.0;
    for (s, e, i, j) in pairs {
        if used_a[i] || used_b[j] {
            continue;
        }
        // Loosely related words (siblings such as start/end) agree only as the two heads;
        // as modifiers they tell things apart.
        if s < SAME_NAME && (Some(i) != head_a || Some(j) != head_b) {
            continue;
        }
        used_a[i] = true;
        used_b[j] = true;
        matched += s * (wa[i] + wb[j]);
        if s < weakest_score {
            weakest_score = s;
            weakest = e;
        }
    }
    let total: f64 = wa.iter().sum::<f64>() + wb.iter().sum::<f64>();
    let mut score = matched / total;
    let left_a = (0..a.len()).any(|i| !used_a[i] && !light_at(a, i, short_tail));
    let left_b = (0..b.len()).any(|j| !used_b[j] && !light_at(b, j, short_tail));
    if left_a && left_b {
        score *= 0.8;
    }
    let evidence = if matched == 0.0 {
        NameEvidence::Unrelated
    } else if left_a || left_b || used_a.iter().chain(&used_b).any(|u| !u) {
        NameEvidence::Words
    } else {
        weakest
    };
    (score, evidence)
}

pub(crate) fn edit_distance(a: &[char], b: &[char]) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f64 {
        name_similarity(&Lexicon::builtin(), a, b)
    }

    #[test]
    fn lexicon_names_are_the_same() {
        assert_eq!(sim("EMPLOYEE", "Employees"), 1.0);
        assert!(sim("Birth_date", "BirthDate") > 0.99);
        assert!(sim("Start_date", "Startdate") >= SAME_NAME);
    }

    #[test]
    fn different_names_stay_apart() {
        assert!(sim("Salary", "Name") < 0.5);
        assert!(sim("EMPLOYEE", "DEPARTMENT") < 0.5);
        assert!(
            sim("Start_date", "End_date") < SAME_NAME,
            "{}",
            sim("Start_date", "End_date")
        );
        assert!(sim("Birth_date", "Order_date") < SAME_NAME);
        assert!(sim("Stars", "Stoquamur") < SAME_NAME);
    }

    #[test]
    fn units_and_added_words_are_harmless() {
        assert!(
            sim("Height_cm", "Height") >= SAME_NAME,
            "{}",
            sim("Height_cm", "Height")
        );
        assert!(sim("Weight", "WeightKg") >= SAME_NAME);
        assert!(
            sim("Duration", "Duration_ms") >= SAME_NAME,
            "{}",
            sim("Duration", "Duration_ms")
        );
        assert!(sim("Name", "Name_min") >= SAME_NAME);
        assert!(sim("Sex", "Official_sex") >= SAME_NAME);
        assert!(
            sim("Address", "DeliveryAddress") >= SAME_NAME,
            "{}",
            sim("Address", "DeliveryAddress")
        );
    }

    #[test]
    fn abbreviations_beyond_the_lexicon() {
        assert!(sim("Vehicle_identification_number", "VIN") >= SAME_NAME);
        assert!(sim("Check_in", "CI") >= SAME_NAME);
        assert!(
            sim("Quantity", "Qty") >= SAME_NAME,
            "{}",
            sim("Quantity", "Qty")
        );
        assert!(sim("Warehouse", "Wareh") >= SAME_NAME);
        assert_eq!(
            name_score(&Lexicon::builtin(), "Wareh", "Warehouse").1,
            NameEvidence::Abbreviation
        );
    }

    #[test]
    fn similarity_is_symmetric() {
        for (a, b) in [
            ("Height_cm", "Height"),
            ("VIN", "Vehicle_identification_number"),
            ("Qty", "Quantity"),
        ] {
            assert_eq!(sim(a, b), sim(b, a), "{a} {b}");
        }
    }
}
