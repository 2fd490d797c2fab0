//! The labelled data set (`eerd dataset`): student variants of the reference assignments, each
//! with its exact true findings (`mistakes.md`).
//!
//! Whole assignments (about 15 %, chosen from the seed) are held out for `unseen.jsonl`; the
//! others give the variants split 75/25 into `train.jsonl` and `test.jsonl`. About 10 % of the
//! variants are clean (harmless variations only); the others carry one to three mistakes,
//! mostly one or two, with categories balanced as far as each assignment allows. Variants of
//! procedurally generated assignments ([`crate::synthetic`]), when asked for, are added to
//! `train.jsonl` only. The same seed and library give byte-identical files.

use crate::synthetic;
use anyhow::{anyhow, bail, Context, Result};
use eerd::lexicon::Lexicon;
use eerd::mutate::{self, Harmless, Mutator, Scramble, Vocabulary};
use eerd::rng::Rng;
use eerd::{Category, Diagram, Record};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One reference assignment of the library.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The assignment's id (its folder name).
    pub id: String,
    /// The text of `reference.puml`, as written.
    pub reference_text: String,
    /// The parsed reference diagram.
    pub reference: Diagram,
    /// The text of `requirements.md`, if there is one.
    pub requirements: Option<String>,
}

/// The ids listed in `index.json`: an array of ids or of objects with an `id`, or an object
/// with such an array under `assignments`.
fn index_ids(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}:{}:{}: invalid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let list = match &value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(map) => match map.get("assignments") {
            Some(serde_json::Value::Array(items)) => items,
            _ => bail!(
                "{}: expected an array of assignments (or an object with an \"assignments\" array)",
                path.display()
            ),
        },
        _ => bail!("{}: expected an array of assignments", path.display()),
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| {
            let id = match item {
                serde_json::Value::String(s) => Some(s.as_str()),
                serde_json::Value::Object(o) => o.get("id").and_then(|v| v.as_str()),
                _ => None,
            };
            id.map(str::to_string)
                .ok_or_else(|| anyhow!("{}: entry {} has no \"id\" string", path.display(), i + 1))
        })
        .collect()
}

/// Reads the assignment library in `dir`: the ids of `index.json` if it exists, else every
/// folder holding a `reference.puml`. Each reference must parse without errors or parser
/// warnings and lint without errors; every problem names its file (and line).
pub fn load_library(dir: &Path) -> Result<Vec<Assignment>> {
    if !dir.is_dir() {
        bail!(
            "assignment library {} not found (expected a folder of <id>/reference.puml)",
            dir.display()
        );
    }
    let index = dir.join("index.json");
    let ids = if index.exists() {
        index_ids(&index)?
    } else {
        let mut ids: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .flatten()
            .filter(|e| e.path().join("reference.puml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort();
        ids
    };
    if ids.is_empty() {
        bail!("assignment library {} has no assignments", dir.display());
    }
    let mut out = Vec::new();
    for id in ids {
        if out.iter().any(|a: &Assignment| a.id == id) {
            bail!("{}: assignment {id} is listed twice", index.display());
        }
        let file = dir.join(&id).join("reference.puml");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {} (assignment {id})", file.display()))?;
        let (parsed, warnings) = eerd::parse_with_warnings(&text);
        let reference = parsed.map_err(|errors| {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("{}:{e}", file.display()))
                .collect();
            anyhow!("{}", lines.join("\n"))
        })?;
        // A reference is the truth every variant is graded against: nothing in it may be read
        // with a caveat (a typo'd stereotype read as the known one, a letter range).
        if !warnings.is_empty() {
            let lines: Vec<String> = warnings
                .iter()
                .map(|w| format!("{}:{w}", file.display()))
                .collect();
            bail!("{}", lines.join("\n"));
        }
        let problems: Vec<String> = eerd::lint(&reference)
            .into_iter()
            .filter(|d| d.severity == eerd::Severity::Error)
            .map(|d| format!("{}:{d}", file.display()))
            .collect();
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        let requirements = std::fs::read_to_string(dir.join(&id).join("requirements.md")).ok();
        out.push(Assignment {
            id,
            reference_text: text,
            reference,
            requirements,
        });
    }
    Ok(out)
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The seed of every random choice.
    pub seed: u64,
    /// Variants from the seen assignments (split 75/25 into train and test).
    pub variants: usize,
    /// Variants from the held-out assignments.
    pub unseen: usize,
    /// Procedurally generated assignments ([`crate::synthetic`]) whose variants go to the
    /// training split only, so test and unseen keep measuring the library.
    pub synthetic: usize,
    /// Variants of the generated assignments, spread evenly over them (train only).
    pub synthetic_variants: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 42,
            variants: 1200,
            unseen: 300,
            synthetic: 0,
            synthetic_variants: 0,
        }
    }
}

