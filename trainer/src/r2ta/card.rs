//! Publishing a pipeline run's model: the GGUF, its tokenizer, `model.json` (machine-readable
//! card, read by the page) and `README.md` (the model card) in one folder.

use crate::checkpoint;
use crate::r2ta::evaluate::table_markdown;
use crate::r2ta::pipeline::PipelineConfig;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))
}

/// Another finished run shown beside the published one in its card (`eerd publish --compare`):
/// its evaluation table and the audit report of its drafts.
pub struct Comparison<'a> {
    /// The run folder.
    pub run: &'a Path,
    /// The command that made it.
    pub command: &'a str,
}

impl Comparison<'_> {
    fn to_json(&self) -> Result<Value> {
        let config = PipelineConfig::load(&self.run.join("config.toml"))?;
        let report = self.run.join("refine/report.md");
        Ok(json!({
            "command": self.command,
            "drafter": config.drafts.local.as_ref().map(|p| p.display().to_string()),
            "drafted_records": config.drafts.records,
            "stage_seconds": read_json(&self.run.join("stages.json"))?["stages"],
            "refine_report": std::fs::read_to_string(&report)
                .with_context(|| format!("cannot read {}", report.display()))?,
            "evaluation": read_json(&self.run.join("eval/table.json"))?,
        }))
    }
}

/// Copies `RUN/<model>/model.gguf` and its tokenizer to `out` and writes the card files.
/// `command` is the exact command that made the run (recorded in the card); `compare`, another
/// run shown beside it.
pub fn publish(
    run: &Path,
    model: &str,
    out: &Path,
    command: &str,
    compare: Option<Comparison>,
) -> Result<Value> {
    let gguf = run.join(model).join("model.gguf");
    if !gguf.is_file() {
        bail!(
            "{} does not exist: is the pipeline in {} finished?",
            gguf.display(),
            run.display()
        );
    }
    let table = read_json(&run.join("eval/table.json"))?;
    let comparison = compare.map(|c| c.to_json()).transpose()?;
    let stages = read_json(&run.join("stages.json"))?;
    let config = PipelineConfig::load(&run.join("config.toml"))?;
    let state = checkpoint::read_state(&checkpoint::resolve(&run.join(model))?)?;
    let m = &state.model;
    let head = m.dim / m.n_heads;
    let params = m.vocab_size * m.dim * if m.tie_embeddings { 1 } else { 2 }
        + m.n_layers
            * (m.dim * m.n_heads * head
                + 2 * m.dim * m.n_kv_heads * head
                + m.n_heads * head * m.dim
                + 3 * m.dim * m.ffn_dim
                + 2 * m.dim)
        + m.dim;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let bytes = std::fs::read(&gguf)?;
    crate::fsutil::write_atomic(&out.join("model.gguf"), &bytes)?;
    let tokenizer = std::fs::read(gguf.with_file_name("tokenizer.json"))?;
    crate::fsutil::write_atomic(&out.join("tokenizer.json"), &tokenizer)?;
    let seconds: f64 = stages["stages"]
        .as_object()
        .map(|s| s.values().filter_map(Value::as_f64).sum())
        .unwrap_or(0.0);
    // The row the page reproduces (the model with the inference-time audit), and whether it
    // meets the targets (test micro-F1 ≥ 0.95, unseen ≥ 0.90, false alarms ≤ 2 % on both).
    let shipped = table["rows"]
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r["grader"] == "sft+dpo+audit")
                .or_else(|| rows.last())
        })
        .cloned()
        .unwrap_or(Value::Null);
    let f1 = |split: &str| shipped[split]["micro"]["f1"].as_f64().unwrap_or(0.0);
    let false_alarms = |split: &str| shipped[split]["false_alarm_rate"].as_f64().unwrap_or(1.0);
    let meets_targets = f1("test") >= 0.95
        && f1("unseen") >= 0.90
        && false_alarms("test") <= 0.02
        && false_alarms("unseen") <= 0.02;
    let card = json!({
        "name": format!("eerd-{}-{}", config.model.preset, model),
        "meets_targets": meets_targets,
        "test_micro_f1": f1("test"),
        "unseen_micro_f1": f1("unseen"),
        "stage": model,
        "architecture": "llama",
        "preset": config.model.preset,
        "parameters": params,
        "context_length": m.max_seq_len,
        "vocab_size": m.vocab_size,
        "quantization": config.eval.quant,
        "bytes": bytes.len(),
        "seed": config.seed,
        "command": command,
        "pipeline_seconds": seconds.round(),
        "stage_seconds": stages["stages"],
        "data": {
            "variants": config.data.variants,
            "unseen": config.data.unseen,
        },
        "evaluation": table,
        "comparison": comparison,
    });
    crate::fsutil::write_atomic(
        &out.join("model.json"),
        (serde_json::to_string_pretty(&card)? + "\n").as_bytes(),
    )?;
    crate::fsutil::write_atomic(&out.join("README.md"), markdown(&card).as_bytes())?;
    Ok(card)
}

