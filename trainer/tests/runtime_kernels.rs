//! The runtime's own llama forward pass and kernels, checked against candle (its dequantization
//! and `quantized_llama`, the runtime before its own kernels) on tensors and tiny models the
//! tests write.

use crate::common;
use crate::common::with_metadata;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use eerd::runtime::quant::Matrix;
use eerd::runtime::{product, GenerateOptions, Model, Simd};
use eerd_trainer::export::{export, Quant};
use eerd_trainer::model::llama::init_varmap;
use eerd_trainer::model::ModelConfig;
use eerd_trainer::rng::Rng;
use std::ops::ControlFlow;

fn random(len: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|_| (rng.next_f64() as f32 * 2.0 - 1.0) * scale)
        .collect()
}

/// A matrix of `dtype` quantized by candle, and candle's dequantization of it.
fn quantized(dtype: GgmlDType, rows: usize, cols: usize, seed: u64) -> (Matrix, Vec<f32>) {
    let values = random(rows * cols, seed, 1.0);
    let t = Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, dtype).unwrap();
    let want: Vec<f32> = q
        .dequantize(&Device::Cpu)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let bytes = q.data().unwrap().into_owned();
    let fallback = want.clone();
    let m = Matrix::from_gguf("w", dtype, rows, cols, &bytes, move || Ok(fallback)).unwrap();
    (m, want)
}

const TYPES: [GgmlDType; 8] = [
    GgmlDType::F32,
    GgmlDType::F16,
    GgmlDType::Q4_0,
    GgmlDType::Q4_1,
    GgmlDType::Q8_0,
    GgmlDType::Q4K,
    GgmlDType::Q6K,
    GgmlDType::Q5K,
];

#[test]
fn repacked_weights_equal_candle_dequantization() {
    for (i, dtype) in TYPES.into_iter().enumerate() {
        let (m, want) = quantized(dtype, 6, 512, 10 + i as u64);
        let mut got = vec![0f32; 6 * 512];
        m.rows_to_f32(0..6, &mut got);
        assert_eq!(got, want, "{dtype:?}");
    }
}

#[test]
fn every_kernel_computes_the_row_products() {
    let x = random(512, 3, 2.0);
    for (i, dtype) in TYPES.into_iter().enumerate() {
        let (m, weights) = quantized(dtype, 40, 512, 20 + i as u64);
        let exact: Vec<f32> = weights
            .chunks_exact(512)
            .map(|row| row.iter().zip(&x).map(|(a, b)| a * b).sum())
            .collect();
        let norm = exact.iter().map(|v| v * v).sum::<f32>().sqrt();
        let baseline = product(&m, &x, Simd::Baseline);
        for simd in Simd::available() {
            let got = product(&m, &x, simd);
            // Activations are quantized to 8 bits per block of 32: ≤ 1 % of the norm.
            let err = got
                .iter()
                .zip(&exact)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            assert!(
                err <= 0.01 * norm,
                "{dtype:?} {simd:?}: error {err} of {norm}"
            );
            // Every kernel set sums the same integers: equal up to float rounding.
            for (a, b) in got.iter().zip(&baseline) {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "{dtype:?} {simd:?}"
                );
            }
        }
    }
}

/// A tiny random llama (widths that are multiples of 256, so every type applies) written as
/// GGUF with `quant`, with its tokenizer in the metadata.
fn tiny_gguf(quant: Quant, dir: &std::path::Path) -> Vec<u8> {
    tiny_gguf_with(quant, dir, false)
}

fn tiny_gguf_with(quant: Quant, dir: &std::path::Path, tied: bool) -> Vec<u8> {
    let tok = common::tokenizer();
    let mut config = ModelConfig::preset("tiny", tok.get_vocab_size(true)).unwrap();
    config.dim = 256;
    config.ffn_dim = 512;
    config.n_heads = 4;
    config.n_kv_heads = 2;
    config.max_seq_len = 128;
    config.tie_embeddings = tied;
    let varmap = init_varmap(&config, 5, &Device::Cpu).unwrap();
    let weights = eerd_trainer::checkpoint::weights(&varmap);
    let out = dir.join(format!("{quant:?}-{tied}.gguf"));
    export(&config, &weights, &tok, &out, quant).unwrap();
    std::fs::read(&out).unwrap()
}

