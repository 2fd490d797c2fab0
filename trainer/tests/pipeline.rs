//! The whole R2tA pipeline on a tiny model and a tiny data set: every stage runs and leaves its
//! artefacts, the evaluation table has every grader, a second run resumes (skips everything),
//! and a run folder refuses another configuration.

use eerd_trainer::r2ta::pipeline::{Pipeline, PipelineConfig, PipelineOptions, STAGES};
use std::path::Path;

fn tiny_config() -> PipelineConfig {
    let text = format!(
        r#"
seed = 3
workers = 2
[data]
library = "{}"
variants = 24
unseen = 8
[model]
preset = "tiny"
seq_len = 256
vocab_size = 600
[warmup.train]
steps = 3
batch_size = 2
eval_every = 0
save_every = 0
[drafts]
records = 4
[drafts.sampling]
max_tokens = 6
[sft]
steps = 3
batch_size = 2
eval_every = 0
save_every = 0
[augment]
renamed = 0.5
[samples]
records = 2
[samples.sampling]
samples = 2
max_tokens = 6
[dpo]
steps = 2
batch_size = 2
eval_every = 0
save_every = 0
[eval]
max_tokens = 6
test_records = 4
unseen_records = 4
"#,
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../static/assignments")
            .display()
    );
    toml::from_str(&text).expect("config parses")
}

