//! Direct preference optimization: the losses and their gradients in closed form, sequence
//! log-probabilities against a naive computation, model gradients against finite differences,
//! a real improvement on a toy preference set, bit-exact resume, and the run directory working
//! with `eerd export` / `eerd generate`.

use crate::common;

use candle_core::{Device, Tensor};
use eerd_trainer::checkpoint;
use eerd_trainer::data::Example;
use eerd_trainer::dpo::{
    self, completion_tokens, data, pair_batch, pair_loss, DataFiles, DpoConfig, DpoData, DpoLoss,
    Objective, Pair, PairFile, PairLogps, RefLogps, RunOptions,
};
use eerd_trainer::model::llama::init_varmap;
use eerd_trainer::model::{Llama, ModelConfig};
use eerd_trainer::sft;
use eerd_trainer::tokenizer::Specials;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Prompt, chosen and rejected texts: the chosen completion is the right count and key, the
/// rejected one a wrong count and key.
fn pair_texts(n: usize) -> Vec<(String, String, String)> {
    common::pairs(n)
        .into_iter()
        .enumerate()
        .map(|(i, (p, c))| {
            let name = c.split(' ').next().unwrap().to_string();
            let wrong = format!("{name} has {} attributes; key phone", 1 + (i * 5 + 3) % 6);
            (p, c, wrong)
        })
        .collect()
}

fn pairs_jsonl(n: usize) -> String {
    pair_texts(n)
        .iter()
        .enumerate()
        .map(|(i, (p, c, r))| {
            serde_json::json!({"id": format!("p{i}"), "prompt": p, "chosen": c, "rejected": r})
                .to_string()
                + "\n"
        })
        .collect()
}

fn encode_pairs(tok: &Tokenizer, n: usize) -> Vec<Pair> {
    let specials = Specials::of(tok).unwrap();
    pair_texts(n)
        .iter()
        .enumerate()
        .map(|(i, (p, c, r))| {
            let (chosen, rejected) = data::encode_pair(tok, &specials, p, c, r, 65)
                .unwrap()
                .unwrap();
            Pair {
                file: PairFile::Data,
                record: i,
                id: None,
                chosen,
                rejected,
                reference: None,
            }
        })
        .collect()
}

fn dpo_data(tok: &Tokenizer, n: usize) -> DpoData {
    DpoData {
        train: encode_pairs(tok, n),
        eval: Vec::new(),
        tokenizer_json: tok.to_string(false).unwrap(),
        pad: Specials::of(tok).unwrap().pad,
    }
}

/// A short SFT run to start from (the reference model).
fn sft_init(dir: &Path, tok: &Tokenizer, config: &ModelConfig) -> PathBuf {
    let mut sft = common::sft_config(8);
    sft.save_every = 0;
    sft.eval_every = 0;
    let data = common::data(tok);
    sft::run(
        dir,
        config,
        &sft,
        &data,
        &sft::RunOptions::default(),
        &Device::Cpu,
    )
    .unwrap();
    checkpoint::resolve(dir).unwrap()
}

fn dpo_config(steps: u64) -> DpoConfig {
    DpoConfig {
        steps,
        batch_size: 4,
        grad_accum: 2,
        lr: 2e-3,
        min_lr: 2e-4,
        warmup: 1,
        eval_every: 2,
        save_every: 2,
        keep_checkpoints: 0,
        seed: 5,
        ..DpoConfig::default()
    }
}

