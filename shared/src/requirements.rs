//! The sentence of an assignment's requirements that a finding comes from.
//!
//! A finding names reference elements; the requirements (`requirements.md`) say in prose why
//! those elements are as they are. [`Requirements::parse`] splits the Markdown into sentences
//! (headings left out; a numbered item keeps its number, as the page's `data-n`), and
//! [`Requirements::locate`] finds the sentence that speaks of the finding's elements:
//!
//! 1. The finding's path gives the elements involved, each with a weight: the element itself
//!    (1.0) and its context in the reference — an attribute's owner (0.7); a side's
//!    relationship and entity (1.0 each), the relationship's other participants (0.5 shared)
//!    and the role (0.5); a relationship's participants (1.0 shared); a specialization's
//!    subclasses and a union's superclasses (0.5 each).
//! 2. Each element's name is read as words (`WORKS_ON` → `works on`, `Birth_date` → `birth
//!    date`), also in every phrasing the lexicon knows (`Ssn` → `social security number`);
//!    function words and units are left out. A sentence covers a phrasing by the share of its
//!    words it contains, a word counting as contained when a sentence word is alike by
//!    [`word_similarity`] (the matching's own word test) at [`STRONG_MATCH`] or more (the same
//!    lemma, WordNet synonyms, abbreviations), or at [`WORD_MATCH`] by near spelling or a
//!    WordNet derivation (`supervision` / `supervisor`).
//!    Phrasings of fewer words than the name are not used (`Viewing_date` → `Viewed` would
//!    be covered by any sentence with "view").
//! 3. The sentence's score is the weighted mean of its elements' best coverage, plus
//!    [`CUE_BONUS`] for each distinct word typical of the finding's category it has, up to
//!    [`MAX_CUES`] (`every`, `least`, `one`, `more` for sides and relationship structure;
//!    `unique`, `identifies` for keys; …), minus [`OVERVIEW_PENALTY`] for a
//!    sentence outside the numbered requirements when there are numbered ones.
//! 4. The best sentence wins if the score is at least [`MIN_SCORE`] and, except for a
//!    relationship or a side, the sentence covers half of the element's own name; otherwise
//!    there is no citation. On a tie the shorter sentence wins (it is
//!    the more specific: "A department controls a number of projects" over an introduction
//!    listing every entity type), then the earlier.
//!
//! The rules grader and the model grader (with or without the inference audit) call [`cite`]
//! on their findings; the hand-checked accuracy is in `docs/requirement-sentences.md`.

use crate::finding::{Category, Citation, Finding};
use crate::lexicon::{split_words, Lexicon};
use crate::matching::{word_similarity, NameEvidence};
use crate::model::Diagram;
use crate::path::ElementPath;

/// The least [`word_similarity`] at which a sentence word stands for a name's word by
/// spelling, abbreviation or derivation.
pub const WORD_MATCH: f64 = 0.7;
/// The least [`word_similarity`] at which any sentence word stands for a name's word (the same
/// lemma, synonyms, abbreviations).
pub const STRONG_MATCH: f64 = 0.8;
/// The least score of a cited sentence.
pub const MIN_SCORE: f64 = 0.45;
/// Added to a sentence's score for each distinct word typical of the finding's category it
/// has, up to [`MAX_CUES`] words.
pub const CUE_BONUS: f64 = 0.05;
/// The most cue words that count.
pub const MAX_CUES: usize = 3;
/// Taken from the score of a sentence outside the numbered requirements when there are any:
/// an introduction names every entity type but specifies none.
pub const OVERVIEW_PENALTY: f64 = 0.2;

/// One sentence of the requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// The number of the numbered list item it is in (`1.` → 1), if any.
    pub item: Option<u32>,
    /// The sentence as a reader sees it: inline Markdown marks (`` ` ``, `*`) removed.
    pub text: String,
    /// Its words, lower case.
    words: Vec<String>,
}

/// The requirements' sentences, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Every sentence outside headings.
    pub sentences: Vec<Sentence>,
}

