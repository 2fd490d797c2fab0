//! Choosing a grader from the command line (`--grader rules`, later `--grader model:PATH`).

use anyhow::{bail, Result};
use eerd::grade::{Grader, RulesGrader};

/// Builds the grader named by `spec`.
pub fn grader_from_spec(spec: &str) -> Result<Box<dyn Grader>> {
    match spec.split_once(':') {
        None if spec == "rules" => Ok(Box::new(RulesGrader::default())),
        Some(("model", path)) if !path.is_empty() => bail!(
            "--grader model:{path}: the model grader is not available yet (it arrives with the R2tA pipeline); use --grader rules"
        ),
        _ => bail!("unknown grader '{spec}': expected 'rules' or 'model:PATH'"),
    }
}
