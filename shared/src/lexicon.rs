//! Harmless renames: synonyms, abbreviations, plural and case of element names.
//!
//! A student who writes `Staff`, `Employees` or `Dept_no` where the reference says `EMPLOYEE`,
//! `EMPLOYEE` or `Dnumber` has made no mistake (`mistakes.md`). The [`Lexicon`] knows such
//! renames in both directions:
//!
//! - [`Lexicon::variants`] lists names a student could write for a name;
//! - [`Lexicon::concept`] maps a name to a normalized key, the same for every variant of it:
//!   lowercase words (split on `_`, spaces and case changes), singular, abbreviations expanded,
//!   each synonym phrase replaced by its group's head.
//!
//! The built-in data ([`Lexicon::builtin`]) is the text file `lexicon.txt` beside this module;
//! its header documents the format.

use std::collections::{HashMap, HashSet};

/// The longest synonym phrase, in words.
const MAX_PHRASE: usize = 4;

/// A synonym and inflection lexicon (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// Synonym groups: each a list of phrases (lowercase singular words), the head first.
    groups: Vec<Vec<Vec<String>>>,
    /// A phrase (words joined by spaces) → its group's index.
    phrase_group: HashMap<String, usize>,
    /// Irregular plural → singular.
    singular_of: HashMap<String, String>,
    /// Irregular singular → plural.
    plural_of: HashMap<String, String>,
    /// Words that do not inflect.
    fixed: HashSet<String>,
}

/// A line of lexicon data that is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexiconError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LexiconError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lexicon line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LexiconError {}

/// How a name is written: its separators and letter case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `BIRTH_DATE`
    UpperSnake,
    /// `Birth_date`
    CapitalSnake,
    /// `Birth_Date`
    TitleSnake,
    /// `birth_date`
    LowerSnake,
    /// `BirthDate`
    Pascal,
    /// `birthDate`
    Camel,
}

const STYLES: [Style; 6] = [
    Style::UpperSnake,
    Style::CapitalSnake,
    Style::TitleSnake,
    Style::LowerSnake,
    Style::Pascal,
    Style::Camel,
];

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn render(words: &[String], style: Style) -> String {
    match style {
        Style::UpperSnake => words
            .iter()
            .map(|w| w.to_uppercase())
            .collect::<Vec<_>>()
            .join("_"),
        Style::CapitalSnake => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { capitalize(w) } else { w.clone() })
            .collect::<Vec<_>>()
            .join("_"),
        Style::TitleSnake => words
            .iter()
            .map(|w| capitalize(w))
            .collect::<Vec<_>>()
            .join("_"),
        Style::LowerSnake => words.join("_"),
        Style::Pascal => words.iter().map(|w| capitalize(w)).collect(),
        Style::Camel => words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == 0 { w.clone() } else { capitalize(w) })
            .collect(),
    }
}