/// candle's `quantized_llama` logits after each of `ids`, one token at a time.
fn candle_logits(gguf: &[u8], ids: &[u32]) -> Vec<Vec<f32>> {
    let mut reader = std::io::Cursor::new(gguf);
    let content = gguf_file::Content::read(&mut reader).unwrap();
    let mut model = ModelWeights::from_gguf(content, &mut reader, &Device::Cpu).unwrap();
    ids.iter()
        .enumerate()
        .map(|(pos, &id)| {
            let x = Tensor::new(&[id], &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            model
                .forward(&x, pos)
                .unwrap()
                .squeeze(0)
                .unwrap()
                .to_vec1()
                .unwrap()
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn rms_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    let (mut sum, mut count) = (0f32, 0usize);
    for (x, y) in a.iter().zip(b) {
        for (p, q) in x.iter().zip(y) {
            sum += (p - q) * (p - q);
            count += 1;
        }
    }
    (sum / count as f32).sqrt()
}

fn prompt(model: &Model) -> Vec<u32> {
    model
        .encode("entity EMPLOYEE { ssn <<key>> name salary } relationship WORKS_FOR { }")
        .unwrap()
}

#[test]
fn f32_model_equals_candle_quantized_llama() {
    let tmp = tempfile::tempdir().unwrap();
    let gguf = tiny_gguf(Quant::F32, tmp.path());
    let mut model = Model::from_gguf(&gguf).unwrap();
    let ids = prompt(&model);
    assert!(ids.len() > 10);
    let ours = model.logits(&ids).unwrap();
    let reference = candle_logits(&gguf, &ids);
    let scale = reference.iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
    for (pos, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert!(max_diff(a, b) <= 1e-4 * scale.max(1.0), "position {pos}");
    }
    // Greedy tokens, with the prompt run in one batch, equal candle's.
    let generated = model
        .generate(
            &ids,
            &GenerateOptions {
                max_tokens: 16,
                ignore_eos: true,
                ..Default::default()
            },
            |_| ControlFlow::Continue(()),
        )
        .unwrap()
        .tokens;
    let mut all = ids.clone();
    all.extend(&generated[..generated.len() - 1]);
    let reference = candle_logits(&gguf, &all);
    let want: Vec<u32> = reference[ids.len() - 1..]
        .iter()
        .map(|l| common::argmax(l) as u32)
        .collect();
    assert_eq!(generated, want);
}

#[test]
fn quantized_models_are_as_close_to_f32_as_candle() {
    let tmp = tempfile::tempdir().unwrap();
    let truth = {
        let gguf = tiny_gguf(Quant::F32, tmp.path());
        let mut m = Model::from_gguf(&gguf).unwrap();
        let ids = prompt(&m);
        (m.logits(&ids).unwrap(), ids)
    };
    for quant in [Quant::Q8_0, Quant::Q4K, Quant::F16] {
        let gguf = tiny_gguf(quant, tmp.path());
        let mut model = Model::from_gguf(&gguf).unwrap();
        let ours = model.logits(&truth.1).unwrap();
        let reference = candle_logits(&gguf, &truth.1);
        let (e_ours, e_ref) = (rms_diff(&ours, &truth.0), rms_diff(&reference, &truth.0));
        assert!(
            e_ours <= 1.5 * e_ref + 1e-6,
            "{quant:?}: ours {e_ours} from f32, candle {e_ref}"
        );
    }
}

#[test]
fn batched_prefill_and_threads_agree_with_token_by_token() {
    let tmp = tempfile::tempdir().unwrap();
    let gguf = tiny_gguf(Quant::Q4K, tmp.path());
    let mut model = Model::from_gguf(&gguf).unwrap();
    let ids = prompt(&model);
    let stepwise = model.logits(&ids).unwrap();
    let last = stepwise.last().unwrap();
    let options = GenerateOptions {
        max_tokens: 12,
        ignore_eos: true,
        ..Default::default()
    };
    let run = |model: &mut Model| {
        model
            .generate(&ids, &options, |_| ControlFlow::Continue(()))
            .unwrap()
            .tokens
    };
    let one = run(&mut model);
    // The batched prompt's first token (unquantized activations) is the step-by-step one.
    assert_eq!(one[0] as usize, common::argmax(last));
    // Two threads split the same work: the same tokens.
    model.set_threads(2);
    assert_eq!(model.threads(), 2);
    assert_eq!(run(&mut model), one);
    // A second generation restarts the cache at position 0.
    model.set_threads(1);
    assert_eq!(run(&mut model), one);
}

#[test]
fn tokenizer_from_gguf_metadata_equals_tokenizer_json() {
    let tmp = tempfile::tempdir().unwrap();
    let gguf = tiny_gguf(Quant::Q8_0, tmp.path());
    let json = std::fs::read(tmp.path().join("tokenizer.json")).unwrap();
    let from_json = Model::from_bytes(&gguf, &json).unwrap();
    let from_gguf = Model::from_gguf(&gguf).unwrap();
    for text in [
        "entity EMPLOYEE { ssn <<key>> name }",
        "  two  spaces, digits 12345 and ünïcödé ",
        "<|bos|>special<|prompt_end|> tokens",
    ] {
        assert_eq!(
            from_gguf.encode(text).unwrap(),
            from_json.encode(text).unwrap()
        );
        let ids = from_gguf.prompt_ids(text).unwrap();
        assert_eq!(ids, from_json.prompt_ids(text).unwrap());
        assert_eq!(
            from_gguf.decode(&ids).unwrap(),
            from_json.decode(&ids).unwrap()
        );
    }
}

#[test]
fn gguf_pre_tokenizers_and_bad_metadata() {
    use gguf_file::Value;
    let tmp = tempfile::tempdir().unwrap();
    let gguf = tiny_gguf(Quant::Q8_0, tmp.path());
    let plain = Model::from_gguf(&gguf).unwrap();
    // `smollm` splits digits one by one before GPT-2's split.
    let smollm = with_metadata(
        &gguf,
        "tokenizer.ggml.pre",
        Some(Value::String("smollm".into())),
    );
    let smollm = Model::from_gguf(&smollm).unwrap();
    let digits = |m: &Model| m.encode("year 2024").unwrap();
    let pieces: Vec<String> = digits(&smollm)
        .iter()
        .map(|&id| smollm.tokenizer().id_to_token(id).unwrap())
        .collect();
    assert!(
        pieces.ends_with(&["2".into(), "0".into(), "2".into(), "4".into()]),
        "{pieces:?}"
    );
    assert_eq!(
        smollm.encode("no digits").unwrap(),
        plain.encode("no digits").unwrap()
    );
    // Unsupported tokenizers and missing tensors are clear errors.
    let text = |v: &str| Some(Value::String(v.into()));
    for (key, value, named) in [
        ("tokenizer.ggml.pre", text("qwen2"), "pre-tokenizer `qwen2`"),
        (
            "tokenizer.ggml.model",
            text("llama"),
            "tokenizer model `llama`",
        ),
        ("llama.block_count", None, "llama.block_count"),
        (
            "general.architecture",
            text("qwen2"),
            "architecture `qwen2`",
        ),
    ] {
        let bytes = with_metadata(&gguf, key, value);
        let e = Model::from_gguf(&bytes).err().unwrap().to_string();
        assert!(e.contains(named), "{e}");
    }
    assert!(
        !Model::gguf_has_tokenizer(&with_metadata(&gguf, "tokenizer.ggml.tokens", None)).unwrap()
    );
}

#[test]
fn gguf_import_gives_the_trainer_the_runtimes_model() {
    let tmp = tempfile::tempdir().unwrap();
    for tied in [false, true] {
        let gguf = tiny_gguf_with(Quant::F32, tmp.path(), tied);
        let path = tmp.path().join(format!("F32-{tied}.gguf"));
        let base = eerd_trainer::gguf_import::load(&path).unwrap();
        assert_eq!(base.config.tie_embeddings, tied);
        assert_eq!((base.config.dim, base.config.n_kv_heads), (256, 2));
        let varmap = candle_nn::VarMap::new();
        {
            let mut data = varmap.data().lock().unwrap();
            for (name, t) in &base.weights {
                data.insert(name.clone(), candle_core::Var::from_tensor(t).unwrap());
            }
        }
        let model =
            eerd_trainer::model::Llama::new(base.config.clone(), &varmap, &Device::Cpu).unwrap();
        let mut runtime = Model::from_gguf(&gguf).unwrap();
        let ids = prompt(&runtime);
        let want = runtime.logits(&ids).unwrap();
        let got = common::trainer_logits(&model, &ids, &Device::Cpu);
        let scale = want.iter().flatten().fold(0f32, |m, v| m.max(v.abs()));
        for (pos, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                max_diff(a, b) <= 1e-3 * scale.max(1.0),
                "tied {tied}, position {pos}"
            );
        }
        // The tokenizer is the GGUF's, special tokens included.
        assert_eq!(
            base.tokenizer
                .encode("entity A { id }", false)
                .unwrap()
                .get_ids(),
            runtime.encode("entity A { id }").unwrap()
        );
    }
    // A file without a tensor, or without a key, names it.
    let gguf = tiny_gguf(Quant::Q8_0, tmp.path());
    let broken = tmp.path().join("broken.gguf");
    std::fs::write(
        &broken,
        with_metadata(&gguf, "llama.attention.head_count", None),
    )
    .unwrap();
    let e = format!(
        "{:#}",
        eerd_trainer::gguf_import::load(&broken).err().unwrap()
    );
    assert!(
        e.contains("llama.attention.head_count") && e.contains("broken.gguf"),
        "{e}"
    );
}

#[test]
fn chat_prompts_reuse_the_system_head_without_changing_results() {
    use gguf_file::Value;
    let tmp = tempfile::tempdir().unwrap();
    let plain = tiny_gguf(Quant::Q8_0, tmp.path());
    let template =
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
    let gguf = with_metadata(
        &plain,
        eerd::runtime::CHAT_TEMPLATE_KEY,
        Some(Value::String(template.into())),
    );
    let options = GenerateOptions {
        max_tokens: 8,
        ignore_eos: true,
        ..Default::default()
    };
    let answer = |model: &mut Model, user: &str| {
        let ids = model.chat_ids("Grade one element.", user).unwrap();
        model
            .generate(&ids, &options, |_| ControlFlow::Continue(()))
            .unwrap()
            .tokens
    };
    let fresh = |user: &str| answer(&mut Model::from_gguf(&gguf).unwrap(), user);
    let (first, second) = ("entity EMPLOYEE key Ssn", "attribute EMPLOYEE Salary");
    let mut model = Model::from_gguf(&gguf).unwrap();
    assert_eq!(
        model.chat_template(),
        Some(eerd::runtime::ChatTemplate::ChatMl)
    );
    // The head is computed once and kept: every answer equals a fresh model's.
    assert_eq!(answer(&mut model, first), fresh(first));
    assert_eq!(answer(&mut model, second), fresh(second));
    assert_eq!(answer(&mut model, first), fresh(first));
    // Another use of the cache in between (logits from position 0) is noticed.
    let ids = prompt(&model);
    model.logits(&ids).unwrap();
    assert_eq!(answer(&mut model, second), fresh(second));
    // A model without a ChatML template has no chat form: a clear error.
    let mut ours = Model::from_gguf(&plain).unwrap();
    assert_eq!(ours.chat_template(), None);
    let err = ours.chat_ids("x", "y").unwrap_err().to_string();
    assert!(err.contains("no chat template"), "{err}");
}
