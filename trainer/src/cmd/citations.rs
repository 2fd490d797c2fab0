//! `eerd citations --data FILE`: a sample of a data set's true findings with the requirement
//! sentence each would cite, as a Markdown table to check by hand (`docs/requirement-sentences.md`).

use super::input::read_text;
use anyhow::{bail, Context, Result};
use eerd::lexicon::Lexicon;
use eerd::requirements::Requirements;
use eerd::rng::Rng;
use eerd::Record;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd citations`.
#[derive(clap::Args)]
pub struct Args {
    /// A labelled JSONL data set whose records carry their requirements (`eerd dataset`).
    #[arg(long)]
    data: PathBuf,
    /// How many findings to sample (0: all).
    #[arg(long, default_value_t = 60)]
    sample: usize,
    /// Seed of the sample.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Runs `eerd citations`.
pub fn run(args: Args) -> Result<ExitCode> {
    let text = read_text(&args.data)?;
    let mut findings = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let record: Record = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a data-set record", args.data.display(), i + 1))?;
        let Some(requirements) = record.requirements.as_deref() else {
            continue;
        };
        let parsed = Requirements::parse(requirements);
        let reference = eerd::parse(&record.reference).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}: the reference does not parse: {e}",
                args.data.display(),
                i + 1
            )
        })?;
        for f in &record.findings {
            findings.push((
                record.id.clone(),
                f.clone(),
                parsed.clone(),
                reference.clone(),
            ));
        }
    }
    if findings.is_empty() {
        bail!(
            "{} has no findings of records with requirements",
            args.data.display()
        );
    }
    let mut order: Vec<usize> = (0..findings.len()).collect();
    Rng::new(args.seed).shuffle(&mut order);
    if args.sample > 0 {
        order.truncate(args.sample);
    }
    let lexicon = Lexicon::builtin();
    println!("| # | record | category | element | cited | sentence |");
    println!("|---:|---|---|---|---|---|");
    let mut cited = 0;
    for (n, &i) in order.iter().enumerate() {
        let (id, finding, parsed, reference) = &findings[i];
        let sentence = parsed.locate(&lexicon, reference, finding.category, &finding.element);
        cited += usize::from(sentence.is_some());
        let (item, text) = match sentence {
            Some(s) => (
                s.item.map_or("intro".to_string(), |n| n.to_string()),
                s.text.as_str(),
            ),
            None => ("none".to_string(), ""),
        };
        println!(
            "| {} | {} | {} | `{}` | {} | {} |",
            n + 1,
            id,
            finding.category,
            cell(&finding.element.to_string()),
            item,
            cell(text)
        );
    }
    eprintln!(
        "citations: {cited} of {} sampled findings cite a sentence",
        order.len()
    );
    Ok(ExitCode::SUCCESS)
}
