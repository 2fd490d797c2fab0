//! Interrupting training and resuming from the checkpoint gives the same weights as an
//! uninterrupted run.

use crate::common;

use candle_core::Device;
use eerd_trainer::checkpoint;
use eerd_trainer::sft::{run, RunOptions};

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let tok = common::tokenizer();
    let data = common::data(&tok);
    let config = common::tiny_config(&tok);
    let sft = common::sft_config(7);
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let dev = Device::Cpu;
    let full = run(&a, &config, &sft, &data, &RunOptions::default(), &dev).unwrap();
    assert_eq!(full.step, 7);

    let interrupted = RunOptions {
        stop_after: Some(3),
        ..RunOptions::default()
    };
    let part = run(&b, &config, &sft, &data, &interrupted, &dev).unwrap();
    assert_eq!(part.step, 3);
    // Starting over in the same directory without --resume is refused.
    assert!(run(&b, &config, &sft, &data, &RunOptions::default(), &dev).is_err());
    let resumed = RunOptions {
        resume: true,
        ..RunOptions::default()
    };
    let rest = run(&b, &config, &sft, &data, &resumed, &dev).unwrap();
    assert_eq!(rest.step, 7);

    let load = |dir: &std::path::Path| {
        candle_core::safetensors::load(
            checkpoint::latest(dir)
                .unwrap()
                .unwrap()
                .join(checkpoint::MODEL_FILE),
            &dev,
        )
        .unwrap()
    };
    let (wa, wb) = (load(&a), load(&b));
    assert_eq!(wa.len(), wb.len());
    for (name, ta) in &wa {
        let va: Vec<f32> = ta.flatten_all().unwrap().to_vec1().unwrap();
        let vb: Vec<f32> = wb[name].flatten_all().unwrap().to_vec1().unwrap();
        assert!(va == vb, "weights of {name} differ after resume");
    }
    // The loss went down and the metrics log has one training line per step.
    let metrics = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    let steps = metrics.lines().filter(|l| l.contains("\"loss\"")).count();
    assert_eq!(steps, 7);
    assert!(b.join("loss.svg").exists());
    assert!(full.eval_loss.is_some());
}
