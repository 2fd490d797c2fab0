//! `eerd dataset` end to end: files, determinism, record validity, errors.

use eerd::{parse, resolve, Record};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/assignments")
}

/// A fresh, empty temporary folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eerd-dataset-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn dataset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eerd"))
        .arg("dataset")
        .args(args)
        .output()
        .expect("the eerd binary runs")
}

fn run_ok(out: &Path, seed: &str) -> String {
    let library = repo_library();
    let o = dataset(&[
        "--out",
        out.to_str().unwrap(),
        "--seed",
        seed,
        "--variants",
        "40",
        "--unseen",
        "12",
        "--library",
        library.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "eerd dataset failed: {stderr}");
    stderr
}

const FILES: [&str; 4] = ["train.jsonl", "test.jsonl", "unseen.jsonl", "manifest.json"];

fn records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect()
}

#[test]
fn same_seed_gives_identical_valid_files() {
    let base = scratch("same-seed");
    let (a, b, c) = (base.join("a"), base.join("b"), base.join("c"));
    let stderr = run_ok(&a, "9");
    assert!(stderr.contains("dataset: 52/52 variants"), "{stderr}");
    run_ok(&b, "9");
    run_ok(&c, "10");
    for f in FILES {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs with the same seed"
        );
    }
    assert_ne!(
        std::fs::read(a.join("train.jsonl")).unwrap(),
        std::fs::read(c.join("train.jsonl")).unwrap()
    );

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("manifest.json")).unwrap()).unwrap();
    let held: Vec<String> = manifest["held_out_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(!held.is_empty());
    let mut ids = std::collections::HashSet::new();
    for split in ["train", "test", "unseen"] {
        let rs = records(&a.join(format!("{split}.jsonl")));
        assert_eq!(manifest["splits"][split]["records"], rs.len(), "{split}");
        let findings: usize = rs.iter().map(|r| r.findings.len()).sum();
        assert_eq!(manifest["splits"][split]["findings"], findings);
        for r in &rs {
            assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
            assert!(r.id.starts_with(&format!("{}-", r.assignment)));
            assert_eq!(held.contains(&r.assignment), split == "unseen", "{}", r.id);
            assert!(r.requirements.is_some());
            let reference = parse(&r.reference).unwrap();
            parse(&r.student).unwrap_or_else(|e| panic!("{}: student does not parse: {e}", r.id));
            assert!(r.findings.len() <= 3);
            for f in &r.findings {
                resolve(&reference, &f.element).unwrap_or_else(|e| panic!("{}: {e}", r.id));
                assert!(!f.explanation.is_empty());
            }
        }
    }
    assert_eq!(ids.len(), 52);
}

#[test]
fn a_missing_library_is_a_clear_error() {
    let base = scratch("missing");
    let o = dataset(&[
        "--out",
        base.join("out").to_str().unwrap(),
        "--library",
        base.join("nowhere").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("nowhere") && stderr.contains("not found"),
        "{stderr}"
    );
}

#[test]
fn a_bad_reference_is_named_with_its_line() {
    let base = scratch("bad-reference");
    let lib = base.join("lib");
    std::fs::create_dir_all(lib.join("good")).unwrap();
    std::fs::create_dir_all(lib.join("bad")).unwrap();
    std::fs::write(
        lib.join("good/reference.puml"),
        "@startchen\nentity A {\n  Id <<key>>\n}\n@endchen\n",
    )
    .unwrap();
    std::fs::write(
        lib.join("bad/reference.puml"),
        "@startchen\nentity A {\n  Id <<kex>>\n}\n@endchen\n",
    )
    .unwrap();
    let o = dataset(&[
        "--out",
        base.join("out").to_str().unwrap(),
        "--library",
        lib.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("bad/reference.puml:3:"), "{stderr}");
}

#[test]
fn a_bad_index_is_named_with_its_line() {
    let base = scratch("bad-index");
    let lib = base.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("index.json"), "[\n  {\"id\": }\n]\n").unwrap();
    let o = dataset(&[
        "--out",
        base.join("out").to_str().unwrap(),
        "--library",
        lib.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("index.json:2:"), "{stderr}");
}
