//! The exported GGUF model, run by `eerd::runtime`, predicts the same next tokens as the
//! trainer's f32 model.

use crate::common;

use candle_core::Device;
use eerd::runtime::{GenerateOptions, Model, StopReason};
use eerd_trainer::checkpoint;
use eerd_trainer::export::{export_checkpoint, Quant};
use eerd_trainer::model::Llama;
use eerd_trainer::sft::{run, RunOptions};
use std::ops::ControlFlow;

use common::{argmax, trainer_logits};

#[test]
fn exported_models_agree_with_trainer() {
    let tok = common::tokenizer();
    let data = common::data(&tok);
    let config = common::tiny_config(&tok);
    let mut sft = common::sft_config(40);
    sft.save_every = 0;
    sft.eval_every = 0;
    let tmp = tempfile::tempdir().unwrap();
    let dev = Device::Cpu;
    let summary = run(
        tmp.path(),
        &config,
        &sft,
        &data,
        &RunOptions::default(),
        &dev,
    )
    .unwrap();
    assert!(summary.last_loss.unwrap() < 3.0, "{:?}", summary.last_loss);

    let dir = checkpoint::resolve(tmp.path()).unwrap();
    let varmap = checkpoint::load_varmap(&dir.join(checkpoint::MODEL_FILE), &config, &dev).unwrap();
    let model = Llama::new(config.clone(), &varmap, &dev).unwrap();
    let prompts: Vec<Vec<u32>> = common::examples(&tok, 48)
        .into_iter()
        .step_by(5)
        .map(|e| e.ids)
        .collect();
    let reference: Vec<Vec<usize>> = prompts
        .iter()
        .map(|ids| {
            let logits = trainer_logits(&model, ids, &dev);
            logits.iter().map(|l| argmax(l)).collect()
        })
        .collect();

    for (quant, name) in [(Quant::Q8_0, "q8_0.gguf"), (Quant::F16, "f16.gguf")] {
        let out = tmp.path().join(name);
        let report = export_checkpoint(tmp.path(), &out, quant).unwrap();
        assert!(report.fallbacks.is_empty(), "{:?}", report.fallbacks);
        let gguf = std::fs::read(&out).unwrap();
        let tj = std::fs::read(&report.tokenizer_path).unwrap();
        let mut rt = Model::from_bytes(&gguf, &tj).unwrap();
        let (mut same, mut total) = (0, 0);
        for (ids, want) in prompts.iter().zip(&reference) {
            let logits = rt.logits(ids).unwrap();
            for (row, &w) in logits.iter().zip(want) {
                same += (argmax(row) == w) as usize;
                total += 1;
            }
        }
        let rate = same as f64 / total as f64;
        eprintln!(
            "{name}: top-1 agreement {same}/{total} = {:.2}%",
            rate * 100.0
        );
        assert!(rate >= 0.99, "{name}: only {same}/{total} positions agree");

        // Greedy generation stops at <|eos|> or the limit, and streams its text in pieces.
        let prompt = rt.prompt_ids("entity EMPLOYEE { id name }").unwrap();
        let mut streamed = String::new();
        let g = rt
            .generate(
                &prompt,
                &GenerateOptions {
                    max_tokens: 30,
                    ..Default::default()
                },
                |e| {
                    streamed.push_str(e.text);
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
        assert_eq!(streamed, g.text);
        assert!(matches!(g.stop, StopReason::Eos | StopReason::MaxTokens));
        // Cancellation after 3 tokens.
        let g = rt
            .generate(
                &prompt,
                &GenerateOptions {
                    max_tokens: 30,
                    ..Default::default()
                },
                |e| {
                    if e.count >= 3 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                },
            )
            .unwrap();
        assert!(g.tokens.len() <= 3);
    }
}
