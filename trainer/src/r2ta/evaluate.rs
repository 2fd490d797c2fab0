//! Evaluation of graders on labelled data sets, and the comparison table (JSON, markdown, SVG)
//! that ends the pipeline.

use crate::model_files::ModelFiles;
use crate::r2ta::traces::Parsed;
use anyhow::Result;
use eerd::finding::Record;
use eerd::grade::{RulesGrader, Submission};
use eerd::runtime::{GenerateOptions, ModelGrader};
use eerd::score::{Report, Scorer};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A model's outcome on one data set: scored as generated and after the inference-time audit
/// (the same generations).
#[derive(Debug, Clone)]
pub struct ModelEval {
    /// Scores of the parsed findings.
    pub plain: Report,
    /// Scores after the inference-time audit dropped refuted findings.
    pub audited: Report,
    /// Findings the audit dropped.
    pub dropped: usize,
    /// Completions without a findings block (scored as failures).
    pub unfinished: usize,
    /// Mean generated tokens per record.
    pub mean_tokens: f64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Scores the rules grader on `records`.
pub fn evaluate_rules(records: &[Record]) -> Result<Report> {
    let grader = RulesGrader::default();
    let mut scorer = Scorer::default();
    for r in records {
        let parsed = Parsed::new(r)?;
        scorer.add_record(
            &grader.findings(&parsed.reference, &parsed.student),
            &r.findings,
            &r.variations,
        );
    }
    Ok(scorer.report())
}

/// Grades `records` with a GGUF model (greedy, `workers` copies in parallel) and scores it with
/// and without the inference-time audit; `progress(done, total)` after each record.
pub fn evaluate_model(
    files: &ModelFiles,
    records: &[Record],
    max_tokens: usize,
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ModelEval> {
    let started = Instant::now();
    struct Outcome {
        plain: Option<Vec<eerd::Finding>>,
        audited: Vec<eerd::Finding>,
        dropped: usize,
        tokens: usize,
    }
    let outcomes: Mutex<Vec<Option<Outcome>>> =
        Mutex::new((0..records.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(records.len().max(1)) {
            scope.spawn(|| {
                let model = match files.load() {
                    Ok(m) => m,
                    Err(e) => {
                        error.lock().unwrap().get_or_insert(e);
                        return;
                    }
                };
                let mut grader = ModelGrader::new(model, "model")
                    .with_options(GenerateOptions {
                        max_tokens,
                        ..GenerateOptions::default()
                    })
                    .with_audit(true);
                loop {
                    if error.lock().unwrap().is_some() {
                        return;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(record) = records.get(k) else { return };
                    let result = Parsed::new(record).and_then(|p| {
                        let submission = Submission {
                            reference: &p.reference,
                            student: &p.student,
                            requirements: None,
                        };
                        Ok(grader.run(submission, |_| std::ops::ControlFlow::Continue(()))?)
                    });
                    match result {
                        Ok(graded) => {
                            let finished = graded.parsed.has_findings_block;
                            outcomes.lock().unwrap()[k] = Some(Outcome {
                                plain: finished.then(|| graded.parsed.trace.findings.clone()),
                                audited: graded.findings,
                                dropped: graded
                                    .checked
                                    .iter()
                                    .filter(|c| c.dropped.is_some())
                                    .count(),
                                tokens: graded.generation.tokens.len(),
                            });
                        }
                        Err(e) => {
                            error
                                .lock()
                                .unwrap()
                                .get_or_insert(e.context(format!("grading {}", record.id)));
                            return;
                        }
                    }
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, records.len());
                }
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap() {
        return Err(e);
    }
    let mut plain = Scorer::default();
    let mut audited = Scorer::default();
    let (mut dropped, mut unfinished, mut tokens) = (0, 0, 0);
    for (record, outcome) in records.iter().zip(outcomes.into_inner().unwrap()) {
        let outcome = outcome.expect("every record graded");
        tokens += outcome.tokens;
        dropped += outcome.dropped;
        match outcome.plain {
            Some(findings) => {
                plain.add_record(&findings, &record.findings, &record.variations);
                audited.add_record(&outcome.audited, &record.findings, &record.variations);
            }
            None => {
                unfinished += 1;
                plain.add_failed_record(&record.findings, &record.variations);
                audited.add_failed_record(&record.findings, &record.variations);
            }
        }
    }
    Ok(ModelEval {
        plain: plain.report(),
        audited: audited.report(),
        dropped,
        unfinished,
        mean_tokens: tokens as f64 / records.len().max(1) as f64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One row of the comparison table: a grader's reports on the test and unseen sets.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The grader (`rules`, `base`, `sft`, `sft+dpo`, `sft+dpo+audit`).
    pub grader: String,
    /// Report on `test.jsonl`.
    pub test: Report,
    /// Report on `unseen.jsonl`.
    pub unseen: Report,
}

/// The table as JSON: `{"rows": [{"grader", "test": report, "unseen": report}]}`.
pub fn table_json(rows: &[Row]) -> Value {
    json!({
        "rows": rows.iter().map(|r| json!({
            "grader": r.grader,
            "test": r.test.to_json(),
            "unseen": r.unseen.to_json(),
        })).collect::<Vec<_>>()
    })
}

/// A table ([`table_json`], `eval/table.json`) as markdown: records scored, micro P/R/F1,
/// macro F1, false alarms, hallucinations and failed records per grader and split.
pub fn table_markdown(table: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| grader | split | records | micro P | micro R | micro F1 | macro F1 | false alarms | hallucinations | failed |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for row in table["rows"].as_array().into_iter().flatten() {
        for split in ["test", "unseen"] {
            let r = &row[split];
            let f = |v: &Value| v.as_f64().unwrap_or(0.0);
            let _ = writeln!(
                out,
                "| {} | {split} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} % | {:.1} % | {} |",
                row["grader"].as_str().unwrap_or(""),
                r["records"],
                f(&r["micro"]["precision"]),
                f(&r["micro"]["recall"]),
                f(&r["micro"]["f1"]),
                f(&r["macro"]["f1"]),
                100.0 * f(&r["false_alarm_rate"]),
                100.0 * f(&r["hallucination_rate"]),
                r["failed_records"]
            );
        }
    }
    out
}

/// The table as an SVG bar chart of micro-F1 (test and unseen) per grader.
pub fn table_svg(rows: &[Row]) -> String {
    let (width, height, left, bottom, top) = (640.0, 300.0, 50.0, 60.0, 30.0);
    let plot_h = height - bottom - top;
    let group = (width - left - 20.0) / rows.len().max(1) as f64;
    let bar = group * 0.35;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <text x=\"{left}\" y=\"18\" font-size=\"13\">micro-F1 by grader (blue: test, orange: unseen)</text>\n"
    );
    for tick in 0..=4 {
        let v = tick as f64 / 4.0;
        let y = top + plot_h * (1.0 - v);
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.2}</text>",
            width - 10.0,
            left - 4.0,
            y + 4.0
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let x0 = left + group * i as f64 + group * 0.15;
        for (j, (f1, color)) in [
            (row.test.micro.f1, "#4a78c2"),
            (row.unseen.micro.f1, "#e08a2c"),
        ]
        .into_iter()
        .enumerate()
        {
            let h = plot_h * f1.clamp(0.0, 1.0);
            let x = x0 + bar * j as f64;
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{}: {f1:.3}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\">{f1:.2}</text>",
                top + plot_h - h,
                bar - 2.0,
                row.grader,
                x + bar / 2.0 - 1.0,
                top + plot_h - h - 3.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0 + bar,
            height - bottom + 16.0,
            row.grader
        );
    }
    svg.push_str("</svg>\n");
    svg
}
