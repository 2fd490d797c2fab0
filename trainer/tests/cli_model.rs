//! The model commands end to end through the `eerd` binary: tokenizer → train (interrupted and
//! resumed) → export → generate, and clear errors for bad input.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

fn eerd(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eerd"))
        .current_dir(dir)
        .args(args)
        .env("CANDLE_NUM_THREADS", "1")
        .output()
        .expect("runs eerd")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tokenizer_train_export_generate() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let lines: Vec<String> = common::pairs(40)
        .into_iter()
        .map(|(p, c)| serde_json::json!({"prompt": p, "completion": c}).to_string())
        .collect();
    std::fs::write(dir.join("train.jsonl"), lines.join("\n")).unwrap();

    ok(&eerd(
        dir,
        &[
            "tokenizer",
            "train",
            "train.jsonl",
            "--vocab-size",
            "320",
            "--out",
            "tok.json",
        ],
    ));
    let train = [
        "train",
        "sft",
        "--data",
        "train.jsonl",
        "--tokenizer",
        "tok.json",
        "--preset",
        "tiny",
        "--seq-len",
        "64",
        "--out",
        "run",
        "--steps",
        "6",
        "--batch-size",
        "4",
        "--quiet",
    ];
    let mut first = train.to_vec();
    first.extend(["--stop-after", "3"]);
    ok(&eerd(dir, &first));
    // Without --resume the existing run is not overwritten.
    let again = eerd(dir, &train);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
    ok(&eerd(
        dir,
        &[
            "train",
            "sft",
            "--data",
            "train.jsonl",
            "--out",
            "run",
            "--resume",
            "--quiet",
        ],
    ));
    assert!(dir
        .join("run/checkpoints/step-00000006/model.safetensors")
        .exists());

    ok(&eerd(
        dir,
        &[
            "export",
            "--checkpoint",
            "run",
            "--out",
            "m/model.gguf",
            "--quant",
            "q8_0",
        ],
    ));
    assert!(dir.join("m/tokenizer.json").exists());
    let out = ok(&eerd(
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
    ));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(v["tokens"].as_array().unwrap().len() <= 5);
    assert_eq!(v["prompt_ids"][0], 0);

    // Bad input: named file and line, exit code 2, no panic.
    std::fs::write(dir.join("bad.jsonl"), "{\"prompt\": \"a\"}\n").unwrap();
    let bad = eerd(
        dir,
        &[
            "train",
            "sft",
            "--data",
            "bad.jsonl",
            "--tokenizer",
            "tok.json",
            "--out",
            "r2",
            "--quiet",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("bad.jsonl:1: missing field `completion`")
    );
    let bad = eerd(
        dir,
        &[
            "generate",
            "--model",
            "tok.json",
            "--tokenizer",
            "tok.json",
            "--prompt",
            "x",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("tok.json"));
}
