//! Open-vocabulary renames: harmless renames the graders cannot look up.
//!
//! The lexicon's renames ([`Lexicon::variants`](crate::lexicon::Lexicon::variants)) are the
//! graders' own knowledge: a data set renamed only with them cannot show whether a grader
//! recognises the names students really write. This module is the data generator's **own**
//! rename source, kept apart from what the graders read: the matching
//! ([`crate::matching`]) never imports it (a test checks that), and its word lists are not the
//! lexicon's or the semantic table's. Each rename is of one [`RenameKind`]:
//!
//! - `added_word`: a modifier put before the name (`Address` → `Delivery_address`);
//! - `dropped_word`: a modifier left out when the head alone is still unique
//!   (`Order_date` → `Date`);
//! - `unit`: a unit of measure appended (`Height` → `Height_cm`);
//! - `abbreviation`: a long word cut to its first letters or consonants (`Manufacturer` →
//!   `Manuf`, `Quantity` → `Qnty`);
//! - `initials`: a name of several words written as its initials (`Vehicle_identification_number`
//!   → `VIN`);
//! - `opaque`: a made-up word — only structure can tell what it stands for.
//!
//! Two vocabularies: [`Vocabulary::Seen`] for the train and test splits, [`Vocabulary::Held`]
//! for `unseen.jsonl`, with disjoint modifier, unit and syllable lists, so held-out assignments
//! also have held-out vocabulary.

use crate::lexicon::split_words;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Which word lists a data split draws its open renames from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vocabulary {
    /// The train and test splits' words.
    #[default]
    Seen,
    /// `unseen.jsonl`'s words (disjoint from `Seen`).
    Held,
}

/// The kind of a harmless rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenameKind {
    /// A variant from the graders' lexicon (synonym, abbreviation, plural, case).
    Lexicon,
    /// A modifier word added.
    AddedWord,
    /// A modifier word dropped.
    DroppedWord,
    /// A unit of measure appended.
    Unit,
    /// A word cut short (prefix or consonants).
    Abbreviation,
    /// The initials of a several-word name.
    Initials,
    /// A made-up word.
    Opaque,
}

impl RenameKind {
    /// Every kind, in a stable order.
    pub const ALL: [RenameKind; 7] = [
        RenameKind::Lexicon,
        RenameKind::AddedWord,
        RenameKind::DroppedWord,
        RenameKind::Unit,
        RenameKind::Abbreviation,
        RenameKind::Initials,
        RenameKind::Opaque,
    ];

    /// The kind's id (`added_word`, …).
    pub fn id(self) -> &'static str {
        match self {
            RenameKind::Lexicon => "lexicon",
            RenameKind::AddedWord => "added_word",
            RenameKind::DroppedWord => "dropped_word",
            RenameKind::Unit => "unit",
            RenameKind::Abbreviation => "abbreviation",
            RenameKind::Initials => "initials",
            RenameKind::Opaque => "opaque",
        }
    }
}

const MODIFIERS_SEEN: &[&str] = &[
    "main",
    "primary",
    "full",
    "current",
    "official",
    "registered",
    "basic",
    "home",
    "personal",
    "actual",
];
const MODIFIERS_HELD: &[&str] = &[
    "principal",
    "complete",
    "present",
    "formal",
    "general",
    "standard",
    "overall",
    "default",
    "own",
    "chief",
];
const UNITS_SEEN: &[&str] = &["cm", "kg", "eur", "usd", "min", "km"];
const UNITS_HELD: &[&str] = &["mm", "lb", "gbp", "sec", "yen", "ms"];
const SYLLABLES_SEEN: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "bra", "kel", "mon", "dar",
];
const SYLLABLES_HELD: &[&str] = &[
    "pu", "se", "ho", "ba", "fi", "gu", "wen", "tor", "lis", "qua", "sto", "mur",
];

fn modifiers(v: Vocabulary) -> &'static [&'static str] {
    match v {
        Vocabulary::Seen => MODIFIERS_SEEN,
        Vocabulary::Held => MODIFIERS_HELD,
    }
}

fn units(v: Vocabulary) -> &'static [&'static str] {
    match v {
        Vocabulary::Seen => UNITS_SEEN,
        Vocabulary::Held => UNITS_HELD,
    }
}

fn syllables(v: Vocabulary) -> &'static [&'static str] {
    match v {
        Vocabulary::Seen => SYLLABLES_SEEN,
        Vocabulary::Held => SYLLABLES_HELD,
    }
}

/// How `like` is written, so a new name keeps its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `ORDER_LINE`
    Upper,
    /// `Order_line`
    Snake,
    /// `OrderLine`
    Camel,
}