/// Function words left out of a sentence's words (they never identify an element).
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "of", "on", "in", "at", "by", "for", "to", "and", "or", "is", "are", "be",
    "it", "its", "we", "our", "each", "with", "as", "that", "which", "who", "this", "has", "have",
    "may", "can", "not", "no", "but", "from", "their", "they", "them", "also",
];

/// Words that signal each category's kind of statement.
fn cues(category: Category) -> &'static [&'static str] {
    match category {
        Category::WrongParticipation
        | Category::WrongCardinality
        | Category::RelationshipStructure => &[
            "every", "least", "must", "all", "always", "possibly", "none", "optional", "one",
            "more", "exactly", "many", "several", "most", "single", "only", "any", "zero",
        ],
        Category::WrongKey => &["unique", "identifies", "identified", "identify", "key"],
        Category::WeakEntity => &[
            "identified",
            "together",
            "belongs",
            "own",
            "depends",
            "unique",
            "within",
        ],
        Category::AttributeKind => &[
            "several", "multiple", "computed", "derived", "consists", "made", "parts", "list",
        ],
        Category::Specialization => &[
            "either", "kinds", "types", "both", "kind", "type", "special",
        ],
        Category::MissingEntity => &["unique", "identified", "identifies"],
        Category::MissingAttribute => &["store", "stored", "record", "recorded", "kept"],
        _ => &[],
    }
}

