//! Trace records for training: the true (gold) traces of a data set, and "unrefined" traces —
//! gold traces with induced reasoning flaws — that warm up the project's own base model so that
//! its drafts have the kinds of errors the audit must catch.

use crate::rng::Rng;
use anyhow::{Context, Result};
use eerd::finding::{Category, Finding, Record};
use eerd::lexicon::Lexicon;
use eerd::model::Diagram;
use eerd::trace::{examples, focus_steps, gold_trace, step_paths, Claim, FocusStep, Trace};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One SFT example: a focused prompt and the verdict to learn (JSONL line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// The data-set record's id and the step's number: `company-0042#3`.
    pub id: String,
    /// The step's prompt ([`eerd::trace::FocusStep::prompt`]).
    pub prompt: String,
    /// The step's verdict ([`eerd::trace::verdict_text`]).
    pub completion: String,
}

/// The id of step `number` (1-based) of the record `id`.
pub fn step_id(id: &str, number: usize) -> String {
    format!("{id}#{number}")
}

/// `records` keeping at most `max` copies of each (prompt, completion), in order; `max` 0
/// keeps all. Identical step examples teach nothing new: an element the student left
/// unchanged reads the same in every variant of its assignment.
pub fn cap_copies(records: &[TraceRecord], max: usize) -> Vec<TraceRecord> {
    if max == 0 {
        return records.to_vec();
    }
    let mut seen: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    records
        .iter()
        .filter(|r| {
            let n = seen
                .entry((r.prompt.as_str(), r.completion.as_str()))
                .or_insert(0);
            *n += 1;
            *n <= max
        })
        .cloned()
        .collect()
}

/// `records` with the `ok` examples thinned so that they are at most `max_ok_share` of what
/// is left **within each source** — the library's assignments, and the generated ones
/// (`synthetic-…` ids) — every example with a finding kept, the `ok` ones kept chosen by
/// `seed`, all in their order. `max_ok_share` 0 (or ≥ 1) keeps all. Variants of many
/// generated assignments give far more distinct unchanged elements than mistakes; thinned
/// together with the library's, they would crowd out the library's own `ok` examples (measured:
/// 10,455 → 1,140, and the model then flagged every clean test record).
pub fn limit_ok_share(records: &[TraceRecord], max_ok_share: f64, seed: u64) -> Vec<TraceRecord> {
    if max_ok_share <= 0.0 || max_ok_share >= 1.0 {
        return records.to_vec();
    }
    let is_ok = |r: &TraceRecord| r.completion.trim() == "ok";
    let generated = |r: &TraceRecord| r.id.starts_with("synthetic-");
    let mut keep = vec![true; records.len()];
    for source in [false, true] {
        let members: Vec<usize> = (0..records.len())
            .filter(|&i| generated(&records[i]) == source)
            .collect();
        let oks: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| is_ok(&records[i]))
            .collect();
        let findings = members.len() - oks.len();
        let allowed = ((findings as f64) * max_ok_share / (1.0 - max_ok_share)).floor() as usize;
        if oks.len() <= allowed {
            continue;
        }
        let mut chosen = oks.clone();
        let label = if source {
            "ok-share-generated"
        } else {
            "ok-share"
        };
        eerd::rng::Rng::derive(seed, label).shuffle(&mut chosen);
        chosen.truncate(allowed);
        for &i in &oks {
            keep[i] = false;
        }
        for i in chosen {
            keep[i] = true;
        }
    }
    records
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(r, _)| r.clone())
        .collect()
}

/// One training example per focused step of `steps`, with the verdicts of `trace`.
pub fn step_records(id: &str, steps: &[FocusStep], trace: &Trace) -> Vec<TraceRecord> {
    examples(steps, trace)
        .into_iter()
        .enumerate()
        .map(|(k, (prompt, completion))| TraceRecord {
            id: step_id(id, k + 1),
            prompt,
            completion,
        })
        .collect()
}

/// A data-set record with its diagrams parsed.
pub struct Parsed<'a> {
    /// The record.
    pub record: &'a Record,
    /// Its reference diagram.
    pub reference: Diagram,
    /// Its student diagram.
    pub student: Diagram,
}

