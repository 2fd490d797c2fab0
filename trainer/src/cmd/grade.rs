//! `eerd grade --reference REF --student STU`: the findings for one submission, or for a folder
//! of submissions (`--csv` for a spreadsheet).

use super::graders::grader_from_spec;
use super::input::read_text;
use anyhow::{bail, Context, Result};
use eerd::grade::Submission;
use eerd::Finding;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `eerd grade`.
#[derive(clap::Args)]
pub struct Args {
    /// The reference solution (`.puml`).
    #[arg(long)]
    reference: PathBuf,
    /// A student's diagram, or a folder of `.puml` submissions.
    #[arg(long)]
    student: PathBuf,
    /// The grader: `rules`, `model:PATH.gguf`, or `model+audit:PATH.gguf` (with the
    /// inference-time audit, as the page grades).
    #[arg(long, default_value = "rules")]
    grader: String,
    /// Print JSON (an array of `{file, findings}` for a folder).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV rows `file,category,element,student,explanation,requirement` (one per finding).
    #[arg(long)]
    csv: bool,
    /// The assignment's requirements (Markdown): each finding cites the sentence it comes from.
    /// Default: `requirements.md` beside the reference, when there is one.
    #[arg(long)]
    requirements: Option<PathBuf>,
    /// Most tokens of each step's verdict for a model grader (at most 64).
    #[arg(long, default_value_t = eerd::runtime::STEP_MAX_TOKENS)]
    max_tokens: usize,
}

fn parse_file(path: &Path) -> Result<eerd::Diagram> {
    let text = read_text(path)?;
    eerd::parse(&text).map_err(|errors| {
        let lines: Vec<String> = errors
            .0
            .iter()
            .map(|e| format!("{}:{}:{}: {}", path.display(), e.line, e.column, e_text(e)))
            .collect();
        anyhow::anyhow!("{} does not parse:\n{}", path.display(), lines.join("\n"))
    })
}

fn e_text(e: &eerd::ParseError) -> String {
    format!("expected {}, found {}", e.expected, e.found)
}

fn submissions(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read folder {}", path.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "puml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no .puml files", path.display());
    }
    Ok(files)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Runs `eerd grade`.
pub fn run(args: Args) -> Result<ExitCode> {
    let mut grader = grader_from_spec(&args.grader, args.max_tokens)?;
    let reference = parse_file(&args.reference)?;
    let requirements = match &args.requirements {
        Some(path) => Some(read_text(path)?),
        None => args
            .reference
            .parent()
            .map(|dir| dir.join("requirements.md"))
            .filter(|p| p.is_file())
            .map(|p| read_text(&p))
            .transpose()?,
    };
    let files = submissions(&args.student)?;
    let mut results: Vec<(PathBuf, Result<Vec<Finding>, String>)> = Vec::new();
    for file in files {
        let outcome = match parse_file(&file) {
            Ok(student) => grader
                .grade(Submission {
                    reference: &reference,
                    student: &student,
                    requirements: requirements.as_deref(),
                })
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("{e:#}")),
        };
        results.push((file, outcome));
    }
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if args.json {
        let value: Vec<serde_json::Value> = results
            .iter()
            .map(|(file, r)| match r {
                Ok(findings) => {
                    serde_json::json!({"file": file.display().to_string(), "findings": findings})
                }
                Err(e) => serde_json::json!({"file": file.display().to_string(), "error": e}),
            })
            .collect();
        if value.len() == 1 && !args.student.is_dir() {
            println!("{}", serde_json::to_string_pretty(&value[0])?);
        } else {
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
    } else if args.csv {
        println!("file,category,element,student,explanation,requirement");
        for (file, r) in &results {
            match r {
                Ok(findings) => {
                    for f in findings {
                        println!(
                            "{},{},{},{},{},{}",
                            csv_field(&file.display().to_string()),
                            f.category,
                            csv_field(&f.element.to_string()),
                            csv_field(f.student.as_deref().unwrap_or("")),
                            csv_field(&f.explanation),
                            csv_field(f.requirement.as_ref().map_or("", |r| r.sentence.as_str()))
                        );
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    } else {
        for (file, r) in &results {
            match r {
                Ok(findings) if findings.is_empty() => {
                    println!("{}: no mistakes found", file.display())
                }
                Ok(findings) => {
                    println!("{}: {} finding(s)", file.display(), findings.len());
                    for f in findings {
                        println!("  {} at {}: {}", f.category, f.element, f.explanation);
                        if let Some(r) = &f.requirement {
                            match r.item {
                                Some(n) => println!("    requirement {n}: \"{}\"", r.sentence),
                                None => println!("    requirements: \"{}\"", r.sentence),
                            }
                        }
                    }
                }
                Err(e) => println!("{}: not graded: {e}", file.display()),
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
