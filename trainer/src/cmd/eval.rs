//! `eerd eval --data FILE.jsonl --grader G`: score a grader on a labelled data set.

use super::graders::grader_from_spec;
use super::input::read_text;
use anyhow::{bail, Context, Result};
use eerd::grade::Submission;
use eerd::score::Scorer;
use eerd::Record;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `eerd eval`.
#[derive(clap::Args)]
pub struct Args {
    /// A JSONL data set (one record a line, as `eerd dataset` writes).
    #[arg(long)]
    data: PathBuf,
    /// The grader: `rules`, or `model:PATH` for an exported model.
    #[arg(long, default_value = "rules")]
    grader: String,
    /// Print one JSON object (micro, macro, per_category, false_alarm_rate,
    /// hallucination_rate, records) instead of a table.
    #[arg(long)]
    json: bool,
    /// Most tokens of each step's verdict for a model grader (at most 64).
    #[arg(long, default_value_t = eerd::runtime::STEP_MAX_TOKENS)]
    max_tokens: usize,
}

/// One record with its diagrams parsed.
pub struct ParsedRecord {
    /// The record as read.
    pub record: Record,
    /// Its reference diagram.
    pub reference: eerd::Diagram,
    /// Its student diagram.
    pub student: eerd::Diagram,
}

/// Reads and checks a whole JSONL data set; any bad line is an error naming file, line and field.
pub fn read_records(path: &Path) -> Result<Vec<ParsedRecord>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", path.display(), i + 1);
        let record: Record =
            serde_json::from_str(line).with_context(|| format!("{at}: not a valid record"))?;
        let parse = |field: &str, text: &str| {
            eerd::parse(text).map_err(|e| {
                anyhow::anyhow!("{at}: field `{field}` is not a valid diagram: {}", e.0[0])
            })
        };
        let reference = parse("reference", &record.reference)?;
        let student = parse("student", &record.student)?;
        out.push(ParsedRecord {
            record,
            reference,
            student,
        });
    }
    if out.is_empty() {
        bail!("{}: no records", path.display());
    }
    Ok(out)
}

/// Runs `eerd eval`.
pub fn run(args: Args) -> Result<ExitCode> {
    let mut grader = grader_from_spec(&args.grader, args.max_tokens)?;
    let records = read_records(&args.data)?;
    let mut scorer = Scorer::default();
    for (n, r) in records.iter().enumerate() {
        let submission = Submission {
            reference: &r.reference,
            student: &r.student,
            requirements: r.record.requirements.as_deref(),
        };
        match grader.grade(submission) {
            Ok(findings) => scorer.add_record(&findings, &r.record.findings, &r.record.variations),
            Err(error) => {
                eprintln!("{}: grader failed: {error}", r.record.id);
                scorer.add_failed_record(&r.record.findings, &r.record.variations);
            }
        }
        if (n + 1) % 100 == 0 {
            eprint!("\rgraded {}/{}", n + 1, records.len());
        }
    }
    if records.len() >= 100 {
        eprintln!();
    }
    let report = scorer.report();
    if args.json {
        let mut value = report.to_json();
        value["grader"] = grader.name().into();
        value["data"] = args.data.display().to_string().into();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!("grader {} on {}", grader.name(), args.data.display());
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
