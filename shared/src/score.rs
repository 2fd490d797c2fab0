//! Scoring findings against labels: per-category precision, recall and F1, micro and macro
//! averages, the false-alarm rate on clean records and the hallucination rate, and both rates
//! by the kind of harmless rename a record carries ([`Scorer::add_record`]).
//!
//! A predicted finding is a true positive when its category and reference path equal a label's
//! (`mistakes.md`); each label is matched at most once.

use crate::finding::{Category, Finding, Variation};
use crate::mutate::RenameKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Counts for one category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Predicted findings that match a label.
    pub true_positives: usize,
    /// Predicted findings that match no label.
    pub false_positives: usize,
    /// Labels no prediction matched.
    pub false_negatives: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.false_negatives += other.false_negatives;
    }

    /// Labels of the category (true positives + false negatives).
    pub fn support(&self) -> usize {
        self.true_positives + self.false_negatives
    }

    /// Precision, recall and F1 (each 0 when undefined).
    pub fn prf(&self) -> Prf {
        let tp = self.true_positives as f64;
        let precision = ratio(tp, tp + self.false_positives as f64);
        let recall = ratio(tp, tp + self.false_negatives as f64);
        let f1 = ratio(2.0 * precision * recall, precision + recall);
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Precision, recall and F1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Prf {
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// One category's row of a report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategoryScore {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Number of labels of this category.
    pub support: usize,
    /// Number of predictions of this category.
    pub predicted: usize,
}

/// False findings among the records that carry one kind of harmless rename.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RenameScore {
    /// Records with at least one rename of this kind.
    pub records: usize,
    /// Of those, records without labels.
    pub clean_records: usize,
    /// Share of those clean records that got any finding.
    pub false_alarm_rate: f64,
    /// Share of all those records that got at least one finding matching no label.
    pub false_finding_rate: f64,
}

/// Counts behind a [`RenameScore`].
#[derive(Debug, Clone, Copy, Default)]
struct RenameCounts {
    records: usize,
    clean: usize,
    clean_with_findings: usize,
    with_false_findings: usize,
}

/// Accumulates counts over records.
#[derive(Debug, Clone, Default)]
pub struct Scorer {
    by_rename: BTreeMap<RenameKind, RenameCounts>,
    per_category: BTreeMap<Category, Counts>,
    records: usize,
    clean_records: usize,
    clean_with_findings: usize,
    predicted: usize,
    unmatched_predictions: usize,
    failed: usize,
}

/// The result of scoring a data set (the JSON of `eerd eval --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Micro-averaged precision, recall, F1 over all findings.
    pub micro: Prf,
    /// Unweighted mean over the categories that have labels or predictions.
    pub macro_: Prf,
    /// Per category id.
    pub per_category: BTreeMap<String, CategoryScore>,
    /// Share of records without labels that got any finding.
    pub false_alarm_rate: f64,
    /// Share of predicted findings that match no label.
    pub hallucination_rate: f64,
    /// Records scored.
    pub records: usize,
    /// Records without labels.
    pub clean_records: usize,
    /// Records the grader failed on (scored as no findings).
    pub failed_records: usize,
    /// False alarms and false findings by the kind of harmless rename the records carry (kinds
    /// without records are left out).
    pub by_rename_kind: BTreeMap<String, RenameScore>,
}

impl Scorer {
    /// Adds one record's predictions and labels, with the harmless renames it carries (its
    /// `variations`), so that false findings are also counted by rename kind.
    pub fn add_record(
        &mut self,
        predicted: &[Finding],
        labels: &[Finding],
        variations: &[Variation],
    ) {
        let mut kinds: Vec<RenameKind> = variations.iter().map(|v| v.kind).collect();
        kinds.sort();
        kinds.dedup();
        let false_finding = predicted
            .iter()
            .any(|p| !labels.iter().any(|l| p.matches(l)));
        for kind in kinds {
            let c = self.by_rename.entry(kind).or_default();
            c.records += 1;
            if labels.is_empty() {
                c.clean += 1;
                if !predicted.is_empty() {
                    c.clean_with_findings += 1;
                }
            }
            if false_finding {
                c.with_false_findings += 1;
            }
        }
        self.add(predicted, labels);
    }