/// `text` without inline Markdown marks.
fn plain(text: &str) -> String {
    text.replace("**", "")
        .replace(['`', '*'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The lower-case words of a sentence, function words left out.
fn sentence_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .flat_map(split_words)
        .map(|w| w.to_lowercase())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// `block` cut into sentences: after `.`, `!` or `?` followed by a space and a capital letter,
/// a digit or an opening quote.
fn split_sentences(block: &str) -> Vec<String> {
    let chars: Vec<char> = block.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let end = matches!(chars[i], '.' | '!' | '?');
        let next_starts = chars.get(i + 1).is_some_and(|c| c.is_whitespace())
            && chars
                .get(i + 2)
                .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || *c == '"');
        if end && next_starts {
            out.push(chars[start..=i].iter().collect::<String>());
            start = i + 2;
        }
    }
    if start < chars.len() {
        out.push(chars[start..].iter().collect());
    }
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A list item's number (for a numbered one) and text: `12. Text`, `12) Text`, `- Text`,
/// `* Text`, `+ Text`, after any indentation, with any white space after the marker.
fn list_item(line: &str) -> Option<(Option<u32>, &str)> {
    let t = line.trim_start();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, rest) = if digits > 0 {
        let rest = t[digits..]
            .strip_prefix('.')
            .or_else(|| t[digits..].strip_prefix(')'))?;
        (Some(t[..digits].parse::<u32>().ok()?), rest)
    } else {
        (None, t.strip_prefix(['-', '*', '+'])?)
    };
    rest.starts_with(char::is_whitespace)
        .then(|| (number, rest.trim()))
        .filter(|(_, text)| !text.is_empty())
}

/// Whether `line` is a Markdown heading (`#` to `######` and a space).
fn is_heading(line: &str) -> bool {
    let hashes = line.len() - line.trim_start_matches('#').len();
    (1..=6).contains(&hashes) && line[hashes..].starts_with(char::is_whitespace)
}

impl Requirements {
    /// The sentences of a requirements text in Markdown. Blocks are read as the page renders
    /// them (`renderMarkdown` in `web/www/core.js`), so a sentence's item is the `li` the page
    /// shows it in: headings are left out; a list item continues on indented lines; any other
    /// line starts or continues a paragraph; an empty line ends a block.
    pub fn parse(markdown: &str) -> Requirements {
        // Blocks: a list item (with its indented continuation lines) or a paragraph.
        let mut blocks: Vec<(Option<u32>, String)> = Vec::new();
        // The open block: whether it is a list item.
        let mut open: Option<bool> = None;
        for raw in markdown.lines() {
            let line = raw.trim_end();
            let continues = match open {
                Some(true) => raw.starts_with(char::is_whitespace),
                Some(false) => true,
                None => false,
            };
            if line.trim().is_empty() || is_heading(line) {
                open = None;
            } else if let Some((number, text)) = list_item(line) {
                blocks.push((number, text.to_string()));
                open = Some(true);
            } else if continues {
                if let Some((_, text)) = blocks.last_mut() {
                    text.push(' ');
                    text.push_str(line.trim());
                }
            } else {
                blocks.push((None, line.trim().to_string()));
                open = Some(false);
            }
        }
        let sentences = blocks
            .into_iter()
            .flat_map(|(item, block)| {
                split_sentences(&plain(&block))
                    .into_iter()
                    .map(move |text| Sentence {
                        item,
                        words: sentence_words(&text),
                        text,
                    })
            })
            .collect();
        Requirements { sentences }
    }

    /// The sentence a finding of `category` on the reference `element` comes from, if one is
    /// found (see the module documentation).
    pub fn locate(
        &self,
        lexicon: &Lexicon,
        reference: &Diagram,
        category: Category,
        element: &ElementPath,
    ) -> Option<&Sentence> {
        let (involved, own_required) = involved(reference, element);
        let numbered = self.sentences.iter().any(|s| s.item.is_some());
        let phrasings: Vec<Vec<Vec<String>>> = involved
            .iter()
            .map(|(name, _)| name_phrasings(lexicon, name))
            .collect();
        let total: f64 = involved.iter().map(|(_, w)| w).sum();
        let mut best: Option<(f64, &Sentence)> = None;
        for sentence in &self.sentences {
            let coverage: Vec<f64> = phrasings
                .iter()
                .map(|p| best_coverage(p, &sentence.words))
                .collect();
            if own_required && coverage.first().is_none_or(|c| *c < 0.5) {
                continue;
            }
            let mut score = involved
                .iter()
                .zip(&coverage)
                .map(|((_, w), c)| w * c)
                .sum::<f64>()
                / total;
            let mut cued: Vec<&str> = sentence
                .words
                .iter()
                .map(String::as_str)
                .filter(|w| cues(category).contains(w))
                .collect();
            cued.sort_unstable();
            cued.dedup();
            score += CUE_BONUS * cued.len().min(MAX_CUES) as f64;
            if numbered && sentence.item.is_none() {
                score -= OVERVIEW_PENALTY;
            }
            let better = |(b, s): (f64, &Sentence)| {
                score > b + 1e-9 || (score > b - 1e-9 && sentence.words.len() < s.words.len())
            };
            if score >= MIN_SCORE && best.is_none_or(better) {
                best = Some((score, sentence));
            }
        }
        best.map(|(_, s)| s)
    }
}

/// The entity types `relationship` joins in `reference` (each once), in link order.
fn participants(reference: &Diagram, relationship: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for link in reference
        .links
        .iter()
        .filter(|l| l.relationship == relationship)
    {
        if !out.contains(&link.entity) {
            out.push(link.entity.clone());
        }
    }
    out
}

/// The element names a path involves, the finding's own element first, with their weights,
/// and whether a cited sentence must speak of the element itself (not so for a relationship,
/// whose name is often not in the prose: "Any vet may give any medicine to any pet" is TREATS).
fn involved(reference: &Diagram, element: &ElementPath) -> (Vec<(String, f64)>, bool) {
    let shared = |names: &[String], total: f64| -> Vec<(String, f64)> {
        let w = total / names.len().max(1) as f64;
        names.iter().map(|n| (n.clone(), w)).collect()
    };
    let list = match element {
        ElementPath::Named(name) => {
            let joined = participants(reference, name);
            if joined.is_empty() {
                vec![(name.clone(), 1.0)]
            } else {
                let mut out = vec![(name.clone(), 1.0)];
                out.extend(shared(&joined, 1.0));
                return (out, false);
            }
        }
        ElementPath::Attribute { owner, names } => {
            let own = names.last().unwrap_or(owner);
            vec![(own.clone(), 1.0), (owner.clone(), 0.7)]
        }
        ElementPath::Side {
            relationship,
            entity,
            role,
        } => {
            let mut out = vec![(relationship.clone(), 1.0), (entity.clone(), 1.0)];
            let others: Vec<String> = participants(reference, relationship)
                .into_iter()
                .filter(|e| e != entity)
                .collect();
            out.extend(shared(&others, 0.5));
            if let Some(role) = role {
                out.push((role.clone(), 0.5));
            }
            return (out, false);
        }
        ElementPath::Specialization {
            superclass,
            subclasses,
        } => {
            let mut out = vec![(superclass.clone(), 1.0)];
            out.extend(shared(subclasses, 0.5 * subclasses.len() as f64));
            out
        }
        ElementPath::Union {
            category,
            superclasses,
        } => {
            let mut out = vec![(category.clone(), 1.0)];
            out.extend(shared(superclasses, 0.5 * superclasses.len() as f64));
            out
        }
    };
    (list, true)
}

/// The content words of `name` and of each phrasing the lexicon knows for it.
fn name_phrasings(lexicon: &Lexicon, name: &str) -> Vec<Vec<String>> {
    let content = |n: &str| -> Vec<String> {
        let words = sentence_words(&split_words(n).join(" "));
        let kept: Vec<String> = words
            .iter()
            .filter(|w| !crate::matching::names::is_light(w))
            .cloned()
            .collect();
        if kept.is_empty() {
            words
        } else {
            kept
        }
    };
    let mut out = vec![content(name)];
    let least = out[0].len();
    for variant in lexicon.variants(name) {
        // A phrasing of fewer words would be covered too easily (`Viewing_date` → `Viewed`).
        let words = content(&variant);
        if words.len() >= least && !out.contains(&words) {
            out.push(words);
        }
    }
    out.retain(|w| !w.is_empty());
    out
}

/// How well sentence word `s` stands for name word `w`: [`word_similarity`] when it is at
/// least [`STRONG_MATCH`], or at least [`WORD_MATCH`] by spelling, abbreviation or a WordNet
/// derivation (`supervision` / `supervisor`, `rent` / `renter`); else 0. Looser WordNet
/// relations (hypernyms, siblings) are left out: verb senses relate too much (`include` is a
/// kind of `view`).
fn word_match(w: &str, s: &str) -> f64 {
    let (score, evidence) = word_similarity(w, s);
    let derivation = || {
        matches!(
            crate::semantic::builtin().word_relation(w, s),
            Some(crate::semantic::Relation::Derivation)
        )
    };
    let strong = score >= STRONG_MATCH;
    let close = score >= WORD_MATCH && (evidence != NameEvidence::Semantic || derivation());
    if strong || close {
        score
    } else {
        0.0
    }
}

/// The best share of a phrasing's words that `sentence` contains.
fn best_coverage(phrasings: &[Vec<String>], sentence: &[String]) -> f64 {
    phrasings
        .iter()
        .map(|words| {
            let found: f64 = words
                .iter()
                .map(|w| {
                    sentence
                        .iter()
                        .map(|s| word_match(w, s))
                        .fold(0.0, f64::max)
                })
                .sum();
            found / words.len() as f64
        })
        .fold(0.0, f64::max)
}

/// Sets each finding's [`Finding::requirement`] to the sentence of `requirements` it comes
/// from, when one is found (the one place graders cite requirements).
pub fn cite<'a>(
    lexicon: &Lexicon,
    reference: &Diagram,
    requirements: Option<&str>,
    findings: impl IntoIterator<Item = &'a mut Finding>,
) {
    let Some(text) = requirements else { return };
    let parsed = Requirements::parse(text);
    for finding in findings {
        finding.requirement = parsed
            .locate(lexicon, reference, finding.category, &finding.element)
            .map(|s| Citation {
                item: s.item,
                sentence: s.text.clone(),
            });
    }
}

#[cfg(test)]
mod tests;
