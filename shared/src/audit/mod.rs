//! Auditing a drafted trace step by step against the truth, and refining it (R2tA stage 2);
//! and the inference-time check of a model's findings against the parsed diagrams.
//!
//! [`audit_draft`] gives every draft step and every claim a [`Verdict`] (correct, hallucinated,
//! wrong category, wrong element, missed, malformed, inconsistent with the final answer) and builds the
//! refined trace: wrong steps fixed, hallucinations dropped, missed mistakes added, findings equal
//! to the steps' claims. [`AuditReport`] counts verdicts by category over a data set.
//! [`check_findings`] is the inference-time audit: it needs no labels.

mod inference;
mod report;

pub use inference::{check_findings, CheckedFinding};
pub use report::AuditReport;

use crate::finding::Finding;
use crate::lexicon::Lexicon;
use crate::model::{same_name, Diagram};
use crate::path::ElementPath;
use crate::trace::{focus_steps, focus_trace, gold_trace, Claim, ParsedTrace, Trace};
use serde::Serialize;
use std::collections::HashSet;

/// The audit's judgement of a step, a claim or a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Agrees with the truth.
    Correct,
    /// Claims a mistake the truth does not have (or a step about an element the reference
    /// lacks).
    Hallucinated,
    /// The right element with the wrong category.
    WrongCategory,
    /// The right category at the wrong element of the same step (or a wrong student match).
    WrongElement,
    /// A true mistake (or a reference element) the draft does not mention.
    Missed,
    /// A step whose verdict does not follow the grammar (neither `ok` nor claims).
    Malformed,
    /// The steps and the final findings disagree.
    Inconsistent,
}

impl Verdict {
    /// All verdicts, in report order.
    pub const ALL: [Verdict; 7] = [
        Verdict::Correct,
        Verdict::Hallucinated,
        Verdict::WrongCategory,
        Verdict::WrongElement,
        Verdict::Missed,
        Verdict::Malformed,
        Verdict::Inconsistent,
    ];

    /// The verdict's id (`wrong_category`).
    pub fn id(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Hallucinated => "hallucinated",
            Verdict::WrongCategory => "wrong_category",
            Verdict::WrongElement => "wrong_element",
            Verdict::Missed => "missed",
            Verdict::Malformed => "malformed",
            Verdict::Inconsistent => "inconsistent",
        }
    }
}

/// The verdict on one claim (of a step or of the final findings), with the true claim it was
/// taken for, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimAudit {
    /// What the draft claimed (for `Missed`: the true claim it lacks).
    pub claim: String,
    /// The category claimed (or missed).
    pub category: crate::finding::Category,
    /// The verdict.
    pub verdict: Verdict,
    /// The true claim, for wrong-category and wrong-element verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truth: Option<String>,
}

/// The verdict on one reasoning step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepAudit {
    /// The step's number in the draft (1-based); `None` for a reference element the draft
    /// skipped or whose verdict is malformed.
    pub number: Option<usize>,
    /// The reference element the step is about.
    pub reference: String,
    /// The step's overall verdict (its worst part).
    pub verdict: Verdict,
    /// Whether the step named the student's matching element correctly.
    pub student_match: bool,
    /// Verdicts on the step's claims, and the true claims it missed.
    pub claims: Vec<ClaimAudit>,
}

/// The audit of one draft and its refinement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftAudit {
    /// One entry per draft step, then one per focused step the draft skipped (missed) or
    /// answered with a malformed verdict.
    pub steps: Vec<StepAudit>,
    /// Verdicts on the draft's final findings, and the true findings it missed.
    pub findings: Vec<ClaimAudit>,
    /// Claims made in steps but not in the findings, or the reverse.
    pub inconsistent: Vec<String>,
    /// Malformed lines of the draft (and a missing findings block).
    pub parse_errors: usize,
    /// Correct findings whose explanation does not name the element.
    pub weak_explanations: usize,
    /// The refined trace.
    #[serde(skip)]
    pub refined: Trace,
}

impl DraftAudit {
    /// Whether anything in the draft was wrong (then it can serve as a rejected answer).
    pub fn is_flawed(&self) -> bool {
        self.parse_errors > 0
            || self.weak_explanations > 0
            || !self.inconsistent.is_empty()
            || self.steps.iter().any(|s| s.verdict != Verdict::Correct)
            || self.findings.iter().any(|f| f.verdict != Verdict::Correct)
    }
}

/// Judges `claims` (made at one place) against the true `truth` claims of the same place;
/// returns the verdicts (claims first, then missed truths).
fn judge(claims: &[Claim], truth: &[Claim]) -> Vec<ClaimAudit> {
    let mut used = vec![false; truth.len()];
    let mut out = Vec::new();
    let mut pending = Vec::new();
    // Exact matches first, so that a near miss cannot take a truth another claim states exactly.
    for claim in claims {
        match truth
            .iter()
            .enumerate()
            .position(|(i, t)| !used[i] && t == claim)
        {
            Some(i) => {
                used[i] = true;
                out.push(ClaimAudit {
                    claim: claim.to_string(),
                    category: claim.category,
                    verdict: Verdict::Correct,
                    truth: None,
                });
            }
            None => pending.push(claim),
        }
    }
    for claim in pending {
        let same_element = truth
            .iter()
            .enumerate()
            .position(|(i, t)| !used[i] && t.element == claim.element);
        let same_category = truth
            .iter()
            .enumerate()
            .position(|(i, t)| !used[i] && t.category == claim.category);
        let (verdict, index) = match (same_element, same_category) {
            (Some(i), _) => (Verdict::WrongCategory, Some(i)),
            (None, Some(i)) => (Verdict::WrongElement, Some(i)),
            (None, None) => (Verdict::Hallucinated, None),
        };
        if let Some(i) = index {
            used[i] = true;
        }
        out.push(ClaimAudit {
            claim: claim.to_string(),
            category: claim.category,
            verdict,
            truth: index.map(|i| truth[i].to_string()),
        });
    }
    for (i, t) in truth.iter().enumerate() {
        if !used[i] {
            out.push(ClaimAudit {
                claim: t.to_string(),
                category: t.category,
                verdict: Verdict::Missed,
                truth: None,
            });
        }
    }
    out
}

