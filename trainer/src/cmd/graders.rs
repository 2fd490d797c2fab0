//! Choosing a grader from the command line: `--grader rules`, `--grader model:PATH.gguf`
//! (the GGUF's own tokenizer, else `tokenizer.json` beside it; a model with a ChatML chat
//! template is asked prompt-only), `--grader model+audit:PATH.gguf` (with the inference-time
//! audit).

use anyhow::{bail, Context, Result};
use eerd::grade::{Grader, RulesGrader};
use eerd::runtime::{GenerateOptions, ModelGrader};
use eerd_trainer::model_files::ModelFiles;
use std::path::Path;

fn model_grader(spec: &str, path: &str, audit: bool, max_tokens: usize) -> Result<Box<dyn Grader>> {
    // One thread unless CANDLE_NUM_THREADS says otherwise: a grade is short, and a second
    // thread only helps on an idle machine.
    let threads = eerd_trainer::threads::configure(None);
    let path = Path::new(path);
    let mut model = ModelFiles::read(path, None)
        .and_then(|files| files.load())
        .with_context(|| format!("--grader {spec}"))?;
    model.set_threads(threads);
    let options = GenerateOptions {
        max_tokens,
        ..GenerateOptions::default()
    };
    Ok(Box::new(
        ModelGrader::new(model, spec)
            .with_options(options)
            .with_audit(audit),
    ))
}

/// Builds the grader named by `spec`; a model grader writes at most `max_tokens` tokens a step
/// (the runtime caps it at [`eerd::runtime::STEP_MAX_TOKENS`]).
pub fn grader_from_spec(spec: &str, max_tokens: usize) -> Result<Box<dyn Grader>> {
    match spec.split_once(':') {
        None if spec == "rules" => Ok(Box::new(RulesGrader::default())),
        Some(("model", path)) if !path.is_empty() => model_grader(spec, path, false, max_tokens),
        Some(("model+audit", path)) if !path.is_empty() => model_grader(spec, path, true, max_tokens),
        _ => bail!("unknown grader '{spec}': expected 'rules', 'model:PATH.gguf' or 'model+audit:PATH.gguf'"),
    }
}