/// Counts of one split.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SplitStats {
    /// Records.
    pub records: usize,
    /// Records without findings.
    pub clean: usize,
    /// Findings in all.
    pub findings: usize,
    /// Records by number of findings (`"0"`, `"1"`, …).
    pub by_mistakes: BTreeMap<String, usize>,
    /// Findings by category (every category listed).
    pub categories: BTreeMap<String, usize>,
    /// Records by assignment.
    pub assignments: BTreeMap<String, usize>,
}

impl SplitStats {
    fn of(records: &[Record]) -> Self {
        let mut s = SplitStats {
            records: records.len(),
            ..SplitStats::default()
        };
        for c in Category::ALL {
            s.categories.insert(c.id().to_string(), 0);
        }
        for r in records {
            if r.findings.is_empty() {
                s.clean += 1;
            }
            s.findings += r.findings.len();
            *s.by_mistakes
                .entry(r.findings.len().to_string())
                .or_default() += 1;
            *s.assignments.entry(r.assignment.clone()).or_default() += 1;
            for f in &r.findings {
                *s.categories.entry(f.category.id().to_string()).or_default() += 1;
            }
        }
        s
    }
}

/// `manifest.json`: how the data set was made and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// The tool and its version.
    pub tool: String,
    /// The seed.
    pub seed: u64,
    /// `--variants`.
    pub variants: usize,
    /// `--unseen`.
    pub unseen_variants: usize,
    /// Assignments whose variants are in train and test.
    pub seen_assignments: Vec<String>,
    /// Assignments held out for `unseen.jsonl`.
    pub held_out_assignments: Vec<String>,
    /// Procedurally generated assignments (`synthetic-NNNN`; their variants are in train only).
    pub synthetic_assignments: usize,
    /// Variants of the generated assignments (in train, after the library's).
    pub synthetic_variants: usize,
    /// Counts per split: `train`, `test`, `unseen`.
    pub splits: BTreeMap<String, SplitStats>,
    /// Variant drafts that failed the self-check and were drawn again (should be 0).
    pub rejected_drafts: usize,
}

/// A generated data set.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Training records.
    pub train: Vec<Record>,
    /// Test records (same assignments as train, other variants).
    pub test: Vec<Record>,
    /// Records of the held-out assignments.
    pub unseen: Vec<Record>,
    /// The manifest.
    pub manifest: Manifest,
}

/// The share of held-out assignments.
const HELD_OUT_SHARE: f64 = 0.15;
/// The share of clean variants in train and test.
const CLEAN_SHARE: f64 = 0.10;
/// The share of clean variants in `unseen.jsonl`: larger, so that false alarms on held-out
/// assignments and vocabulary are measured on enough clean records (75 of 300).
const CLEAN_SHARE_UNSEEN: f64 = 0.25;
/// The share of train among the seen variants.
const TRAIN_SHARE: f64 = 0.75;

/// The held-out assignment ids (sorted): about 15 % of the library, at least one when there
/// are two or more assignments, chosen from the seed.
pub fn held_out(ids: &[String], seed: u64) -> Vec<String> {
    if ids.len() < 2 {
        return Vec::new();
    }
    let k = ((ids.len() as f64 * HELD_OUT_SHARE).round() as usize).clamp(1, ids.len() - 1);
    let mut sorted = ids.to_vec();
    sorted.sort();
    Rng::derive(seed, "held-out").shuffle(&mut sorted);
    let mut out: Vec<String> = sorted.into_iter().take(k).collect();
    out.sort();
    out
}

/// How many mistakes each of `n` variants gets: `clean_share` none, then about 55 % one, 33 %
/// two and 12 % three, in a shuffled order.
fn mistake_plan(n: usize, clean_share: f64, rng: &mut Rng) -> Vec<usize> {
    let clean = (n as f64 * clean_share).round() as usize;
    let rest = n - clean;
    let three = (rest as f64 * 0.12).round() as usize;
    let two = (rest as f64 * 0.33).round() as usize;
    let one = rest - two - three;
    let mut plan = vec![0; clean];
    plan.extend(std::iter::repeat_n(1, one));
    plan.extend(std::iter::repeat_n(2, two));
    plan.extend(std::iter::repeat_n(3, three));
    rng.shuffle(&mut plan);
    plan
}

