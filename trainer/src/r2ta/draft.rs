//! Stage 1: drafts — a graded trace for each record of a data set from a base model, either a
//! local GGUF run by the shared runtime (in parallel workers) or an OpenAI-compatible endpoint.
//! Either way the model answers the record's [focused steps](eerd::trace::FocusStep) one by one
//! and the verdicts make the draft's completion text.

use crate::endpoint::{Endpoint, SampleOptions};
use crate::model_files::ModelFiles;
use crate::r2ta::traces::Parsed;
use anyhow::{Context, Result};
use eerd::finding::Record;
use eerd::lexicon::Lexicon;
use eerd::runtime::{generate_focused, GenerateOptions, Model, Sampling, STEP_MAX_TOKENS};
use eerd::trace::{completion_text, FocusStep};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A record to draft: its id and focused steps.
#[derive(Debug, Clone)]
pub struct FocusJob {
    /// The data-set record's id.
    pub id: String,
    /// Its focused steps.
    pub steps: Vec<FocusStep>,
}

/// The drafting job of every record (its diagrams parsed, its steps built).
pub fn focus_jobs(records: &[Record], lexicon: &Lexicon) -> Result<Vec<FocusJob>> {
    records
        .iter()
        .map(|r| {
            Ok(FocusJob {
                id: r.id.clone(),
                steps: Parsed::new(r)?.focus_steps(lexicon),
            })
        })
        .collect()
}

/// One drafted completion (JSONL line of `drafts.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// The data-set record's id.
    pub id: String,
    /// Which sample of that record (0-based).
    pub sample: usize,
    /// The completion text.
    pub completion: String,
    /// Tokens generated (0 when the endpoint does not say).
    pub tokens: usize,
    /// Why generation stopped (`eos`, `max_tokens`, …).
    pub stop: String,
}

/// How to sample drafts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DraftOptions {
    /// Samples per prompt.
    pub samples: usize,
    /// Temperature (0: greedy, then one sample is enough).
    pub temperature: f32,
    /// Nucleus mass.
    pub top_p: f32,
    /// Most tokens of each step's verdict (at most the runtime's per-step limit).
    pub max_tokens: usize,
    /// Seed; each (record, sample) derives its own.
    pub seed: u64,
    /// Parallel workers for a local model (each holds its own copy).
    pub workers: usize,
}

impl Default for DraftOptions {
    fn default() -> Self {
        DraftOptions {
            samples: 1,
            temperature: 0.8,
            top_p: 0.95,
            max_tokens: STEP_MAX_TOKENS,
            seed: 1,
            workers: 2,
        }
    }
}

/// Where drafts come from.
pub enum DraftSource {
    /// A GGUF model and its tokenizer (a model with a ChatML chat template is asked
    /// prompt-only: [`eerd::trace::instructed_prompt`]).
    Local(ModelFiles),
    /// An OpenAI-compatible server, and the template that turns a prompt into the text sent
    /// (`{prompt}` is replaced).
    Endpoint(Endpoint, String),
}

/// The default text sent to an endpoint: our models' prompt form without `<|bos|>` (the server
/// adds it) for the completions API; the bare prompt for the chat API.
pub fn default_template(api: crate::endpoint::Api) -> String {
    match api {
        crate::endpoint::Api::Completions => "{prompt}<|prompt_end|>".to_string(),
        crate::endpoint::Api::Chat => "{prompt}".to_string(),
    }
}

