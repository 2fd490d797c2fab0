//! Name augmentation: training examples with every element name replaced by a made-up one.
//!
//! Trained only on the library's assignments, the model learns their names: on assignments it
//! has never seen (`unseen.jsonl`) it reported mistakes in lines identical to the reference.
//! Replacing the names of some examples — consistently within the example, in the prompt and
//! in the verdict — leaves only the comparison to learn there.

use crate::r2ta::traces::TraceRecord;
use crate::rng::Rng;
use eerd::finding::Category;
use eerd::trace::PROMPT_WORDS;
use std::collections::HashMap;

/// Words of the compact lines and the verdict grammar that are not names (the focused
/// prompts' own words are [`PROMPT_WORDS`]).
const GRAMMAR: &[&str] = &["ok", "E", "W", "R", "I", "S", "U", "N", "M", "d", "o"];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "be", "do", "fu", "ga", "hi", "jo", "pe", "sa",
    "ti", "wu", "xe", "ya", "bra", "kel", "mon", "dar", "sil", "tor", "ven", "qua",
];

fn is_grammar(word: &str) -> bool {
    GRAMMAR.contains(&word)
        || PROMPT_WORDS.contains(&word)
        || Category::ALL.iter().any(|c| c.id() == word)
}

/// A made-up name in the style of `like`: all capitals for entity-style names, else a
/// capital first letter; parts joined by `_` like the original.
fn made_up(like: &str, rng: &mut Rng) -> String {
    let parts = like
        .split('_')
        .filter(|p| !p.is_empty())
        .count()
        .clamp(1, 3);
    let mut words = Vec::with_capacity(parts);
    for _ in 0..parts {
        let n = 1 + rng.below(3);
        let word: String = (0..n)
            .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
            .collect();
        words.push(word);
    }
    let name = words.join("_");
    let upper = like.chars().any(char::is_alphabetic)
        && like
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    if upper {
        name.to_uppercase()
    } else {
        let mut chars = name.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

/// `record` with every name in its prompt and completion replaced by a made-up one, the same
/// name always by the same replacement (and different names by different ones).
pub fn rename(record: &TraceRecord, rng: &mut Rng) -> TraceRecord {
    let mut map: HashMap<String, String> = HashMap::new();
    let mut taken: Vec<String> = Vec::new();
    let mut replace = |text: &str, rng: &mut Rng| -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let mut flush = |word: &mut String, out: &mut String, rng: &mut Rng| {
            if word.is_empty() {
                return;
            }
            let starts_alpha = word.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
            if !starts_alpha || is_grammar(word) {
                out.push_str(word);
            } else {
                let new = map
                    .entry(word.clone())
                    .or_insert_with(|| loop {
                        let candidate = made_up(word, rng);
                        if !taken.contains(&candidate) && !is_grammar(&candidate) {
                            taken.push(candidate.clone());
                            break candidate;
                        }
                    })
                    .clone();
                out.push_str(&new);
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
            } else {
                flush(&mut word, &mut out, rng);
                out.push(c);
            }
        }
        flush(&mut word, &mut out, rng);
        out
    };
    let prompt = replace(&record.prompt, rng);
    let completion = replace(&record.completion, rng);
    TraceRecord {
        id: record.id.clone(),
        prompt,
        completion,
    }
}

/// `records` with a share `rate` of them renamed (deterministic for `seed`).
pub fn rename_some(records: &[TraceRecord], rate: f64, seed: u64) -> Vec<TraceRecord> {
    let mut rng = Rng::new(seed ^ 0x6e61_6d65_7321);
    records
        .iter()
        .map(|r| {
            if rng.next_f64() < rate {
                rename(r, &mut rng)
            } else {
                r.clone()
            }
        })
        .collect()
}

/// [`rename_some`] of `records`, followed by `copies` more copies of all of them, each
/// renamed with fresh made-up names (deterministic for `seed`).
pub fn with_renamed_copies(
    records: &[TraceRecord],
    rate: f64,
    copies: usize,
    seed: u64,
) -> Vec<TraceRecord> {
    let mut out = rename_some(records, rate, seed);
    for k in 1..=copies as u64 {
        out.extend(rename_some(
            records,
            1.0,
            seed.wrapping_add(k.wrapping_mul(0x9e37_79b9)),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renamed(prompt: &str, completion: &str) -> TraceRecord {
        let record = TraceRecord {
            id: "x#1".into(),
            prompt: prompt.into(),
            completion: completion.into(),
        };
        let out = rename(&record, &mut Rng::new(3));
        assert_eq!(rename(&record, &mut Rng::new(3)), out, "deterministic");
        out
    }

    #[test]
    fn names_are_replaced_consistently_and_the_grammar_kept() {
        let out = renamed(
            "Grade one attribute.\nReference: WORKS_ON: Hours\nStudent: WORKS_ON: -\n\
             Student also: EMPLOYEE: Hours\n",
            "misplaced_attribute WORKS_ON.Hours",
        );
        assert!(out.prompt.starts_with("Grade one attribute.\nReference: "));
        assert!(!out.prompt.contains("WORKS_ON") && !out.prompt.contains("Hours"));
        let works_on = out.prompt["Grade one attribute.\nReference: ".len()..]
            .split(':')
            .next()
            .unwrap()
            .to_string();
        assert!(
            works_on.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
            "{works_on}"
        );
        let words = |text: &str, word: &str| {
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| *w == word)
                .count()
        };
        assert_eq!(words(&out.prompt, &works_on), 2, "{}", out.prompt);
        assert!(out
            .completion
            .starts_with(&format!("misplaced_attribute {works_on}.")));
        let hours = out.completion.rsplit('.').next().unwrap();
        assert_eq!(words(&out.prompt, hours), 2, "{}", out.prompt);
        assert!(out.prompt.contains(": -\nStudent also: "));
    }

    /// Labels and markers are words too; renaming them would hide the very difference a step
    /// is about.
    #[test]
    fn markers_and_headers_are_kept() {
        let side = renamed(
            "Grade one side.\nReference: WORKS_ON: EMPLOYEE total N\n\
             Student: WORKS_ON: EMPLOYEE:boss min 0 max 1\n",
            "wrong_participation WORKS_ON/EMPLOYEE",
        );
        assert!(
            side.prompt.starts_with("Grade one side.\n"),
            "{}",
            side.prompt
        );
        assert!(side.prompt.contains(" total N\n") && side.prompt.contains(" min 0 max 1\n"));
        let kind = renamed(
            "Grade one attribute.\nReference: D: Places multivalued composite derived\n",
            "ok",
        );
        assert!(
            kind.prompt.ends_with(" multivalued composite derived\n"),
            "{}",
            kind.prompt
        );
        let element = renamed(
            "Grade one element.\nReference: weak entity DEPENDENT: partial key Name\n\
             Student: entity DEPENDENT: no key\n",
            "weak_entity DEPENDENT",
        );
        assert!(element.prompt.contains("Reference: weak entity "));
        assert!(element.prompt.contains(": partial key "));
        assert!(
            element.prompt.contains("Student: entity ") && element.prompt.ends_with(": no key\n")
        );
    }

    #[test]
    fn renamed_copies_follow_the_originals_each_with_fresh_names() {
        let records: Vec<TraceRecord> = ["EMPLOYEE", "PROJECT"]
            .iter()
            .map(|name| TraceRecord {
                id: format!("{name}#1"),
                prompt: format!(
                    "Grade one element.\nReference: entity {name}: no key\nStudent: -\n"
                ),
                completion: format!("missing_entity {name}"),
            })
            .collect();
        let out = with_renamed_copies(&records, 0.0, 2, 7);
        assert_eq!(out.len(), 6);
        assert_eq!(&out[..2], &records[..]);
        assert_eq!(
            out,
            with_renamed_copies(&records, 0.0, 2, 7),
            "deterministic"
        );
        let prompts: std::collections::HashSet<&str> =
            out.iter().map(|r| r.prompt.as_str()).collect();
        assert_eq!(prompts.len(), 6, "every copy has names of its own");
        for copy in &out[2..] {
            let name = copy.completion.strip_prefix("missing_entity ").unwrap();
            assert!(
                copy.prompt.contains(&format!("entity {name}: no key")),
                "{copy:?}"
            );
        }
    }
}