/// Harmless variations for a clean variant: more of them, so it is not the reference verbatim.
const CLEAN_HARMLESS: Harmless = Harmless {
    rename_entity: 0.45,
    rename_relationship: 0.4,
    rename_attribute: 0.25,
    reorder: 0.5,
    restyle: 0.4,
    data_types: 0.2,
    display_names: 0.15,
    open_renames: 0.5,
    vocabulary: Vocabulary::Seen,
};

/// Generates variants of `pool`, `n` in all, round-robin over the assignments.
struct Generator<'a> {
    lexicon: &'a Lexicon,
    pool: Vec<(&'a Assignment, Vec<Category>)>,
    counts: BTreeMap<Category, usize>,
    numbers: BTreeMap<String, usize>,
    rejected: usize,
    /// The open renames' word lists (held out for `unseen.jsonl`).
    vocabulary: Vocabulary,
    /// The share of clean variants.
    clean_share: f64,
}

impl<'a> Generator<'a> {
    fn new(
        lexicon: &'a Lexicon,
        pool: Vec<&'a Assignment>,
        vocabulary: Vocabulary,
        clean_share: f64,
    ) -> Self {
        let pool = pool
            .into_iter()
            .map(|a| (a, mutate::applicable(&a.reference, lexicon)))
            .collect();
        Generator {
            lexicon,
            pool,
            counts: BTreeMap::new(),
            numbers: BTreeMap::new(),
            rejected: 0,
            vocabulary,
            clean_share,
        }
    }

    /// Chooses the next category for a variant: among the assignment's categories not used yet
    /// in this variant, the rarer so far the likelier.
    fn pick(&self, allowed: &[Category], rng: &mut Rng) -> Option<Category> {
        let weights: Vec<f64> = allowed
            .iter()
            .map(|c| {
                // Plain products, not `powi`, so every platform computes the same weights.
                let x = 1.0 + *self.counts.get(c).unwrap_or(&0) as f64;
                1.0 / (x * x * x * x)
            })
            .collect();
        rng.weighted(&weights).map(|i| allowed[i])
    }

    fn variant(&mut self, slot: usize, mistakes: usize, rng: &mut Rng) -> Result<Record> {
        let (assignment, categories) = {
            let (a, c) = &self.pool[slot % self.pool.len()];
            (*a, c.clone())
        };
        for _attempt in 0..20 {
            let mut draft = Rng::new(rng.next_u64());
            let mut m = Mutator::new(&assignment.reference, self.lexicon);
            let mut left = categories.clone();
            let mut used = Vec::new();
            while m.mistakes() < mistakes && !left.is_empty() {
                let Some(c) = self.pick(&left, &mut draft) else {
                    break;
                };
                left.retain(|x| *x != c);
                if m.apply(c, &mut draft) {
                    used.push(c);
                }
            }
            let harmless = Harmless {
                vocabulary: self.vocabulary,
                ..if mistakes == 0 {
                    CLEAN_HARMLESS
                } else {
                    Harmless::default()
                }
            };
            let mutation = m.finish(&mut draft, &harmless);
            let printed = eerd::print(&mutation.student);
            let text = mutate::scramble_text(&printed, &mut draft, &Scramble::default());
            if mistakes == 0 && printed == eerd::print(&assignment.reference) && text == printed {
                self.rejected += 1;
                continue;
            }
            if mutate::verify(&assignment.reference, &mutation, &text).is_err() {
                self.rejected += 1;
                continue;
            }
            for c in used {
                *self.counts.entry(c).or_default() += 1;
            }
            let number = self.numbers.entry(assignment.id.clone()).or_default();
            *number += 1;
            return Ok(Record {
                id: format!("{}-{:04}", assignment.id, number),
                assignment: assignment.id.clone(),
                reference: assignment.reference_text.clone(),
                student: text,
                findings: mutation.findings,
                requirements: assignment.requirements.clone(),
                variations: mutation.variations,
            });
        }
        bail!(
            "assignment {}: could not make a valid variant in 20 attempts",
            assignment.id
        )
    }

    /// `n` variants; `progress` is called after each.
    fn run(&mut self, n: usize, rng: &mut Rng, progress: &mut dyn FnMut()) -> Result<Vec<Record>> {
        if self.pool.is_empty() || n == 0 {
            return Ok(Vec::new());
        }
        let plan = mistake_plan(n, self.clean_share, rng);
        // Round robin over the assignments, in a new shuffled order each round.
        let mut order: Vec<usize> = Vec::new();
        let mut out = Vec::with_capacity(n);
        for (i, mistakes) in plan.into_iter().enumerate() {
            if i % self.pool.len() == 0 {
                order = (0..self.pool.len()).collect();
                rng.shuffle(&mut order);
            }
            let slot = order[i % self.pool.len()];
            out.push(self.variant(slot, mistakes, rng)?);
            progress();
        }
        Ok(out)
    }
}

