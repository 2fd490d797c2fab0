//! The model grader: one [focused](crate::trace::FocusStep) prompt per element, attribute and
//! side → the step verdicts → the trace and its findings, with the optional inference-time
//! audit. Native evaluation, drafting and the browser use the same code.

use super::{GenerateOptions, Generation, Model, Result, Sampling, StopReason, TokenEvent};
use crate::audit::{check_findings, CheckedFinding};
use crate::finding::Finding;
use crate::grade::{GradeError, Grader, Submission};
use crate::lexicon::Lexicon;
use crate::trace::{
    findings_block, focus_steps, instructed_prompt, parse_completion, read_answer, step_header,
    FocusStep, ParsedTrace, INSTRUCTIONS,
};
use std::ops::ControlFlow;

/// Most tokens of one step's verdict unless the options ask for fewer.
pub const STEP_MAX_TOKENS: usize = 64;

/// Appends `piece` to `text` and streams it as a text-only event.
fn emit(
    text: &mut String,
    piece: &str,
    count: usize,
    on_token: &mut dyn FnMut(&TokenEvent) -> ControlFlow<()>,
) -> ControlFlow<()> {
    text.push_str(piece);
    on_token(&TokenEvent {
        token: None,
        text: piece,
        count,
    })
}

/// Runs the focused `steps` one after the other (a model with a chat template is asked
/// prompt-only, each step's [instructed prompt](crate::trace::instructed_prompt) under
/// [`INSTRUCTIONS`], and its answer [read](crate::trace::read_answer) as a verdict; our own
/// models get the step's prompt): each step's header is streamed as text
/// (`token: None`), then an event per generated token (empty text), then the step's verdict
/// with its claims [held to the step](FocusStep::hold_claims), then the findings block. Sampled
/// steps each get their own seed (the options' seed plus the step's index). `options.max_tokens`
/// limits each step's verdict. A `Break` from `on_token` stops after the current token; the
/// text so far is returned with [`StopReason::Cancelled`] and no findings block.
///
/// The returned [`Generation`] holds the whole completion text (steps and findings), every
/// generated token, and the prompt tokens of all steps.
pub fn generate_focused(
    model: &mut Model,
    steps: &[FocusStep],
    options: &GenerateOptions,
    mut on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
) -> Result<Generation> {
    let mut text = String::new();
    let mut tokens: Vec<u32> = Vec::new();
    let mut prompt_tokens = 0;
    let mut verdicts = Vec::with_capacity(steps.len());
    let chat = model.chat_template().is_some();
    let mut stopped = emit(&mut text, "Steps:\n", 0, &mut on_token).is_break();
    for (i, step) in steps.iter().enumerate() {
        if stopped {
            break;
        }
        if emit(
            &mut text,
            &step_header(i + 1, step),
            tokens.len(),
            &mut on_token,
        )
        .is_break()
        {
            stopped = true;
            break;
        }
        let ids = match chat {
            true => model.chat_ids(INSTRUCTIONS, &instructed_prompt(step))?,
            false => model.prompt_ids(&step.prompt)?,
        };
        prompt_tokens += ids.len();
        let room = model.context_length().saturating_sub(ids.len());
        let mut sampling = options.sampling.clone();
        if let Sampling::TopP { seed, .. } = &mut sampling {
            *seed = seed.wrapping_add(i as u64);
        }
        let step_options = GenerateOptions {
            max_tokens: options.max_tokens.min(STEP_MAX_TOKENS).min(room),
            sampling,
            stop: vec!["\n".to_string()],
            ignore_eos: false,
        };
        let before = tokens.len();
        // Each token is reported (for progress and cancelling); the verdict's text is streamed
        // once its paths are settled.
        let generation = model.generate(&ids, &step_options, |event| {
            let flow = on_token(&TokenEvent {
                token: event.token,
                text: "",
                count: before + event.count,
            });
            if flow.is_break() {
                stopped = true;
            }
            flow
        })?;
        tokens.extend(&generation.tokens);
        let verdict = if stopped {
            generation.text
        } else if chat {
            read_answer(step, &generation.text)
        } else {
            step.hold_claims(&generation.text)
        };
        let line = format!("{verdict}\n");
        verdicts.push(verdict);
        if emit(&mut text, &line, tokens.len(), &mut on_token).is_break() {
            stopped = true;
        }
    }
    if !stopped {
        let block = findings_block(steps, &verdicts);
        stopped = emit(&mut text, &block, tokens.len(), &mut on_token).is_break();
    }
    Ok(Generation {
        text,
        tokens,
        stop: if stopped {
            StopReason::Cancelled
        } else {
            StopReason::Eos
        },
        prompt_tokens,
    })
}

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
    audit: bool,
    lexicon: Lexicon,
}

impl ModelGrader {
    /// A grader using `model` greedily, with up to [`STEP_MAX_TOKENS`] a step and no audit;
    /// `name` is shown in reports.
    pub fn new(model: Model, name: impl Into<String>) -> Self {
        ModelGrader {
            model,
            name: name.into(),
            options: GenerateOptions {
                max_tokens: STEP_MAX_TOKENS,
                ..GenerateOptions::default()
            },
            audit: false,
            lexicon: Lexicon::builtin(),
        }
    }

    /// Sets the generation options (sampling, token limit of each step's verdict).
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
        self.audit = on;
        self
    }

    /// The model.
    pub fn model_mut(&mut self) -> &mut Model {
        &mut self.model
    }

    /// Grades one submission, calling `on_token` for every piece of the completion (step
    /// headers, generated tokens, the findings block; a `Break` stops generation; what was
    /// generated so far is still parsed). The requirements text is not in the prompts (they hold
    /// the diagrams only); with the audit on, the findings cite its sentences.
    pub fn run(
        &mut self,
        submission: Submission<'_>,
        on_token: impl FnMut(&TokenEvent) -> ControlFlow<()>,
    ) -> Result<Graded> {
        let steps = focus_steps(&self.lexicon, submission.reference, submission.student);
        let generation = generate_focused(&mut self.model, &steps, &self.options, on_token)?;
        let parsed = parse_completion(&generation.text);
        let (findings, checked) = if self.audit {
            let checked = check_findings(
                &self.lexicon,
                submission.reference,
                submission.student,
                submission.requirements,
                &parsed.trace.findings,
            );
            let kept = checked
                .iter()
                .filter(|c| c.dropped.is_none())
                .map(|c| c.finding.clone())
                .collect();
            (kept, checked)
        } else {
            let mut findings = parsed.trace.findings.clone();
            crate::requirements::cite(
                &self.lexicon,
                submission.reference,
                submission.requirements,
                &mut findings,
            );
            (findings, Vec::new())
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
