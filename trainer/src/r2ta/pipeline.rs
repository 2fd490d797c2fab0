//! `eerd pipeline --config FILE.toml --out RUN`: every R2tA stage in one run folder, each
//! stage skipped when its marker says it is done (so an interrupted run resumes; SFT and DPO
//! also resume inside the stage from their checkpoints).
//!
//! | stage | writes |
//! |---|---|
//! | `data` | `data/{train,test,unseen}.jsonl`, `data/manifest.json` |
//! | `tokenizer` | `tokenizer.json` (BPE on the gold traces of the training split) |
//! | `base` | `base/` (warm-up on unrefined traces), `base/model.gguf` |
//! | `drafts` | `drafts/drafts.jsonl` (from the base model or the configured endpoint) |
//! | `refine` | `refine/{refined,audits,pairs}.jsonl`, `refine/report.{json,md}` |
//! | `sft` | `sft/` (SFT on refined traces, from the base weights), `sft/model.gguf` |
//! | `samples` | `samples/{samples,audits,pairs}.jsonl`, `samples/report.{json,md}` |
//! | `dpo` | `dpo/` (DPO on all pairs, reference = SFT), `dpo/model.gguf` |
//! | `eval` | `eval/table.{json,md,svg}` on `test.jsonl` and `unseen.jsonl` |
//!
//! `stages.json` records each finished stage's wall time.

use crate::checkpoint;
use crate::data::{load_jsonl, Example, LoadStats};
use crate::dataset::{self, load_library};
use crate::dpo::{self, DpoConfig};
use crate::endpoint::{Endpoint, EndpointConfig};
use crate::export::{export_checkpoint, Quant};
use crate::model::ModelConfig;
use crate::model_files::ModelFiles;
use crate::r2ta::draft::{
    default_template, draft_all, focus_jobs, Draft, DraftOptions, DraftSource,
};
use crate::r2ta::evaluate::{
    evaluate_model, evaluate_rules, table_json, table_markdown, table_svg, ModelEval, Row,
};
use crate::r2ta::refine::{balance_pairs, refine, Pair, Refined};
use crate::r2ta::rename::with_renamed_copies;
use crate::r2ta::rerun;
use crate::r2ta::traces::{
    cap_copies, gold_records, limit_ok_share, read_jsonl, read_records, unrefined_records,
    write_jsonl, Noise, TraceRecord,
};
use crate::rng::Rng;
use crate::sft::{self, RunOptions, SftConfig, TrainData};
use crate::tokenizer::{self, Specials};
use anyhow::{bail, Context, Result};
use candle_core::Device;
use eerd::finding::Record;
use eerd::lexicon::Lexicon;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where the data set comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// A folder with `train.jsonl`, `test.jsonl`, `unseen.jsonl` to use instead of generating.
    pub dir: Option<PathBuf>,
    /// The assignment library to generate from.
    pub library: PathBuf,
    /// Variants of the seen assignments (train + test).
    pub variants: usize,
    /// Variants of the held-out assignments.
    pub unseen: usize,
    /// Procedurally generated assignments (train only; see `eerd_trainer::synthetic`).
    pub synthetic: usize,
    /// Variants of the generated assignments (train only).
    pub synthetic_variants: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: None,
            library: PathBuf::from("static/assignments"),
            variants: 1200,
            unseen: 300,
            synthetic: 0,
            synthetic_variants: 0,
        }
    }
}

/// The model and its tokenizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// Preset: tiny, 2m, 8m, 24m.
    pub preset: String,
    /// Longest sequence (prompt + completion) in tokens.
    pub seq_len: usize,
    /// Tokenizer vocabulary size.
    pub vocab_size: usize,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            preset: "8m".into(),
            seq_len: 1024,
            vocab_size: 1024,
        }
    }
}

/// The base model's warm-up: training on unrefined traces (gold traces with induced flaws).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarmupConfig {
    /// Training settings.
    pub train: SftConfig,
    /// The induced flaws.
    pub noise: Noise,
}