/// Generates the data set from `library` with `options`; `progress(done, total)` reports each
/// variant made.
pub fn generate(
    library: &[Assignment],
    options: Options,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Dataset> {
    let lexicon = Lexicon::builtin();
    let ids: Vec<String> = library.iter().map(|a| a.id.clone()).collect();
    let held = held_out(&ids, options.seed);
    let seen: Vec<&Assignment> = library.iter().filter(|a| !held.contains(&a.id)).collect();
    let unseen_pool: Vec<&Assignment> = library.iter().filter(|a| held.contains(&a.id)).collect();
    let unseen_n = if unseen_pool.is_empty() {
        0
    } else {
        options.unseen
    };
    let synthetic_n = if options.synthetic == 0 {
        0
    } else {
        options.synthetic_variants
    };
    let total = options.variants + unseen_n + synthetic_n;
    let mut done = 0;
    let mut tick = || {
        done += 1;
        progress(done, total);
    };

    let mut seen_gen = Generator::new(&lexicon, seen.clone(), Vocabulary::Seen, CLEAN_SHARE);
    let mut rng = Rng::derive(options.seed, "seen");
    let variants = seen_gen.run(options.variants, &mut rng, &mut tick)?;
    let mut unseen_gen = Generator::new(
        &lexicon,
        unseen_pool.clone(),
        Vocabulary::Held,
        CLEAN_SHARE_UNSEEN,
    );
    let mut rng = Rng::derive(options.seed, "unseen");
    let unseen = unseen_gen.run(unseen_n, &mut rng, &mut tick)?;
    let synthetic = if synthetic_n == 0 {
        Vec::new()
    } else {
        let words =
            synthetic::Words::from_table(eerd::semantic::builtin(), &words_of(&unseen_pool))?;
        synthetic::assignments(options.synthetic, options.seed, &words)?
    };
    let mut synthetic_gen = Generator::new(
        &lexicon,
        synthetic.iter().collect(),
        Vocabulary::Seen,
        CLEAN_SHARE,
    );
    let mut rng = Rng::derive(options.seed, "synthetic-variants");
    let synthetic_variants = synthetic_gen.run(synthetic_n, &mut rng, &mut tick)?;

    // The 75/25 split of the seen variants, keeping generation order within each split.
    let mut indices: Vec<usize> = (0..variants.len()).collect();
    Rng::derive(options.seed, "split").shuffle(&mut indices);
    let n_train = (variants.len() as f64 * TRAIN_SHARE).round() as usize;
    let mut is_train = vec![false; variants.len()];
    for &i in &indices[..n_train] {
        is_train[i] = true;
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (i, r) in variants.into_iter().enumerate() {
        if is_train[i] {
            train.push(r);
        } else {
            test.push(r);
        }
    }
    train.extend(synthetic_variants);

    let mut splits = BTreeMap::new();
    splits.insert("train".to_string(), SplitStats::of(&train));
    splits.insert("test".to_string(), SplitStats::of(&test));
    splits.insert("unseen".to_string(), SplitStats::of(&unseen));
    let manifest = Manifest {
        tool: format!("eerd-trainer {}", env!("CARGO_PKG_VERSION")),
        seed: options.seed,
        variants: options.variants,
        unseen_variants: unseen_n,
        seen_assignments: seen.iter().map(|a| a.id.clone()).collect(),
        held_out_assignments: held,
        synthetic_assignments: synthetic.len(),
        synthetic_variants: synthetic_n,
        splits,
        rejected_drafts: seen_gen.rejected + unseen_gen.rejected + synthetic_gen.rejected,
    };
    Ok(Dataset {
        train,
        test,
        unseen,
        manifest,
    })
}

/// The lower-case words of every name in `assignments` (`Order_date` → `order`, `date`):
/// generated assignments never use them, so held-out assignments keep held-out vocabulary.
fn words_of(assignments: &[&Assignment]) -> std::collections::BTreeSet<String> {
    let mut names: Vec<&str> = Vec::new();
    for a in assignments {
        let d = &a.reference;
        names.extend(d.entities.iter().map(|e| e.name.as_str()));
        names.extend(d.relationships.iter().map(|r| r.name.as_str()));
        for attributes in d
            .entities
            .iter()
            .map(|e| &e.attributes)
            .chain(d.relationships.iter().map(|r| &r.attributes))
        {
            for attribute in attributes {
                names.push(&attribute.name);
                names.extend(attribute.parts.iter().map(|p| p.name.as_str()));
            }
        }
    }
    names
        .into_iter()
        .flat_map(eerd::lexicon::split_words)
        .map(|w| w.to_lowercase())
        .collect()
}

fn jsonl(records: &[Record]) -> Result<String> {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r)?);
        out.push('\n');
    }
    Ok(out)
}