    /// Adds one record's predictions and labels.
    pub fn add(&mut self, predicted: &[Finding], labels: &[Finding]) {
        self.records += 1;
        if labels.is_empty() {
            self.clean_records += 1;
            if !predicted.is_empty() {
                self.clean_with_findings += 1;
            }
        }
        self.predicted += predicted.len();
        let mut label_used = vec![false; labels.len()];
        for p in predicted {
            let counts = self.per_category.entry(p.category).or_default();
            match labels
                .iter()
                .enumerate()
                .position(|(i, l)| !label_used[i] && p.matches(l))
            {
                Some(i) => {
                    label_used[i] = true;
                    counts.true_positives += 1;
                }
                None => {
                    counts.false_positives += 1;
                    self.unmatched_predictions += 1;
                }
            }
        }
        for (label, used) in labels.iter().zip(label_used) {
            if !used {
                self.per_category
                    .entry(label.category)
                    .or_default()
                    .false_negatives += 1;
            }
        }
    }

    /// Counts a record the grader failed on: its labels are all missed.
    pub fn add_failure(&mut self, labels: &[Finding]) {
        self.add_failed_record(labels, &[]);
    }

    /// [`Scorer::add_failure`] for a record carrying `variations`.
    pub fn add_failed_record(&mut self, labels: &[Finding], variations: &[Variation]) {
        self.failed += 1;
        self.add_record(&[], labels, variations);
    }

