//! `eerd fmt FILE`: print a diagram in canonical form.

use super::input::read_text;
use anyhow::Result;
use eerd::{print_with, PrintOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `eerd fmt`.
#[derive(clap::Args)]
pub struct Args {
    /// The diagram file; `-` reads standard input.
    file: PathBuf,
    /// Write roles as `' role: NAME` comment lines so that PlantUML renders the output.
    #[arg(long)]
    roles_as_comments: bool,
    /// Print nothing; exit 1 if the file is not already in canonical form.
    #[arg(long)]
    check: bool,
}

/// Runs `eerd fmt`.
pub fn run(args: Args) -> Result<ExitCode> {
    let text = read_text(&args.file)?;
    let diagram = match eerd::parse(&text) {
        Ok(diagram) => diagram,
        Err(_) => {
            for d in eerd::check_text(&text) {
                eprintln!(
                    "{}:{}:{}: error[{}]: {}",
                    args.file.display(),
                    d.line,
                    d.column,
                    d.code,
                    d.message
                );
            }
            return Ok(ExitCode::from(1));
        }
    };
    let options = PrintOptions {
        roles_as_comments: args.roles_as_comments,
    };
    let printed = print_with(&diagram, options);
    if args.check {
        if printed == text {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("{}: not in canonical form", args.file.display());
        return Ok(ExitCode::from(1));
    }
    print!("{printed}");
    Ok(ExitCode::SUCCESS)
}
