//! LoRA fine-tuning on a trained base: the base stays frozen, resuming is exact, and the
//! export (adapters merged) agrees with the trainer's model.

use crate::common;

use candle_core::Device;
use eerd::runtime::Model;
use eerd_trainer::checkpoint;
use eerd_trainer::export::{export_checkpoint, Quant};
use eerd_trainer::model::lora::LoraConfig;
use eerd_trainer::model::Llama;
use eerd_trainer::sft::{run, RunOptions};
use std::collections::HashMap;

fn load(dir: &std::path::Path, file: &str) -> HashMap<String, Vec<f32>> {
    let dir = checkpoint::resolve(dir).unwrap();
    candle_core::safetensors::load(dir.join(file), &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

use common::{argmax, trainer_logits};

#[test]
fn lora_on_frozen_base() {
    let dev = Device::Cpu;
    let tok = common::tokenizer();
    let data = common::data(&tok);
    let config = common::tiny_config(&tok);
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let mut sft = common::sft_config(15);
    sft.save_every = 0;
    run(&base, &config, &sft, &data, &RunOptions::default(), &dev).unwrap();

    let mut lora_cfg = common::sft_config(6);
    lora_cfg.lora = Some(LoraConfig {
        rank: 4,
        alpha: 8.0,
    });
    let init = RunOptions {
        init_from: Some(checkpoint::resolve(&base).unwrap()),
        ..RunOptions::default()
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, &config, &lora_cfg, &data, &init, &dev).unwrap();
    let stop = RunOptions {
        stop_after: Some(3),
        ..init.clone()
    };
    run(&b, &config, &lora_cfg, &data, &stop, &dev).unwrap();
    let resume = RunOptions {
        resume: true,
        ..RunOptions::default()
    };
    run(&b, &config, &lora_cfg, &data, &resume, &dev).unwrap();

    // The base is untouched; the adapters moved and match across the resume.
    assert_eq!(
        load(&base, checkpoint::MODEL_FILE),
        load(&a, checkpoint::MODEL_FILE)
    );
    let (ad_a, ad_b) = (
        load(&a, checkpoint::ADAPTER_FILE),
        load(&b, checkpoint::ADAPTER_FILE),
    );
    assert_eq!(ad_a, ad_b);
    assert!(ad_a
        .iter()
        .any(|(k, v)| k.ends_with("lora_b") && v.iter().any(|x| *x != 0.0)));

    // The merged export predicts what the trainer's LoRA model predicts.
    let dir = checkpoint::resolve(&a).unwrap();
    let base_vm =
        checkpoint::load_varmap(&dir.join(checkpoint::MODEL_FILE), &config, &dev).unwrap();
    let lora = lora_cfg.lora.clone().unwrap();
    let adapters = checkpoint::load_adapters(&dir, &config, &lora, &dev).unwrap();
    let model = Llama::with_lora(config.clone(), &base_vm, &adapters, &lora, &dev).unwrap();
    let out = tmp.path().join("m.gguf");
    export_checkpoint(&a, &out, Quant::F16).unwrap();
    let mut rt = Model::from_bytes(
        &std::fs::read(&out).unwrap(),
        &std::fs::read(tmp.path().join("tokenizer.json")).unwrap(),
    )
    .unwrap();
    let (mut same, mut total) = (0, 0);
    for e in common::examples(&tok, 48).iter().step_by(6) {
        let want = trainer_logits(&model, &e.ids, &dev);
        for (got, want) in rt.logits(&e.ids).unwrap().iter().zip(&want) {
            same += (argmax(got) == argmax(want)) as usize;
            total += 1;
        }
    }
    assert!(same * 100 >= total * 99, "{same}/{total}");
}