#[test]
fn every_stage_runs_and_a_second_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = tiny_config();
    let stages = Pipeline::new(config.clone(), &run, PipelineOptions::default())
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(stages.len(), STAGES.len());
    for file in [
        "config.toml",
        "data/train.jsonl",
        "tokenizer.json",
        "base/model.gguf",
        "drafts/drafts.jsonl",
        "refine/refined.jsonl",
        "refine/audits.jsonl",
        "refine/report.md",
        "sft/examples.jsonl",
        "sft/model.gguf",
        "samples/samples.jsonl",
        "pairs.jsonl",
        "dpo/model.gguf",
        "eval/table.json",
        "eval/table.md",
        "eval/table.svg",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    // SFT learns the refined step examples, about half of them with made-up names.
    let lines = |file: &str| -> Vec<String> {
        std::fs::read_to_string(run.join(file))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let (refined, examples) = (lines("refine/refined.jsonl"), lines("sft/examples.jsonl"));
    assert_eq!(refined.len(), examples.len());
    let renamed = refined
        .iter()
        .zip(&examples)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        renamed > refined.len() / 4 && renamed < refined.len() * 3 / 4,
        "{renamed} of {} renamed",
        refined.len()
    );
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval/table.json")).unwrap())
            .unwrap();
    let graders: Vec<&str> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["grader"].as_str().unwrap())
        .collect();
    assert_eq!(
        graders,
        ["rules", "base", "sft", "sft+dpo", "sft+dpo+audit"]
    );
    assert_eq!(table["rows"][0]["test"]["records"], 4);
    // Drafts: one per drafted training record; the refined traces pass the audit by
    // construction.
    let drafts = std::fs::read_to_string(run.join("drafts/drafts.jsonl")).unwrap();
    assert_eq!(drafts.lines().count(), 4);

    // The CLI scores an exported model, with and without the inference-time audit, and
    // refines drafts on its own.
    let eerd = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_eerd"))
            .args(args)
            .output()
            .expect("eerd runs")
    };
    let test = run.join("data/test.jsonl");
    let test = test.to_str().unwrap();
    for grader in ["model", "model+audit"] {
        let spec = format!("{grader}:{}", run.join("dpo/model.gguf").display());
        let out = eerd(&[
            "eval",
            "--data",
            test,
            "--grader",
            &spec,
            "--json",
            "--max-tokens",
            "6",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["records"], test_records(test));
    }
    let out = eerd(&[
        "eval",
        "--data",
        test,
        "--grader",
        "model:/no/such/model.gguf",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/model.gguf"));
    let refined = dir.path().join("refined");
    let out = eerd(&[
        "refine",
        "--data",
        run.join("data/train.jsonl").to_str().unwrap(),
        "--drafts",
        run.join("drafts/drafts.jsonl").to_str().unwrap(),
        "--out",
        refined.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(refined.join("audits.jsonl")).unwrap(),
        std::fs::read(run.join("refine/audits.jsonl")).unwrap()
    );

    // Publishing copies the model and writes its card with the evaluation table.
    let shipped = dir.path().join("shipped");
    let card =
        eerd_trainer::r2ta::card::publish(&run, "dpo", &shipped, "eerd pipeline …", None).unwrap();
    assert_eq!(
        std::fs::read(shipped.join("model.gguf")).unwrap(),
        std::fs::read(run.join("dpo/model.gguf")).unwrap()
    );
    assert_eq!(card["preset"], "tiny");
    assert_eq!(card["seed"], 3);
    let readme = std::fs::read_to_string(shipped.join("README.md")).unwrap();
    assert!(
        readme.contains("| sft+dpo+audit | unseen | 4 |"),
        "{readme}"
    );
    // A tiny model trained for a few steps is far below the targets, and the card says so.
    assert_eq!(card["meets_targets"], false);
    assert!(
        readme.contains("**Below the quality targets.**"),
        "{readme}"
    );
    let error = eerd_trainer::r2ta::card::publish(&run, "nope", &shipped, "x", None).unwrap_err();
    assert!(error.to_string().contains("nope/model.gguf"), "{error}");

    // Resume: nothing left to do, nothing rewritten.
    let before = std::fs::metadata(run.join("dpo/model.gguf"))
        .unwrap()
        .modified()
        .unwrap();
    Pipeline::new(config.clone(), &run, PipelineOptions::default())
        .unwrap()
        .run()
        .unwrap();
    let after = std::fs::metadata(run.join("dpo/model.gguf"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);

    // Another configuration in the same folder is refused, naming what it would invalidate.
    let mut other = config.clone();
    other.seed = 4;
    let error = Pipeline::new(other, &run, PipelineOptions::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(error.contains("another configuration"), "{error}");
    assert!(
        error.contains("[seed]") && error.contains("data, tokenizer"),
        "{error}"
    );

    // A setting that changes no result is taken as it is.
    let mut config = config;
    config.workers += 1;
    Pipeline::new(config.clone(), &run, PipelineOptions::default()).unwrap();

    // A changed [dpo] invalidates only dpo and eval: refused without --rerun-changed, rerun
    // with it while every earlier artefact stays.
    config.dpo.nll_weight = 0.5;
    let error = Pipeline::new(config.clone(), &run, PipelineOptions::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("[dpo] changed") && error.contains("dpo, eval"),
        "{error}"
    );
    let modified = |rel: &str| {
        std::fs::metadata(run.join(rel))
            .unwrap()
            .modified()
            .unwrap()
    };
    let sft_before = modified("sft/model.gguf");
    let rerun = PipelineOptions {
        rerun_changed: true,
        ..PipelineOptions::default()
    };
    let stages = Pipeline::new(config.clone(), &run, rerun)
        .unwrap()
        .run()
        .unwrap();
    assert_eq!(stages.len(), STAGES.len());
    assert_eq!(modified("sft/model.gguf"), sft_before);
    assert_ne!(modified("dpo/model.gguf"), after);
    assert!(run.join("eval/table.md").exists());
    let stored = PipelineConfig::load(&run.join("config.toml")).unwrap();
    assert_eq!(stored, config);
}

fn test_records(path: &str) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn bad_configs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.toml");
    std::fs::write(&path, "[sft]\nstepz = 3\n").unwrap();
    let error = PipelineConfig::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("p.toml") && error.contains("stepz"),
        "{error}"
    );
    let options = PipelineOptions {
        progress: false,
        stop_after: Some("nope".into()),
        rerun_changed: false,
    };
    let error = Pipeline::new(PipelineConfig::default(), dir.path(), options)
        .err()
        .expect("unknown stage refused")
        .to_string();
    assert!(error.contains("unknown stage 'nope'"), "{error}");
}

/// An instruction-tuned drafter (a GGUF with a ChatML chat template) drafts prompt-only; the
/// audit refines its drafts, its flawed steps become preference pairs, and the table gets its
/// prompt-only row.
#[test]
fn a_chat_model_drafts_prompt_only_and_is_evaluated() {
    use candle_core::quantized::gguf_file::Value;
    let dir = tempfile::tempdir().unwrap();
    // The drafter: the tiny test model with a ChatML template in its metadata.
    let tok = crate::common::tokenizer();
    let mut config = crate::common::tiny_config(&tok);
    config.max_seq_len = 2048; // the instructions in this byte-level tokenizer: ~1,000 tokens
    let varmap =
        eerd_trainer::model::llama::init_varmap(&config, 9, &candle_core::Device::Cpu).unwrap();
    let plain = dir.path().join("plain.gguf");
    eerd_trainer::export::export(
        &config,
        &eerd_trainer::checkpoint::weights(&varmap),
        &tok,
        &plain,
        eerd_trainer::export::Quant::Q8_0,
    )
    .unwrap();
    let template =
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
    let chat = dir.path().join("chat.gguf");
    std::fs::write(
        &chat,
        crate::common::with_metadata(
            &std::fs::read(&plain).unwrap(),
            eerd::runtime::CHAT_TEMPLATE_KEY,
            Some(Value::String(template.into())),
        ),
    )
    .unwrap();
    let mut config = tiny_config();
    config.drafts.local = Some(chat);
    config.eval.base = false;
    config.eval.drafter_records = 2;
    let run = dir.path().join("run");
    Pipeline::new(config, &run, PipelineOptions::default())
        .unwrap()
        .run()
        .unwrap();
    // A random model answers nonsense: the audit finds flawed steps, and they are pairs.
    let report = std::fs::read_to_string(run.join("refine/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["drafts"], 4);
    assert!(report["flawed"].as_u64().unwrap() > 0, "{report}");
    let pairs = std::fs::read_to_string(run.join("refine/pairs.jsonl")).unwrap();
    assert!(pairs.lines().count() > 0);
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval/table.json")).unwrap())
            .unwrap();
    let rows = table["rows"].as_array().unwrap();
    let graders: Vec<&str> = rows.iter().map(|r| r["grader"].as_str().unwrap()).collect();
    assert_eq!(
        graders,
        [
            "rules",
            "base prompt-only",
            "sft",
            "sft+dpo",
            "sft+dpo+audit"
        ]
    );
    assert_eq!(rows[1]["test"]["records"], 2);
    assert_eq!(rows[1]["unseen"]["records"], 2);
    // A card can show this run beside the published one: its table and its drafts' audit.
    let shipped = dir.path().join("shipped");
    let compare = eerd_trainer::r2ta::card::Comparison {
        run: &run,
        command: "eerd pipeline --config pipeline/smollm2.toml",
    };
    let card =
        eerd_trainer::r2ta::card::publish(&run, "dpo", &shipped, "eerd pipeline …", Some(compare))
            .unwrap();
    assert_eq!(card["comparison"]["drafted_records"], 4);
    let readme = std::fs::read_to_string(shipped.join("README.md")).unwrap();
    for part in [
        "## Beside the recipe with a real base model",
        "eerd pipeline --config pipeline/smollm2.toml",
        "4 drafts: ",
        "| base prompt-only | test | 2 |",
    ] {
        assert!(readme.contains(part), "{part} not in {readme}");
    }
}