fn style_of(like: &str) -> Style {
    let letters: Vec<char> = like.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        Style::Upper
    } else if like.contains('_') || split_words(like).len() == 1 {
        Style::Snake
    } else {
        Style::Camel
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn render(words: &[String], style: Style) -> String {
    match style {
        Style::Upper => words.join("_").to_uppercase(),
        Style::Snake => capitalize(&words.join("_")),
        Style::Camel => words.iter().map(|w| capitalize(w)).collect(),
    }
}

/// Whether `kind` can rename `name` (an attribute when `attribute`); role and entity names
/// take no units or initials.
pub fn applies(kind: RenameKind, name: &str, attribute: bool) -> bool {
    let words = split_words(name);
    let long_word = words.iter().any(|w| w.chars().count() >= 7);
    match kind {
        RenameKind::Lexicon => true,
        RenameKind::AddedWord | RenameKind::Opaque => !words.is_empty(),
        // The head left alone must be a word of its own (not `at` of `Created_at`).
        RenameKind::DroppedWord => {
            words.len() >= 2 && words.last().is_some_and(|w| w.chars().count() >= 4)
        }
        RenameKind::Unit => attribute && words.len() <= 2,
        RenameKind::Abbreviation => long_word,
        RenameKind::Initials => attribute && (2..=4).contains(&words.len()),
    }
}

/// A harmless rename of `name` of `kind` from `vocabulary` (`None` when the kind does not
/// apply to it; see [`applies`]). `Lexicon` renames are not made here.
pub fn rename(
    kind: RenameKind,
    name: &str,
    attribute: bool,
    vocabulary: Vocabulary,
    rng: &mut Rng,
) -> Option<String> {
    if !applies(kind, name, attribute) {
        return None;
    }
    let words = split_words(name);
    let style = style_of(name);
    let new = match kind {
        RenameKind::Lexicon => return None,
        RenameKind::AddedWord => {
            let list = modifiers(vocabulary);
            let modifier = list[rng.below(list.len())].to_string();
            let mut out = vec![modifier];
            out.extend(words);
            render(&out, style)
        }
        RenameKind::DroppedWord => {
            // Keep the head (the last word); drop one word before it.
            let k = rng.below(words.len() - 1);
            let out: Vec<String> = words
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .map(|(_, w)| w.clone())
                .collect();
            render(&out, style)
        }
        RenameKind::Unit => {
            let list = units(vocabulary);
            let mut out = words;
            out.push(list[rng.below(list.len())].to_string());
            match style {
                Style::Camel => {
                    let unit = out.pop().unwrap_or_default();
                    format!("{}_{unit}", render(&out, style))
                }
                _ => render(&out, style),
            }
        }
        RenameKind::Abbreviation => {
            let out: Vec<String> = words
                .iter()
                .map(|w| {
                    let chars: Vec<char> = w.chars().collect();
                    if chars.len() < 7 {
                        return w.clone();
                    }
                    if rng.chance(0.5) {
                        chars[..4 + rng.below(2)].iter().collect()
                    } else {
                        // The first letter, then the consonants, at most four letters.
                        let mut s: String = chars[..1].iter().collect();
                        s.extend(chars[1..].iter().filter(|c| !"aeiou".contains(**c)).take(3));
                        s
                    }
                })
                .collect();
            render(&out, style)
        }
        RenameKind::Initials => words
            .iter()
            .filter_map(|w| w.chars().next())
            .collect::<String>()
            .to_uppercase(),
        RenameKind::Opaque => {
            let list = syllables(vocabulary);
            let n = 2 + rng.below(2);
            let word: String = (0..n).map(|_| list[rng.below(list.len())]).collect();
            render(&[word], style)
        }
    };
    (new.to_lowercase() != name.to_lowercase() && !new.is_empty()).then_some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_renames_in_the_original_style() {
        let mut rng = Rng::new(7);
        let added = rename(
            RenameKind::AddedWord,
            "Address",
            true,
            Vocabulary::Seen,
            &mut rng,
        )
        .unwrap();
        assert!(
            added.ends_with("_address") && added.starts_with(char::is_uppercase),
            "{added}"
        );
        assert_eq!(
            rename(
                RenameKind::DroppedWord,
                "Order_date",
                true,
                Vocabulary::Seen,
                &mut rng
            )
            .as_deref(),
            Some("Date")
        );
        let unit = rename(RenameKind::Unit, "Height", true, Vocabulary::Held, &mut rng).unwrap();
        assert!(
            UNITS_HELD.iter().any(|u| unit == format!("Height_{u}")),
            "{unit}"
        );
        let short = rename(
            RenameKind::Abbreviation,
            "Manufacturer",
            true,
            Vocabulary::Seen,
            &mut rng,
        )
        .unwrap();
        assert!(short.len() <= 5 && short.starts_with('M'), "{short}");
        assert_eq!(
            rename(
                RenameKind::Initials,
                "Vehicle_identification_number",
                true,
                Vocabulary::Seen,
                &mut rng
            )
            .as_deref(),
            Some("VIN")
        );
        let opaque = rename(
            RenameKind::Opaque,
            "EMPLOYEE",
            false,
            Vocabulary::Held,
            &mut rng,
        )
        .unwrap();
        assert!(opaque.chars().all(|c| c.is_uppercase()), "{opaque}");
        assert_eq!(
            rename(
                RenameKind::Unit,
                "EMPLOYEE",
                false,
                Vocabulary::Seen,
                &mut rng
            ),
            None
        );
        assert_eq!(
            rename(
                RenameKind::DroppedWord,
                "Salary",
                true,
                Vocabulary::Seen,
                &mut rng
            ),
            None
        );
    }

    #[test]
    fn the_two_vocabularies_share_no_word() {
        for (a, b) in [
            (MODIFIERS_SEEN, MODIFIERS_HELD),
            (UNITS_SEEN, UNITS_HELD),
            (SYLLABLES_SEEN, SYLLABLES_HELD),
        ] {
            assert!(a.iter().all(|w| !b.contains(w)));
        }
    }

    /// The graders never read this module: the matching (and everything built on it) has no
    /// path to the generator's rename source.
    #[test]
    fn the_graders_do_not_read_this_module() {
        let sources = [
            include_str!("../matching/mod.rs"),
            include_str!("../matching/names.rs"),
            include_str!("../matching/attributes.rs"),
            include_str!("../matching/assign.rs"),
            include_str!("../grade/rules.rs"),
            include_str!("../semantic.rs"),
            include_str!("../lexicon.rs"),
        ];
        for text in sources {
            assert!(
                !text.contains("vocabulary::"),
                "a grader reads mutate::vocabulary"
            );
        }
    }
}