impl Default for WarmupConfig {
    fn default() -> Self {
        WarmupConfig {
            train: SftConfig {
                steps: 150,
                ..SftConfig::default()
            },
            noise: Noise::default(),
        }
    }
}

/// Stage 1 settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DraftsConfig {
    /// Draft from this OpenAI-compatible endpoint instead of the warmed-up base model.
    pub endpoint: Option<EndpointConfig>,
    /// The text sent to the endpoint, `{prompt}` replaced by the prompt (default: the prompt
    /// then `<|prompt_end|>` for the completions API, the bare prompt for chat).
    pub template: Option<String>,
    /// Draft from this local model instead of the warmed-up base: a GGUF (its own tokenizer, else
    /// `tokenizer.json` beside it; one with a ChatML chat template, such as SmolLM2-Instruct, is
    /// asked prompt-only), a checkpoint or run folder, or a Hugging Face llama-family folder.
    pub local: Option<PathBuf>,
    /// Training records that get drafts (0: all); the others enter SFT with their gold trace.
    pub records: usize,
    /// Sampling.
    pub sampling: DraftOptions,
}

/// On-policy samples of the SFT model (stage 4's rejected answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplesConfig {
    /// Training records sampled (0: all).
    pub records: usize,
    /// Sampling.
    pub sampling: DraftOptions,
}

impl Default for SamplesConfig {
    fn default() -> Self {
        SamplesConfig {
            records: 300,
            sampling: DraftOptions {
                samples: 2,
                temperature: 1.0,
                ..DraftOptions::default()
            },
        }
    }
}

/// Augmentation of the SFT data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Share of SFT examples whose names are replaced by made-up ones
    /// ([`crate::r2ta::rename`]); 0 turns it off.
    pub renamed: f64,
    /// Most copies of one (prompt, verdict) kept before renaming
    /// ([`crate::r2ta::traces::cap_copies`]); 0 keeps all. An unchanged element reads the
    /// same in every variant of an assignment, so without a cap those examples crowd out the
    /// mistakes.
    pub max_copies: usize,
    /// Further copies of every (capped) example, each with fresh made-up names: a made-up
    /// name seen in one example only cannot be memorized with its verdict, so the model learns
    /// to compare the reference's text with the student's instead.
    pub renamed_copies: usize,
    /// The largest share of `ok` examples after the cap
    /// ([`crate::r2ta::traces::limit_ok_share`]); 0 keeps all.
    pub max_ok_share: f64,
}

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Most tokens of each step's verdict (the runtime caps it at 64).
    pub max_tokens: usize,
    /// Test records scored (0: all).
    pub test_records: usize,
    /// Unseen records scored (0: all).
    pub unseen_records: usize,
    /// Quantization of the exported models that are evaluated (and shipped).
    pub quant: String,
    /// Also evaluate the base model.
    pub base: bool,
    /// Also evaluate the drafts' local GGUF model (`drafts.local`, an instruction-tuned model
    /// asked prompt-only: the paper's prompt-only baseline) on the first this many test and
    /// unseen records (0: not evaluated).
    pub drafter_records: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            max_tokens: eerd::runtime::STEP_MAX_TOKENS,
            test_records: 0,
            unseen_records: 0,
            quant: "q8_0".into(),
            base: true,
            drafter_records: 0,
        }
    }
}

