//! `eerd check FILE…`: parse and lint diagrams; exit 1 if any is not well-formed.

use super::input::read_text;
use anyhow::Result;
use eerd::{check_text, Diagnostic, Severity};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd check`.
#[derive(clap::Args)]
pub struct Args {
    /// Diagram files (`@startchen` … `@endchen`); `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON array of `{file, ok, diagnostics}` instead of `FILE:LINE:COL: message` lines.
    #[arg(long)]
    json: bool,
    /// Treat warnings as errors for the exit code.
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    ok: bool,
    diagnostics: Vec<Diagnostic>,
}

/// Runs `eerd check`.
pub fn run(args: Args) -> Result<ExitCode> {
    let mut reports = Vec::new();
    for file in &args.files {
        let name = file.display().to_string();
        let diagnostics = match read_text(file) {
            Ok(text) => check_text(&text),
            Err(error) => vec![Diagnostic {
                severity: Severity::Error,
                code: "io",
                line: 0,
                column: 0,
                message: format!("{error:#}"),
            }],
        };
        let ok = !diagnostics.iter().any(|d| {
            d.severity == Severity::Error || (args.deny_warnings && d.severity == Severity::Warning)
        });
        reports.push(FileReport {
            file: name,
            ok,
            diagnostics,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            for d in &report.diagnostics {
                let severity = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                if d.code == "io" {
                    println!("{}: {severity}: {}", report.file, d.message);
                } else {
                    println!(
                        "{}:{}:{}: {severity}[{}]: {}",
                        report.file, d.line, d.column, d.code, d.message
                    );
                }
            }
        }
        let bad = reports.iter().filter(|r| !r.ok).count();
        if bad > 0 {
            eprintln!("{bad} of {} file(s) not well-formed", reports.len());
        }
    }
    Ok(if reports.iter().all(|r| r.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
