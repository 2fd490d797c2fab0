//! A tiny random checkpoint written in Hugging Face layout (half-split RoPE rows, HF names)
//! imports to a model with the same logits.

use crate::common;

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use eerd_trainer::checkpoint::weights;
use eerd_trainer::hf::{hf_names, interleaved_to_half_split, load};
use eerd_trainer::model::llama::init_varmap;
use eerd_trainer::model::Llama;
use std::collections::HashMap;

#[test]
fn hf_checkpoint_imports_with_same_logits() {
    let dev = Device::Cpu;
    let tok = common::tokenizer();
    let config = common::tiny_config(&tok);
    let varmap = init_varmap(&config, 5, &dev).unwrap();
    let ours = weights(&varmap);
    let mut hf: HashMap<String, Tensor> = HashMap::new();
    for (name, hf_name) in hf_names(config.n_layers) {
        let Some(t) = ours.get(&name) else { continue };
        let t = if name.ends_with("attn_q.weight") {
            interleaved_to_half_split(t, config.n_heads).unwrap()
        } else if name.ends_with("attn_k.weight") {
            interleaved_to_half_split(t, config.n_kv_heads).unwrap()
        } else {
            t.clone()
        };
        hf.insert(hf_name, t);
    }
    let dir = tempfile::tempdir().unwrap();
    candle_core::safetensors::save(&hf, dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": config.dim,
            "num_hidden_layers": config.n_layers,
            "num_attention_heads": config.n_heads,
            "num_key_value_heads": config.n_kv_heads,
            "intermediate_size": config.ffn_dim,
            "vocab_size": config.vocab_size,
            "max_position_embeddings": config.max_seq_len,
            "rope_theta": config.rope_theta,
            "rms_norm_eps": config.norm_eps,
            "tie_word_embeddings": config.tie_embeddings,
        })
        .to_string(),
    )
    .unwrap();
    tok.save(dir.path().join("tokenizer.json"), false).unwrap();

    let imported = load(dir.path(), &dev).unwrap();
    assert_eq!(imported.config, config);
    let vm = VarMap::new();
    for (k, t) in &imported.weights {
        vm.data()
            .lock()
            .unwrap()
            .insert(k.clone(), Var::from_tensor(t).unwrap());
    }
    let a = Llama::new(config.clone(), &varmap, &dev).unwrap();
    let b = Llama::new(imported.config, &vm, &dev).unwrap();
    let ids = Tensor::new(&[[0u32, 10, 20, 30, 40, 50, 60, 70]], &dev).unwrap();
    let diff = (a.forward(&ids).unwrap() - b.forward(&ids).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(diff, 0.0);

    // A model_type with biases is refused with a clear message.
    let cfg = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        cfg.replace("\"llama\"", "\"qwen2\""),
    )
    .unwrap();
    let err = load(dir.path(), &dev).err().unwrap().to_string();
    assert!(err.contains("qwen2"), "{err}");
}
