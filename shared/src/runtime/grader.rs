//! The model grader: prompt → generated trace → findings, with the optional inference-time
//! audit. Native evaluation and the browser use the same code.

use super::{GenerateOptions, Generation, Model, Result, TokenEvent};
use crate::audit::{check_findings, CheckedFinding};
use crate::finding::Finding;
use crate::grade::{GradeError, Grader, Submission};
use crate::lexicon::Lexicon;
use crate::trace::{parse_completion, prompt, ParsedTrace};
use std::ops::ControlFlow;

/// Everything one grading produced.
#[derive(Debug, Clone)]
pub struct Graded {
    /// The generation (completion text, tokens, why it stopped).
    pub generation: Generation,
    /// The completion, parsed.
    pub parsed: ParsedTrace,
    /// The findings returned: the parsed findings, minus those the audit dropped when it is on.
    pub findings: Vec<Finding>,
    /// The audit's verdict on every parsed finding (empty when the audit is off).
    pub checked: Vec<CheckedFinding>,
}

/// Grades with a language model trained on [traces](crate::trace).
pub struct ModelGrader {
    model: Model,
    name: String,
    options: GenerateOptions,
    audit: Option<Lexicon>,
    with_requirements: bool,
}

impl ModelGrader {
    /// A grader using `model` greedily, with up to the whole context for the answer and no
    /// audit; `name` is shown in reports.
    pub fn new(model: Model, name: impl Into<String>) -> Self {
        let max_tokens = model.context_length();
        ModelGrader {
            model,
            name: name.into(),
            options: GenerateOptions {
                max_tokens,
                ..GenerateOptions::default()
            },
            audit: None,
            with_requirements: false,
        }
    }

    /// Sets the generation options (sampling, token limit).
    pub fn with_options(mut self, options: GenerateOptions) -> Self {
        self.options = options;
        self
    }

    /// Replaces the generation options in place (for a grader kept across gradings).
    pub fn set_options(&mut self, options: GenerateOptions) {
        self.options = options;
    }

    /// Turns the inference-time audit on ([`check_findings`]) with the built-in lexicon.
    pub fn with_audit(mut self, on: bool) -> Self {
        self.audit = on.then(Lexicon::builtin);
        self
    }

    /// Puts the requirements text in the prompt (only for models trained that way).
    pub fn with_requirements(mut self, on: bool) -> Self {
        self.with_requirements = on;
        self
    }

    /// The model.
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Grades one submission, calling `on_token` for every generated token (a `Break` stops
    /// generation; what was generated so far is still parsed).
    pub fn run(
        &mut self,
        submission: Submission<'_>,
        on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<Graded> {
        let requirements = submission.requirements.filter(|_| self.with_requirements);
        let text = prompt(submission.reference, submission.student, requirements);
        let ids = self.model.prompt_ids(&text)?;
        let room = self.model.context_length().saturating_sub(ids.len());
        let options = GenerateOptions {
            max_tokens: self.options.max_tokens.min(room),
            ..self.options.clone()
        };
        let generation = self.model.generate(&ids, &options, on_token)?;
        let parsed = parse_completion(&generation.text);
        let (findings, checked) = match &self.audit {
            Some(lexicon) => {
                let checked = check_findings(
                    lexicon,
                    submission.reference,
                    submission.student,
                    &parsed.trace.findings,
                );
                let kept = checked
                    .iter()
                    .filter(|c| c.dropped.is_none())
                    .map(|c| c.finding.clone())
                    .collect();
                (kept, checked)
            }
            None => (parsed.trace.findings.clone(), Vec::new()),
        };
        Ok(Graded {
            generation,
            parsed,
            findings,
            checked,
        })
    }
}

impl Grader for ModelGrader {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// The findings of one grading. A completion without a findings block (cut off at the
    /// context limit) is an error, so that the scorer counts it as a failure, not as "no
    /// mistakes".
    fn grade(
        &mut self,
        submission: Submission<'_>,
    ) -> std::result::Result<Vec<Finding>, GradeError> {
        let graded = self
            .run(submission, |_| ControlFlow::Continue(()))
            .map_err(|e| GradeError(e.to_string()))?;
        if !graded.parsed.has_findings_block {
            return Err(GradeError(format!(
                "the model's answer has no findings block ({} tokens, stopped: {:?})",
                graded.generation.tokens.len(),
                graded.generation.stop
            )));
        }
        Ok(graded.findings)
    }
}