/// The worst verdict of a list (correct if empty).
fn worst(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    verdicts
        .into_iter()
        .filter(|v| *v != Verdict::Correct)
        .min()
        .unwrap_or(Verdict::Correct)
}

/// The last name of a path (the attribute, the entity on a side, the relationship…).
fn leaf_name(path: &ElementPath) -> String {
    match path {
        ElementPath::Named(name) => name.clone(),
        ElementPath::Attribute { names, .. } => names.last().cloned().unwrap_or_default(),
        ElementPath::Side { entity, .. } => entity.clone(),
        ElementPath::Specialization { superclass, .. } => superclass.clone(),
        ElementPath::Union { category, .. } => category.clone(),
    }
}

/// Whether an explanation names the element it is about (case and `_` ignored).
fn explanation_names(explanation: &str, path: &ElementPath) -> bool {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let leaf = squash(&leaf_name(path));
    !leaf.is_empty() && squash(explanation).contains(&leaf)
}

/// Audits `draft` (a parsed completion for `student` graded against `reference`) against the
/// true findings `labels`, and refines it.
///
/// The steps are those of a [focused grading](crate::trace::focus_steps) (an element, an
/// attribute or a side each). The refined trace has the true steps (the student's matches from
/// the alignment, the labels as claims on the steps they concern) and the true findings; a
/// finding the draft stated correctly keeps the draft's explanation when that explanation names
/// the element.
pub fn audit_draft(
    lexicon: &Lexicon,
    reference: &Diagram,
    student: &Diagram,
    labels: &[Finding],
    draft: &ParsedTrace,
) -> DraftAudit {
    let gold = focus_trace(
        &focus_steps(lexicon, reference, student),
        &gold_trace(lexicon, reference, student, labels),
    );
    let mut steps = Vec::new();
    let mut seen = HashSet::new();
    for (i, step) in draft.trace.steps.iter().enumerate() {
        let truth = gold.steps.iter().find(|g| g.reference == step.reference);
        let (verdict, student_match, claims) = match truth {
            None => (Verdict::Hallucinated, false, judge(&step.claims, &[])),
            Some(truth) => {
                let first_time = seen.insert(truth.reference.key());
                let student_match = match (&step.student, &truth.student) {
                    (Some(a), Some(b)) => same_name(a, b),
                    (None, None) => true,
                    _ => false,
                };
                let claims = judge(&step.claims, if first_time { &truth.claims } else { &[] });
                let mut verdict = worst(claims.iter().map(|c| c.verdict));
                if !first_time {
                    verdict = worst([verdict, Verdict::Inconsistent]);
                }
                if !student_match {
                    verdict = worst([verdict, Verdict::WrongElement]);
                }
                (verdict, student_match, claims)
            }
        };
        steps.push(StepAudit {
            number: Some(i + 1),
            reference: step.reference.to_string(),
            verdict,
            student_match,
            claims,
        });
    }
    for g in gold
        .steps
        .iter()
        .filter(|g| !seen.contains(&g.reference.key()))
    {
        let malformed = draft
            .malformed_steps
            .iter()
            .any(|p| p.key() == g.reference.key());
        steps.push(StepAudit {
            number: None,
            reference: g.reference.to_string(),
            verdict: if malformed {
                Verdict::Malformed
            } else {
                Verdict::Missed
            },
            student_match: false,
            claims: judge(&[], &g.claims),
        });
    }

    let claimed: Vec<Claim> = draft
        .trace
        .steps
        .iter()
        .flat_map(|s| s.claims.iter().cloned())
        .collect();
    let stated: Vec<Claim> = draft.trace.findings.iter().map(Claim::of).collect();
    let mut inconsistent: Vec<String> = claimed
        .iter()
        .filter(|c| !stated.contains(c))
        .chain(stated.iter().filter(|c| !claimed.contains(c)))
        .map(Claim::to_string)
        .collect();
    inconsistent.dedup();
    let true_claims: Vec<Claim> = labels.iter().map(Claim::of).collect();
    let findings = judge(&stated, &true_claims);

    let mut weak_explanations = 0;
    let mut refined = gold;
    for finding in &mut refined.findings {
        let stated = draft
            .trace
            .findings
            .iter()
            .find(|d| d.matches(finding) && !d.explanation.trim().is_empty());
        match stated {
            Some(d) if explanation_names(&d.explanation, &finding.element) => {
                finding.explanation = d.explanation.clone();
            }
            Some(_) => weak_explanations += 1,
            None => {}
        }
    }
    DraftAudit {
        steps,
        findings,
        inconsistent,
        parse_errors: draft.errors.len(),
        weak_explanations,
        refined,
    }
}

#[cfg(test)]
mod tests;