impl DraftSource {
    /// A local model from any of: a GGUF file (its own tokenizer or `tokenizer.json` beside it), a training
    /// checkpoint or run directory (exported to F16 on the fly), or a Hugging Face llama-family
    /// directory (`config.json` + safetensors; imported and exported on the fly).
    pub fn any_local(path: &Path) -> Result<Self> {
        if path.is_file() {
            return Self::local(path, None);
        }
        if !path.is_dir() {
            anyhow::bail!(
                "{} is neither a GGUF file nor a model directory",
                path.display()
            );
        }
        let scratch = std::env::temp_dir().join(format!("eerd-draft-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)?;
        let gguf = scratch.join("model.gguf");
        let exported = if path.join("config.json").is_file() {
            crate::hf::load(path, &candle_core::Device::Cpu).and_then(|m| {
                crate::export::export(
                    &m.config,
                    &m.weights,
                    &m.tokenizer,
                    &gguf,
                    crate::export::Quant::F16,
                )
            })
        } else {
            crate::export::export_checkpoint(path, &gguf, crate::export::Quant::F16)
        };
        let source = exported
            .with_context(|| format!("cannot make a GGUF of {}", path.display()))
            .and_then(|_| Self::local(&gguf, None));
        let _ = std::fs::remove_dir_all(&scratch);
        source
    }

    /// A local GGUF model and its tokenizer (`tokenizer`, else the GGUF's own, else the
    /// `tokenizer.json` beside it: [`ModelFiles::read`]).
    pub fn local(model: &Path, tokenizer: Option<&Path>) -> Result<Self> {
        let files = ModelFiles::read(model, tokenizer)?;
        // Fail early, with the file named, rather than in every worker.
        files.load()?;
        Ok(DraftSource::Local(files))
    }
}

/// A seed for one (record, sample): FNV-1a of the id mixed with the sample and the run seed.
pub fn sample_seed(seed: u64, id: &str, sample: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in id.bytes().chain((sample as u64).to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn sampling(options: &DraftOptions, seed: u64) -> Sampling {
    if options.temperature <= 0.0 {
        Sampling::Greedy
    } else {
        Sampling::TopP {
            temperature: options.temperature,
            top_p: options.top_p,
            top_k: 0,
            seed,
        }
    }
}

/// Drafts `options.samples` completions for every job; `progress(done, total)` after each.
/// The result is in job order, whatever the worker scheduling.
pub fn draft_all(
    source: &DraftSource,
    prompts: &[FocusJob],
    options: &DraftOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<Draft>> {
    let jobs: Vec<(usize, usize)> = (0..prompts.len())
        .flat_map(|i| (0..options.samples.max(1)).map(move |s| (i, s)))
        .collect();
    let total = jobs.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Draft>>> = Mutex::new(vec![None; total]);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let workers = match source {
        DraftSource::Local(_) => options.workers.max(1),
        DraftSource::Endpoint(..) => 1,
    };
    std::thread::scope(|scope| {
        for _ in 0..workers.min(total.max(1)) {
            scope.spawn(|| {
                let mut model = match source {
                    DraftSource::Local(files) => match files.load() {
                        Ok(m) => Some(m),
                        Err(e) => {
                            first_error.lock().unwrap().get_or_insert(e);
                            return;
                        }
                    },
                    DraftSource::Endpoint(..) => None,
                };
                loop {
                    if first_error.lock().unwrap().is_some() {
                        return;
                    }
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(i, sample)) = jobs.get(k) else {
                        return;
                    };
                    let record = &prompts[i];
                    let seed = sample_seed(options.seed, &record.id, sample);
                    let outcome = match (&mut model, source) {
                        (Some(model), _) => draft_local(model, record, sample, options, seed),
                        (None, DraftSource::Endpoint(endpoint, template)) => {
                            draft_endpoint(endpoint, template, record, sample, options, seed)
                        }
                        (None, DraftSource::Local(_)) => unreachable!("local workers load"),
                    };
                    match outcome {
                        Ok(d) => results.lock().unwrap()[k] = Some(d),
                        Err(e) => {
                            first_error
                                .lock()
                                .unwrap()
                                .get_or_insert(e.context(format!("drafting {}", record.id)));
                            return;
                        }
                    }
                    progress(done.fetch_add(1, Ordering::SeqCst) + 1, total);
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect())
}

fn draft_local(
    model: &mut Model,
    job: &FocusJob,
    sample: usize,
    options: &DraftOptions,
    seed: u64,
) -> Result<Draft> {
    let generate = GenerateOptions {
        max_tokens: options.max_tokens,
        sampling: sampling(options, seed),
        ..GenerateOptions::default()
    };
    let out = generate_focused(model, &job.steps, &generate, |_| ControlFlow::Continue(()))?;
    Ok(Draft {
        id: job.id.clone(),
        sample,
        completion: out.text,
        tokens: out.tokens.len(),
        stop: format!("{:?}", out.stop).to_lowercase(),
    })
}

fn draft_endpoint(
    endpoint: &Endpoint,
    template: &str,
    job: &FocusJob,
    sample: usize,
    options: &DraftOptions,
    seed: u64,
) -> Result<Draft> {
    let mut verdicts = Vec::with_capacity(job.steps.len());
    let mut tokens = 0;
    for (i, step) in job.steps.iter().enumerate() {
        let sample_options = SampleOptions {
            max_tokens: options.max_tokens.min(STEP_MAX_TOKENS),
            temperature: options.temperature,
            top_p: options.top_p,
            seed: Some(seed.wrapping_add(i as u64)),
            stop: vec!["<|eos|>".to_string(), "\n".to_string()],
        };
        let text = template.replace("{prompt}", &step.prompt);
        let completion = endpoint
            .complete_detailed(&text, &sample_options)
            .with_context(|| format!("step {}", i + 1))?;
        tokens += completion.completion_tokens.unwrap_or(0);
        let verdict = completion.text.lines().next().unwrap_or_default().trim();
        verdicts.push(verdict.to_string());
    }
    Ok(Draft {
        id: job.id.clone(),
        sample,
        completion: completion_text(&job.steps, &verdicts),
        tokens,
        stop: "eos".into(),
    })
}