impl Dataset {
    /// Writes `train.jsonl`, `test.jsonl`, `unseen.jsonl` and `manifest.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let files = [
            ("train.jsonl", jsonl(&self.train)?),
            ("test.jsonl", jsonl(&self.test)?),
            ("unseen.jsonl", jsonl(&self.unseen)?),
            (
                "manifest.json",
                serde_json::to_string_pretty(&self.manifest)? + "\n",
            ),
        ];
        for (name, text) in files {
            crate::fsutil::write_atomic(&dir.join(name), text.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> Vec<Assignment> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments");
        load_library(&dir).expect("the repository's library loads")
    }

    #[test]
    fn held_out_is_about_fifteen_percent_and_stable() {
        let ids: Vec<String> = (0..20).map(|i| format!("a{i:02}")).collect();
        let h = held_out(&ids, 7);
        assert_eq!(h.len(), 3);
        assert_eq!(h, held_out(&ids, 7));
        assert_ne!(h, held_out(&ids, 8));
        assert_eq!(held_out(&ids[..1], 7), Vec::<String>::new());
        assert_eq!(held_out(&ids[..2], 7).len(), 1);
    }

    #[test]
    fn plan_has_ten_percent_clean_and_mostly_one_or_two() {
        let plan = mistake_plan(1000, CLEAN_SHARE, &mut Rng::new(1));
        let count = |k| plan.iter().filter(|&&x| x == k).count();
        assert_eq!(count(0), 100);
        assert!(count(1) + count(2) > 750);
        assert!(count(3) > 50);
    }

    #[test]
    fn generation_is_balanced_and_exact() {
        let library = library();
        let options = Options {
            seed: 3,
            variants: 120,
            unseen: 20,
            ..Options::default()
        };
        let data = generate(&library, options, &mut |_, _| {}).unwrap();
        assert_eq!(data.train.len() + data.test.len(), 120);
        assert_eq!(data.train.len(), 90);
        assert_eq!(data.unseen.len(), 20);
        assert_eq!(data.manifest.rejected_drafts, 0);
        let train = &data.manifest.splits["train"];
        let counts: Vec<usize> = train.categories.values().copied().collect();
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(
            *min > 0 && *max <= min * 4,
            "unbalanced: {:?}",
            train.categories
        );
        for r in data.train.iter().chain(&data.test) {
            assert!(!data.manifest.held_out_assignments.contains(&r.assignment));
        }
        for r in &data.unseen {
            assert!(data.manifest.held_out_assignments.contains(&r.assignment));
        }
    }

    #[test]
    fn generated_assignments_add_train_records_only_and_avoid_held_out_words() {
        let library = library();
        let options = Options {
            seed: 5,
            variants: 40,
            unseen: 10,
            synthetic: 30,
            synthetic_variants: 60,
        };
        let data = generate(&library, options, &mut |_, _| {}).unwrap();
        let plain = generate(
            &library,
            Options {
                synthetic: 0,
                synthetic_variants: 0,
                ..options
            },
            &mut |_, _| {},
        )
        .unwrap();
        // Test and unseen do not change; train gets the generated variants at its end.
        assert_eq!(data.test, plain.test);
        assert_eq!(data.unseen, plain.unseen);
        assert_eq!(data.train[..plain.train.len()], plain.train[..]);
        let generated = &data.train[plain.train.len()..];
        assert_eq!(generated.len(), 60);
        assert!(generated
            .iter()
            .all(|r| r.assignment.starts_with("synthetic-")));
        assert!(generated.iter().filter(|r| r.findings.is_empty()).count() >= 3);
        assert_eq!(data.manifest.synthetic_assignments, 30);
        assert_eq!(
            data.manifest.rejected_drafts,
            plain.manifest.rejected_drafts
        );
        let held: Vec<&Assignment> = library
            .iter()
            .filter(|a| data.manifest.held_out_assignments.contains(&a.id))
            .collect();
        let banned = words_of(&held);
        for r in generated {
            let reference = eerd::parse(&r.reference).unwrap();
            for e in &reference.entities {
                for w in eerd::lexicon::split_words(&e.name) {
                    assert!(!banned.contains(&w.to_lowercase()), "{w} in {}", r.id);
                }
            }
        }
    }
}