/// The whole pipeline configuration (`FILE.toml`); every section and field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Seed of the data set, tokenizer data, training orders and sampling.
    pub seed: u64,
    /// Parallel model copies for drafting, sampling and evaluation.
    pub workers: usize,
    /// The data set.
    pub data: DataConfig,
    /// The model.
    pub model: ModelSection,
    /// The base model's warm-up.
    pub warmup: WarmupConfig,
    /// Stage 1.
    pub drafts: DraftsConfig,
    /// Stage 3: SFT on refined traces.
    pub sft: SftConfig,
    /// Stage 3: augmentation of the SFT data.
    pub augment: AugmentConfig,
    /// Stage 4: on-policy samples.
    pub samples: SamplesConfig,
    /// Stage 4: DPO.
    pub dpo: DpoConfig,
    /// Evaluation.
    pub eval: EvalConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            seed: 42,
            workers: 2,
            data: DataConfig::default(),
            model: ModelSection::default(),
            warmup: WarmupConfig::default(),
            drafts: DraftsConfig::default(),
            sft: SftConfig::default(),
            augment: AugmentConfig::default(),
            samples: SamplesConfig::default(),
            dpo: DpoConfig::default(),
            eval: EvalConfig::default(),
        }
    }
}

impl PipelineConfig {
    /// Reads a TOML file; errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// The stage names, in order.
pub const STAGES: [&str; 9] = [
    "data",
    "tokenizer",
    "base",
    "drafts",
    "refine",
    "sft",
    "samples",
    "dpo",
    "eval",
];

/// How to run the pipeline.
#[derive(Debug, Clone, Default)]
pub struct PipelineOptions {
    /// Progress bars and stage messages.
    pub progress: bool,
    /// Stop after this stage (for a partial run; resume later).
    pub stop_after: Option<String>,
    /// When the run folder's configuration differs, run again the finished stages the change
    /// invalidates (see [`rerun`](super::rerun)) instead of refusing.
    pub rerun_changed: bool,
}

/// A pipeline run in a folder.
pub struct Pipeline {
    config: PipelineConfig,
    dir: PathBuf,
    options: PipelineOptions,
    lexicon: Lexicon,
    device: Device,
}

#[derive(Default, Serialize, Deserialize)]
struct StageLog {
    stages: BTreeMap<String, f64>,
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join("stages.json")
}

fn read_log(dir: &Path) -> Result<StageLog> {
    let path = log_path(dir);
    if !path.exists() {
        return Ok(StageLog::default());
    }
    let text = std::fs::read_to_string(&path)?;
    serde_json::from_str(&text).with_context(|| format!("{}: unreadable", path.display()))
}

fn write_log(dir: &Path, log: &StageLog) -> Result<()> {
    crate::fsutil::write_atomic(
        &log_path(dir),
        serde_json::to_string_pretty(log)?.as_bytes(),
    )
}

/// Handles a configuration change in the run folder `dir`: refuses it when it invalidates
/// finished stages (unless `options.rerun_changed`), else forgets those stages and removes
/// their artefacts.
fn invalidate(
    dir: &Path,
    stored: &Path,
    change: &rerun::Change,
    options: &PipelineOptions,
) -> Result<()> {
    let Some(first) = change.first_stage else {
        return Ok(());
    };
    let mut log = read_log(dir)?;
    let stale: Vec<&str> = STAGES[rerun::stage_index(first)..]
        .iter()
        .copied()
        .filter(|s| log.stages.contains_key(*s))
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    let sections = change
        .sections
        .iter()
        .map(|s| format!("[{s}]"))
        .collect::<Vec<_>>()
        .join(", ");
    if !options.rerun_changed {
        bail!(
            "{} holds a run made with another configuration ({}): {sections} changed, which \
             invalidates the finished stage(s) {}; pass --rerun-changed to run them again \
             (their artefacts are replaced) or use another --out folder",
            dir.display(),
            stored.display(),
            stale.join(", ")
        );
    }
    say(
        options,
        &format!(
            "{sections} changed: stage(s) {} run again",
            stale.join(", ")
        ),
    );
    rerun::remove_outputs_from(dir, first)?;
    log.stages
        .retain(|stage, _| rerun::stage_index(stage) < rerun::stage_index(first));
    write_log(dir, &log)
}

fn say(options: &PipelineOptions, message: &str) {
    if options.progress {
        eprintln!("{message}");
    }
}

fn bar(options: &PipelineOptions, what: &str) -> impl Fn(usize, usize) + Sync {
    let show = options.progress;
    let what = what.to_string();
    let started = Instant::now();
    move |done, total| {
        let every = (total / 20).max(1);
        if show && (done % every == 0 || done == total) {
            eprintln!(
                "  {what}: {done}/{total} ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn first(records: Vec<Record>, n: usize) -> Vec<Record> {
    if n == 0 {
        records
    } else {
        records.into_iter().take(n).collect()
    }
}

impl Pipeline {
    /// A pipeline writing to `dir`. A folder holding a run made with another configuration is
    /// refused (the configuration is stored in `config.toml`).
    pub fn new(config: PipelineConfig, dir: &Path, options: PipelineOptions) -> Result<Self> {
        if let Some(stage) = &options.stop_after {
            if !STAGES.contains(&stage.as_str()) {
                bail!(
                    "unknown stage '{stage}': expected one of {}",
                    STAGES.join(", ")
                );
            }
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let stored = dir.join("config.toml");
        let text = toml::to_string(&config)?;
        if stored.exists() {
            let before = PipelineConfig::load(&stored)?;
            let change = rerun::change(&before, &config)?;
            if !change.sections.is_empty() {
                invalidate(dir, &stored, &change, &options)?;
                crate::fsutil::write_atomic(&stored, text.as_bytes())?;
            }
        } else {
            crate::fsutil::write_atomic(&stored, text.as_bytes())?;
        }
        Ok(Pipeline {
            config,
            dir: dir.to_path_buf(),
            options,
            lexicon: Lexicon::builtin(),
            device: Device::Cpu,
        })
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn log(&self) -> Result<StageLog> {
        read_log(&self.dir)
    }

    /// Runs every stage not done yet; returns the stage times in seconds.
    pub fn run(&self) -> Result<BTreeMap<String, f64>> {
        for stage in STAGES {
            let mut log = self.log()?;
            if log.stages.contains_key(stage) {
                say(&self.options, &format!("[{stage}] done before, skipped"));
            } else {
                say(&self.options, &format!("[{stage}] …"));
                let started = Instant::now();
                match stage {
                    "data" => self.stage_data(),
                    "tokenizer" => self.stage_tokenizer(),
                    "base" => self.stage_base(),
                    "drafts" => self.stage_drafts(),
                    "refine" => self.stage_refine(),
                    "sft" => self.stage_sft(),
                    "samples" => self.stage_samples(),
                    "dpo" => self.stage_dpo(),
                    "eval" => self.stage_eval(),
                    _ => unreachable!(),
                }
                .with_context(|| format!("stage {stage}"))?;
                let seconds = started.elapsed().as_secs_f64();
                log.stages.insert(stage.to_string(), seconds);
                write_log(&self.dir, &log)?;
                say(&self.options, &format!("[{stage}] {seconds:.0} s"));
            }
            if self.options.stop_after.as_deref() == Some(stage) {
                break;
            }
        }
        Ok(self.log()?.stages)
    }

    fn data_file(&self, split: &str) -> PathBuf {
        self.path(&format!("data/{split}.jsonl"))
    }

    fn stage_data(&self) -> Result<()> {
        let out = self.path("data");
        std::fs::create_dir_all(&out)?;
        match &self.config.data.dir {
            Some(dir) => {
                for split in ["train", "test", "unseen"] {
                    let from = dir.join(format!("{split}.jsonl"));
                    read_records(&from)?; // validate
                    std::fs::copy(&from, self.data_file(split))
                        .with_context(|| format!("cannot copy {}", from.display()))?;
                }
            }
            None => {
                let library = load_library(&self.config.data.library)?;
                let options = dataset::Options {
                    seed: self.config.seed,
                    variants: self.config.data.variants,
                    unseen: self.config.data.unseen,
                    synthetic: self.config.data.synthetic,
                    synthetic_variants: self.config.data.synthetic_variants,
                };
                dataset::generate(&library, options, &mut |_, _| {})?.write(&out)?;
            }
        }
        Ok(())
    }

    fn stage_tokenizer(&self) -> Result<()> {
        let train = read_records(&self.data_file("train"))?;
        let gold = gold_records(&train, &self.lexicon)?;
        let texts: Vec<String> = gold
            .into_iter()
            .flat_map(|r| [r.prompt, r.completion])
            .collect();
        let tok = tokenizer::train(&texts, self.config.model.vocab_size)?;
        tokenizer::save(&tok, &self.path("tokenizer.json"))
    }

    /// Tokenizes trace records, holding out 5 % (at most 200) for the held-out loss; reports
    /// truncated and dropped records.
    fn train_data(&self, path: &Path) -> Result<TrainData> {
        let tok = tokenizer::load(&self.path("tokenizer.json"))?;
        let specials = Specials::of(&tok)?;
        let (examples, stats) = load_jsonl(path, &tok, &specials, self.config.model.seq_len)?;
        self.report_load(path, &stats);
        let n = ((examples.len() as f64 * 0.05).round() as usize).min(200);
        let mut index: Vec<usize> = (0..examples.len()).collect();
        Rng::new(self.config.seed ^ 0x5f7).shuffle(&mut index);
        let held: std::collections::HashSet<usize> = index[..n].iter().copied().collect();
        let (mut train, mut eval): (Vec<Example>, Vec<Example>) = (Vec::new(), Vec::new());
        for (i, e) in examples.into_iter().enumerate() {
            if held.contains(&i) {
                eval.push(e)
            } else {
                train.push(e)
            }
        }
        Ok(TrainData {
            train,
            eval,
            tokenizer_json: tok.to_string(false).map_err(|e| anyhow::anyhow!("{e}"))?,
            pad: specials.pad,
        })
    }

    fn report_load(&self, path: &Path, stats: &LoadStats) {
        if stats.truncated > 0 || stats.dropped_long_prompt > 0 {
            say(
                &self.options,
                &format!(
                    "  warning: {}: {} of {} records cut to {} tokens, {} dropped (prompt too long)",
                    path.display(),
                    stats.truncated,
                    stats.records,
                    self.config.model.seq_len,
                    stats.dropped_long_prompt
                ),
            );
        }
    }

    fn model_config(&self) -> Result<ModelConfig> {
        let tok = tokenizer::load(&self.path("tokenizer.json"))?;
        let mut c = ModelConfig::preset(&self.config.model.preset, tok.get_vocab_size(true))?;
        c.max_seq_len = self.config.model.seq_len;
        c.validate()?;
        Ok(c)
    }

    fn train(
        &self,
        run: &str,
        config: &SftConfig,
        data: &TrainData,
        init: Option<&str>,
    ) -> Result<()> {
        let run_dir = self.path(run);
        let resume = checkpoint::latest(&run_dir)?.is_some();
        let options = RunOptions {
            progress: self.options.progress,
            resume,
            stop_after: None,
            init_from: match init {
                Some(from) => Some(checkpoint::resolve(&self.path(from))?),
                None => None,
            },
        };
        let summary = sft::run(
            &run_dir,
            &self.model_config()?,
            config,
            data,
            &options,
            &self.device,
        )?;
        say(
            &self.options,
            &format!(
                "  {run}: step {}, loss {}, held-out {}, {:.0} tok/s",
                summary.step,
                summary.last_loss.map_or("-".into(), |l| format!("{l:.4}")),
                summary.eval_loss.map_or("-".into(), |l| format!("{l:.4}")),
                summary.tokens_per_s
            ),
        );
        Ok(())
    }

    fn export(&self, run: &str) -> Result<PathBuf> {
        let quant: Quant = self.config.eval.quant.parse()?;
        let out = self.path(&format!("{run}/model.gguf"));
        let report = export_checkpoint(&self.path(run), &out, quant)?;
        say(
            &self.options,
            &format!("  exported {} ({} bytes)", out.display(), report.bytes),
        );
        Ok(out)
    }

    fn stage_base(&self) -> Result<()> {
        let train = read_records(&self.data_file("train"))?;
        let traces = unrefined_records(
            &train,
            &self.lexicon,
            &self.config.warmup.noise,
            self.config.seed,
        )?;
        let path = self.path("warmup.jsonl");
        write_jsonl(&path, &traces)?;
        let data = self.train_data(&path)?;
        self.train("base", &self.config.warmup.train, &data, None)?;
        self.export("base")?;
        Ok(())
    }

    fn stage_drafts(&self) -> Result<()> {
        let train = first(
            read_records(&self.data_file("train"))?,
            self.config.drafts.records,
        );
        let prompts = focus_jobs(&train, &self.lexicon)?;
        let source = match (&self.config.drafts.endpoint, &self.config.drafts.local) {
            (Some(endpoint), _) => DraftSource::Endpoint(
                Endpoint::new(endpoint.clone())?,
                self.config
                    .drafts
                    .template
                    .clone()
                    .unwrap_or_else(|| default_template(endpoint.api)),
            ),
            (None, Some(model)) => DraftSource::any_local(model)?,
            (None, None) => DraftSource::local(&self.path("base/model.gguf"), None)?,
        };
        let mut options = self.config.drafts.sampling.clone();
        options.workers = self.config.workers;
        options.seed ^= self.config.seed;
        let drafts = draft_all(&source, &prompts, &options, &bar(&self.options, "drafts"))?;
        std::fs::create_dir_all(self.path("drafts"))?;
        write_jsonl(&self.path("drafts/drafts.jsonl"), &drafts)
    }

    fn write_refined(&self, folder: &str, refined: &Refined) -> Result<()> {
        let dir = self.path(folder);
        std::fs::create_dir_all(&dir)?;
        write_jsonl(&dir.join("audits.jsonl"), &refined.audits)?;
        write_jsonl(&dir.join("pairs.jsonl"), &refined.pairs)?;
        crate::fsutil::write_atomic(
            &dir.join("report.json"),
            serde_json::to_string_pretty(&refined.report.to_json())?.as_bytes(),
        )?;
        crate::fsutil::write_atomic(&dir.join("report.md"), refined.report.markdown().as_bytes())?;
        say(
            &self.options,
            &format!(
                "  {}",
                refined.report.markdown().lines().next().unwrap_or("")
            ),
        );
        Ok(())
    }

    fn stage_refine(&self) -> Result<()> {
        let train = read_records(&self.data_file("train"))?;
        let drafts: Vec<Draft> = read_jsonl(&self.path("drafts/drafts.jsonl"))?;
        let refined = refine(&train, &drafts, &self.lexicon)?;
        self.write_refined("refine", &refined)?;
        // SFT data: the refined traces' steps, and the gold steps of records without drafts.
        let mut sft = refined.traces.clone();
        let drafted: std::collections::HashSet<&str> =
            drafts.iter().map(|d| d.id.as_str()).collect();
        let rest: Vec<Record> = train
            .iter()
            .filter(|r| !drafted.contains(r.id.as_str()))
            .cloned()
            .collect();
        sft.extend(gold_records(&rest, &self.lexicon)?);
        write_jsonl(&self.path("refine/refined.jsonl"), &sft)
    }

    fn stage_sft(&self) -> Result<()> {
        let refined: Vec<TraceRecord> = read_jsonl(&self.path("refine/refined.jsonl"))?;
        let capped = cap_copies(&refined, self.config.augment.max_copies);
        say(
            &self.options,
            &format!(
                "  {} step examples ({} after keeping at most {} copies of each)",
                refined.len(),
                capped.len(),
                self.config.augment.max_copies
            ),
        );
        let capped = limit_ok_share(&capped, self.config.augment.max_ok_share, self.config.seed);
        if self.config.augment.max_ok_share > 0.0 {
            say(
                &self.options,
                &format!(
                    "  {} examples with `ok` at most {:.0} % of them",
                    capped.len(),
                    self.config.augment.max_ok_share * 100.0
                ),
            );
        }
        let augment = &self.config.augment;
        let examples = with_renamed_copies(
            &capped,
            augment.renamed,
            augment.renamed_copies,
            self.config.seed,
        );
        if self.config.augment.renamed_copies > 0 {
            say(
                &self.options,
                &format!(
                    "  {} examples with {} renamed copies of each",
                    examples.len(),
                    self.config.augment.renamed_copies
                ),
            );
        }
        std::fs::create_dir_all(self.path("sft"))?;
        let path = self.path("sft/examples.jsonl");
        write_jsonl(&path, &examples)?;
        let data = self.train_data(&path)?;
        self.train("sft", &self.config.sft, &data, Some("base"))?;
        self.export("sft")?;
        Ok(())
    }

    fn stage_samples(&self) -> Result<()> {
        let train = read_records(&self.data_file("train"))?;
        // Sample the records from the end of the training split: the drafts used the start.
        let n = if self.config.samples.records == 0 {
            train.len()
        } else {
            self.config.samples.records.min(train.len())
        };
        let chosen: Vec<Record> = train[train.len() - n..].to_vec();
        let prompts = focus_jobs(&chosen, &self.lexicon)?;
        let source = DraftSource::local(&self.path("sft/model.gguf"), None)?;
        let mut options = self.config.samples.sampling.clone();
        options.workers = self.config.workers;
        options.seed ^= self.config.seed.rotate_left(7);
        let samples = draft_all(&source, &prompts, &options, &bar(&self.options, "samples"))?;
        std::fs::create_dir_all(self.path("samples"))?;
        write_jsonl(&self.path("samples/samples.jsonl"), &samples)?;
        let refined = refine(&chosen, &samples, &self.lexicon)?;
        self.write_refined("samples", &refined)?;
        // All pairs: flawed drafts and flawed on-policy samples.
        let mut pairs: Vec<Pair> = read_jsonl(&self.path("refine/pairs.jsonl"))?;
        pairs.extend(refined.pairs);
        let all = pairs.len();
        let pairs = balance_pairs(pairs);
        say(
            &self.options,
            &format!(
                "  {} preference pairs ({} kept: pairs against a missed mistake held to the number of the others)",
                all,
                pairs.len()
            ),
        );
        if pairs.is_empty() {
            bail!("no preference pairs: every draft and sample passed the audit");
        }
        write_jsonl(&self.path("pairs.jsonl"), &pairs)
    }

    fn stage_dpo(&self) -> Result<()> {
        let run_dir = self.path("dpo");
        let resume = checkpoint::latest(&run_dir)?.is_some();
        let from = if resume {
            run_dir.clone()
        } else {
            self.path("sft")
        };
        let files = dpo::DataFiles {
            data: self.path("pairs.jsonl"),
            eval_data: None,
            eval_fraction: 0.05,
            reference_logps: None,
        };
        let prepared = dpo::prepare(
            &from,
            &files,
            Some(self.config.model.seq_len),
            self.config.seed,
        )?;
        for (path, stats) in &prepared.stats {
            say(&self.options, &format!("  {}: {stats:?}", path.display()));
        }
        let options = RunOptions {
            progress: self.options.progress,
            resume,
            stop_after: None,
            init_from: Some(checkpoint::resolve(&self.path("sft"))?),
        };
        let summary = dpo::run(
            &run_dir,
            &prepared.model,
            &self.config.dpo,
            &prepared.data,
            &options,
            &self.device,
        )?;
        say(
            &self.options,
            &format!("  dpo: step {}, last {:?}", summary.step, summary.last),
        );
        self.export("dpo")?;
        Ok(())
    }

    fn eval_model(
        &self,
        name: &str,
        files: &ModelFiles,
        test: &[Record],
        unseen: &[Record],
    ) -> Result<(ModelEval, ModelEval)> {
        let max = self.config.eval.max_tokens;
        let workers = self.config.workers;
        let t = evaluate_model(
            files,
            test,
            max,
            workers,
            &bar(&self.options, &format!("{name} test")),
        )?;
        let u = evaluate_model(
            files,
            unseen,
            max,
            workers,
            &bar(&self.options, &format!("{name} unseen")),
        )?;
        let dir = self.path("eval");
        for (split, e) in [("test", &t), ("unseen", &u)] {
            let value = json!({
                "grader": name,
                "split": split,
                "plain": e.plain.to_json(),
                "audited": e.audited.to_json(),
                "dropped_by_audit": e.dropped,
                "unfinished": e.unfinished,
                "mean_tokens": e.mean_tokens,
                "seconds": e.seconds,
            });
            crate::fsutil::write_atomic(
                &dir.join(format!("{name}-{split}.json")),
                serde_json::to_string_pretty(&value)?.as_bytes(),
            )?;
        }
        Ok((t, u))
    }

    fn stage_eval(&self) -> Result<()> {
        let test = first(
            read_records(&self.data_file("test"))?,
            self.config.eval.test_records,
        );
        let unseen = first(
            read_records(&self.data_file("unseen"))?,
            self.config.eval.unseen_records,
        );
        std::fs::create_dir_all(self.path("eval"))?;
        let mut rows = vec![Row {
            grader: "rules".into(),
            test: evaluate_rules(&test)?,
            unseen: evaluate_rules(&unseen)?,
        }];
        let n = self.config.eval.drafter_records;
        if n > 0 {
            let path = match &self.config.drafts.local {
                Some(path) if path.is_file() => path,
                Some(path) => bail!(
                    "eval.drafter_records: the drafts' model {} is not a GGUF file",
                    path.display()
                ),
                None => bail!("eval.drafter_records needs a drafts.local GGUF to evaluate"),
            };
            let files = ModelFiles::read(path, None)?;
            let (test, unseen) = (&test[..n.min(test.len())], &unseen[..n.min(unseen.len())]);
            let (t, u) = self.eval_model("drafter", &files, test, unseen)?;
            rows.push(Row {
                grader: "base prompt-only".into(),
                test: t.plain,
                unseen: u.plain,
            });
        }
        let mut models = Vec::new();
        if self.config.eval.base {
            models.push("base");
        }
        models.extend(["sft", "dpo"]);
        for name in models {
            let files = ModelFiles::read(&self.path(&format!("{name}/model.gguf")), None)?;
            let (t, u) = self.eval_model(name, &files, &test, &unseen)?;
            let label = if name == "dpo" { "sft+dpo" } else { name };
            rows.push(Row {
                grader: label.into(),
                test: t.plain.clone(),
                unseen: u.plain.clone(),
            });
            if name == "dpo" {
                rows.push(Row {
                    grader: "sft+dpo+audit".into(),
                    test: t.audited,
                    unseen: u.audited,
                });
            }
        }
        let dir = self.path("eval");
        let table = table_json(&rows);
        crate::fsutil::write_atomic(
            &dir.join("table.json"),
            serde_json::to_string_pretty(&table)?.as_bytes(),
        )?;
        let md = table_markdown(&table);
        crate::fsutil::write_atomic(&dir.join("table.md"), md.as_bytes())?;
        crate::fsutil::write_atomic(&dir.join("table.svg"), table_svg(&rows).as_bytes())?;
        say(&self.options, &md);
        Ok(())
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn every_repository_pipeline_config_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                PipelineConfig::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
                n += 1;
            }
        }
        assert!(n >= 3, "{n} configs");
        let synthetic = PipelineConfig::load(&dir.join("synthetic.toml")).unwrap();
        assert_eq!(synthetic.data.synthetic, 1500);
        assert_eq!(
            PipelineConfig::load(&dir.join("default.toml"))
                .unwrap()
                .data
                .synthetic,
            0
        );
    }
}