/// Splits a name into lowercase words: on `_`, spaces, `.`, `-`, and case changes
/// (`BirthDate` → `birth`, `date`; `SSNumber` → `ss`, `number`). Digits stay with their word.
pub fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for chunk in name.split(['_', ' ', '.', '-']) {
        let chars: Vec<char> = chunk.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && c.is_uppercase() {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let boundary = prev.is_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_uppercase() && next_lower);
                if boundary && !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            current.extend(c.to_lowercase());
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

impl Lexicon {
    /// The built-in lexicon (`lexicon.txt`), which covers the names of the assignment library.
    pub fn builtin() -> Lexicon {
        static BUILTIN: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Lexicon::parse(include_str!("lexicon.txt")).expect("the built-in lexicon is valid")
            })
            .clone()
    }

    /// Reads lexicon data (the format of `lexicon.txt`).
    pub fn parse(text: &str) -> Result<Lexicon, LexiconError> {
        let mut lexicon = Lexicon::default();
        let mut raw_groups: Vec<(usize, Vec<String>)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |message: String| LexiconError {
                line: number,
                message,
            };
            let (kind, rest) = line.split_once(':').ok_or_else(|| {
                error(format!(
                    "expected 'group:', 'plural:' or 'fixed:', found '{line}'"
                ))
            })?;
            let items: Vec<String> = rest
                .split('|')
                .map(|p| {
                    p.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase()
                })
                .collect();
            if items.iter().any(|i| i.is_empty()) {
                return Err(error("an empty phrase".to_string()));
            }
            match kind.trim() {
                "group" => {
                    if items.len() < 2 {
                        return Err(error(
                            "a group needs a head and at least one synonym".to_string(),
                        ));
                    }
                    raw_groups.push((number, items));
                }
                "plural" => {
                    let [singular, plural] = items.as_slice() else {
                        return Err(error("expected 'plural: SINGULAR | PLURAL'".to_string()));
                    };
                    lexicon.singular_of.insert(plural.clone(), singular.clone());
                    lexicon.plural_of.insert(singular.clone(), plural.clone());
                }
                "fixed" => {
                    for item in items {
                        lexicon.fixed.insert(item);
                    }
                }
                other => return Err(error(format!("unknown kind '{other}'"))),
            }
        }
        for (number, items) in raw_groups {
            let index = lexicon.groups.len();
            let mut phrases = Vec::new();
            for item in items {
                let words: Vec<String> = item
                    .split(' ')
                    .flat_map(split_words)
                    .map(|w| lexicon.singularize(&w))
                    .collect();
                if words.len() > MAX_PHRASE {
                    return Err(LexiconError {
                        line: number,
                        message: format!("'{item}' has more than {MAX_PHRASE} words"),
                    });
                }
                let key = words.join(" ");
                if let Some(&other) = lexicon.phrase_group.get(&key) {
                    if other != index {
                        return Err(LexiconError {
                            line: number,
                            message: format!(
                                "'{item}' is already in the group of '{}'",
                                lexicon.groups[other][0].join(" ")
                            ),
                        });
                    }
                }
                lexicon.phrase_group.insert(key, index);
                phrases.push(words);
            }
            lexicon.groups.push(phrases);
        }
        // Also find a phrase written with another member of its words' groups ("lic plate" as
        // "license plate"): index each phrase by its word-normalized form too.
        let mut extra = Vec::new();
        for (index, group) in lexicon.groups.iter().enumerate() {
            for phrase in group.iter().filter(|p| p.len() > 1) {
                let normalized: Vec<String> = phrase
                    .iter()
                    .flat_map(|w| match lexicon.phrase_group.get(w.as_str()) {
                        Some(&g) => lexicon.groups[g][0].clone(),
                        None => vec![w.clone()],
                    })
                    .collect();
                extra.push((normalized.join(" "), index));
            }
        }
        for (key, index) in extra {
            lexicon.phrase_group.entry(key).or_insert(index);
        }
        Ok(lexicon)
    }

    /// The singular of a lowercase word (`employees` → `employee`, `branches` → `branch`,
    /// `specialties` → `specialty`); short and invariable words stay as they are.
    pub fn singularize(&self, word: &str) -> String {
        if let Some(s) = self.singular_of.get(word) {
            return s.clone();
        }
        if self.fixed.contains(word) || word.chars().count() <= 3 || !word.is_ascii() {
            return word.to_string();
        }
        let strip = |n: usize| word[..word.len() - n].to_string();
        if word.ends_with("ies") {
            format!("{}y", strip(3))
        } else if word.ends_with("sses")
            || word.ends_with("xes")
            || word.ends_with("ches")
            || word.ends_with("shes")
            || word.ends_with("zzes")
        {
            strip(2)
        } else if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
            word.to_string()
        } else if word.ends_with('s') {
            strip(1)
        } else {
            word.to_string()
        }
    }

    /// The plural of a lowercase singular word (`employee` → `employees`, `city` → `cities`).
    pub fn pluralize(&self, word: &str) -> String {
        if let Some(p) = self.plural_of.get(word) {
            return p.clone();
        }
        if self.fixed.contains(word) || !word.is_ascii() {
            return word.to_string();
        }
        let consonant_y = word.ends_with('y')
            && word
                .chars()
                .rev()
                .nth(1)
                .is_some_and(|c| !"aeiou".contains(c));
        if consonant_y {
            format!("{}ies", &word[..word.len() - 1])
        } else if word.ends_with('s')
            || word.ends_with('x')
            || word.ends_with('z')
            || word.ends_with("ch")
            || word.ends_with("sh")
        {
            format!("{word}es")
        } else {
            format!("{word}s")
        }
    }

    /// One normalization pass: greedy longest phrase match, each phrase replaced by its head.
    fn normalize_pass(&self, words: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = false;
            for len in (1..=MAX_PHRASE.min(words.len() - i)).rev() {
                let key = words[i..i + len].join(" ");
                if let Some(&g) = self.phrase_group.get(&key) {
                    out.extend(self.groups[g][0].iter().cloned());
                    i += len;
                    matched = true;
                    break;
                }
            }
            if !matched {
                out.push(words[i].clone());
                i += 1;
            }
        }
        out
    }

    /// The normalized key of a name: any two names that [`Lexicon::variants`] produces from each
    /// other have the same concept (`Dept_no`, `DepartmentNumber` and `Dnumber` all give
    /// `department_number`).
    pub fn concept(&self, name: &str) -> String {
        self.concept_of_words(&split_words(name))
    }

    /// The concept of a name already split into lowercase words.
    fn concept_of_words(&self, words: &[String]) -> String {
        let mut words: Vec<String> = words.iter().map(|w| self.singularize(w)).collect();
        for _ in 0..8 {
            let next = self.normalize_pass(&words);
            if next == words {
                break;
            }
            words = next;
        }
        words.join("_")
    }

    /// Harmless renames of `name`: synonyms and abbreviations, plural or singular, other letter
    /// case and word separators. Every variant has the concept of `name`; `name` itself is not
    /// listed. The order is stable.
    pub fn variants(&self, name: &str) -> Vec<String> {
        self.variants_with(name, true)
    }

    /// Like [`Lexicon::variants`]; `number: false` leaves out plural/singular changes (used for
    /// attributes, where a plural name could read as multivalued).
    pub fn variants_with(&self, name: &str, number: bool) -> Vec<String> {
        let words = split_words(name);
        if words.is_empty() {
            return Vec::new();
        }
        let concept = self.concept(name);
        let first = self.substitutions(&words, None);
        let mut sequences: Vec<Vec<String>> = vec![words.clone()];
        sequences.extend(first.iter().map(|(seq, _)| seq.clone()));
        // A second substitution elsewhere in the name (`Emp_birth_date` → `Worker_birth_date`
        // → `Worker_dob`), never inside the phrase just put in (`employee` → `staff member` →
        // `staff patron`, `vehicle` → `motor vehicle` → `motor motor vehicle`).
        for (seq, span) in &first {
            for (second, _) in self.substitutions(seq, Some(*span)) {
                if !sequences.contains(&second) {
                    sequences.push(second);
                }
            }
        }
        if number {
            let mut inflected = Vec::new();
            for seq in &sequences {
                let last = seq.last().cloned().unwrap_or_default();
                let function_word = [
                    "for", "of", "in", "at", "by", "on", "to", "from", "with", "as",
                ]
                .contains(&last.as_str());
                if function_word || !last.chars().all(|c| c.is_ascii_alphabetic()) || last.len() < 3
                {
                    continue;
                }
                let singular = self.singularize(&last);
                let plural = self.pluralize(&singular);
                if self.singularize(&plural) != singular || self.singularize(&singular) != singular
                {
                    continue;
                }
                for form in [singular, plural] {
                    if form != last {
                        let mut s = seq.clone();
                        *s.last_mut().expect("non-empty") = form;
                        inflected.push(s);
                    }
                }
            }
            sequences.extend(inflected);
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        seen.insert(name.to_string());
        for seq in &sequences {
            let stutters = seq.windows(2).any(|w| w[0] == w[1]);
            if stutters || self.concept_of_words(seq) != concept {
                continue;
            }
            for style in STYLES {
                let candidate = render(seq, style);
                // The concept depends only on the words, so a rendering that splits back into
                // the same words has the same concept.
                let valid = !candidate.is_empty()
                    && candidate.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && !candidate.starts_with(|c: char| c.is_ascii_digit())
                    && split_words(&candidate) == *seq;
                if valid && seen.insert(candidate.clone()) {
                    out.push(candidate);
                }
            }
        }
        out
    }

    /// Every word sequence made from `words` by replacing one phrase with another member of its
    /// synonym group, with the span (start, length) of the words put in; a phrase that overlaps
    /// the span `avoid` is left alone.
    fn substitutions(
        &self,
        words: &[String],
        avoid: Option<(usize, usize)>,
    ) -> Vec<(Vec<String>, (usize, usize))> {
        let lookup: Vec<String> = words.iter().map(|w| self.singularize(w)).collect();
        let mut out: Vec<(Vec<String>, (usize, usize))> = Vec::new();
        for i in 0..words.len() {
            for len in 1..=MAX_PHRASE.min(words.len() - i) {
                if let Some((start, n)) = avoid {
                    if i < start + n && start < i + len {
                        continue;
                    }
                }
                let key = lookup[i..i + len].join(" ");
                let Some(&g) = self.phrase_group.get(&key) else {
                    continue;
                };
                for alternative in &self.groups[g] {
                    if alternative.join(" ") == key {
                        continue;
                    }
                    let mut seq = words[..i].to_vec();
                    seq.extend(alternative.iter().cloned());
                    seq.extend(words[i + len..].iter().cloned());
                    if !out.iter().any(|(s, _)| *s == seq) {
                        out.push((seq, (i, alternative.len())));
                    }
                }
            }
        }
        out
    }

    /// The head phrases of every synonym group (for tests and diagnostics).
    pub fn heads(&self) -> impl Iterator<Item = String> + '_ {
        self.groups.iter().map(|g| g[0].join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        Lexicon::builtin()
    }

    #[test]
    fn splits_words() {
        assert_eq!(split_words("Birth_date"), ["birth", "date"]);
        assert_eq!(split_words("BirthDate"), ["birth", "date"]);
        assert_eq!(split_words("birthDate"), ["birth", "date"]);
        assert_eq!(split_words("SSNumber"), ["ss", "number"]);
        assert_eq!(split_words("EMPLOYEE"), ["employee"]);
        assert_eq!(split_words("E_BIKE"), ["e", "bike"]);
        assert_eq!(split_words("EBike"), ["e", "bike"]);
        assert_eq!(split_words("Birth date"), ["birth", "date"]);
    }

    #[test]
    fn inflects() {
        let l = lex();
        for (s, p) in [
            ("employee", "employees"),
            ("branch", "branches"),
            ("specialty", "specialties"),
            ("address", "addresses"),
            ("person", "people"),
            ("day", "days"),
        ] {
            assert_eq!(l.pluralize(s), p);
            assert_eq!(l.singularize(p), s);
            assert_eq!(l.singularize(s), s);
        }
        assert_eq!(l.singularize("species"), "species");
        assert_eq!(l.singularize("status"), "status");
    }

    #[test]
    fn concepts_of_synonyms_agree() {
        let l = lex();
        let same = [
            ("EMPLOYEE", "Employees"),
            ("EMPLOYEE", "STAFF_MEMBER"),
            ("EMPLOYEE", "worker"),
            ("Salary", "Wage"),
            ("Dnumber", "Dept_no"),
            ("Dnumber", "DepartmentNumber"),
            ("Birth_date", "BirthDate"),
            ("Birth_date", "birthDate"),
            ("Birth_date", "Date_of_birth"),
            ("Birth_date", "Bdate"),
            ("Ssn", "Social_security_no"),
            ("Phone", "Phone_number"),
            ("Phone", "Tel_no"),
            ("Plate", "Licence_plate"),
            ("Number_of_employees", "Employee_count"),
            ("Number_of_employees", "Emp_count"),
            ("WORKS_FOR", "EmployedBy"),
            ("MANAGES", "HEADS"),
            ("Locations", "Location"),
            ("Zip", "Postal_code"),
        ];
        for (a, b) in same {
            assert_eq!(l.concept(a), l.concept(b), "{a} vs {b}");
        }
        assert_eq!(l.concept("Dept_no"), "department_number");
    }

    #[test]
    fn different_names_have_different_concepts() {
        let l = lex();
        let different = [
            ("Salary", "Name"),
            ("EMPLOYEE", "DEPARTMENT"),
            ("EMPLOYEE", "MANAGER"),
            ("Birth_date", "Start_date"),
            ("Number", "Name"),
            ("WORKS_FOR", "WORKS_ON"),
            ("Fname", "Lname"),
            ("Sec_no", "Seq_no"),
            ("Price", "Unit_price"),
            ("Date_borrowed", "Due_date"),
            ("PROJECT", "Pnumber"),
            ("DIRECTOR", "DIRECTS"),
            ("Check_in", "Check_out"),
        ];
        for (a, b) in different {
            assert_ne!(l.concept(a), l.concept(b), "{a} vs {b}");
        }
    }

    #[test]
    fn every_variant_keeps_the_concept() {
        let l = lex();
        let names = [
            "EMPLOYEE",
            "DEPARTMENT",
            "WORKS_FOR",
            "Birth_date",
            "Dnumber",
            "Number_of_employees",
            "Ssn",
            "Locations",
            "Start_date",
            "SUPERVISION",
            "DEPENDENTS_OF",
            "Fname",
            "Phone",
            "ART_OBJECT",
            "Scheduled_dep_time",
        ];
        for name in names {
            let c = l.concept(name);
            let variants = l.variants(name);
            assert!(!variants.is_empty(), "{name} has no variants");
            for v in variants {
                assert_eq!(l.concept(&v), c, "{name} → {v}");
                assert_ne!(v, name);
            }
        }
    }

    #[test]
    fn variants_include_the_expected_renames() {
        let l = lex();
        let has = |name: &str, v: &str| {
            let vs = l.variants(name);
            assert!(vs.iter().any(|x| x == v), "{name} lacks {v}: {vs:?}");
        };
        has("EMPLOYEE", "Employee");
        has("EMPLOYEE", "employee");
        has("EMPLOYEE", "EMPLOYEES");
        has("EMPLOYEE", "STAFF_MEMBER");
        has("Birth_date", "BirthDate");
        has("Birth_date", "birthDate");
        has("DEPARTMENT", "DEPT");
        has("Dnumber", "Dept_number");
        has("Salary", "Wage");
        assert!(!l
            .variants("WORKS_FOR")
            .iter()
            .any(|v| v.to_lowercase().ends_with("fors")));
        for v in l.variants("VEHICLE") {
            assert!(
                !v.to_lowercase().contains("motor_motor") && !v.contains("MotorMotor"),
                "{v}"
            );
        }
        let attribute = l.variants_with("Salary", false);
        assert!(!attribute.iter().any(|v| v.eq_ignore_ascii_case("salaries")));
    }

    #[test]
    fn heads_are_normal_forms() {
        let l = lex();
        for head in l.heads() {
            let words: Vec<String> = head.split(' ').map(str::to_string).collect();
            assert_eq!(l.concept(&words.join("_")), words.join("_"), "head {head}");
        }
    }

    #[test]
    fn bad_data_is_reported_with_its_line() {
        let e = Lexicon::parse("# c\ngroup: a | b\ngroup: c | a\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(Lexicon::parse("nonsense").is_err());
        assert!(Lexicon::parse("group: lonely").is_err());
    }
}

#[cfg(test)]
mod library_tests {
    use super::*;
    use std::path::Path;

    /// The reference diagrams of the assignment library, if the repository has them.
    fn references() -> Vec<(String, crate::Diagram)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return out;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let file = path.join("reference.puml");
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Ok(d) = crate::parse(&text) {
                    out.push((path.file_name().unwrap().to_string_lossy().to_string(), d));
                }
            }
        }
        out
    }

    fn attribute_names(list: &[crate::Attribute], out: &mut Vec<String>) {
        for a in list {
            out.push(a.name.clone());
            attribute_names(&a.parts, out);
        }
    }

    #[test]
    fn library_names_keep_distinct_concepts() {
        let l = Lexicon::builtin();
        let mut problems = Vec::new();
        for (id, d) in references() {
            // Entities and relationships are matched kind by kind (ACCOUNT and ACCTS may share).
            let mut namespaces: Vec<(String, Vec<String>)> = vec![
                (
                    "entities".into(),
                    d.entities.iter().map(|e| e.name.clone()).collect(),
                ),
                (
                    "relationships".into(),
                    d.relationships.iter().map(|r| r.name.clone()).collect(),
                ),
            ];
            for e in &d.entities {
                let mut names = Vec::new();
                attribute_names(&e.attributes, &mut names);
                namespaces.push((e.name.clone(), names));
            }
            for r in &d.relationships {
                let mut names = Vec::new();
                attribute_names(&r.attributes, &mut names);
                namespaces.push((r.name.clone(), names));
            }
            for (space, names) in namespaces {
                let mut seen: HashMap<String, &String> = HashMap::new();
                for n in &names {
                    if let Some(other) = seen.insert(l.concept(n), n) {
                        problems.push(format!("{id}: {space}: {other} and {n} share a concept"));
                    }
                    for v in l.variants(n) {
                        assert_eq!(l.concept(&v), l.concept(n));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