fn load_weights(run: &Path) -> std::collections::HashMap<String, Vec<f32>> {
    let dir = checkpoint::resolve(run).unwrap();
    candle_core::safetensors::load(dir.join(checkpoint::MODEL_FILE), &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

fn load_model(run: &Path, config: &ModelConfig) -> Llama {
    let dir = checkpoint::resolve(run).unwrap();
    let vm =
        checkpoint::load_varmap(&dir.join(checkpoint::MODEL_FILE), config, &Device::Cpu).unwrap();
    Llama::new(config.clone(), &vm, &Device::Cpu).unwrap()
}

/// The naive sequence log-probability: per-position log-softmax in f64 of the model's logits on
/// the unpadded sequence alone, summed over the completion targets (`<|eos|>` included).
fn naive_logp(model: &Llama, e: &Example) -> f64 {
    let logits = common::trainer_logits(model, &e.ids[..e.ids.len() - 1], &Device::Cpu);
    let mut sum = 0f64;
    for (j, row) in logits.iter().enumerate() {
        if j + 1 < e.prompt_len {
            continue;
        }
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
        let lse = max
            + row
                .iter()
                .map(|&x| (x as f64 - max).exp())
                .sum::<f64>()
                .ln();
        sum += row[e.ids[j + 1] as usize] as f64 - lse;
    }
    sum
}

// ---------------------------------------------------------------------------------------------
// (1) Losses and gradients in closed form

fn lp(pc: f64, pr: f64, rc: f64, rr: f64) -> PairLogps {
    PairLogps {
        policy_chosen: pc,
        policy_rejected: pr,
        reference_chosen: rc,
        reference_rejected: rr,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn losses_and_gradients_match_closed_form() {
    // h = (−10 − −12) − (−11 − −11.5) = 1.5. Values computed by hand (Python, f64).
    let x = lp(-10.0, -12.0, -11.0, -11.5);
    assert_eq!(x.h(), 1.5);
    // (loss, beta, value, dL/dh)
    let cases = [
        (
            DpoLoss::Sigmoid,
            0.1,
            0.620_957_047_789_532_1,
            -0.046_257_015_465_625_05,
        ),
        (
            DpoLoss::Sigmoid,
            0.5,
            0.386_871_006_114_899_94,
            -0.160_410_650_412_303_5,
        ),
        (
            DpoLoss::Sigmoid,
            2.0,
            0.048_587_351_573_742_06,
            -0.094_851_746_355_133_56,
        ),
        (DpoLoss::Ipo, 0.1, 12.25, -7.0),
        (DpoLoss::Ipo, 0.5, 0.25, 1.0),
        (DpoLoss::Ipo, 2.0, 1.5625, 2.5),
        (DpoLoss::Hinge, 0.1, 0.85, -0.1),
        (DpoLoss::Hinge, 0.5, 0.25, -0.5),
        (DpoLoss::Hinge, 2.0, 0.0, 0.0),
    ];
    for (kind, beta, value, dh) in cases {
        let out = pair_loss(kind, beta, &x);
        assert!(close(out.loss, value, 1e-14), "{kind} β={beta}: {out:?}");
        let g = out.grad;
        for (got, want, what) in [
            (g.policy_chosen, dh, "π_c"),
            (g.policy_rejected, -dh, "π_r"),
            (g.reference_chosen, -dh, "ref_c"),
            (g.reference_rejected, dh, "ref_r"),
        ] {
            assert!(
                close(got, want, 1e-14),
                "{kind} β={beta} ∂/∂{what}: {got} vs {want}"
            );
        }
    }

    // On a grid, each partial derivative agrees with a central difference of the loss (away
    // from the hinge's kink), and the closed forms hold.
    let sigma = |z: f64| 1.0 / (1.0 + (-z).exp());
    for kind in [DpoLoss::Sigmoid, DpoLoss::Ipo, DpoLoss::Hinge] {
        for beta in [0.05, 0.1, 0.3, 1.0] {
            for (pc, pr, rc, rr) in [
                (-20.0, -25.0, -21.0, -23.0),
                (-5.0, -4.0, -6.5, -3.0),
                (-40.0, -41.0, -40.0, -41.0),
                (-8.0, -30.0, -9.0, -10.0),
            ] {
                let x = lp(pc, pr, rc, rr);
                let h = x.h();
                let want = match kind {
                    DpoLoss::Sigmoid => -sigma(beta * h).ln(),
                    DpoLoss::Ipo => (h - 1.0 / (2.0 * beta)).powi(2),
                    DpoLoss::Hinge => (1.0 - beta * h).max(0.0),
                };
                let out = pair_loss(kind, beta, &x);
                assert!(close(out.loss, want, 1e-12), "{kind} {beta} {x:?}");
                if kind == DpoLoss::Hinge && (1.0 - beta * h).abs() < 1e-3 {
                    continue;
                }
                let eps = 1e-5;
                let fields: [fn(&mut PairLogps) -> &mut f64; 4] = [
                    |p| &mut p.policy_chosen,
                    |p| &mut p.policy_rejected,
                    |p| &mut p.reference_chosen,
                    |p| &mut p.reference_rejected,
                ];
                let grads = [
                    out.grad.policy_chosen,
                    out.grad.policy_rejected,
                    out.grad.reference_chosen,
                    out.grad.reference_rejected,
                ];
                for (field, g) in fields.iter().zip(grads) {
                    let (mut up, mut down) = (x, x);
                    *field(&mut up) += eps;
                    *field(&mut down) -= eps;
                    let fd = (pair_loss(kind, beta, &up).loss - pair_loss(kind, beta, &down).loss)
                        / (2.0 * eps);
                    assert!((fd - g).abs() < 1e-6, "{kind} {beta} {x:?}: {g} vs {fd}");
                }
            }
        }
    }

    // Far from zero the sigmoid loss neither overflows nor loses its gradient.
    let far = pair_loss(DpoLoss::Sigmoid, 1.0, &lp(0.0, 2000.0, 0.0, 0.0));
    assert!(close(far.loss, 2000.0, 1e-12) && close(far.grad.policy_chosen, -1.0, 1e-12));
    let near = pair_loss(DpoLoss::Sigmoid, 1.0, &lp(2000.0, 0.0, 0.0, 0.0));
    assert!(near.loss >= 0.0 && near.loss < 1e-300 && near.grad.policy_chosen.abs() < 1e-300);
}

fn objective(kind: DpoLoss, beta: f64, nll_weight: f64) -> Objective {
    Objective {
        kind,
        beta,
        nll_weight,
    }
}

#[test]
fn nll_term_adds_the_chosen_mean_nll_and_its_gradient() {
    let x = lp(-30.0, -28.0, -31.0, -27.5);
    for kind in [DpoLoss::Sigmoid, DpoLoss::Ipo, DpoLoss::Hinge] {
        let plain = pair_loss(kind, 0.3, &x);
        // Weight 0 is plain DPO, whatever the length.
        assert_eq!(objective(kind, 0.3, 0.0).pair_loss(&x, 12), plain);
        // α = 0.5 over 12 chosen tokens: + 0.5 · 30 / 12 = 1.25, ∂/∂π_c − 0.5 / 12.
        let rpo = objective(kind, 0.3, 0.5).pair_loss(&x, 12);
        assert!(close(rpo.loss, plain.loss + 1.25, 1e-14), "{kind}: {rpo:?}");
        assert!(close(
            rpo.grad.policy_chosen,
            plain.grad.policy_chosen - 0.5 / 12.0,
            1e-14
        ));
        assert_eq!(rpo.grad.policy_rejected, plain.grad.policy_rejected);
        assert_eq!(rpo.grad.reference_chosen, plain.grad.reference_chosen);
        assert_eq!(rpo.grad.reference_rejected, plain.grad.reference_rejected);
        // The gradient is the loss's derivative (central difference).
        let eps = 1e-5;
        let at = |d: f64| {
            let mut y = x;
            y.policy_chosen += d;
            objective(kind, 0.3, 0.5).pair_loss(&y, 12).loss
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        assert!((fd - rpo.grad.policy_chosen).abs() < 1e-6, "{kind}: {fd}");
    }
    // The length is the completion's: `<|eos|>` counted, the prompt not.
    let e = Example {
        ids: vec![1, 2, 3, 4, 5, 6, 7],
        prompt_len: 3,
    };
    assert_eq!(completion_tokens(&e), 4);
}

// ---------------------------------------------------------------------------------------------
// (2) Sequence log-probabilities

#[test]
fn sequence_logps_match_naive_log_softmax() {
    let tok = common::tokenizer();
    let config = common::tiny_config(&tok);
    let dev = Device::Cpu;
    let vm = init_varmap(&config, 3, &dev).unwrap();
    let model = Llama::new(config, &vm, &dev).unwrap();
    let pairs = encode_pairs(&tok, 7);
    // Mixed lengths, so the batch pads.
    let lens: std::collections::BTreeSet<usize> = pairs
        .iter()
        .flat_map(|p| [p.chosen.ids.len(), p.rejected.ids.len()])
        .collect();
    assert!(lens.len() > 2, "{lens:?}");
    let refs: Vec<&Pair> = pairs.iter().collect();
    let zero = vec![(0.0, 0.0); pairs.len()];
    let pad = Specials::of(&tok).unwrap().pad;
    let out = pair_batch(
        &model,
        &refs,
        &zero,
        objective(DpoLoss::Sigmoid, 0.1, 0.0),
        pad,
        &dev,
        false,
    )
    .unwrap();
    for (p, got) in pairs.iter().zip(&out.logps) {
        let (c, r) = (
            naive_logp(&model, &p.chosen),
            naive_logp(&model, &p.rejected),
        );
        assert!(
            (got.policy_chosen - c).abs() < 1e-4,
            "chosen {} vs {c}",
            got.policy_chosen
        );
        assert!(
            (got.policy_rejected - r).abs() < 1e-4,
            "rejected {} vs {r}",
            got.policy_rejected
        );
        // About ln(vocab) per completion token at random init: the sum covers the completion.
        let n = (p.chosen.ids.len() - p.chosen.prompt_len) as f64;
        let per = -c / n;
        assert!((per - (320f64).ln()).abs() < 0.3, "{per}");
    }
    let tokens: usize = pairs
        .iter()
        .map(|p| p.chosen.ids.len() + p.rejected.ids.len() - 2)
        .sum();
    assert_eq!(out.tokens, tokens);
}

// ---------------------------------------------------------------------------------------------
// (3) Model gradient against finite differences

#[test]
fn loss_gradient_matches_finite_differences() {
    let tok = common::tokenizer();
    let config = common::tiny_config(&tok);
    let dev = Device::Cpu;
    let vm = init_varmap(&config, 4, &dev).unwrap();
    // Matrices ×5: attention far from uniform, so every tensor's gradient stands well above
    // the f32 rounding of the finite differences (~1e-2 here).
    for (name, var) in vm.data().lock().unwrap().iter() {
        if !name.contains("norm") {
            var.set(&(var.as_tensor() * 5.0).unwrap()).unwrap();
        }
    }
    let model = Llama::new(config, &vm, &dev).unwrap();
    let pad = Specials::of(&tok).unwrap().pad;
    let pairs = encode_pairs(&tok, 3);
    let refs: Vec<&Pair> = pairs.iter().collect();
    for obj in [
        objective(DpoLoss::Sigmoid, 1.0, 0.0),
        objective(DpoLoss::Ipo, 0.5, 0.0),
        objective(DpoLoss::Sigmoid, 1.0, 8.0),
    ] {
        let kind = obj.kind;
        // References near the policy's values, so h is small and the sigmoid unsaturated.
        let base = pair_batch(&model, &refs, &[(0.0, 0.0); 3], obj, pad, &dev, false).unwrap();
        let reference: Vec<(f64, f64)> = base
            .logps
            .iter()
            .enumerate()
            .map(|(i, l)| (l.policy_chosen + 0.3 * i as f64, l.policy_rejected - 0.2))
            .collect();
        let loss = |backward: bool| {
            pair_batch(&model, &refs, &reference, obj, pad, &dev, backward).unwrap()
        };
        let out = loss(true);
        let grads = out.grads.unwrap();
        let data = vm.data().lock().unwrap().clone();
        for (name, var) in data.iter() {
            assert!(
                grads.get(var.as_tensor()).is_some(),
                "no gradient for {name}"
            );
        }
        for name in [
            "token_embd.weight",
            "blk.0.attn_q.weight",
            "blk.0.attn_k.weight",
            "blk.0.attn_norm.weight",
            "blk.1.attn_v.weight",
            "blk.1.ffn_gate.weight",
            "blk.1.ffn_down.weight",
            "output_norm.weight",
            "output.weight",
        ] {
            let var = &data[name];
            let g: Vec<f32> = grads
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            // The three elements with the largest gradients.
            let mut order: Vec<usize> = (0..g.len()).collect();
            order.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
            for &idx in &order[..3] {
                let orig: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
                let eps = 2e-3f32;
                let eval_at = |delta: f32| {
                    let mut w = orig.clone();
                    w[idx] += delta;
                    var.set(&Tensor::from_vec(w, var.shape(), &dev).unwrap())
                        .unwrap();
                    loss(false).losses.iter().map(|l| l.loss).sum::<f64>()
                };
                let fd = (eval_at(eps) - eval_at(-eps)) / (2.0 * eps as f64);
                eval_at(0.0);
                let an = g[idx] as f64;
                assert!(
                    an.abs() > 0.3,
                    "{kind} {name}[{idx}]: gradient too small to test: {an}"
                );
                assert!(
                    (fd - an).abs() <= 0.02 * an.abs() + 1e-2,
                    "{kind} {name}[{idx}]: backward {an}, finite difference {fd}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (4) Training improves the preference

#[test]
fn dpo_raises_reward_accuracy_and_margin() {
    let tok = common::tokenizer();
    let config = common::tiny_config(&tok);
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let init = sft_init(&tmp.path().join("sft"), &tok, &config);
    let data = dpo_data(&tok, 16);
    let mut cfg = dpo_config(12);
    cfg.grad_accum = 1;
    let run_dir = tmp.path().join("dpo");
    let options = RunOptions {
        init_from: Some(init.clone()),
        ..RunOptions::default()
    };
    let summary = dpo::run(&run_dir, &config, &cfg, &data, &options, &dev).unwrap();
    assert_eq!(summary.step, 12);
    assert_eq!(summary.reference.computed, 16);

    let reference: Vec<RefLogps> = {
        let mut pairs = data.train.clone();
        assert_eq!(
            data::attach_reference(&mut pairs, &run_dir.join(dpo::REFERENCE_FILE)).unwrap(),
            16
        );
        pairs.iter().map(|p| p.reference.unwrap()).collect()
    };
    let before = dpo::evaluate(
        &load_model(&init, &config),
        &data.train,
        &reference,
        &cfg,
        data.pad,
        &dev,
    )
    .unwrap()
    .unwrap();
    let after = dpo::evaluate(
        &load_model(&run_dir, &config),
        &data.train,
        &reference,
        &cfg,
        data.pad,
        &dev,
    )
    .unwrap()
    .unwrap();
    // The initial policy is the reference: loss ln 2, no margin.
    assert!(
        (before.loss - std::f64::consts::LN_2).abs() < 1e-4,
        "{before:?}"
    );
    assert!(before.margin.abs() < 1e-4, "{before:?}");
    // After training: chosen completions clearly preferred.
    assert!(after.accuracy >= 0.9, "{after:?}");
    assert!(after.margin > 1.0, "{after:?}");
    assert!(after.loss < 0.4, "{after:?}");
    assert!(after.chosen_reward > after.rejected_reward);
    // The metrics log has every step with its DPO metrics.
    let metrics = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap();
    let steps: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v.get("loss").is_some())
        .collect();
    assert_eq!(steps.len(), 12);
    for key in [
        "chosen_reward",
        "rejected_reward",
        "reward_accuracy",
        "reward_margin",
        "lr",
        "tokens_per_s",
        "pairs_per_s",
    ] {
        assert!(steps[11].get(key).is_some(), "no {key} in {}", steps[11]);
    }
    assert!(run_dir.join("loss.svg").exists());
}

// ---------------------------------------------------------------------------------------------
// (5) Resume, supplied reference values

#[test]
fn resume_is_bit_exact_and_reuses_reference() {
    let tok = common::tokenizer();
    let config = common::tiny_config(&tok);
    let dev = Device::Cpu;
    let tmp = tempfile::tempdir().unwrap();
    let init = sft_init(&tmp.path().join("sft"), &tok, &config);
    let mut data = dpo_data(&tok, 12);
    // Two held-out pairs, evaluated during the run.
    data.eval = data.train.split_off(10);
    let cfg = dpo_config(7);
    let new_run = RunOptions {
        init_from: Some(init.clone()),
        ..RunOptions::default()
    };
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let full = dpo::run(&a, &config, &cfg, &data, &new_run, &dev).unwrap();
    assert_eq!(full.step, 7);
    assert!(full.eval.is_some());

    let stop = RunOptions {
        stop_after: Some(3),
        ..new_run.clone()
    };
    assert_eq!(
        dpo::run(&b, &config, &cfg, &data, &stop, &dev)
            .unwrap()
            .step,
        3
    );
    assert!(dpo::run(&b, &config, &cfg, &data, &new_run, &dev).is_err());
    let ref_file = b.join(dpo::REFERENCE_FILE);
    let saved = std::fs::read(&ref_file).unwrap();
    // Resuming needs no initial weights: the reference values come from the run directory.
    let resume = RunOptions {
        resume: true,
        ..RunOptions::default()
    };
    let rest = dpo::run(&b, &config, &cfg, &data, &resume, &dev).unwrap();
    assert_eq!(rest.step, 7);
    assert_eq!(rest.reference.from_run, 12);
    assert_eq!(rest.reference.computed, 0);
    assert_eq!(std::fs::read(&ref_file).unwrap(), saved);
    let (wa, wb) = (load_weights(&a), load_weights(&b));
    assert_eq!(wa.len(), config_tensors(&config));
    for (name, va) in &wa {
        assert!(va == &wb[name], "weights of {name} differ after resume");
    }
    assert_ne!(wa, load_weights(&init), "training changed nothing");
    let metrics = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    assert_eq!(
        metrics.lines().filter(|l| l.contains("\"loss\"")).count(),
        7
    );
    // The same log as the uninterrupted run, apart from timings.
    let untimed = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let m = v.as_object_mut().unwrap();
                m.remove("tokens_per_s");
                m.remove("pairs_per_s");
                v
            })
            .collect()
    };
    assert_eq!(
        untimed(&metrics),
        untimed(&std::fs::read_to_string(a.join("metrics.jsonl")).unwrap())
    );

    // Reference values supplied from a file give the same run as computing them.
    let mut supplied = data.clone();
    data::attach_reference(&mut supplied.train, &a.join(dpo::REFERENCE_FILE)).unwrap();
    data::attach_reference(&mut supplied.eval, &a.join(dpo::REFERENCE_FILE)).unwrap();
    let run_c = dpo::run(&c, &config, &cfg, &supplied, &new_run, &dev).unwrap();
    assert_eq!(run_c.reference.supplied, 12);
    assert_eq!(run_c.reference.computed, 0);
    assert_eq!(load_weights(&c), wa);

    // Wrong reference values change the run (the test can tell).
    let mut shifted = supplied.clone();
    for p in &mut shifted.train {
        let r = p.reference.as_mut().unwrap();
        r.chosen -= 3.0;
    }
    let d = tmp.path().join("d");
    dpo::run(&d, &config, &cfg, &shifted, &new_run, &dev).unwrap();
    assert_ne!(load_weights(&d), wa);
}

fn config_tensors(config: &ModelConfig) -> usize {
    eerd_trainer::model::llama::tensor_shapes(config).len()
}

// ---------------------------------------------------------------------------------------------
// Input files

#[test]
fn bad_pairs_are_named_and_long_pairs_dropped() {
    let tok = common::tokenizer();
    let specials = Specials::of(&tok).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.jsonl");
    let good = r#"{"prompt": "entity A { id }", "chosen": "A has 1 attributes", "rejected": "A has 2 attributes", "id": 7, "extra": [1]}"#;
    let cases = [
        (
            format!("{good}\n{{\"prompt\": \"a\", \"chosen\": \"b\"}}\n"),
            "p.jsonl:2: missing field `rejected`",
        ),
        (
            "\n{\"prompt\": \"a\", \"chosen\": 3, \"rejected\": \"b\"}".to_string(),
            "p.jsonl:2: field `chosen` must be a string",
        ),
        (format!("{good}\nnot json"), "p.jsonl:2: invalid JSON"),
        ("[1, 2]".to_string(), "p.jsonl:1: expected a JSON object"),
        (String::new(), "no records"),
    ];
    for (text, want) in cases {
        std::fs::write(&path, text).unwrap();
        let err = data::load_pairs(&path, PairFile::Data, &tok, &specials, 64).unwrap_err();
        assert!(format!("{err:#}").contains(want), "{err:#} lacks {want}");
    }

    // Long pairs are dropped, not cut; counted by reason.
    let long = "EMPLOYEE DEPARTMENT PROJECT ".repeat(10);
    let text = format!(
        "{good}\n{}\n{}\n{}\n",
        serde_json::json!({"prompt": long, "chosen": "x", "rejected": "y"}),
        serde_json::json!({"prompt": "entity A", "chosen": long, "rejected": "y"}),
        serde_json::json!({"prompt": "entity A", "chosen": "same", "rejected": "same"}),
    );
    std::fs::write(&path, text).unwrap();
    let (pairs, stats) = data::load_pairs(&path, PairFile::Data, &tok, &specials, 24).unwrap();
    assert_eq!(stats.records, 4);
    assert_eq!(stats.dropped_long_prompt, 1);
    assert_eq!(stats.dropped_long_completion, 1);
    assert_eq!(stats.dropped(), 2);
    assert_eq!(stats.identical, 1);
    assert_eq!(pairs.len(), 2);
    assert_eq!((pairs[0].record, pairs[1].record), (0, 3));
    assert_eq!(pairs[0].id.as_deref(), Some("7"));
    // Encoded exactly like SFT: the chosen sequence is the SFT example of (prompt, chosen).
    let (sft, _) = eerd_trainer::data::encode_example(
        &tok,
        &specials,
        "entity A { id }",
        "A has 1 attributes",
        25,
    )
    .unwrap();
    assert_eq!(Some(&pairs[0].chosen), sft.as_ref());
    assert_eq!(*pairs[0].chosen.ids.last().unwrap(), specials.eos);
    assert!(pairs.iter().all(|p| p.chosen.ids.len() <= 25));

    // Reference files: matched by record (or line order) and id; errors name line and field.
    let refs = tmp.path().join("r.jsonl");
    std::fs::write(
        &refs,
        "{\"record\": 3, \"chosen\": -1.5, \"rejected\": -2}\n{\"record\": 0, \"id\": 7, \"chosen\": -3, \"rejected\": -4.25}\n",
    )
    .unwrap();
    let mut with_ref = pairs.clone();
    assert_eq!(data::attach_reference(&mut with_ref, &refs).unwrap(), 2);
    assert_eq!(
        with_ref[0].reference,
        Some(RefLogps {
            chosen: -3.0,
            rejected: -4.25
        })
    );
    assert_eq!(with_ref[1].reference.unwrap().chosen, -1.5);
    for (text, want) in [
        (
            "{\"record\": 0, \"id\": \"9\", \"chosen\": -3, \"rejected\": -4}",
            "r.jsonl:1: id `9` does not match",
        ),
        ("{\"chosen\": -3}", "r.jsonl:1: missing field `rejected`"),
        (
            "{\"chosen\": -3, \"rejected\": \"x\"}",
            "r.jsonl:1: field `rejected` must be a finite number",
        ),
        (
            "{\"file\": \"test\", \"chosen\": -3, \"rejected\": -1}",
            "r.jsonl:1: field `file`",
        ),
        (
            "{\"chosen\": -3, \"rejected\": -1}\n{\"record\": 0, \"chosen\": -3, \"rejected\": -1}",
            "r.jsonl:2: a second line for data record 0",
        ),
    ] {
        std::fs::write(&refs, text).unwrap();
        let err = data::attach_reference(&mut pairs.clone(), &refs).unwrap_err();
        assert!(format!("{err:#}").contains(want), "{err:#} lacks {want}");
    }
}

#[test]
fn config_defaults_and_partial_tables() {
    let d = DpoConfig::default();
    assert_eq!(
        (d.steps, d.batch_size, d.lr, d.beta, d.warmup, d.loss),
        (200, 4, 5e-5, 0.1, 10, DpoLoss::Sigmoid)
    );
    let c: DpoConfig = serde_json::from_str(r#"{"beta": 0.25, "loss": "ipo"}"#).unwrap();
    assert_eq!((c.beta, c.loss, c.steps), (0.25, DpoLoss::Ipo, 200));
    assert!(serde_json::from_str::<DpoConfig>(r#"{"betta": 0.25}"#).is_err());
    assert!("hinge".parse::<DpoLoss>().is_ok() && "kto".parse::<DpoLoss>().is_err());
    let bad = DpoConfig {
        beta: 0.0,
        ..DpoConfig::default()
    };
    assert!(bad.validate().is_err());
}

// ---------------------------------------------------------------------------------------------
// The run directory works with export and generate; the CLI end to end

fn eerd(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_eerd"))
        .current_dir(dir)
        .args(args)
        .env("CANDLE_NUM_THREADS", "1")
        .output()
        .expect("runs eerd")
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn cli_dpo_then_export_and_generate() {
    let tok = common::tokenizer();
    let config = common::tiny_config(&tok);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sft_init(&dir.join("sft"), &tok, &config);
    std::fs::write(dir.join("pairs.jsonl"), pairs_jsonl(12)).unwrap();
    let mut args = vec![
        "train",
        "dpo",
        "--init",
        "sft",
        "--data",
        "pairs.jsonl",
        "--out",
        "dpo",
        "--steps",
        "4",
        "--batch-size",
        "2",
        "--lr",
        "1e-3",
        "--warmup",
        "1",
        "--eval-fraction",
        "0.25",
        "--eval-every",
        "2",
        "--loss",
        "ipo",
        "--quiet",
    ];
    let mut first = args.clone();
    first.extend(["--stop-after", "2"]);
    ok(&eerd(dir, &first));
    let again = eerd(dir, &args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    args.push("--resume");
    let summary = ok(&eerd(dir, &args));
    assert!(
        summary.contains("step 4:") && summary.contains("reward accuracy"),
        "{summary}"
    );
    assert!(summary.contains("held-out loss"), "{summary}");
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("dpo/checkpoints/step-00000004/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["dpo"]["config"]["loss"], "ipo");
    assert_eq!(state["train"]["batch_size"], 2);
    let reference = std::fs::read_to_string(dir.join("dpo").join(dpo::REFERENCE_FILE)).unwrap();
    assert_eq!(reference.lines().count(), 12);

    // export + generate read the DPO run like an SFT run.
    ok(&eerd(
        dir,
        &[
            "export",
            "--checkpoint",
            "dpo",
            "--out",
            "m/model.gguf",
            "--quant",
            "f16",
        ],
    ));
    let out = eerd(
        dir,
        &[
            "generate",
            "--model",
            "m/model.gguf",
            "--prompt",
            "entity PROJECT { id }",
            "--max-tokens",
            "5",
            "--json",
        ],
    );
    ok(&out);
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert!(v["tokens"].as_array().unwrap().len() <= 5);
    // The exported model predicts what the trained DPO weights predict.
    let model = load_model(&dir.join("dpo"), &config);
    let mut rt = eerd::runtime::Model::from_bytes(
        &std::fs::read(dir.join("m/model.gguf")).unwrap(),
        &std::fs::read(dir.join("m/tokenizer.json")).unwrap(),
    )
    .unwrap();
    let (mut same, mut total) = (0, 0);
    for p in encode_pairs(&tok, 6) {
        let want = common::trainer_logits(&model, &p.chosen.ids, &Device::Cpu);
        for (got, want) in rt.logits(&p.chosen.ids).unwrap().iter().zip(&want) {
            same += (common::argmax(got) == common::argmax(want)) as usize;
            total += 1;
        }
    }
    assert!(same * 100 >= total * 97, "{same}/{total}");

    // The library preparation reads the run the same way, and bad input names file and line.
    let prepared = dpo::prepare(
        &dir.join("sft"),
        &DataFiles {
            data: dir.join("pairs.jsonl"),
            eval_fraction: 0.25,
            ..DataFiles::default()
        },
        Some(40),
        1,
    )
    .unwrap();
    assert_eq!(prepared.model.max_seq_len, 40);
    assert_eq!(prepared.data.train.len() + prepared.data.eval.len(), 12);
    assert_eq!(prepared.data.eval.len(), 3);
    std::fs::write(
        dir.join("bad.jsonl"),
        "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n{\"prompt\": \"a\", \"chosen\": \"b\"}\n",
    )
    .unwrap();
    let bad = eerd(
        dir,
        &[
            "train",
            "dpo",
            "--init",
            "sft",
            "--data",
            "bad.jsonl",
            "--out",
            "r2",
            "--quiet",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("bad.jsonl:2: missing field `rejected`"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // Too-long pairs are reported with counts.
    let short = eerd(
        dir,
        &[
            "train",
            "dpo",
            "--init",
            "sft",
            "--data",
            "pairs.jsonl",
            "--out",
            "r3",
            "--seq-len",
            "20",
            "--steps",
            "1",
            "--eval-fraction",
            "0",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&short.stderr);
    assert!(err.contains("dropped for length over 20 tokens"), "{err}");
}