    /// The report so far.
    pub fn report(&self) -> Report {
        let mut total = Counts::default();
        let mut per_category = BTreeMap::new();
        let mut macro_sum = Prf::default();
        let mut macro_n = 0;
        for category in Category::ALL {
            let counts = self
                .per_category
                .get(&category)
                .copied()
                .unwrap_or_default();
            total.add(counts);
            let prf = counts.prf();
            let predicted = counts.true_positives + counts.false_positives;
            if counts.support() > 0 || predicted > 0 {
                macro_sum.precision += prf.precision;
                macro_sum.recall += prf.recall;
                macro_sum.f1 += prf.f1;
                macro_n += 1;
            }
            per_category.insert(
                category.id().to_string(),
                CategoryScore {
                    precision: prf.precision,
                    recall: prf.recall,
                    f1: prf.f1,
                    support: counts.support(),
                    predicted,
                },
            );
        }
        let n = macro_n.max(1) as f64;
        Report {
            micro: total.prf(),
            macro_: Prf {
                precision: macro_sum.precision / n,
                recall: macro_sum.recall / n,
                f1: macro_sum.f1 / n,
            },
            per_category,
            false_alarm_rate: ratio(self.clean_with_findings as f64, self.clean_records as f64),
            hallucination_rate: ratio(self.unmatched_predictions as f64, self.predicted as f64),
            records: self.records,
            clean_records: self.clean_records,
            failed_records: self.failed,
            by_rename_kind: self
                .by_rename
                .iter()
                .map(|(kind, c)| {
                    (
                        kind.id().to_string(),
                        RenameScore {
                            records: c.records,
                            clean_records: c.clean,
                            false_alarm_rate: ratio(c.clean_with_findings as f64, c.clean as f64),
                            false_finding_rate: ratio(
                                c.with_false_findings as f64,
                                c.records as f64,
                            ),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl Report {
    /// The report as JSON with the keys of `eerd eval --json` (`macro`, not `macro_`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            if let Some(m) = map.remove("macro_") {
                map.insert("macro".to_string(), m);
            }
        }
        value
    }

    /// A plain-text table: one row per category, then micro and macro averages and the rates.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>9} {:>9} {:>8} {:>9}",
            "category", "precision", "recall", "f1", "support", "predicted"
        );
        for (id, s) in &self.per_category {
            let _ = writeln!(
                out,
                "{:<24} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>9}",
                id, s.precision, s.recall, s.f1, s.support, s.predicted
            );
        }
        for (name, prf) in [("micro", self.micro), ("macro", self.macro_)] {
            let _ = writeln!(
                out,
                "{:<24} {:>9.3} {:>9.3} {:>9.3}",
                name, prf.precision, prf.recall, prf.f1
            );
        }
        let _ = writeln!(
            out,
            "false_alarm_rate {:.3} ({} clean records)  hallucination_rate {:.3}  records {}{}",
            self.false_alarm_rate,
            self.clean_records,
            self.hallucination_rate,
            self.records,
            if self.failed_records > 0 {
                format!("  failed {}", self.failed_records)
            } else {
                String::new()
            }
        );
        if !self.by_rename_kind.is_empty() {
            let _ = writeln!(
                out,
                "{:<24} {:>9} {:>9} {:>12} {:>14}",
                "rename kind", "records", "clean", "false_alarm", "false_finding"
            );
            for (kind, r) in &self.by_rename_kind {
                let _ = writeln!(
                    out,
                    "{:<24} {:>9} {:>9} {:>12.3} {:>14.3}",
                    kind, r.records, r.clean_records, r.false_alarm_rate, r.false_finding_rate
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(category: Category, path: &str) -> Finding {
        Finding {
            category,
            element: path.parse().unwrap(),
            student: None,
            explanation: String::new(),
            requirement: None,
        }
    }

    #[test]
    fn hand_made_case() {
        let mut s = Scorer::default();
        // Record 1: one hit (case-insensitive path), one miss, one hallucination.
        s.add(
            &[
                f(Category::WrongCardinality, "works_for/department"),
                f(Category::MissingAttribute, "EMPLOYEE.Salary"),
            ],
            &[
                f(Category::WrongCardinality, "WORKS_FOR/DEPARTMENT"),
                f(Category::MissingEntity, "PROJECT"),
            ],
        );
        // Record 2: clean, with a false alarm. Record 3: clean, silent.
        s.add(&[f(Category::WrongKey, "EMPLOYEE")], &[]);
        s.add(&[], &[]);
        // Record 4: right path, wrong category counts as a miss and a false positive.
        s.add(
            &[f(Category::WrongParticipation, "WORKS_FOR/DEPARTMENT")],
            &[f(Category::WrongCardinality, "WORKS_FOR/DEPARTMENT")],
        );
        let r = s.report();
        assert_eq!(r.records, 4);
        assert_eq!(r.clean_records, 2);
        assert!((r.false_alarm_rate - 0.5).abs() < 1e-9);
        // 4 predictions, 1 matched.
        assert!((r.hallucination_rate - 0.75).abs() < 1e-9);
        assert!((r.micro.precision - 0.25).abs() < 1e-9);
        assert!((r.micro.recall - 1.0 / 3.0).abs() < 1e-9);
        let card = r.per_category["wrong_cardinality"];
        assert_eq!((card.support, card.predicted), (2, 1));
        assert!((card.precision - 1.0).abs() < 1e-9 && (card.recall - 0.5).abs() < 1e-9);
        // Categories with labels or predictions: cardinality, attribute, entity, key, participation.
        let expected_macro_f1 = (2.0 / 3.0) / 5.0;
        assert!(
            (r.macro_.f1 - expected_macro_f1).abs() < 1e-9,
            "{}",
            r.macro_.f1
        );
        let json = r.to_json();
        assert!(json.get("macro").is_some() && json.get("macro_").is_none());
    }

    #[test]
    fn a_label_is_matched_once() {
        let mut s = Scorer::default();
        s.add(
            &[
                f(Category::MissingEntity, "A"),
                f(Category::MissingEntity, "a"),
            ],
            &[f(Category::MissingEntity, "A")],
        );
        let r = s.report();
        assert_eq!(r.per_category["missing_entity"].predicted, 2);
        assert!((r.micro.precision - 0.5).abs() < 1e-9);
        assert!((r.micro.recall - 1.0).abs() < 1e-9);
    }

    #[test]
    fn perfect_and_empty() {
        let mut s = Scorer::default();
        s.add(
            &[f(Category::Specialization, "A>C,B")],
            &[f(Category::Specialization, "A>B,C")],
        );
        let r = s.report();
        assert!((r.micro.f1 - 1.0).abs() < 1e-9);
        assert_eq!(Scorer::default().report().micro.f1, 0.0);
    }
}