fn markdown(card: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Model card: {}\n",
        card["name"].as_str().unwrap_or("model")
    );
    let _ = writeln!(
        out,
        "The default grading model of the EERD grader: a {} llama-architecture decoder \
         ({} parameters, vocabulary {}, context {} tokens) trained from scratch on this \
         repository's synthetic data set by the R2tA pipeline, exported as GGUF {} ({} bytes). \
         It judges one thing at a time — each reference element, each of its attributes, \
         each side of a relationship: a short prompt holds the reference's text, the \
         student's matching text (found by the one label-free matching of names and structure and written in the \
         reference's names, order and label style) and the evidence elsewhere, and the model \
         answers `ok` or the mistakes; the verdicts make the numbered reasoning steps and the \
         findings (`eerd::trace::focus`).\n",
        card["preset"].as_str().unwrap_or("?"),
        card["parameters"],
        card["vocab_size"],
        card["context_length"],
        card["quantization"].as_str().unwrap_or("?"),
        card["bytes"],
    );
    let (test, unseen) = (
        card["test_micro_f1"].as_f64().unwrap_or(0.0),
        card["unseen_micro_f1"].as_f64().unwrap_or(0.0),
    );
    if card["meets_targets"] == true {
        let _ = writeln!(
            out,
            "**Meets the F1 and false-alarm targets with the inference-time audit**: micro-F1 \
             {test:.3} on `test.jsonl` and {unseen:.3} on `unseen.jsonl` (targets: 0.95 and \
             0.90, false alarms ≤ 2 % on both). The rules baseline is still better on this synthetic data, and the rows \
             without the audit show what the model does alone. Its findings are hints to check \
             against the diagram, not a grade.\n"
        );
    } else {
        let _ = writeln!(
            out,
            "**Below the quality targets.** With the inference-time audit it reaches micro-F1 \
             {test:.3} on `test.jsonl` and {unseen:.3} on `unseen.jsonl` (targets: 0.95 and \
             0.90, and false alarms ≤ 2 % on both). Its findings are hints to check against the \
             diagram, not a grade.\n"
        );
    }
    let _ = writeln!(out, "## How it was made\n");
    let _ = writeln!(
        out,
        "```sh\n{}\n```\n\nSeed {}; {} s of wall time on 2 CPU cores (per stage: `{}`). \
         Data: {} variants of the seen assignments (75 % train, 25 % test) and {} of the \
         held-out assignments (`unseen`), made by `eerd dataset`.\n",
        card["command"].as_str().unwrap_or(""),
        card["seed"],
        card["pipeline_seconds"],
        card["stage_seconds"],
        card["data"]["variants"],
        card["data"]["unseen"],
    );
    let _ = writeln!(out, "## Evaluation (greedy decoding, the exported GGUFs)\n");
    let first = &card["evaluation"]["rows"][0];
    let _ = writeln!(
        out,
        "Scored on {} records of `test.jsonl` and {} of `unseen.jsonl` (the first ones when the \
         pipeline's `[eval]` limits them).\n",
        first["test"]["records"], first["unseen"]["records"]
    );
    out.push_str(&table_markdown(&card["evaluation"]));
    let _ = writeln!(
        out,
        "\n`sft+dpo+audit` is what the page and the widget run: the shipped model with the \
         inference-time audit. False alarms: share of clean records with any finding; \
         hallucinations: share of findings matching no label; failed: answers without a \
         findings block."
    );
    if let Some(other) = card.get("comparison").filter(|c| !c.is_null()) {
        comparison_markdown(&mut out, other);
    }
    let _ = writeln!(
        out,
        "\n## Limits\n\nTrained only on synthetic variants of this \
         repository's 28 assignments, renamed with the lexicon and with the generator's own \
         open vocabulary (held out for `unseen.jsonl`); modelling choices the mutation engine \
         does not make and diagrams longer than the context are out of distribution. \
         Findings are advice for a student, not a grade."
    );
    out
}

/// The card's section on another run: the recipe with a real base model drafting.
fn comparison_markdown(out: &mut String, other: &Value) {
    let _ = writeln!(
        out,
        "\n## Beside the recipe with a real base model\n\nThe same recipe with stage 1 drafted \
         by an open-source instruction-tuned base model asked prompt-only (`{}`, the first {} \
         training records), its drafts audited and refined, its flawed steps among DPO's \
         rejected answers:\n\n```sh\n{}\n```\n\nThe audit of its drafts (stage 2):\n",
        other["drafter"].as_str().unwrap_or("?"),
        other["drafted_records"],
        other["command"].as_str().unwrap_or(""),
    );
    let _ = writeln!(
        out,
        "{}",
        other["refine_report"].as_str().unwrap_or("").trim()
    );
    let _ = writeln!(
        out,
        "\nIts evaluation (`base prompt-only` is the drafter itself, grading prompt-only on \
         the first records of each split; the other rows are the small model trained from \
         its refined drafts). It is scored on its own run's data set, which need not be the \
         one above: compare rows within one table, or grade both models on one data set with \
         `eerd eval`.\n"
    );
    out.push_str(&table_markdown(&other["evaluation"]));
}
