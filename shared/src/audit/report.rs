//! Verdict counts over many audited drafts.

use super::{DraftAudit, Verdict};
use crate::finding::Category;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Counts of verdicts over a data set of audited drafts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReport {
    /// Drafts audited.
    pub drafts: usize,
    /// Drafts with at least one flaw.
    pub flawed: usize,
    /// Drafts with malformed lines or no findings block.
    pub malformed: usize,
    /// Step verdicts.
    pub steps: BTreeMap<Verdict, usize>,
    /// Claim verdicts of the steps, by category.
    pub step_claims: BTreeMap<Category, BTreeMap<Verdict, usize>>,
    /// Verdicts of the final findings, by category.
    pub findings: BTreeMap<Category, BTreeMap<Verdict, usize>>,
    /// Claims on which steps and findings disagree.
    pub inconsistent: usize,
    /// Correct findings with an explanation that does not name the element.
    pub weak_explanations: usize,
}

impl AuditReport {
    /// Adds one audited draft.
    pub fn add(&mut self, audit: &DraftAudit) {
        self.drafts += 1;
        self.flawed += usize::from(audit.is_flawed());
        self.malformed += usize::from(audit.parse_errors > 0);
        for step in &audit.steps {
            *self.steps.entry(step.verdict).or_default() += 1;
            for c in &step.claims {
                *self
                    .step_claims
                    .entry(c.category)
                    .or_default()
                    .entry(c.verdict)
                    .or_default() += 1;
            }
        }
        for f in &audit.findings {
            *self
                .findings
                .entry(f.category)
                .or_default()
                .entry(f.verdict)
                .or_default() += 1;
        }
        self.inconsistent += audit.inconsistent.len();
        self.weak_explanations += audit.weak_explanations;
    }

    fn verdict_map(counts: &BTreeMap<Verdict, usize>) -> Value {
        Verdict::ALL
            .iter()
            .map(|v| {
                (
                    v.id().to_string(),
                    json!(counts.get(v).copied().unwrap_or(0)),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn by_category(map: &BTreeMap<Category, BTreeMap<Verdict, usize>>) -> Value {
        map.iter()
            .map(|(c, counts)| (c.id().to_string(), Self::verdict_map(counts)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// Totals of a by-category map.
    fn totals(map: &BTreeMap<Category, BTreeMap<Verdict, usize>>) -> BTreeMap<Verdict, usize> {
        let mut out = BTreeMap::new();
        for counts in map.values() {
            for (v, n) in counts {
                *out.entry(*v).or_default() += n;
            }
        }
        out
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "drafts": self.drafts,
            "flawed": self.flawed,
            "malformed": self.malformed,
            "inconsistent_claims": self.inconsistent,
            "weak_explanations": self.weak_explanations,
            "steps": Self::verdict_map(&self.steps),
            "step_claims": Self::by_category(&self.step_claims),
            "findings": Self::by_category(&self.findings),
            "findings_total": Self::verdict_map(&Self::totals(&self.findings)),
        })
    }

    /// The report as a markdown summary and a table of finding verdicts by category.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} drafts: {} flawed, {} malformed, {} inconsistent claims, {} weak explanations.\n",
            self.drafts, self.flawed, self.malformed, self.inconsistent, self.weak_explanations
        );
        let head: Vec<&str> = Verdict::ALL.iter().map(|v| v.id()).collect();
        let _ = writeln!(out, "| | {} |", head.join(" | "));
        let _ = writeln!(out, "|---|{}", "---:|".repeat(head.len()));
        let row = |out: &mut String, name: &str, counts: &BTreeMap<Verdict, usize>| {
            let cells: Vec<String> = Verdict::ALL
                .iter()
                .map(|v| counts.get(v).copied().unwrap_or(0).to_string())
                .collect();
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        };
        row(&mut out, "steps", &self.steps);
        for (category, counts) in &self.findings {
            row(&mut out, &format!("findings: {category}"), counts);
        }
        row(&mut out, "findings: all", &Self::totals(&self.findings));
        out
    }
}