impl<'a> Parsed<'a> {
    /// Parses both diagrams of `record`; the error names the record and the diagram.
    pub fn new(record: &'a Record) -> Result<Self> {
        let parse = |text: &str, which: &str| {
            eerd::parse(text).map_err(|e| {
                anyhow::anyhow!(
                    "record {}: the {which} diagram does not parse: {e}",
                    record.id
                )
            })
        };
        Ok(Parsed {
            record,
            reference: parse(&record.reference, "reference")?,
            student: parse(&record.student, "student")?,
        })
    }

    /// The focused steps of this record.
    pub fn focus_steps(&self, lexicon: &Lexicon) -> Vec<FocusStep> {
        focus_steps(lexicon, &self.reference, &self.student)
    }

    /// The true trace.
    pub fn gold(&self, lexicon: &Lexicon) -> Trace {
        gold_trace(
            lexicon,
            &self.reference,
            &self.student,
            &self.record.findings,
        )
    }
}

/// Reads a data set (JSONL of [`Record`]s); errors name the file and line.
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    read_jsonl(path)
}

/// Writes JSONL, one value a line, atomically.
pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<()> {
    let mut text = String::new();
    for item in items {
        text.push_str(&serde_json::to_string(item)?);
        text.push('\n');
    }
    crate::fsutil::write_atomic(path, text.as_bytes())
}

/// Reads JSONL of `T`; errors name the file and line.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: unexpected JSON", path.display(), n + 1))
        })
        .collect()
}

/// The true step examples of every data-set record.
pub fn gold_records(records: &[Record], lexicon: &Lexicon) -> Result<Vec<TraceRecord>> {
    let mut out = Vec::new();
    for r in records {
        let parsed = Parsed::new(r)?;
        out.extend(step_records(
            &r.id,
            &parsed.focus_steps(lexicon),
            &parsed.gold(lexicon),
        ));
    }
    Ok(out)
}

/// How often each induced flaw is applied to a trace (per chance).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Noise {
    /// Drop a true claim (from the step and the findings): a missed mistake.
    pub miss: f64,
    /// Add a made-up claim at the step's element: a hallucination.
    pub hallucinate: f64,
    /// Change a claim's category.
    pub wrong_category: f64,
    /// Leave a step's claim out of the final findings: an inconsistent answer.
    pub inconsistent: f64,
    /// Forget a step's student match.
    pub wrong_match: f64,
}

impl Default for Noise {
    fn default() -> Self {
        Noise {
            miss: 0.25,
            hallucinate: 0.3,
            wrong_category: 0.15,
            inconsistent: 0.15,
            wrong_match: 0.1,
        }
    }
}

/// `trace` with flaws induced at the rates of `noise` (deterministic for a given `rng`).
pub fn add_flaws(trace: &Trace, reference: &Diagram, noise: &Noise, rng: &mut Rng) -> Trace {
    let mut out = trace.clone();
    let chance = |rng: &mut Rng, p: f64| rng.next_f64() < p;
    let claimed: Vec<usize> = (0..out.steps.len())
        .filter(|&i| !out.steps[i].claims.is_empty())
        .collect();
    if !claimed.is_empty() && chance(rng, noise.miss) {
        let step = &mut out.steps[claimed[rng.below(claimed.len())]];
        let dropped = step.claims.remove(rng.below(step.claims.len()));
        out.findings.retain(|f| Claim::of(f) != dropped);
    }
    if !out.steps.is_empty() && chance(rng, noise.hallucinate) {
        let i = rng.below(out.steps.len());
        let paths = step_paths(reference, &out.steps[i].reference);
        if !paths.is_empty() {
            let claim = Claim {
                category: Category::ALL[rng.below(Category::ALL.len())],
                element: paths[rng.below(paths.len())].clone(),
            };
            if !out.steps[i].claims.contains(&claim) {
                out.findings.push(Finding {
                    category: claim.category,
                    element: claim.element.clone(),
                    student: None,
                    explanation: format!("Check {}.", claim.element),
                    requirement: None,
                });
                out.steps[i].claims.push(claim);
            }
        }
    }
    let claimed: Vec<usize> = (0..out.steps.len())
        .filter(|&i| !out.steps[i].claims.is_empty())
        .collect();
    if !claimed.is_empty() && chance(rng, noise.wrong_category) {
        let step = &mut out.steps[claimed[rng.below(claimed.len())]];
        let j = rng.below(step.claims.len());
        let old = step.claims[j].clone();
        let new = Category::ALL[rng.below(Category::ALL.len())];
        step.claims[j].category = new;
        for f in out.findings.iter_mut().filter(|f| Claim::of(f) == old) {
            f.category = new;
        }
    }
    if !out.findings.is_empty() && chance(rng, noise.inconsistent) {
        let i = rng.below(out.findings.len());
        out.findings.remove(i);
    }
    if !out.steps.is_empty() && chance(rng, noise.wrong_match) {
        let i = rng.below(out.steps.len());
        out.steps[i].student = None;
    }
    out
}

