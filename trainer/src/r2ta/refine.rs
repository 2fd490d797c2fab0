//! Stage 2: audit every draft step by step against the truth and refine it; and the preference
//! pairs of stage 4 (chosen = refined trace, rejected = a flawed draft or sample).

use crate::r2ta::draft::Draft;
use crate::r2ta::traces::{Parsed, TraceRecord};
use anyhow::{bail, Result};
use eerd::audit::{audit_draft, AuditReport, DraftAudit};
use eerd::finding::Record;
use eerd::lexicon::Lexicon;
use eerd::trace::parse_completion;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One audited draft (JSONL line of `audits.jsonl`).
#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    /// The record's id.
    pub id: String,
    /// The draft's sample number.
    pub sample: usize,
    /// Whether anything was wrong.
    pub flawed: bool,
    /// The verdicts.
    pub audit: DraftAudit,
}

/// A preference pair for DPO (JSONL line of `pairs.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The record's id.
    pub id: String,
    /// The prompt.
    pub prompt: String,
    /// The refined completion.
    pub chosen: String,
    /// A flawed completion for the same prompt.
    pub rejected: String,
}

/// What refining a set of drafts produced.
pub struct Refined {
    /// One refined trace per record that had a draft (SFT data).
    pub traces: Vec<TraceRecord>,
    /// One audit per draft.
    pub audits: Vec<AuditLine>,
    /// Preference pairs: each distinct flawed draft against its record's refined trace.
    pub pairs: Vec<Pair>,
    /// Verdict counts.
    pub report: AuditReport,
}

/// Audits and refines `drafts` of `records`. A record with several drafts gets the refinement of
/// its first draft (refinements differ only in explanations kept from the drafts). Drafts of ids
/// not in `records` are an error.
pub fn refine(records: &[Record], drafts: &[Draft], lexicon: &Lexicon) -> Result<Refined> {
    let by_id: HashMap<&str, &Record> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut parsed_cache: HashMap<&str, Parsed> = HashMap::new();
    let mut traces: Vec<TraceRecord> = Vec::new();
    let mut refined_ids: HashMap<String, usize> = HashMap::new();
    let mut audits = Vec::new();
    let mut pairs = Vec::new();
    let mut report = AuditReport::default();
    let mut rejected_seen: HashMap<&str, Vec<&str>> = HashMap::new();
    for draft in drafts {
        let Some(record) = by_id.get(draft.id.as_str()) else {
            bail!("draft for unknown record id '{}'", draft.id);
        };
        if !parsed_cache.contains_key(draft.id.as_str()) {
            parsed_cache.insert(record.id.as_str(), Parsed::new(record)?);
        }
        let parsed = &parsed_cache[draft.id.as_str()];
        let audit = audit_draft(
            lexicon,
            &parsed.reference,
            &parsed.student,
            &record.findings,
            &parse_completion(&draft.completion),
        );
        report.add(&audit);
        let refined_text = audit.refined.render();
        let prompt = parsed.prompt();
        let index = *refined_ids.entry(record.id.clone()).or_insert_with(|| {
            traces.push(TraceRecord {
                id: record.id.clone(),
                prompt: prompt.clone(),
                completion: refined_text.clone(),
            });
            traces.len() - 1
        });
        let flawed = audit.is_flawed();
        let seen = rejected_seen.entry(record.id.as_str()).or_default();
        if flawed && !seen.contains(&draft.completion.as_str()) {
            seen.push(&draft.completion);
            pairs.push(Pair {
                id: record.id.clone(),
                prompt,
                chosen: traces[index].completion.clone(),
                rejected: draft.completion.clone(),
            });
        }
        audits.push(AuditLine {
            id: draft.id.clone(),
            sample: draft.sample,
            flawed,
            audit,
        });
    }
    Ok(Refined {
        traces,
        audits,
        pairs,
        report,
    })
}