/// Unrefined step examples: each record's gold trace with induced flaws, step by step.
pub fn unrefined_records(
    records: &[Record],
    lexicon: &Lexicon,
    noise: &Noise,
    seed: u64,
) -> Result<Vec<TraceRecord>> {
    let mut rng = Rng::new(seed ^ 0x756e_7265_6669_6e65);
    let mut out = Vec::new();
    for r in records {
        let parsed = Parsed::new(r)?;
        let flawed = add_flaws(&parsed.gold(lexicon), &parsed.reference, noise, &mut rng);
        out.extend(step_records(&r.id, &parsed.focus_steps(lexicon), &flawed));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, prompt: &str, completion: &str) -> TraceRecord {
        TraceRecord {
            id: id.into(),
            prompt: prompt.into(),
            completion: completion.into(),
        }
    }

    #[test]
    fn ok_examples_are_thinned_to_their_share_and_findings_all_kept() {
        let make = |i: usize, completion: &str| TraceRecord {
            id: format!("r#{i}"),
            prompt: format!("p{i}"),
            completion: completion.to_string(),
        };
        let records: Vec<TraceRecord> = (0..100)
            .map(|i| {
                make(
                    i,
                    if i % 10 == 0 {
                        "missing_entity X"
                    } else {
                        "ok"
                    },
                )
            })
            .collect();
        let kept = limit_ok_share(&records, 0.5, 3);
        assert_eq!(kept.len(), 20);
        assert_eq!(kept.iter().filter(|r| r.completion == "ok").count(), 10);
        assert!(kept.windows(2).all(|w| {
            let n = |r: &TraceRecord| r.id[2..].parse::<usize>().unwrap();
            n(&w[0]) < n(&w[1])
        }));
        assert_eq!(kept, limit_ok_share(&records, 0.5, 3));
        assert_eq!(limit_ok_share(&records, 0.0, 3), records);
        assert_eq!(limit_ok_share(&records, 0.95, 3), records);
        // Each source on its own: generated `ok` examples do not thin the library's.
        let mut mixed = records.clone();
        mixed.extend((0..40).map(|i| TraceRecord {
            id: format!("synthetic-0001-{i:04}#1"),
            ..make(
                i,
                if i % 20 == 0 {
                    "missing_entity X"
                } else {
                    "ok"
                },
            )
        }));
        let kept = limit_ok_share(&mixed, 0.5, 3);
        let count = |generated: bool, ok: bool| {
            kept.iter()
                .filter(|r| {
                    r.id.starts_with("synthetic-") == generated && (r.completion == "ok") == ok
                })
                .count()
        };
        assert_eq!((count(false, true), count(false, false)), (10, 10));
        assert_eq!((count(true, true), count(true, false)), (2, 2));
    }

    #[test]
    fn at_most_max_copies_of_one_example_are_kept_in_order() {
        let records = vec![
            record("a#1", "p", "ok"),
            record("b#1", "p", "ok"),
            record("c#1", "p", "missing_entity X"),
            record("d#1", "p", "ok"),
            record("e#1", "q", "ok"),
        ];
        let ids =
            |kept: Vec<TraceRecord>| -> Vec<String> { kept.into_iter().map(|r| r.id).collect() };
        assert_eq!(ids(cap_copies(&records, 2)), ["a#1", "b#1", "c#1", "e#1"]);
        assert_eq!(ids(cap_copies(&records, 1)), ["a#1", "c#1", "e#1"]);
        assert_eq!(cap_copies(&records, 0), records);
    }
}
